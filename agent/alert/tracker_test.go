package alert

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/command"
	"github.com/emberwatch/emberwatch/agent/detect"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func ev(sec int, id, subject, level, state string) detect.Event {
	return detect.Event{ID: id, Time: t0.Add(time.Duration(sec) * time.Second), Site: "dc-1", Gateway: "gw-1",
		Device: "bms-1", Subject: subject, Kind: detect.KindThermalRunaway, Level: level, State: state, Message: level}
}

// step is one input (an event, a tick or a command) and the published
// events it must give, as "id state level" strings.
type step struct {
	ev   *detect.Event
	tick int // seconds after t0, when ev is nil and cmd is nil
	cmd  *command.Command
	want []string
	// notify is the Notify of every update of the step.
	notify bool
}

func TestTracker(t *testing.T) {
	e := func(e detect.Event) *detect.Event { return &e }
	until := t0.Add(10 * time.Minute)
	cases := []struct {
		name  string
		steps []step
		// active is the final active list as "id level" strings.
		active []string
	}{
		{
			name: "raise escalate clear after hold",
			steps: []step{
				{ev: e(ev(0, "a", "battery.module.3", "warning", "raised")), want: []string{"a raised warning"}, notify: true},
				{ev: e(ev(5, "a", "battery.module.3", "warning", "raised"))}, // duplicate
				{ev: e(ev(9, "a", "battery.module.3", "critical", "escalated")), want: []string{"a escalated critical"}, notify: true},
				{ev: e(ev(10, "a", "battery.module.3", "warning", "escalated"))}, // lower: ignored
				{ev: e(ev(60, "a", "battery.module.3", "critical", "cleared"))},
				{tick: 100},
				{tick: 120, want: []string{"a cleared critical"}, notify: true},
				{tick: 200},
			},
		},
		{
			name: "flap within the hold is one alert",
			steps: []step{
				{ev: e(ev(0, "a", "battery.module.1", "warning", "raised")), want: []string{"a raised warning"}, notify: true},
				{ev: e(ev(10, "a", "battery.module.1", "warning", "cleared"))},
				{ev: e(ev(20, "b", "battery.module.1", "warning", "raised"))}, // new id, same key
				{tick: 100},
				{ev: e(ev(110, "b", "battery.module.1", "critical", "escalated")), want: []string{"a escalated critical"}, notify: true},
			},
			active: []string{"a critical"},
		},
		{
			name: "cleared without being raised",
			steps: []step{
				{ev: e(ev(0, "x", "battery.module.1", "warning", "cleared"))},
				{tick: 100},
			},
		},
		{
			name: "silence mutes but does not stop; escalation ends it",
			steps: []step{
				{ev: e(ev(0, "a", "battery.module.2", "advisory", "raised")), want: []string{"a raised advisory"}, notify: true},
				{cmd: &command.Command{Gateway: "console", Action: command.ActionAcknowledge, Reason: command.Reason{ID: "a"}, Issued: t0.Add(time.Second)}},
				{cmd: &command.Command{Gateway: "console", Action: command.ActionSilence, Reason: command.Reason{ID: "a"}, Issued: t0.Add(time.Second), Until: &until}},
				{ev: e(ev(30, "a", "battery.module.2", "warning", "escalated")), want: []string{"a escalated warning"}, notify: true},
				{cmd: &command.Command{Gateway: "console", Action: command.ActionSilence, Reason: command.Reason{ID: "a"}, Issued: t0.Add(40 * time.Second), Until: &until}},
				{ev: e(ev(50, "a", "battery.module.2", "warning", "cleared"))},
				{tick: 110, want: []string{"a cleared warning"}, notify: false},
			},
		},
		{
			name: "two subjects are two alerts, most severe first",
			steps: []step{
				{ev: e(ev(0, "a", "battery.module.1", "warning", "raised")), want: []string{"a raised warning"}, notify: true},
				{ev: e(ev(1, "b", "battery.module.2", "critical", "raised")), want: []string{"b raised critical"}, notify: true},
			},
			active: []string{"b critical", "a warning"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := New(Options{})
			for i, s := range tc.steps {
				var ups []Update
				switch {
				case s.ev != nil:
					ups = tr.Observe(*s.ev)
				case s.cmd != nil:
					if err := tr.Apply(*s.cmd); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
				default:
					ups = tr.Tick(t0.Add(time.Duration(s.tick) * time.Second))
				}
				var got []string
				for _, u := range ups {
					got = append(got, u.Event.ID+" "+u.Event.State+" "+u.Event.Level)
					if u.Notify != s.notify {
						t.Errorf("step %d: %s notify %v, want %v", i, got, u.Notify, s.notify)
					}
				}
				if strings.Join(got, ";") != strings.Join(s.want, ";") {
					t.Fatalf("step %d: published %q, want %q", i, got, s.want)
				}
			}
			var act []string
			for _, a := range tr.Active() {
				act = append(act, a.ID+" "+a.Level)
			}
			if strings.Join(act, ";") != strings.Join(tc.active, ";") {
				t.Errorf("active %q, want %q", act, tc.active)
			}
		})
	}
}

func TestApplyAndActiveJSON(t *testing.T) {
	tr := New(Options{ClearHold: -1})
	if b, _ := tr.ActiveJSON(); string(b) != "[]" {
		t.Fatalf("empty list %s", b)
	}
	tr.Observe(ev(0, "a", "battery.module.1", "critical", "raised"))
	if err := tr.Apply(command.Command{Action: command.ActionAcknowledge, Reason: command.Reason{ID: "zz"}}); !errors.Is(err, ErrNoAlert) {
		t.Errorf("unknown alert: %v", err)
	}
	if err := tr.Apply(command.Command{Action: command.ActionSilence, Reason: command.Reason{ID: "a"}, Issued: t0}); !errors.Is(err, ErrSilenceNoTime) {
		t.Errorf("silence without until: %v", err)
	}
	if err := tr.Apply(command.Command{Action: command.ActionShutdown, Reason: command.Reason{ID: "a"}}); !errors.Is(err, ErrNotForAlerts) {
		t.Errorf("shutdown: %v", err)
	}
	until := t0.Add(time.Minute)
	if err := tr.Apply(command.Command{Gateway: "ops", Action: command.ActionSilence, Reason: command.Reason{ID: "a"}, Issued: t0, Until: &until}); err != nil {
		t.Fatal(err)
	}
	b, _ := tr.ActiveJSON()
	var list []map[string]any
	if err := json.Unmarshal(b, &list); err != nil || len(list) != 1 {
		t.Fatalf("%s: %v", b, err)
	}
	if list[0]["id"] != "a" || list[0]["kind"] != "thermal_runaway" || list[0]["silenced"] == nil {
		t.Errorf("active JSON %s", b)
	}
	tr.Tick(until)
	if tr.Active()[0].Silenced != nil {
		t.Error("silence did not expire")
	}
	if ups := tr.Observe(ev(70, "a", "battery.module.1", "critical", "cleared")); len(ups) != 1 || ups[0].Event.State != "cleared" {
		t.Errorf("no hold: %+v", ups)
	}
}

func TestApplySigned(t *testing.T) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	signer, _ := command.NewSigner(key, "dc-1", "console-1", "")
	v, _ := command.NewVerifier(command.VerifierOptions{Keys: []ed25519.PublicKey{signer.PublicKey()}})
	tr := New(Options{})
	tr.Observe(ev(0, "a", "battery.module.1", "critical", "raised"))
	wire, _, err := signer.Sign(command.Command{Action: command.ActionAcknowledge, Reason: command.Reason{ID: "a"}}, t0.Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.ApplySigned(v, wire, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if m := tr.Active()[0].Acknowledged; m == nil || m.By != "console-1" {
		t.Fatalf("acknowledged %+v", m)
	}
	if _, err := tr.ApplySigned(v, wire, t0.Add(time.Minute)); !errors.Is(err, command.ErrReplay) {
		t.Errorf("replayed acknowledge: %v", err)
	}
	tampered := []byte(strings.Replace(string(wire), `"id":"a"`, `"id":"b"`, 1))
	if _, err := tr.ApplySigned(v, tampered, t0.Add(time.Minute)); !errors.Is(err, command.ErrBadSignature) {
		t.Errorf("tampered acknowledge: %v", err)
	}
}
