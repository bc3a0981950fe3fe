package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/emberwatch/emberwatch/agent/broker"
	"github.com/emberwatch/emberwatch/agent/command"
)

func TestHostVerbUsage(t *testing.T) {
	var out bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	bad := filepath.Join(t.TempDir(), "host.yaml")
	if err := os.WriteFile(bad, []byte("broker: tcp://127.0.0.1:1\nsite: dc-1\nbogus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
	}{
		{"no config", nil, 2},
		{"argument", []string{"-c", bad, "x"}, 2},
		{"bad config", []string{"-c", bad}, 2},
		{"missing file", []string{"-c", bad + ".none"}, 2},
		{"help", []string{"-h"}, 0},
	}
	for _, tc := range cases {
		err := hostCmd(context.Background(), e, tc.args)
		if got := exitCode(e, "host", err); got != tc.code {
			t.Errorf("%s: exit %d (%v), want %d", tc.name, got, err, tc.code)
		}
	}
	if !strings.Contains(out.String(), "bogus") {
		t.Errorf("bad config error does not name the key:\n%s", out.String())
	}
}

// TestHostVerb: keygen, then a dry-run listener acknowledges a signed
// shutdown and says offline when stopped.
func TestHostVerb(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := broker.New(broker.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var out bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &out, getenv: func(string) string { return "" }}
	prefix := filepath.Join(dir, "gw-1")
	if err := keygenCmd(ctx, e, []string{"-o", prefix}); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "host.yaml")
	yml := "broker: " + b.URL() + "\nsite: dc-1\ngroup: rack-a\nhost: web-1\npublic_keys: [" + prefix + ".pub]\nstate_file: " + filepath.Join(dir, "seq.json") + "\n"
	if err := os.WriteFile(cfg, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var statuses []string
	got := make(chan string, 16)
	c := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("test-host-verb"))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(50)
	c.Subscribe(command.AckTopic("dc-1", "web-1"), 1, func(_ paho.Client, m paho.Message) {
		var a command.Ack
		_ = json.Unmarshal(m.Payload(), &a)
		mu.Lock()
		statuses = append(statuses, a.Status)
		mu.Unlock()
		got <- a.Status
	}).WaitTimeout(5 * time.Second)
	wait := func(status string) {
		t.Helper()
		for {
			select {
			case s := <-got:
				if s == status {
					return
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("no %s ack; got %v", status, statuses)
			}
		}
	}

	hctx, hstop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- hostCmd(hctx, e, []string{"-c", cfg, "-dry-run", "-log-level", "warn"}) }()
	wait(command.AckOnline)

	key, err := command.LoadPrivateKey(prefix + ".key")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := command.NewSigner(key, "dc-1", "gw-1", "")
	wire, _, _ := signer.Sign(command.Command{Group: "rack-a", Tier: 1, Action: command.ActionShutdown}, time.Now())
	c.Publish(command.ShedTopic("dc-1", "rack-a"), 1, false, wire).WaitTimeout(5 * time.Second)
	wait(command.AckShuttingDown)
	hstop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	wait(command.AckOffline)
	if !strings.Contains(out.String(), "dry run") {
		t.Errorf("dry run not logged:\n%s", out.String())
	}
}
