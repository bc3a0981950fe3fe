//go:build interop

package e2e

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/emberwatch/emberwatch/agent/command"
	"github.com/emberwatch/emberwatch/drivers/modbus"
	"github.com/emberwatch/emberwatch/testbench/modbussim"
	"github.com/emberwatch/emberwatch/testbench/peers"
)

// heatingBMS is the e2e BMS with module 3 heating at rate °C/s from 25 °C.
type heatingBMS struct {
	start time.Time
	rate  float64
}

func (h heatingBMS) Points() map[string]float64 {
	return map[string]float64{
		"battery.voltage": 53.1, "battery.current": -2,
		"battery.module.1.temperature": 25, "battery.module.2.temperature": 25.1,
		"battery.module.3.temperature": 25 + h.rate*time.Since(h.start).Seconds(), "battery.module.4.temperature": 24.9,
	}
}

// topicLog keeps every message of some topics with its arrival time.
type topicLog struct {
	mu sync.Mutex
	m  map[string][]arrival
}

type arrival struct {
	at      time.Time
	payload []byte
}

func (l *topicLog) get(topic string) []arrival {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]arrival(nil), l.m[topic]...)
}

func listen(t *testing.T, broker string, filters ...string) *topicLog {
	t.Helper()
	l := &topicLog{m: map[string][]arrival{}}
	fs := map[string]byte{}
	for _, f := range filters {
		fs[f] = 1
	}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("e2e-shed-listen").SetOrderMatters(true))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	tok := c.SubscribeMultiple(fs, func(_ paho.Client, m paho.Message) {
		l.mu.Lock()
		l.m[m.Topic()] = append(l.m[m.Topic()], arrival{time.Now(), append([]byte(nil), m.Payload()...)})
		l.mu.Unlock()
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	return l
}

func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestShedChain is the shed chain with the built binaries and mosquitto: a
// module of a simulated BMS heats fast; emberwatch run raises a critical
// thermal_runaway and sends signed shutdowns to the groups of its plan;
// three `emberwatch host -dry-run` listeners verify them, acknowledge and
// go offline; the agent sheds the second tier only after the first
// tier's hosts are down; Debian's upsc reads FSD on the battery that
// feeds the shed groups from the agent's NUT endpoint, until an
// operator's signed clear-fsd (sent with mosquitto_pub) clears it.
func TestShedChain(t *testing.T) {
	upsc := peers.Require(t, "upsc", "nut-client")
	m := peers.StartMosquitto(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	data, err := os.ReadFile("testdata/profiles/modbus/e2e-bms.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := modbus.ParseProfile("e2e-bms.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	sim, err := modbussim.New(p, heatingBMS{start: time.Now(), rate: 5}, modbussim.Options{Name: "bms-1"})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := sim.ServeTCP(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		tk := time.NewTicker(50 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tk.C:
				_ = sim.Refresh()
			}
		}
	}()

	dir := t.TempDir()
	if out, err := exec.Command(agentBin, "keygen", "-o", filepath.Join(dir, "gw")).CombinedOutput(); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	if out, err := exec.Command(agentBin, "keygen", "-o", filepath.Join(dir, "console")).CombinedOutput(); err != nil {
		t.Fatalf("keygen: %v\n%s", err, out)
	}
	pubB, err := os.ReadFile(filepath.Join(dir, "gw.pub"))
	if err != nil {
		t.Fatal(err)
	}
	gwPub, err := command.ParsePublicKey(string(pubB))
	if err != nil {
		t.Fatal(err)
	}

	// The hosts: web-1 and web-2 stop 300 ms after acknowledging, db-1
	// after 600 ms.
	hosts := []struct {
		name, group string
		stop        time.Duration
	}{{"web-1", "rack-a", 300 * time.Millisecond}, {"web-2", "rack-a", 300 * time.Millisecond}, {"db-1", "rack-b", 600 * time.Millisecond}}
	rec := listen(t, m.URL, command.AckWildcard("e2e"), "emberwatch/v1/e2e/shed/+", "emberwatch/v1/e2e/gw/#")
	var procs []*exec.Cmd
	for _, h := range hosts {
		cfg := filepath.Join(dir, h.name+".yaml")
		if err := os.WriteFile(cfg, []byte(fmt.Sprintf("broker: %s\nsite: e2e\ngroup: %s\nhost: %s\npublic_keys: [%s]\ndry_run_offline_after: %s\n",
			m.URL, h.group, h.name, filepath.Join(dir, "gw.pub"), h.stop)), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(agentBin, "host", "-c", cfg, "-dry-run")
		out := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		procs = append(procs, cmd)
		t.Cleanup(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			_ = cmd.Wait()
			if t.Failed() {
				t.Logf("host %s log:\n%s", h.name, out.String())
			}
		})
	}
	for _, h := range hosts {
		eventually(t, 10*time.Second, h.name+" online", func() bool { return len(rec.get(command.AckTopic("e2e", h.name))) > 0 })
	}

	nutPort := peers.FreePort(t)
	site := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(site, []byte(fmt.Sprintf(`site: e2e
gateway: gw
mqtt: {broker: %q, keepalive: 5s}
profiles_dir: %q
devices:
  - {name: bms-1, driver: modbus, address: "tcp://%s", profile: e2e-bms, interval: 100ms, timeout: 100ms}
detect: {confirm: 200ms, fast_hold: 500ms, over_temp_advisory: 28, over_temp_warning: 30, over_temp_critical: 75}
shed:
  groups:
    - {name: rack-a, hosts: [web-1, web-2], fed_by: [bms-1]}
    - {name: rack-b, hosts: [db-1], fed_by: [bms-1]}
  tiers:
    - {name: web, groups: [rack-a], deadline: 30s}
    - {name: db, groups: [rack-b], deadline: 30s}
  rules:
    - {kind: thermal_runaway, level: critical, device: bms-1, tiers: [web, db]}
commands: {key: gw.key, operator_keys: [console.pub]}
nut: {enabled: true, listen: "127.0.0.1:%d"}
`, m.URL, profilesDir(t), addr, nutPort)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(agentBin, "check", "-c", site).CombinedOutput(); err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
	a := &agent{log: &syncBuffer{}, done: make(chan struct{})}
	a.cmd = exec.Command(agentBin, "run", "-c", site, "-stats", "0")
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.err = a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		if !a.closed {
			a.stop(t)
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", a.log.String())
		}
	})

	shedA, shedB := command.ShedTopic("e2e", "rack-a"), command.ShedTopic("e2e", "rack-b")
	eventually(t, 20*time.Second, "both tiers commanded", func() bool { return len(rec.get(shedA)) > 0 && len(rec.get(shedB)) > 0 })
	v, err := command.NewVerifier(command.VerifierOptions{Keys: []ed25519.PublicKey{gwPub}})
	if err != nil {
		t.Fatal(err)
	}
	for _, topic := range []string{shedA, shedB} {
		c, err := v.Verify(rec.get(topic)[0].payload, time.Now())
		if err != nil || c.Action != command.ActionShutdown || c.Reason.Kind != "thermal_runaway" || c.Reason.Level != "critical" {
			t.Errorf("%s: %+v, %v", topic, c, err)
		}
	}

	// Tier 2 went out only after both hosts of tier 1 said offline.
	sentB := rec.get(shedB)[0].at
	for _, h := range []string{"web-1", "web-2"} {
		var offline time.Time
		for _, ar := range rec.get(command.AckTopic("e2e", h)) {
			var ack command.Ack
			if json.Unmarshal(ar.payload, &ack) == nil && ack.Status == command.AckOffline {
				offline = ar.at
			}
		}
		if offline.IsZero() || offline.After(sentB) {
			t.Errorf("tier 2 commanded at %v, %s offline at %v", sentB.Format(time.StampMilli), h, offline.Format(time.StampMilli))
		}
	}

	// db-1 goes down; tier 2 ends (without outlets it ends silently).
	eventually(t, 10*time.Second, "db-1 offline", func() bool {
		acks := rec.get(command.AckTopic("e2e", "db-1"))
		return len(acks) > 0 && strings.Contains(string(acks[len(acks)-1].payload), `"status":"offline"`)
	})
	time.Sleep(300 * time.Millisecond)

	// NUT: upsc lists the battery and reads FSD in its status.
	out, err := exec.Command(upsc, "-l", fmt.Sprintf("127.0.0.1:%d", nutPort)).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "bms-1") {
		t.Errorf("upsc -l: %v\n%s", err, out)
	}
	out, err = exec.Command(upsc, fmt.Sprintf("bms-1@127.0.0.1:%d", nutPort), "ups.status").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "FSD") {
		t.Errorf("upsc ups.status: %v\n%s", err, out)
	}
	out, _ = exec.Command(upsc, fmt.Sprintf("bms-1@127.0.0.1:%d", nutPort)).CombinedOutput()
	vars := strings.Split(strings.TrimSpace(string(out)), "\n")
	sort.Strings(vars)
	t.Logf("upsc bms-1: %s", strings.Join(vars, "; "))

	// An operator's signed clear-fsd: both tiers back to idle, no cancel
	// to the ended tiers, FSD gone for upsc, the result published.
	opKey, err := command.LoadPrivateKey(filepath.Join(dir, "console.key"))
	if err != nil {
		t.Fatal(err)
	}
	op, err := command.NewSigner(opKey, "e2e", "console-1", "")
	if err != nil {
		t.Fatal(err)
	}
	clear, _, err := op.Sign(command.Command{Action: command.ActionClearFSD}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mosquitto_pub", "-h", "127.0.0.1", "-p", strings.TrimPrefix(m.Addr, "127.0.0.1:"), "-q", "1",
		"-t", command.OperatorTopic("e2e", "gw"), "-m", string(clear)).CombinedOutput(); err != nil {
		t.Fatalf("mosquitto_pub: %v\n%s", err, out)
	}
	eventually(t, 5*time.Second, "tiers idle and no FSD", func() bool {
		st := rec.get("emberwatch/v1/e2e/gw/shed")
		var s struct {
			Tiers []struct{ State string }
			FSD   []string
		}
		_ = json.Unmarshal(st[len(st)-1].payload, &s)
		return len(s.Tiers) == 2 && s.Tiers[0].State == "idle" && s.Tiers[1].State == "idle" && len(s.FSD) == 0
	})
	if n := len(rec.get(shedA)) + len(rec.get(shedB)); n != 2 {
		t.Errorf("%d shed commands, want the two shutdowns", n)
	}
	// the result follows the shed state it changed
	eventually(t, 5*time.Second, "the operator result", func() bool {
		return len(rec.get(command.OperatorTopic("e2e", "gw")+"/result")) > 0
	})
	if res := rec.get(command.OperatorTopic("e2e", "gw") + "/result"); len(res) != 1 || !strings.Contains(string(res[0].payload), `"ok":true`) {
		t.Errorf("operator results %v", res)
	}
	out, err = exec.Command(upsc, fmt.Sprintf("bms-1@127.0.0.1:%d", nutPort), "ups.status").CombinedOutput()
	if err != nil || strings.Contains(string(out), "FSD") {
		t.Errorf("upsc ups.status after clear-fsd: %v\n%s", err, out)
	}

	a.stop(t)
	for _, p := range procs {
		_ = p.Process.Signal(syscall.SIGTERM)
	}
}
