package host

import (
	"context"
	"crypto/ed25519"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/command"
)

// fakeRunner records the shutdown commands it was asked to run.
type fakeRunner struct {
	mu   sync.Mutex
	runs [][]string
}

func (f *fakeRunner) Run(_ context.Context, argv []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runs = append(f.runs, argv)
	return nil
}

func (f *fakeRunner) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.runs)
}

// startListener runs a listener until the test ends and waits until it is
// online.
func startListener(t *testing.T, url string, cfg Config, opts Options, acks *client) *Listener {
	t.Helper()
	l, err := New(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	acks.waitAck("online", func(a command.Ack) bool { return a.Host == cfg.Host && a.Status == command.AckOnline })
	return l
}

func baseConfig(url, pubFile string) Config {
	return Config{Broker: url, Site: "dc-1", Group: "rack-a", Host: "web-1", PublicKeys: []string{pubFile}}
}

func TestListenerShutsDown(t *testing.T) {
	url := startBroker(t)
	key := testKey(1)
	acks := newClient(t, url, "dc-1")
	runner := &fakeRunner{}
	cfg := baseConfig(url, writePub(t, key.Public().(ed25519.PublicKey)))
	cfg.Shutdown = []string{"/sbin/shutdown", "-h", "now"}
	startListener(t, url, cfg, Options{Runner: runner, Logger: quietLog()}, acks)

	signer, _ := command.NewSigner(key, "dc-1", "gw-1", "")
	wire, c, err := signer.Sign(command.Command{Group: "rack-a", Tier: 1, Action: command.ActionShutdown,
		Reason: command.Reason{ID: "a1", Kind: "thermal_runaway", Level: "critical", Device: "bms-1"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	acks.publish(command.ShedTopic("dc-1", "rack-a"), wire)
	acks.waitAck("received", func(a command.Ack) bool { return a.Status == command.AckReceived && a.Seq == c.Seq })
	sd := acks.waitAck("shutting-down", func(a command.Ack) bool { return a.Status == command.AckShuttingDown })
	if sd.Gateway != "gw-1" || sd.Tier != 1 || sd.DryRun {
		t.Errorf("shutting-down ack %+v", sd)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runner.count() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if runner.count() != 1 || strings.Join(runner.runs[0], " ") != "/sbin/shutdown -h now" {
		t.Fatalf("runs %v", runner.runs)
	}
}

// TestListenerRejects sends forged, tampered, replayed and stale commands
// and expects each to be refused, logged and published with its reason,
// and the shutdown never run.
func TestListenerRejects(t *testing.T) { testRejects(t, startBroker(t)) }

func testRejects(t *testing.T, url string) {
	key, forger := testKey(1), testKey(2)
	acks := newClient(t, url, "dc-1")
	runner := &fakeRunner{}
	var logs logBuffer
	cfg := baseConfig(url, writePub(t, key.Public().(ed25519.PublicKey)))
	cfg.Delay = time.Hour // accepted shutdowns wait, so a cancel can be tested
	startListener(t, url, cfg, Options{Runner: runner, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, acks)

	now := time.Now()
	sign := func(k []byte, seq int64, issued time.Time, group string) []byte {
		c := command.Command{Site: "dc-1", Gateway: "gw-1", Group: group, Tier: 1, Action: command.ActionShutdown, Seq: seq, Issued: issued,
			Reason: command.Reason{ID: "a1", Kind: "thermal_runaway", Level: "critical", Device: "bms-1"}}
		b, err := command.Sign(&c, k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	good := sign(key, 100, now, "rack-a")
	forgedID := strings.Replace(string(sign(forger, 101, now, "rack-a")),
		command.KeyID(forger.Public().(ed25519.PublicKey)), command.KeyID(key.Public().(ed25519.PublicKey)), 1)
	cases := []struct {
		name, reason string
		data         []byte
		seq          int64
	}{
		{"unknown key", "unknown-key", sign(forger, 102, now, "rack-a"), 102},
		{"forged", "bad-signature", []byte(forgedID), 101},
		{"tampered", "bad-signature", []byte(strings.Replace(string(sign(key, 103, now, "rack-a")), `"tier":1`, `"tier":3`, 1)), 103},
		{"stale", "stale", sign(key, 104, now.Add(-2*command.DefaultMaxAge), "rack-a"), 104},
		{"future", "future", sign(key, 105, now.Add(time.Hour), "rack-a"), 105},
		{"other group", "wrong-group", sign(key, 106, now, "rack-b"), 106},
		{"garbage", "malformed", []byte("poweroff"), 0},
	}
	topic := command.ShedTopic("dc-1", "rack-a")
	for _, tc := range cases {
		acks.publish(topic, tc.data)
		a := acks.waitAck(tc.name, func(a command.Ack) bool {
			return a.Status == command.AckRejected && a.Reason == tc.reason && a.Seq == tc.seq
		})
		if a.Detail == "" {
			t.Errorf("%s: rejection without detail", tc.name)
		}
	}
	// The good one, once; then its replay and an older one are refused.
	acks.publish(topic, good)
	acks.waitAck("received", func(a command.Ack) bool { return a.Status == command.AckReceived && a.Seq == 100 })
	acks.publish(topic, good)
	acks.waitAck("replay", func(a command.Ack) bool { return a.Reason == "replay" && a.Seq == 100 })
	acks.publish(topic, sign(key, 99, now, "rack-a"))
	acks.waitAck("older", func(a command.Ack) bool { return a.Reason == "replay" && a.Seq == 99 })

	// A cancel within the delay withdraws the shutdown.
	cancel := command.Command{Site: "dc-1", Gateway: "gw-1", Group: "rack-a", Tier: 1, Action: command.ActionCancel, Seq: 107, Issued: time.Now()}
	cb, _ := command.Sign(&cancel, key)
	acks.publish(topic, cb)
	acks.waitAck("cancelled", func(a command.Ack) bool { return a.Status == command.AckCancelled && a.Seq == 107 })

	if runner.count() != 0 {
		t.Fatalf("shutdown ran: %v", runner.runs)
	}
	for _, want := range []string{"reason=unknown-key", "reason=bad-signature", "reason=stale", "reason=replay", "reason=wrong-group", "reason=malformed"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// TestListenerDryRunGoesOffline: a dry-run host that takes a while to stop
// acknowledges, then its last word is a retained offline.
func TestListenerDryRunGoesOffline(t *testing.T) {
	url := startBroker(t)
	key := testKey(1)
	acks := newClient(t, url, "dc-1")
	runner := &fakeRunner{}
	cfg := baseConfig(url, writePub(t, key.Public().(ed25519.PublicKey)))
	cfg.DryRun, cfg.DryRunOfflineAfter = true, 100*time.Millisecond
	l, err := New(cfg, Options{Runner: runner, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- l.Run(context.Background()) }()
	acks.waitAck("online", func(a command.Ack) bool { return a.Status == command.AckOnline })
	signer, _ := command.NewSigner(key, "dc-1", "gw-1", "")
	wire, _, _ := signer.Sign(command.Command{Group: "rack-a", Tier: 2, Action: command.ActionShutdown}, time.Now())
	acks.publish(command.ShedTopic("dc-1", "rack-a"), wire)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("dry-run listener did not go offline")
	}
	acks.waitAck("offline", func(a command.Ack) bool { return a.Status == command.AckOffline })
	var order, stamped []string
	var prev command.Ack
	for i, a := range acks.all() {
		if i > 0 && a == prev {
			continue // QoS 1 is at least once: a duplicate is allowed
		}
		prev = a
		order = append(order, a.Status)
		stamped = append(stamped, a.Status+"@"+a.Time.Format(time.StampMicro))
	}
	if got := strings.Join(order, ","); got != "online,received,shutting-down,offline" {
		t.Errorf("acks %s", stamped)
	}
	if runner.count() != 0 {
		t.Error("dry run ran the shutdown command")
	}
}

// TestListenerWill kills a listener process; the broker's will publishes
// its offline acknowledgement.
func TestListenerWill(t *testing.T) { testWill(t, startBroker(t)) }

func testWill(t *testing.T, url string) {
	key := testKey(1)
	acks := newClient(t, url, "dc-1")
	cfgFile := filepath.Join(t.TempDir(), "host.yaml")
	yml := "broker: " + url + "\nsite: dc-1\ngroup: rack-a\nhost: web-9\ndry_run: true\npublic_keys: [" + writePub(t, key.Public().(ed25519.PublicKey)) + "]\n"
	if err := os.WriteFile(cfgFile, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+cfgFile)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	acks.waitAck("online", func(a command.Ack) bool { return a.Host == "web-9" && a.Status == command.AckOnline })
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	a := acks.waitAck("will", func(a command.Ack) bool { return a.Host == "web-9" && a.Status == command.AckOffline })
	if !a.Time.IsZero() || a.Group != "rack-a" || !a.DryRun {
		t.Errorf("will %+v", a)
	}
}

// helperEnv makes the test binary run a listener from a config file
// instead of the tests, so a test can kill it.
const helperEnv = "EMBERWATCH_HOST_TEST_LISTENER"

func TestMain(m *testing.M) {
	if f := os.Getenv(helperEnv); f != "" {
		cfg, err := LoadConfig(f)
		if err == nil {
			var l *Listener
			if l, err = New(cfg, Options{Logger: quietLog()}); err == nil {
				err = l.Run(context.Background())
			}
		}
		if err != nil && !errors.Is(err, context.Canceled) {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ name, yaml, err string }{
		{"ok", "broker: tcp://127.0.0.1:1883\nsite: dc-1\ngroup: rack-a\nhost: web-1\npublic_keys: [gw.pub]\nmax_age: 30s\n", ""},
		{"unknown key", "broker: x\nsite: s\ngroup: g\nhost: h\npublic_keys: [k]\nshutdwon: [halt]\n", "line 6: field shutdwon not found"},
		{"missing", "broker: x\nsite: s\n", "group: required"},
		{"no keys", "broker: x\nsite: s\ngroup: g\nhost: h\n", "public_keys"},
		{"wildcard", "broker: x\nsite: s\ngroup: g/+\nhost: h\npublic_keys: [k]\n", "may not contain"},
		{"bad duration", "broker: x\nsite: s\ngroup: g\nhost: h\npublic_keys: [k]\nmax_age: soon\n", "line 6"},
	}
	for _, tc := range cases {
		p := filepath.Join(dir, tc.name+".yaml")
		if err := os.WriteFile(p, []byte(tc.yaml), 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(p)
		switch {
		case tc.err == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), p)):
			t.Errorf("%s: error %v, want one naming %s and %q", tc.name, err, p, tc.name)
		case tc.err == "" && c.MaxAge != 30*time.Second:
			t.Errorf("%s: max_age %v", tc.name, c.MaxAge)
		}
	}
}
