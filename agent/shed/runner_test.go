package shed

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/command"
)

// fakePublisher records what is published.
type fakePublisher struct {
	mu   sync.Mutex
	msgs []published
	fail error
}

type published struct {
	topic   string
	payload []byte
	retain  bool
}

func (p *fakePublisher) Publish(_ context.Context, topic string, payload []byte, retain bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail != nil && strings.Contains(topic, "/shed/") {
		return p.fail
	}
	p.msgs = append(p.msgs, published{topic, payload, retain})
	return nil
}

// switchFunc adapts a function to OutletSwitch.
type switchFunc func(pdu string, n int, on bool) (bool, error)

func (f switchFunc) SetOutlet(_ context.Context, pdu string, n int, on bool) (bool, error) {
	return f(pdu, n, on)
}

func TestController(t *testing.T) {
	p, err := LoadPlan(filepath.Join("testdata", "room.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	eng, _ := NewEngine(p)
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	signer, _ := command.NewSigner(key, "dc-1", "gw-1", "")
	pub := &fakePublisher{}
	var outcomes []Outcome
	var fsd []string
	now := t0
	sw := switchFunc(func(pdu string, n int, on bool) (bool, error) {
		if n == 2 {
			return true, nil // a stuck relay: reads back on
		}
		return on, nil
	})
	ctl, err := NewController(eng, ControllerOptions{Site: "dc-1", Signer: signer, Publisher: pub, Switch: sw, Logger: quiet(),
		StatusTopic: "emberwatch/v1/dc-1/gw-1/shed", Now: func() time.Time { return now },
		OnOutcome: func(o Outcome) { outcomes = append(outcomes, o) }, OnFSD: func(s []string) { fsd = s }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ctl.Alert(ctx, critical("bms-1", "battery.module.2"))

	// The command on the group's topic verifies with the gateway's key.
	v, _ := command.NewVerifier(command.VerifierOptions{Keys: []ed25519.PublicKey{signer.PublicKey()}})
	var cmdMsg *published
	for i, m := range pub.msgs {
		if m.topic == command.ShedTopic("dc-1", "rack-a-web") {
			cmdMsg = &pub.msgs[i]
		}
	}
	if cmdMsg == nil || cmdMsg.retain {
		t.Fatalf("no command published: %+v", pub.msgs)
	}
	c, err := v.Verify(cmdMsg.payload, now)
	if err != nil || c.Action != command.ActionShutdown || c.Tier != 1 || c.Reason.Device != "bms-1" {
		t.Fatalf("command %+v: %v", c, err)
	}
	if strings.Join(fsd, " ") != "bms-1 rack-a-web" {
		t.Errorf("FSD %v", fsd)
	}

	// The deadline passes: outlets off; the stuck one is an error.
	now = now.Add(91 * time.Second)
	ctl.Tick(ctx)
	var off *Outcome
	for i := range outcomes {
		if outcomes[i].Kind == "outlets-off" {
			off = &outcomes[i]
		}
	}
	if off == nil || off.Why != "deadline" || len(off.Outlets) != 2 || off.Outlets[1].Error == "" || !strings.Contains(off.Error, "pdu-a outlet 2: still on") {
		t.Fatalf("outlets-off outcome %+v", off)
	}

	// The status is retained and carries the FSD set.
	last := pub.msgs[len(pub.msgs)-1]
	var st StatusMessage
	if err := json.Unmarshal(last.payload, &st); err != nil || !last.retain || last.topic != "emberwatch/v1/dc-1/gw-1/shed" {
		t.Fatalf("status %s %v", last.payload, err)
	}
	if st.Tiers[0].State != TierOff || st.Tiers[1].State != TierSent || strings.Join(st.FSD, " ") != "bms-1 rack-a-db rack-a-web" {
		t.Errorf("status %+v", st)
	}

	// An operator clears FSD: the commanded tier is cancelled, every tier idle.
	if err := ctl.Operator(ctx, command.Command{Gateway: "console", Seq: 5, Action: command.ActionClearFSD}); err != nil {
		t.Fatal(err)
	}
	if len(fsd) != 0 {
		t.Errorf("FSD after clear %v", fsd)
	}
	lastCmd := pub.msgs[len(pub.msgs)-3] // cancel, outcome, status
	if c, err := v.Verify(lastCmd.payload, now); err != nil || c.Action != command.ActionCancel || c.Group != "rack-a-db" {
		t.Errorf("cancel %+v %v (%s)", c, err, lastCmd.topic)
	}
	for _, s := range ctl.Status() {
		if s.State != TierIdle {
			t.Errorf("tier %s %s after clear", s.Name, s.State)
		}
	}
	if err := ctl.Operator(ctx, command.Command{Action: command.ActionShutdown}); err == nil {
		t.Error("operator shutdown accepted")
	}

	// A publish failure is reported in the outcome.
	pub.fail = errors.New("broker gone")
	ctl.Alert(ctx, critical("bms-1", "battery.module.2"))
	if o := outcomes[len(outcomes)-1]; o.Kind != "send" || !strings.Contains(o.Error, "broker gone") {
		t.Errorf("outcome %+v", o)
	}
}

// TestControllerStatusWithoutOutlets: a tier without outlets ends with no
// action; the retained status still follows it, host by host, to "off",
// and the next tier's end is published too.
func TestControllerStatusWithoutOutlets(t *testing.T) {
	p, err := ParsePlan("site.yaml", []byte(`
shed:
  groups:
    - {name: rack-a, hosts: [web-1, web-2], fed_by: [bms-1]}
    - {name: rack-b, hosts: [db-1], fed_by: [bms-1]}
  tiers:
    - {name: web, groups: [rack-a], deadline: 30s}
    - {name: db, groups: [rack-b], deadline: 30s}
  rules:
    - {kind: thermal_runaway, level: critical, device: bms-1, tiers: [web, db]}
`))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := NewEngine(p)
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := command.NewSigner(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)), "dc-1", "gw-1", "")
	pub := &fakePublisher{}
	now := t0
	const topic = "emberwatch/v1/dc-1/gw-1/shed"
	ctl, err := NewController(eng, ControllerOptions{Site: "dc-1", Signer: signer, Publisher: pub, Logger: quiet(),
		StatusTopic: topic, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	// status returns the tiers of the last retained status as
	// "state/down" each, and how many statuses were published.
	status := func() (string, int) {
		pub.mu.Lock()
		defer pub.mu.Unlock()
		var last []byte
		n := 0
		for _, m := range pub.msgs {
			if m.topic == topic {
				if !m.retain {
					t.Errorf("status not retained: %s", m.payload)
				}
				last, n = m.payload, n+1
			}
		}
		var st StatusMessage
		if err := json.Unmarshal(last, &st); err != nil {
			t.Fatalf("status %s: %v", last, err)
		}
		var s []string
		for _, ts := range st.Tiers {
			s = append(s, fmt.Sprintf("%s/%d", ts.State, ts.Down))
		}
		return strings.Join(s, " "), n
	}
	ctx := context.Background()
	ctl.Alert(ctx, critical("bms-1", "battery.module.3"))
	steps := []struct {
		host, status string
		want         string
		published    bool
	}{
		{"web-1", command.AckReceived, "commanded/0 wanted/0", false},
		{"web-1", command.AckShuttingDown, "commanded/0 wanted/0", false},
		{"web-2", command.AckShuttingDown, "commanded/0 wanted/0", false},
		{"web-1", command.AckOffline, "commanded/1 wanted/0", true},
		{"web-2", command.AckOffline, "off/2 commanded/0", true}, // tier 2 commanded
		{"db-1", command.AckShuttingDown, "off/2 commanded/0", false},
		{"db-1", command.AckOffline, "off/2 off/1", true}, // no action, still published
	}
	for _, s := range steps {
		now = now.Add(time.Second)
		_, before := status()
		ctl.Ack(ctx, command.Ack{Host: s.host, Status: s.status})
		got, after := status()
		if got != s.want || (after > before) != s.published {
			t.Errorf("after %s %s: status %q (published: %v), want %q (%v)", s.host, s.status, got, after > before, s.want, s.published)
		}
	}
	// Nothing changes on a tick: nothing is published.
	_, before := status()
	ctl.Tick(ctx)
	if _, after := status(); after != before {
		t.Errorf("a tick without change published the status")
	}
}
