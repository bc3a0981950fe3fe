package main

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/emberwatch/emberwatch/agent/broker"
	"github.com/emberwatch/emberwatch/agent/command"
	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/agent/host"
	"github.com/emberwatch/emberwatch/agent/mqtt"
	"github.com/emberwatch/emberwatch/agent/poll"
	"github.com/emberwatch/emberwatch/drivers/modbus"
	"github.com/emberwatch/emberwatch/testbench/modbussim"
	"github.com/emberwatch/emberwatch/testbench/peers"
)

// heating is a BMS whose module 3 heats at rate °C/s from 25 °C since
// start, its neighbours staying at 25 °C: a runaway as the Modbus
// simulator serves it (refreshed by the test).
type heating struct {
	start time.Time
	rate  float64
}

func (h heating) Points() map[string]float64 {
	return map[string]float64{
		"battery.voltage": 53.1, "battery.current": -2, "battery.charge": 95,
		"battery.module.1.temperature": 25, "battery.module.2.temperature": 25.2,
		"battery.module.3.temperature": 25 + h.rate*time.Since(h.start).Seconds(),
	}
}

// serveSim serves src through the test profile on 127.0.0.1 and refreshes
// it every 50 ms until the test ends; it returns the address.
func serveSim(t *testing.T, ctx context.Context, src modbussim.Source) string {
	t.Helper()
	p, err := modbus.ParseProfile("test-bms.yaml", []byte(runTestProfile))
	if err != nil {
		t.Fatal(err)
	}
	sim, err := modbussim.New(p, src, modbussim.Options{})
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
	return addr.String()
}

// siteDir writes the test BMS profile and returns the folder of a site.
func siteDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "profiles", "modbus"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "profiles", "modbus", "test-bms.yaml"), []byte(runTestProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startBroker starts the embedded broker until the test ends.
func startBroker(t *testing.T) *broker.Broker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := broker.New(broker.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-b.Done() })
	return b
}

// recorder is an MQTT subscriber that keeps every message per topic.
type recorder struct {
	c  paho.Client
	mu sync.Mutex
	m  map[string][][]byte
}

func record(t *testing.T, url string, topics ...string) *recorder {
	t.Helper()
	r := &recorder{m: map[string][][]byte{}}
	r.c = paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("rec-%d", time.Now().UnixNano())))
	if tok := r.c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { r.c.Disconnect(0) })
	// Every filter in one SUBSCRIBE: the embedded broker (mochi) keeps
	// its own packet ids and the client's in one table, so a second
	// SUBSCRIBE whose id equals that of a retained message still
	// unacknowledged is refused (reason 0x91, which paho reports as no
	// error), and the messages of that filter never come.
	filters := map[string]byte{}
	for _, topic := range topics {
		filters[topic] = 1
	}
	tok := r.c.SubscribeMultiple(filters, func(_ paho.Client, m paho.Message) {
		r.mu.Lock()
		r.m[m.Topic()] = append(r.m[m.Topic()], append([]byte(nil), m.Payload()...))
		r.mu.Unlock()
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe %v: %v", topics, tok.Error())
	}
	for f, code := range tok.(*paho.SubscribeToken).Result() {
		if code > 2 {
			t.Fatalf("subscribe %s refused: reason %#x", f, code)
		}
	}
	return r
}

// all returns the messages of a topic so far.
func (r *recorder) all(topic string) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.m[topic]...)
}

func (r *recorder) last(topic string) []byte {
	ms := r.all(topic)
	if len(ms) == 0 {
		return nil
	}
	return ms[len(ms)-1]
}

// waitFor polls cond every 20 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, log *lockedBuffer, cond func() bool) {
	t.Helper()
	start := time.Now()
	deadline := start.Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v; agent log:\n%s", what, d, log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("%s: after %v", what, time.Since(start).Round(time.Millisecond))
}

// agent runs the agent of a site file in-process until stop is called,
// which waits for it to return and checks that it returned nil. The
// environment is empty, or vars.
func agent(t *testing.T, site string, o runOptions, vars ...string) (log *lockedBuffer, stop func()) {
	t.Helper()
	log = &lockedBuffer{}
	getenv := func(k string) string {
		for i := 0; i+1 < len(vars); i += 2 {
			if vars[i] == k {
				return vars[i+1]
			}
		}
		return ""
	}
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: log, getenv: getenv}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	o.file = site
	if o.tick == 0 {
		o.tick = 100 * time.Millisecond
	}
	go func() { done <- runAgent(ctx, e, slog.New(slog.NewTextHandler(log, nil)), o) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("agent: %v; log:\n%s", err, log.String())
				}
			case <-time.After(10 * time.Second):
				t.Errorf("agent did not stop")
			}
		})
	}
	t.Cleanup(stop)
	return log, stop
}

// TestRunShedsOnRunaway: a module of a simulated BMS heats fast above the
// over-temperature limit; the agent's detector and alert lifecycle raise
// a critical thermal_runaway, and the shed controller publishes a signed
// shutdown on emberwatch/v1/<site>/shed/<group> that agent/command
// verifies with the gateway's public key; dry-run host listeners
// acknowledge through the agent's link and tier 2 follows once tier 1's
// hosts are down. The NUT endpoint shows FSD on the battery feeding the
// groups, an operator's signed acknowledge marks the alert, forged,
// replayed and unauthorised operator commands are refused and their
// refusals published, and a signed clear-fsd clears FSD.
func TestRunShedsOnRunaway(t *testing.T) {
	testRunShedsOnRunaway(t, startBroker(t).URL())
}

func testRunShedsOnRunaway(t *testing.T, url string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr := serveSim(t, ctx, heating{start: time.Now(), rate: 5})
	dir := siteDir(t)
	gwPub, err := command.GenerateKeyFiles(filepath.Join(dir, "gw-1"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := command.GenerateKeyFiles(filepath.Join(dir, "console"), nil); err != nil {
		t.Fatal(err)
	}
	opKey, err := command.LoadPrivateKey(filepath.Join(dir, "console.key"))
	if err != nil {
		t.Fatal(err)
	}
	nutAddr := fmt.Sprintf("127.0.0.1:%d", peers.FreePort(t))
	site := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(site, []byte(fmt.Sprintf(`site: dc1
gateway: gw-1
mqtt: {broker: %q}
profiles_dir: profiles
devices:
  - {name: bms-1, driver: modbus, address: "tcp://%s", profile: test-bms, interval: 100ms, timeout: 100ms}
detect: {tick: 1s, confirm: 200ms, fast_hold: 500ms, over_temp_advisory: 28, over_temp_warning: 30, over_temp_critical: 75}
shed:
  groups:
    - {name: rack-a, hosts: [web-1, web-2], fed_by: [bms-1]}
    - {name: rack-b, hosts: [db-1], fed_by: [bms-1]}
  tiers:
    - {name: web, groups: [rack-a], deadline: 30s}
    - {name: db, groups: [rack-b], deadline: 30s}
  rules:
    - {kind: thermal_runaway, level: critical, device: bms-1, tiers: [web, db]}
commands:
  key: gw-1.key
  operator_keys: [console.pub]
nut: {enabled: true, listen: %q}
`, url, addr, nutAddr)), 0o644); err != nil {
		t.Fatal(err)
	}

	shedTopic := command.ShedTopic("dc1", "rack-a")
	top := mqtt.NewTopics("dc1", "gw-1")
	resultTopic := command.OperatorTopic("dc1", "gw-1") + "/result"
	rec := record(t, url, shedTopic, command.ShedTopic("dc1", "rack-b"), top.Alerts(), top.Alert("bms-1"), top.Root+"/shed", resultTopic, command.AckWildcard("dc1"))

	// The hosts run the listener in dry-run and stop 500 ms (tier 1) or
	// 300 ms (tier 2) after acknowledging.
	hostCtx, stopHosts := context.WithCancel(ctx)
	var hosts sync.WaitGroup
	defer func() { stopHosts(); hosts.Wait() }()
	for _, h := range []struct {
		name, group string
		stop        time.Duration
	}{{"web-1", "rack-a", 500 * time.Millisecond}, {"web-2", "rack-a", 500 * time.Millisecond}, {"db-1", "rack-b", 300 * time.Millisecond}} {
		l, err := host.New(host.Config{Broker: url, Site: "dc1", Group: h.group, Host: h.name, DryRun: true, DryRunOfflineAfter: h.stop},
			host.Options{Keys: []ed25519.PublicKey{gwPub}, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		hosts.Go(func() { _ = l.Run(hostCtx) })
	}
	for _, h := range []string{"web-1", "web-2", "db-1"} {
		waitFor(t, 5*time.Second, h+" online", &lockedBuffer{}, func() bool { return len(rec.all(command.AckTopic("dc1", h))) > 0 })
	}
	log, stop := agent(t, site, runOptions{})

	start := time.Now()
	waitFor(t, 20*time.Second, "shed command for rack-a", log, func() bool { return len(rec.all(shedTopic)) > 0 })
	t.Logf("first poll to the shed command: %v", time.Since(start).Round(time.Millisecond))

	v, err := command.NewVerifier(command.VerifierOptions{Keys: []ed25519.PublicKey{gwPub}})
	if err != nil {
		t.Fatal(err)
	}
	wire := rec.all(shedTopic)[0]
	c, err := v.Verify(wire, time.Now())
	if err != nil {
		t.Fatalf("shed command %s does not verify: %v", wire, err)
	}
	if c.Action != command.ActionShutdown || c.Site != "dc1" || c.Gateway != "gw-1" || c.Group != "rack-a" || c.Tier != 1 ||
		c.Reason.Kind != detect.KindThermalRunaway || c.Reason.Level != detect.LevelCritical || c.Reason.Device != "bms-1" {
		t.Errorf("shed command %+v", c)
	}
	if _, err := v.Verify(wire, time.Now()); err == nil {
		t.Error("the same command verified twice")
	}
	// A tampered copy does not verify.
	other, _ := command.NewVerifier(command.VerifierOptions{Keys: []ed25519.PublicKey{gwPub}})
	if _, err := other.Verify([]byte(strings.Replace(string(wire), `"rack-a"`, `"rack-b"`, 1)), time.Now()); err == nil {
		t.Error("a tampered command verified")
	}
	// The second tier waits for the first's hosts or deadline.
	if n := len(rec.all(command.ShedTopic("dc1", "rack-b"))); n != 0 {
		t.Errorf("tier 2 commanded before tier 1 ended: %d commands", n)
	}

	// The retained active list holds the critical runaway.
	var alertID string
	waitFor(t, 5*time.Second, "critical runaway in the active list", log, func() bool {
		var active []struct{ ID, Kind, Level string }
		_ = json.Unmarshal(rec.last(top.Alerts()), &active)
		for _, a := range active {
			if a.Kind == detect.KindThermalRunaway && a.Level == detect.LevelCritical {
				alertID = a.ID
				return true
			}
		}
		return false
	})
	if alertID != c.Reason.ID {
		t.Errorf("the command names alert %q, the active list %q", c.Reason.ID, alertID)
	}
	for _, m := range rec.all(top.Alert("bms-1")) {
		var ev detect.Event
		if json.Unmarshal(m, &ev) == nil && ev.ID == alertID && ev.Level == detect.LevelCritical {
			t.Logf("critical sample (poll start) to the signed shed command issued: %v", c.Issued.Sub(ev.Time).Round(time.Microsecond))
			break
		}
	}

	// NUT: the battery feeding the shed groups carries FSD.
	waitFor(t, 5*time.Second, "FSD on bms-1 over NUT", log, func() bool {
		return strings.Contains(nutGet(t, nutAddr, "GET VAR bms-1 ups.status"), "FSD")
	})
	fsdOn := func(name string) bool {
		var st struct{ FSD []string }
		_ = json.Unmarshal(rec.last(top.Root+"/shed"), &st)
		for _, n := range st.FSD {
			if n == name {
				return true
			}
		}
		return false
	}
	waitFor(t, 5*time.Second, "FSD of bms-1 in the shed status", log, func() bool { return fsdOn("bms-1") })

	// Operator commands: a signed acknowledge is applied; the same
	// command again (replay), one signed by an unknown key, and a cancel
	// for another site are refused; each result is published.
	opSigner, err := command.NewSigner(opKey, "dc1", "console-1", "")
	if err != nil {
		t.Fatal(err)
	}
	ack, _, err := opSigner.Sign(command.Command{Action: command.ActionAcknowledge, Reason: command.Reason{ID: alertID}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	forger, _ := command.NewSigner(ed25519.NewKeyFromSeed(make([]byte, 32)), "dc1", "console-1", "")
	forged, _, _ := forger.Sign(command.Command{Action: command.ActionCancel}, time.Now().Add(time.Second))
	otherSite, _ := command.NewSigner(opKey, "dc2", "console-1", "")
	elsewhere, _, _ := otherSite.Sign(command.Command{Action: command.ActionCancel}, time.Now().Add(2*time.Second))
	for _, m := range [][]byte{ack, ack, forged, elsewhere} {
		if tok := rec.c.Publish(command.OperatorTopic("dc1", "gw-1"), 1, false, m); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	waitFor(t, 5*time.Second, "four operator results", log, func() bool { return len(rec.all(resultTopic)) == 4 })
	var got []string
	for _, m := range rec.all(resultTopic) {
		var r operatorResult
		if err := json.Unmarshal(m, &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%s ok=%v %s", r.Action, r.OK, r.Reject))
	}
	want := []string{"acknowledge ok=true ", "acknowledge ok=false replay", "cancel ok=false unknown-key", "cancel ok=false error"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("operator results %q, want %q", got, want)
	}
	waitFor(t, 5*time.Second, "acknowledged in the active list", log, func() bool {
		return strings.Contains(string(rec.last(top.Alerts())), `"acknowledged":{"by":"console-1"`)
	})
	if !fsdOn("bms-1") {
		t.Errorf("shed status after the refused cancels: %s", rec.last(top.Root+"/shed"))
	}

	// web-1 and web-2 acknowledged and went down: the controller heard
	// them over the agent's link, ended tier 1 and commanded tier 2.
	waitFor(t, 10*time.Second, "tier 2 command after tier 1's hosts went down", log, func() bool {
		return len(rec.all(command.ShedTopic("dc1", "rack-b"))) > 0
	})
	// db-1 goes down too, and tier 2 ends: the retained status says so
	// (a tier without outlets ends without an action, and the status
	// follows it all the same). Only then does the operator clear FSD, so
	// the ended tier gets no cancel.
	shedStatus := func() (tiers []struct{ State, Why string }, fsd []string) {
		var st struct {
			Tiers []struct{ State, Why string }
			FSD   []string
		}
		_ = json.Unmarshal(rec.last(top.Root+"/shed"), &st)
		return st.Tiers, st.FSD
	}
	waitFor(t, 10*time.Second, "both tiers off with their hosts down in the shed status", log, func() bool {
		tiers, _ := shedStatus()
		return len(tiers) == 2 && tiers[0].State == "off" && tiers[0].Why == "hosts down" &&
			tiers[1].State == "off" && tiers[1].Why == "hosts down"
	})
	if !strings.Contains(string(lastOf(rec.all(command.AckTopic("dc1", "db-1")))), `"status":"offline"`) {
		t.Errorf("tier 2 ended before db-1 went offline: %s", lastOf(rec.all(command.AckTopic("dc1", "db-1"))))
	}
	clear, _, err := opSigner.Sign(command.Command{Action: command.ActionClearFSD}, time.Now().Add(3*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if tok := rec.c.Publish(command.OperatorTopic("dc1", "gw-1"), 1, false, clear); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	waitFor(t, 5*time.Second, "FSD cleared", log, func() bool {
		tiers, fsd := shedStatus()
		return len(tiers) == 2 && tiers[0].State == "idle" && tiers[1].State == "idle" && len(fsd) == 0
	})
	if n := len(rec.all(command.ShedTopic("dc1", "rack-b"))); n != 1 {
		t.Errorf("rack-b got %d commands, want the shutdown only (no cancel: its tier had ended)", n)
	}
	waitFor(t, 5*time.Second, "no FSD over NUT", log, func() bool {
		st := nutGet(t, nutAddr, "GET VAR bms-1 ups.status")
		return strings.HasPrefix(st, "VAR bms-1 ups.status") && !strings.Contains(st, "FSD")
	})
	stop()
}

func lastOf(ms [][]byte) []byte {
	if len(ms) == 0 {
		return nil
	}
	return ms[len(ms)-1]
}

// nutGet sends one line to the NUT endpoint and returns the answer.
func nutGet(t *testing.T, addr, line string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return ""
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	fmt.Fprintln(c, line)
	s, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(s)
}

func TestTopicMatch(t *testing.T) {
	for _, tt := range []struct {
		filter, topic string
		want          bool
	}{
		{"emberwatch/v1/dc1/ack/+", "emberwatch/v1/dc1/ack/web-1", true},
		{"emberwatch/v1/dc1/ack/+", "emberwatch/v1/dc1/ack", false},
		{"emberwatch/v1/dc1/ack/+", "emberwatch/v1/dc1/ack/web-1/x", false},
		{"emberwatch/v1/dc1/gw-1/command", "emberwatch/v1/dc1/gw-1/command", true},
		{"emberwatch/v1/dc1/gw-1/command", "emberwatch/v1/dc1/gw-2/command", false},
		{"emberwatch/#", "emberwatch/v1/dc1", true},
	} {
		if got := topicMatch(tt.filter, tt.topic); got != tt.want {
			t.Errorf("topicMatch(%q, %q) = %v", tt.filter, tt.topic, got)
		}
	}
}

// switchingPDU is a PDU device that records its switches.
type switchingPDU struct {
	failingThenOK
	switched []string
}

func (p *switchingPDU) Switch(_ context.Context, control string, n int, cmd string) error {
	p.switched = append(p.switched, fmt.Sprintf("%s %d %s", control, n, cmd))
	return nil
}

// TestOutletSwitch: outlets are switched through the PDU device's
// allow-listed outlet control, also when the device was opened late; a
// device that cannot switch, or is not open, fails and is never taken
// for off.
func TestOutletSwitch(t *testing.T) {
	pdu, late := &switchingPDU{}, &switchingPDU{}
	reopen := &reopenDevice{name: "pdu-c"}
	devs := map[string]poll.Device{"pdu-a": pdu, "bms-1": failingThenOK{}, "pdu-c": reopen}
	sw := outletSwitch(devs)
	ctx := context.Background()
	if on, err := sw.SetOutlet(ctx, "pdu-a", 3, false); err != nil || on {
		t.Errorf("pdu-a: on=%v, %v", on, err)
	}
	if len(pdu.switched) != 1 || pdu.switched[0] != "outlet 3 off" {
		t.Errorf("pdu-a switched %q", pdu.switched)
	}
	for _, name := range []string{"bms-1", "pdu-c", "pdu-z"} {
		if on, err := sw.SetOutlet(ctx, name, 1, false); err == nil || !on {
			t.Errorf("%s: on=%v, %v; want an error and on", name, on, err)
		}
	}
	reopen.mu.Lock()
	reopen.dev = late
	reopen.mu.Unlock()
	if on, err := sw.SetOutlet(ctx, "pdu-c", 2, false); err != nil || on || len(late.switched) != 1 {
		t.Errorf("pdu-c once open: on=%v, %v, %q", on, err, late.switched)
	}
}
