package demo

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/emberwatch/emberwatch/agent/command"
	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/agent/shed"
)

// Timeline is the measured course of load shedding in a run, in scenario
// time since the run began: when the first critical thermal_runaway was
// raised, and for every tier when it was commanded, when each of its hosts
// acknowledged going down (offline after shutting-down) and when its
// outlets went off.
type Timeline struct {
	// Critical is when the first critical thermal_runaway alert reached
	// the shed controller; HasCritical says whether one did.
	Critical    time.Duration
	HasCritical bool
	// Tiers are the plan's tiers, in plan order.
	Tiers []TierTimes
}

// TierTimes is the course of one tier, in scenario time since the run
// began. A zero time with its flag false means it did not happen.
type TierTimes struct {
	// Tier is the 1-based tier number, Name its name.
	Tier int
	Name string
	// Deadline is the tier's deadline in scenario time.
	Deadline time.Duration
	// Commanded is when the tier's first shutdown command was sent.
	Commanded    time.Duration
	HasCommanded bool
	// ShuttingDown and Down are, by host, when it acknowledged
	// shutting-down and when it went offline after that.
	ShuttingDown map[string]time.Duration
	Down         map[string]time.Duration
	// Hosts are the tier's hosts.
	Hosts []string
	// OutletsOff is when the tier's outlets were switched off, Why why
	// ("hosts down" or "deadline").
	OutletsOff    time.Duration
	HasOutletsOff bool
	Why           string
}

// HostsDown returns when the last of the tier's hosts went down, and
// whether all have.
func (t TierTimes) HostsDown() (time.Duration, bool) {
	var last time.Duration
	for _, h := range t.Hosts {
		d, ok := t.Down[h]
		if !ok {
			return 0, false
		}
		last = max(last, d)
	}
	return last, true
}

// Done reports whether every host of the tier is down and its outlets
// are off.
func (t TierTimes) Done() bool {
	_, down := t.HostsDown()
	return down && t.HasOutletsOff
}

// Dark returns the time from the first critical thermal_runaway to every
// host of every tier acknowledged down and every outlet off, and whether
// that happened in the run.
func (tl *Timeline) Dark() (time.Duration, bool) {
	if !tl.HasCritical || len(tl.Tiers) == 0 {
		return 0, false
	}
	var last time.Duration
	for _, t := range tl.Tiers {
		if !t.Done() {
			return 0, false
		}
		down, _ := t.HostsDown()
		last = max(last, down, t.OutletsOff)
	}
	return last - tl.Critical, true
}

// Report writes the timeline, one line per tier, times counted from the
// first critical alert.
func (tl *Timeline) Report(w io.Writer) {
	if !tl.HasCritical {
		fmt.Fprintln(w, "shed: no critical thermal_runaway in this run")
		return
	}
	fmt.Fprintf(w, "shed: first critical thermal_runaway at %s of scenario time; from it (scenario time):\n", secs(tl.Critical))
	rel := func(d time.Duration, ok bool) string {
		if !ok {
			return "not yet"
		}
		return fmt.Sprintf("%+.1f s", (d - tl.Critical).Seconds())
	}
	for _, t := range tl.Tiers {
		down, ok := t.HostsDown()
		why := ""
		if t.HasOutletsOff {
			why = " (" + t.Why + ")"
		}
		fmt.Fprintf(w, "shed:   tier %d %-8s commanded %-9s hosts down %-9s outlets off %s%s\n", t.Tier, t.Name,
			rel(t.Commanded, t.HasCommanded), rel(down, ok), rel(t.OutletsOff, t.HasOutletsOff), why)
	}
	if d, ok := tl.Dark(); ok {
		fmt.Fprintf(w, "shed: every host down and every outlet off %s after the first critical alert (hosts take %s to stop)\n", secs(d), secs(HostStop))
	} else {
		fmt.Fprintln(w, "shed: the run ended before every host was down and every outlet off")
	}
}

func secs(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

// recorder builds a Timeline from the shed controller's outcomes, the
// hosts' acknowledgements and the alerts, stamping each with the scenario
// clock. It is safe for concurrent use.
type recorder struct {
	now  func() time.Duration
	done chan struct{}

	mu     sync.Mutex
	tl     Timeline
	byHost map[string][]int // tier indices of each host
	closed bool
	frozen bool
}

// newRecorder returns a recorder for plan's tiers (deadlines as the plan
// gives them, in scenario time), stamping with now.
func newRecorder(plan *shed.Plan, now func() time.Duration) *recorder {
	r := &recorder{now: now, done: make(chan struct{}), byHost: map[string][]int{}}
	groups := map[string]shed.Group{}
	for _, g := range plan.Groups {
		groups[g.Name] = g
	}
	var hostsOf func(name string, seen map[string]bool) []string
	hostsOf = func(name string, seen map[string]bool) []string {
		if seen[name] {
			return nil
		}
		seen[name] = true
		g := groups[name]
		hs := append([]string(nil), g.Hosts...)
		for _, in := range g.Include {
			hs = append(hs, hostsOf(in, seen)...)
		}
		return hs
	}
	for k, t := range plan.Tiers {
		tt := TierTimes{Tier: k + 1, Name: t.Name, Deadline: t.Deadline,
			ShuttingDown: map[string]time.Duration{}, Down: map[string]time.Duration{}}
		seen := map[string]bool{}
		for _, g := range t.Groups {
			tt.Hosts = append(tt.Hosts, hostsOf(g, seen)...)
		}
		for _, h := range tt.Hosts {
			r.byHost[h] = append(r.byHost[h], k)
		}
		r.tl.Tiers = append(r.tl.Tiers, tt)
	}
	return r
}

// alert records the first critical thermal_runaway.
func (r *recorder) alert(ev detect.Event) {
	if ev.Kind != "thermal_runaway" || ev.Level != "critical" {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.tl.HasCritical && !r.frozen {
		r.tl.Critical, r.tl.HasCritical = r.now(), true
	}
}

// outcome records a command sent or outlets switched off.
func (r *recorder) outcome(o shed.Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	k := o.Action.Tier - 1
	if r.frozen || o.Error != "" || k < 0 || k >= len(r.tl.Tiers) {
		return
	}
	t := &r.tl.Tiers[k]
	switch o.Action.Kind {
	case shed.Send:
		if o.Action.Command.Action == command.ActionShutdown && !t.HasCommanded {
			t.Commanded, t.HasCommanded = r.now(), true
		}
	case shed.OutletsOff:
		if !t.HasOutletsOff {
			t.OutletsOff, t.HasOutletsOff, t.Why = r.now(), true, o.Action.Why
		}
	}
	r.check()
}

// ack records a host's shutting-down and its going offline after it.
func (r *recorder) ack(a command.Ack) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.frozen {
		return
	}
	at := r.now()
	for _, k := range r.byHost[a.Host] {
		t := &r.tl.Tiers[k]
		// A host may acknowledge before the controller has reported the
		// command as sent (the publish returns after the broker has it,
		// the host can be quicker): a shutting-down acknowledgement is
		// only ever an answer to a command, so it counts either way.
		switch a.Status {
		case command.AckShuttingDown:
			if _, ok := t.ShuttingDown[a.Host]; !ok {
				t.ShuttingDown[a.Host] = at
			}
		case command.AckOffline:
			if _, ok := t.ShuttingDown[a.Host]; ok {
				if _, ok := t.Down[a.Host]; !ok {
					t.Down[a.Host] = at
				}
			}
		}
	}
	r.check()
}

// check closes done once the room is dark. r.mu is held.
func (r *recorder) check() {
	if _, ok := r.tl.Dark(); ok && !r.closed {
		r.closed = true
		close(r.done)
	}
}

// freeze stops recording: what happens as the run ends (hosts going
// offline with it) is not part of the measurement.
func (r *recorder) freeze() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.frozen = true
}

// timeline returns a copy of the timeline.
func (r *recorder) timeline() *Timeline {
	r.mu.Lock()
	defer r.mu.Unlock()
	tl := r.tl
	tl.Tiers = make([]TierTimes, len(r.tl.Tiers))
	for i, t := range r.tl.Tiers {
		t.ShuttingDown = clone(t.ShuttingDown)
		t.Down = clone(t.Down)
		t.Hosts = append([]string(nil), t.Hosts...)
		tl.Tiers[i] = t
	}
	return &tl
}

func clone(m map[string]time.Duration) map[string]time.Duration {
	out := make(map[string]time.Duration, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
