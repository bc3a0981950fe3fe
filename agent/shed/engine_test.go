package shed

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/command"
	"github.com/emberwatch/emberwatch/agent/detect"
)

var t0 = time.Date(2026, 3, 1, 1, 0, 0, 0, time.UTC)

func roomEngine(t *testing.T) *Engine {
	t.Helper()
	p, err := LoadPlan(filepath.Join("testdata", "room.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(p)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func critical(device, subject string) detect.Event {
	return detect.Event{ID: "a1", Time: t0, Device: device, Subject: subject, Kind: detect.KindThermalRunaway,
		Level: detect.LevelCritical, State: detect.StateRaised}
}

func ack(host, status string) command.Ack { return command.Ack{Host: host, Status: status} }

// describe renders actions as short strings: "send web rack-a-web" and
// "off web pdu-a:1,pdu-a:2 hosts down".
func describe(as []Action) string {
	var s []string
	for _, a := range as {
		switch a.Kind {
		case Send:
			s = append(s, "send "+a.Command.Action+" "+a.TierName+" "+a.Group)
		case OutletsOff:
			var o []string
			for _, x := range a.Outlets {
				o = append(o, x.PDU+":"+string(rune('0'+x.Outlet)))
			}
			s = append(s, "off "+a.TierName+" "+strings.Join(o, ",")+" "+a.Why)
		}
	}
	return strings.Join(s, "; ")
}

// input is one step fed to the engine at t0+at seconds.
type input struct {
	at    int
	alert *detect.Event
	ack   *command.Ack
	tick  bool
	cncl  bool
	want  string
}

func TestEngine(t *testing.T) {
	crit := critical("bms-1", "battery.module.3")
	warn := crit
	warn.Level = detect.LevelWarning
	other := critical("bms-9", "battery.module.1")
	cleared := crit
	cleared.State = detect.StateCleared
	a := func(h, s string) *command.Ack { x := ack(h, s); return &x }
	cases := []struct {
		name  string
		steps []input
		fsd   string
	}{
		{
			name: "hosts acknowledge and go, tier by tier",
			steps: []input{
				{at: 0, alert: &warn, want: ""},
				{at: 1, alert: &crit, want: "send shutdown web rack-a-web"},
				{at: 2, alert: &crit, want: ""}, // already shedding
				{at: 3, ack: a("web-1", "received"), want: ""},
				{at: 4, ack: a("web-1", "shutting-down"), want: ""},
				{at: 5, ack: a("web-2", "shutting-down"), want: ""},
				{at: 30, ack: a("web-1", "offline"), want: ""},
				{at: 40, tick: true, want: ""},
				{at: 50, ack: a("web-2", "offline"), want: "off web pdu-a:1,pdu-a:2 hosts down; send shutdown db rack-a-db"},
				{at: 60, ack: a("db-1", "shutting-down"), want: ""},
				{at: 70, ack: a("db-1", "offline"), want: "off db pdu-a:3 hosts down"},
				{at: 80, alert: &crit, want: ""},
			},
			fsd: "bms-1 rack-a-db rack-a-web",
		},
		{
			name: "offline without shutting-down does not count; the deadline does",
			steps: []input{
				{at: 0, ack: a("web-1", "online"), want: ""},
				{at: 1, alert: &crit, want: "send shutdown web rack-a-web"},
				{at: 2, ack: a("web-1", "offline"), want: ""}, // crashed, never said shutting-down
				{at: 3, ack: a("web-2", "shutting-down"), want: ""},
				{at: 4, ack: a("web-2", "offline"), want: ""},
				{at: 90, tick: true, want: ""},
				{at: 91, tick: true, want: "off web pdu-a:1,pdu-a:2 deadline; send shutdown db rack-a-db"},
			},
			fsd: "bms-1 rack-a-db rack-a-web",
		},
		{
			name: "a host already offline when the tier begins counts as down",
			steps: []input{
				{at: 0, ack: a("web-1", "offline"), want: ""},
				{at: 1, alert: &crit, want: "send shutdown web rack-a-web"},
				{at: 2, ack: a("web-2", "shutting-down"), want: ""},
				{at: 3, ack: a("web-2", "offline"), want: "off web pdu-a:1,pdu-a:2 hosts down; send shutdown db rack-a-db"},
			},
			fsd: "bms-1 rack-a-db rack-a-web",
		},
		{
			name: "clearing does not stop shedding; cancel does",
			steps: []input{
				{at: 0, alert: &crit, want: "send shutdown web rack-a-web"},
				{at: 1, alert: &cleared, want: ""},
				{at: 2, cncl: true, want: "send cancel web rack-a-web"},
				{at: 200, tick: true, want: ""},
			},
			fsd: "",
		},
		{
			name: "no rule for the device",
			steps: []input{
				{at: 0, alert: &other, want: ""},
				{at: 500, tick: true, want: ""},
			},
			fsd: "",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := roomEngine(t)
			for i, s := range tc.steps {
				now := t0.Add(time.Duration(s.at) * time.Second)
				var got []Action
				switch {
				case s.alert != nil:
					got = e.Alert(*s.alert, now)
				case s.ack != nil:
					got = e.Ack(*s.ack, now)
				case s.cncl:
					got = e.Cancel(now, "operator")
				default:
					got = e.Tick(now)
				}
				if d := describe(got); d != s.want {
					t.Fatalf("step %d (t+%ds): %q, want %q", i, s.at, d, s.want)
				}
			}
			if got := strings.Join(e.FSD(), " "); got != tc.fsd {
				t.Errorf("FSD %q, want %q", got, tc.fsd)
			}
		})
	}
}

func TestRuleMatching(t *testing.T) {
	cases := []struct {
		rule Rule
		ev   detect.Event
		want bool
	}{
		{Rule{Kind: "thermal_runaway", Level: "warning"}, critical("x", "battery.module.1"), true},
		{Rule{Kind: "thermal_runaway", Level: "critical"}, detect.Event{Kind: "thermal_runaway", Level: "warning"}, false},
		{Rule{Kind: "offgas", Level: "advisory"}, critical("x", ""), false},
		{Rule{Kind: "thermal_runaway", Level: "critical", Devices: []string{"a", "b"}}, critical("b", ""), true},
		{Rule{Kind: "thermal_runaway", Level: "critical", Device: "a"}, critical("b", ""), false},
		{Rule{Kind: "thermal_runaway", Level: "critical", Subject: "battery.string.2"}, critical("b", "battery.string.2.module.4"), true},
		{Rule{Kind: "thermal_runaway", Level: "critical", Subject: "battery.string.2"}, critical("b", "battery.string.20"), false},
		{Rule{Kind: "thermal_runaway", Level: "critical", Subject: "battery.string.2"}, critical("b", "battery.string.2"), true},
	}
	for i, tc := range cases {
		if got := matches(tc.rule, tc.ev); got != tc.want {
			t.Errorf("case %d: matches(%+v, %s %s %s) = %v", i, tc.rule, tc.ev.Level, tc.ev.Device, tc.ev.Subject, got)
		}
	}
}

func TestStatus(t *testing.T) {
	e := roomEngine(t)
	e.Alert(critical("bms-1", "battery.module.1"), t0)
	e.Ack(ack("web-1", "shutting-down"), t0)
	e.Ack(ack("web-1", "offline"), t0)
	st := e.Status()
	if st[0].State != TierSent || st[0].Down != 1 || st[0].Hosts != 2 || strings.Join(st[0].Waiting, ",") != "web-2" ||
		!st[0].Deadline.Equal(t0.Add(90*time.Second)) || st[1].State != TierWanted {
		t.Errorf("status %+v", st)
	}
	if d, ok := e.NextDeadline(); !ok || !d.Equal(t0.Add(90*time.Second)) {
		t.Errorf("next deadline %v %v", d, ok)
	}
}

// simulateRoom sheds a room of three tiers whose hosts acknowledge one
// second after their command and go offline stop seconds after it, in
// simulated time from the critical alert at t0, and returns when the last
// outlet went off and the order outlets went off in.
func simulateRoom(t *testing.T, overlap bool, stop map[string]time.Duration) (time.Duration, string) {
	t.Helper()
	ov := "false"
	if overlap {
		ov = "true"
	}
	p, err := ParsePlan("room.yaml", []byte(`
groups:
  - {name: dev, hosts: [dev-1, dev-2], outlets: [{pdu: pdu-a, outlets: [1]}]}
  - {name: web, hosts: [web-1, web-2, web-3], outlets: [{pdu: pdu-a, outlets: [2]}]}
  - {name: db, hosts: [db-1], outlets: [{pdu: pdu-b, outlets: [1]}]}
tiers:
  - {name: t1, groups: [dev], deadline: 120s, overlap: `+ov+`}
  - {name: t2, groups: [web], deadline: 120s, overlap: `+ov+`}
  - {name: t3, groups: [db], deadline: 120s}
rules:
  - {kind: thermal_runaway, level: critical, tiers: [t1, t2, t3]}
`))
	if err != nil {
		t.Fatal(err)
	}
	e, err := NewEngine(p)
	if err != nil {
		t.Fatal(err)
	}
	type event struct {
		at  time.Duration
		ack command.Ack
	}
	var queue []event
	var order []string
	var last time.Duration
	handle := func(now time.Duration, as []Action) {
		for _, a := range as {
			switch a.Kind {
			case Send:
				for _, h := range p.Groups[slices.IndexFunc(p.Groups, func(g Group) bool { return g.Name == a.Group })].Hosts {
					queue = append(queue, event{now + time.Second, ack(h, command.AckShuttingDown)}, event{now + stop[h], ack(h, command.AckOffline)})
				}
			case OutletsOff:
				order = append(order, a.TierName)
				last = now
			}
		}
	}
	handle(0, e.Alert(critical("bms-1", "battery.module.1"), t0))
	for now := time.Duration(0); now <= 10*time.Minute; now += 100 * time.Millisecond {
		due := queue
		queue = nil
		for _, ev := range due {
			if ev.at <= now {
				handle(now, e.Ack(ev.ack, t0.Add(now)))
			} else {
				queue = append(queue, ev)
			}
		}
		handle(now, e.Tick(t0.Add(now)))
	}
	return last, strings.Join(order, ",")
}

// TestRoomShedTime is acceptance 5 of the shed issue in simulated time:
// hosts that take 60 s to stop, three tiers; with overlap the room is dark
// in about one host shutdown, without it in three.
func TestRoomShedTime(t *testing.T) {
	stop := map[string]time.Duration{"dev-1": 60 * time.Second, "dev-2": 60 * time.Second, "web-1": 60 * time.Second,
		"web-2": 60 * time.Second, "web-3": 60 * time.Second, "db-1": 60 * time.Second}
	took, order := simulateRoom(t, true, stop)
	if order != "t1,t2,t3" || took > 150*time.Second {
		t.Errorf("overlapping tiers: outlets %s, last off after %v (goal under 150s)", order, took)
	}
	t.Logf("overlapping tiers: every host down and outlet off %v after the alert", took)
	seq, order := simulateRoom(t, false, stop)
	if order != "t1,t2,t3" || seq < 3*60*time.Second {
		t.Errorf("sequential tiers: outlets %s after %v", order, seq)
	}
	t.Logf("sequential tiers: %v", seq)

	// A fast later tier still waits for the earlier tier's outlets.
	stop["db-1"] = 5 * time.Second
	_, order = simulateRoom(t, true, stop)
	if order != "t1,t2,t3" {
		t.Errorf("outlets went off in order %s", order)
	}
}
