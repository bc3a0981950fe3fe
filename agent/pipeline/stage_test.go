package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/alert"
	"github.com/emberwatch/emberwatch/agent/command"
	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/drivers"
)

// fakePub records what a Stage publishes.
type fakePub struct {
	mu        sync.Mutex
	telemetry []string // device of each poll
	alerts    []detect.Event
	active    [][]alert.Active
	alertErr  error
}

func (p *fakePub) Publish(device string, _ time.Time, _ []drivers.Reading) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.telemetry = append(p.telemetry, device)
}

func (p *fakePub) PublishAlert(_ string, event []byte) error {
	var ev detect.Event
	if err := json.Unmarshal(event, &ev); err != nil {
		panic(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.alerts = append(p.alerts, ev)
	return p.alertErr
}

func (p *fakePub) SetActiveAlerts(list []byte) {
	var as []alert.Active
	if err := json.Unmarshal(list, &as); err != nil {
		panic(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active = append(p.active, as)
}

// fakeNUT records the UPS names a Stage updates.
type fakeNUT struct{ names []string }

func (n *fakeNUT) Update(name, _ string, _ map[string]string) { n.names = append(n.names, name) }

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestStage(t *testing.T) (*Stage, *fakePub, *bytes.Buffer) {
	t.Helper()
	cfg := detect.DefaultConfig()
	cfg.Site, cfg.Gateway = "dc1", "gw-1"
	pub := &fakePub{}
	var logs bytes.Buffer
	return New(detect.New(cfg), pub, slog.New(slog.NewTextHandler(&logs, nil))), pub, &logs
}

// event is an alert event of bms-1's module 3 at t0+after.
func event(id, level, state string, after time.Duration) detect.Event {
	return detect.Event{ID: id, Time: t0.Add(after), Site: "dc1", Gateway: "gw-1", Device: "bms-1",
		Subject: "battery.module.3", Kind: detect.KindOverTemperature, Level: level, State: state, Message: "hot"}
}

func TestPublishNUT(t *testing.T) {
	num := func(point string) drivers.Reading { return drivers.Reading{Point: point, Value: 1, Time: t0} }
	for _, tc := range []struct {
		name   string
		nut    bool
		device string
		rs     []drivers.Reading
		want   bool // the NUT endpoint is updated
	}{
		{"battery points", true, "bms-1", []drivers.Reading{num("ambient.temperature"), num("battery.voltage")}, true},
		{"ups points", true, "bms-1", []drivers.Reading{num("ups.load")}, true},
		{"named device", true, "pdu-1", []drivers.Reading{num("outlet.1.current")}, true},
		{"neither", true, "probe-1", []drivers.Reading{num("ambient.temperature")}, false},
		{"empty poll of a named device", true, "pdu-1", nil, false},
		{"no endpoint", false, "bms-1", []drivers.Reading{num("battery.voltage")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, pub, _ := newTestStage(t)
			n := &fakeNUT{}
			if tc.nut {
				s.SetNUT(n, map[string]bool{"pdu-1": true})
			}
			s.Publish(tc.device, t0, tc.rs)
			if got := len(n.names) == 1 && n.names[0] == tc.device; got != tc.want || len(n.names) > 1 {
				t.Errorf("NUT updates %q, want one of %s: %v", n.names, tc.device, tc.want)
			}
			if len(pub.telemetry) != 1 || pub.telemetry[0] != tc.device {
				t.Errorf("telemetry %q, want one poll of %s", pub.telemetry, tc.device)
			}
			if got := s.Readings(); got != uint64(len(tc.rs)) {
				t.Errorf("Readings %d, want %d", got, len(tc.rs))
			}
		})
	}
}

// TestDetector feeds readings through the detector: a device that falls
// silent is an alert once the clock passes the comms-lost time, and text
// and infinite readings are not samples.
func TestDetector(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rs      []drivers.Reading
		wantAll bool // comms_lost raised after the silence
	}{
		{"numeric", []drivers.Reading{{Point: "battery.voltage", Value: 52.1}}, true},
		{"sample time of its own", []drivers.Reading{{Point: "battery.voltage", Value: 52.1, Time: t0.Add(-time.Second)}}, true},
		{"text only", []drivers.Reading{{Point: "ups.status", Text: "OL"}}, false},
		{"infinite only", []drivers.Reading{{Point: "battery.voltage", Value: math.Inf(1)}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, pub, _ := newTestStage(t)
			s.Publish("bms-1", t0, tc.rs)
			s.Tick(t0.Add(5 * time.Minute))
			raised := len(pub.alerts) > 0 && pub.alerts[0].Kind == detect.KindCommsLost && pub.alerts[0].State == detect.StateRaised
			if raised != tc.wantAll {
				t.Fatalf("alerts %+v; want comms_lost raised: %v", pub.alerts, tc.wantAll)
			}
			if raised {
				if s.Events() == 0 {
					t.Error("Events 0 after an alert")
				}
				if n := len(pub.active); n != 1 || len(pub.active[0]) != 1 {
					t.Errorf("active lists %+v, want one with the alert", pub.active)
				}
			}
		})
	}
}

// step is one input of a lifecycle test: an event, or a tick.
type step struct {
	ev   *detect.Event
	tick time.Duration // after t0, when ev is nil
}

func TestLifecycle(t *testing.T) {
	raise := event("a1", detect.LevelWarning, detect.StateRaised, 0)
	again := event("a2", detect.LevelWarning, detect.StateRaised, time.Minute)
	escalate := event("a3", detect.LevelCritical, detect.StateEscalated, 2*time.Minute)
	clear := event("a1", detect.LevelWarning, detect.StateCleared, 3*time.Minute)
	for _, tc := range []struct {
		name       string
		steps      []step
		wantStates []string // of the published alerts
		wantActive []int    // lengths of the published active lists
	}{
		{"raise", []step{{ev: &raise}}, []string{detect.StateRaised}, []int{1}},
		{"raise twice at one level", []step{{ev: &raise}, {ev: &again}}, []string{detect.StateRaised}, []int{1}},
		{"escalate", []step{{ev: &raise}, {ev: &escalate}}, []string{detect.StateRaised, detect.StateEscalated}, []int{1, 1}},
		{"clear held", []step{{ev: &raise}, {ev: &clear}, {tick: 3*time.Minute + 30*time.Second}},
			[]string{detect.StateRaised}, []int{1, 1}},
		{"clear after the hold", []step{{ev: &raise}, {ev: &clear}, {tick: 4*time.Minute + time.Second}},
			[]string{detect.StateRaised, detect.StateCleared}, []int{1, 1, 0}},
		{"clear of nothing", []step{{ev: &clear}}, nil, []int{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, pub, logs := newTestStage(t)
			for _, st := range tc.steps {
				if st.ev != nil {
					s.Alert(*st.ev)
				} else {
					s.Tick(t0.Add(st.tick))
				}
			}
			var states []string
			for _, ev := range pub.alerts {
				states = append(states, ev.State)
				if ev.ID != "a1" {
					t.Errorf("alert id %s, want the first one, a1", ev.ID)
				}
			}
			if !slices.Equal(states, tc.wantStates) {
				t.Errorf("published %q, want %q", states, tc.wantStates)
			}
			var lens []int
			for _, as := range pub.active {
				lens = append(lens, len(as))
			}
			if !slices.Equal(lens, tc.wantActive) {
				t.Errorf("active lists of %v alerts, want %v", lens, tc.wantActive)
			}
			if got := strings.Count(logs.String(), "msg=alert "); got != len(tc.wantStates) {
				t.Errorf("%d alert log lines, want %d:\n%s", got, len(tc.wantStates), logs)
			}
		})
	}
}

func TestShed(t *testing.T) {
	s, pub, logs := newTestStage(t)
	s.shedWait = 10 * time.Millisecond
	q := make(chan detect.Event, 1)
	s.SetShed(q)
	s.Alert(event("a1", detect.LevelWarning, detect.StateRaised, 0))
	s.Alert(event("a2", detect.LevelCritical, detect.StateEscalated, time.Minute)) // the queue is full
	if got := <-q; got.ID != "a1" || got.State != detect.StateRaised {
		t.Errorf("handed %+v, want a1 raised", got)
	}
	select {
	case ev := <-q:
		t.Errorf("handed %+v too, the queue was full", ev)
	default:
	}
	if !strings.Contains(logs.String(), "alert not handed to the shed controller") {
		t.Errorf("no log of the update not handed over:\n%s", logs)
	}
	if len(pub.alerts) != 2 {
		t.Errorf("published %d alerts, want both", len(pub.alerts))
	}
}

func TestAlertNotQueued(t *testing.T) {
	s, pub, logs := newTestStage(t)
	pub.alertErr = errors.New("queue full")
	s.Alert(event("a1", detect.LevelWarning, detect.StateRaised, 0))
	if !strings.Contains(logs.String(), "alert not queued") || len(pub.active) != 1 {
		t.Errorf("active lists %d, logs:\n%s", len(pub.active), logs)
	}
}

func TestOperator(t *testing.T) {
	until := t0.Add(time.Hour)
	for _, tc := range []struct {
		name    string
		c       command.Command
		wantErr error
		check   func(alert.Active) bool
	}{
		{"acknowledge", command.Command{Action: command.ActionAcknowledge, Gateway: "console", Issued: t0, Reason: command.Reason{ID: "a1"}},
			nil, func(a alert.Active) bool { return a.Acknowledged != nil && a.Acknowledged.By == "console" }},
		{"silence", command.Command{Action: command.ActionSilence, Gateway: "console", Issued: t0, Until: &until, Reason: command.Reason{ID: "a1"}},
			nil, func(a alert.Active) bool { return a.Silenced != nil && a.Silenced.Until.Equal(until) }},
		{"silence without an end", command.Command{Action: command.ActionSilence, Issued: t0, Reason: command.Reason{ID: "a1"}},
			alert.ErrSilenceNoTime, nil},
		{"unknown alert", command.Command{Action: command.ActionAcknowledge, Issued: t0, Reason: command.Reason{ID: "zz"}},
			alert.ErrNoAlert, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, pub, _ := newTestStage(t)
			s.Alert(event("a1", detect.LevelWarning, detect.StateRaised, 0))
			err := s.Operator(tc.c)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Operator: %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr != nil {
				if len(pub.active) != 1 {
					t.Errorf("active list published %d times, want once (refused command)", len(pub.active))
				}
				return
			}
			if len(pub.active) != 2 || len(pub.active[1]) != 1 || !tc.check(pub.active[1][0]) {
				t.Errorf("active lists %+v", pub.active)
			}
		})
	}
}

func TestRun(t *testing.T) {
	s, _, _ := newTestStage(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.Run(ctx, time.Millisecond)
		close(done)
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return when its context ended")
	}
}
