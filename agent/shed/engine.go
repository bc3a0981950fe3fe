package shed

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emberwatch/emberwatch/agent/command"
	"github.com/emberwatch/emberwatch/agent/detect"
)

// ActionKind says what an Action asks for.
type ActionKind int

// Action kinds.
const (
	// Send asks for a signed command (Command, unsigned) to Group's topic.
	Send ActionKind = iota + 1
	// OutletsOff asks for the tier's outlets to be switched off.
	OutletsOff
)

func (k ActionKind) String() string {
	switch k {
	case Send:
		return "send"
	case OutletsOff:
		return "outlets-off"
	}
	return fmt.Sprintf("ActionKind(%d)", int(k))
}

// Action is one thing the engine wants done, in order.
type Action struct {
	Kind ActionKind
	// Tier is the 1-based tier number, TierName its name.
	Tier     int
	TierName string
	// Group and Command are set for Send; Command is unsigned (the
	// Runner's Signer fills site, gateway, seq, issue time and sig).
	Group   string
	Command command.Command
	// Outlets are set for OutletsOff.
	Outlets []Outlet
	// Why says why: the rule or alert for Send; "hosts down" or
	// "deadline" for OutletsOff.
	Why string
}

// String is a short description for logs.
func (a Action) String() string {
	switch a.Kind {
	case Send:
		return fmt.Sprintf("tier %d (%s): %s to %s (%s)", a.Tier, a.TierName, a.Command.Action, a.Group, a.Why)
	case OutletsOff:
		return fmt.Sprintf("tier %d (%s): outlets off %v (%s)", a.Tier, a.TierName, a.Outlets, a.Why)
	}
	return a.Kind.String()
}

// Tier states.
const (
	TierIdle     = "idle"
	TierWanted   = "wanted"    // a rule asked for it; waiting for earlier tiers
	TierSent     = "commanded" // commands sent; waiting for hosts or the deadline
	TierOff      = "off"       // outlets switched off
	TierCanceled = "cancelled"
)

// TierStatus is the state of one tier, for the published shed status.
type TierStatus struct {
	Tier     int       `json:"tier"`
	Name     string    `json:"name"`
	State    string    `json:"state"`
	Since    time.Time `json:"since,omitzero"`
	Deadline time.Time `json:"deadline,omitzero"`
	// Down and Hosts count the tier's hosts that are down, of all.
	Down  int `json:"down"`
	Hosts int `json:"hosts"`
	// Waiting are the hosts not yet down.
	Waiting []string `json:"waiting,omitempty"`
	// Why says what started the tier, or ended it.
	Why string `json:"why,omitempty"`
}

type tierState struct {
	state      string
	since      time.Time
	deadline   time.Time
	groups     []string // closure of the tier's groups
	hosts      []string
	outlets    []Outlet
	acked      map[string]bool // shutting-down acknowledged since the tier began
	downAtSent map[string]bool // offline when the tier began
	why        string
	reason     command.Reason
}

type hostState struct {
	status string
	at     time.Time
}

// Engine walks a plan's tiers. It is pure (time is passed in) and not safe
// for concurrent use.
type Engine struct {
	plan   *Plan
	tiers  []*tierState
	hosts  map[string]*hostState
	groups map[string]*Group
}

// NewEngine returns an engine for a plan; it fails with PlanErrors on a
// plan that does not validate.
func NewEngine(p *Plan) (*Engine, error) {
	if errs := p.Validate("shed plan"); len(errs) > 0 {
		return nil, errs
	}
	e := &Engine{plan: p, hosts: map[string]*hostState{}, groups: map[string]*Group{}}
	for i := range p.Groups {
		e.groups[p.Groups[i].Name] = &p.Groups[i]
	}
	for _, t := range p.Tiers {
		ts := &tierState{state: TierIdle}
		for _, g := range t.Groups {
			for _, m := range closure(e.groups, g) {
				if slices.Contains(ts.groups, m) {
					continue
				}
				ts.groups = append(ts.groups, m)
				for _, h := range e.groups[m].Hosts {
					if !slices.Contains(ts.hosts, h) {
						ts.hosts = append(ts.hosts, h)
					}
				}
				for _, o := range e.groups[m].Outlets {
					for _, n := range o.Outlets {
						ts.outlets = append(ts.outlets, Outlet{PDU: o.PDU, Outlet: n})
					}
				}
			}
		}
		e.tiers = append(e.tiers, ts)
	}
	return e, nil
}

// matches reports whether rule r matches alert ev.
func matches(r Rule, ev detect.Event) bool {
	if ev.Kind != r.Kind || !atLeast(ev.Level, r.Level) {
		return false
	}
	if r.Device != "" || len(r.Devices) > 0 {
		if ev.Device != r.Device && !slices.Contains(r.Devices, ev.Device) {
			return false
		}
	}
	if r.Subject != "" && ev.Subject != r.Subject && !strings.HasPrefix(ev.Subject, r.Subject+".") {
		return false
	}
	return true
}

func atLeast(level, min string) bool {
	return slices.Index(levels, level) >= slices.Index(levels, min) && slices.Contains(levels, level)
}

// Alert takes an alert event (raised or escalated; cleared events do not
// stop shedding) and returns the actions it starts.
func (e *Engine) Alert(ev detect.Event, now time.Time) []Action {
	if ev.State == detect.StateCleared {
		return nil
	}
	for i, r := range e.plan.Rules {
		if !matches(r, ev) {
			continue
		}
		for _, tn := range r.Tiers {
			k := e.tierIndex(tn)
			if k < 0 {
				continue
			}
			if ts := e.tiers[k]; ts.state == TierIdle || ts.state == TierCanceled {
				ts.state, ts.since = TierWanted, now
				ts.why = fmt.Sprintf("rule %d: %s %s on %s %s", i+1, ev.Level, ev.Kind, ev.Device, ev.Subject)
				ts.reason = command.Reason{ID: ev.ID, Kind: ev.Kind, Level: ev.Level, Device: ev.Device, Subject: ev.Subject}
			}
		}
	}
	return e.advance(now)
}

// Ack takes a host's acknowledgement and returns the actions it allows.
func (e *Engine) Ack(a command.Ack, now time.Time) []Action {
	hs := e.hosts[a.Host]
	if hs == nil {
		hs = &hostState{}
		e.hosts[a.Host] = hs
	}
	switch a.Status {
	case command.AckOnline, command.AckOffline:
		hs.status, hs.at = a.Status, now
	case command.AckShuttingDown:
		hs.status, hs.at = a.Status, now
		for _, ts := range e.tiers {
			if ts.state == TierSent && slices.Contains(ts.hosts, a.Host) {
				ts.acked[a.Host] = true
			}
		}
	}
	return e.advance(now)
}

// Tick returns the actions due by now (deadlines).
func (e *Engine) Tick(now time.Time) []Action { return e.advance(now) }

// Cancel withdraws shedding: cancel commands to the groups of commanded
// tiers, and wanted tiers are forgotten. Tiers already off stay off.
func (e *Engine) Cancel(now time.Time, why string) []Action {
	var out []Action
	for k, ts := range e.tiers {
		switch ts.state {
		case TierSent:
			for _, g := range ts.groups {
				out = append(out, Action{Kind: Send, Tier: k + 1, TierName: e.plan.Tiers[k].Name, Group: g, Why: why,
					Command: command.Command{Group: g, Tier: k + 1, Action: command.ActionCancel, Reason: ts.reason}})
			}
			fallthrough
		case TierWanted:
			ts.state, ts.since, ts.why = TierCanceled, now, why
		}
	}
	return out
}

// Reset returns tiers that are off or cancelled to idle, after an operator
// has restored the room: their groups lose FSD and a new alert can shed
// them again. Commanded and wanted tiers are left alone (Cancel them
// first). It returns the tiers reset, by name.
func (e *Engine) Reset(now time.Time, why string) []string {
	var names []string
	for k, ts := range e.tiers {
		if ts.state == TierOff || ts.state == TierCanceled {
			ts.state, ts.since, ts.why = TierIdle, now, why
			names = append(names, e.plan.Tiers[k].Name)
		}
	}
	return names
}

// down reports whether host counts as down for tier ts.
func (e *Engine) down(ts *tierState, host string) bool {
	hs := e.hosts[host]
	if hs == nil || hs.status != command.AckOffline {
		return false
	}
	return ts.acked[host] || ts.downAtSent[host]
}

// advance moves the tiers on as far as they can go now.
func (e *Engine) advance(now time.Time) []Action {
	var out []Action
	for {
		if a, ok := e.switchOff(now); ok {
			if len(a.Outlets) > 0 {
				out = append(out, a)
			}
			continue
		}
		sends, ok := e.start(now)
		if !ok {
			return out
		}
		out = append(out, sends...)
	}
}

// switchOff ends the first commanded tier whose hosts are down or whose
// deadline has passed, provided no earlier tier is still commanded (so
// outlets go off in tier order).
func (e *Engine) switchOff(now time.Time) (Action, bool) {
	for k, ts := range e.tiers {
		if ts.state != TierSent {
			continue
		}
		var why string
		switch {
		case e.allDown(ts):
			why = "hosts down"
		case !now.Before(ts.deadline):
			why = "deadline"
		default:
			return Action{}, false // the earliest commanded tier holds the rest
		}
		ts.state, ts.since, ts.why = TierOff, now, why
		return Action{Kind: OutletsOff, Tier: k + 1, TierName: e.plan.Tiers[k].Name, Outlets: slices.Clone(ts.outlets), Why: why}, true
	}
	return Action{}, false
}

// start commands the first wanted tier when every commanded tier lets the
// next one begin: none is commanded, or each has overlap set and all its
// hosts have acknowledged shutting-down (or were down already), or its
// deadline has passed.
func (e *Engine) start(now time.Time) ([]Action, bool) {
	next := -1
	for k, ts := range e.tiers {
		if ts.state == TierWanted {
			next = k
			break
		}
	}
	if next < 0 {
		return nil, false
	}
	for k, ts := range e.tiers {
		if ts.state != TierSent {
			continue
		}
		if !e.plan.Tiers[k].Overlap || !e.allAcked(ts) && now.Before(ts.deadline) {
			return nil, false
		}
	}
	ts := e.tiers[next]
	ts.state, ts.since, ts.deadline = TierSent, now, now.Add(e.plan.Tiers[next].Deadline)
	ts.acked, ts.downAtSent = map[string]bool{}, map[string]bool{}
	for _, h := range ts.hosts {
		if hs := e.hosts[h]; hs != nil && hs.status == command.AckOffline {
			ts.downAtSent[h] = true
		}
	}
	var out []Action
	for _, g := range ts.groups {
		out = append(out, Action{Kind: Send, Tier: next + 1, TierName: e.plan.Tiers[next].Name, Group: g, Why: ts.why,
			Command: command.Command{Group: g, Tier: next + 1, Action: command.ActionShutdown, Reason: ts.reason}})
	}
	return out, true
}

func (e *Engine) allDown(ts *tierState) bool {
	for _, h := range ts.hosts {
		if !e.down(ts, h) {
			return false
		}
	}
	return true
}

func (e *Engine) allAcked(ts *tierState) bool {
	for _, h := range ts.hosts {
		if !ts.acked[h] && !ts.downAtSent[h] {
			return false
		}
	}
	return true
}

// NextDeadline returns the earliest deadline of the commanded tiers, if
// any, so the caller knows when to Tick.
func (e *Engine) NextDeadline() (time.Time, bool) {
	var d time.Time
	for _, ts := range e.tiers {
		if ts.state == TierSent && (d.IsZero() || ts.deadline.Before(d)) {
			d = ts.deadline
		}
	}
	return d, !d.IsZero()
}

// Status returns the state of every tier.
func (e *Engine) Status() []TierStatus {
	out := make([]TierStatus, len(e.tiers))
	for k, ts := range e.tiers {
		s := TierStatus{Tier: k + 1, Name: e.plan.Tiers[k].Name, State: ts.state, Since: ts.since, Hosts: len(ts.hosts), Why: ts.why}
		if ts.state == TierSent {
			s.Deadline = ts.deadline
		}
		if ts.state == TierSent || ts.state == TierOff {
			for _, h := range ts.hosts {
				if e.down(ts, h) {
					s.Down++
				} else if ts.state == TierSent {
					s.Waiting = append(s.Waiting, h)
				}
			}
		}
		out[k] = s
	}
	return out
}

// Shed returns the groups (with the groups they include) of tiers that are
// commanded or off: those whose hosts are being or have been shut down.
func (e *Engine) Shed() []string {
	var out []string
	for _, ts := range e.tiers {
		if ts.state == TierSent || ts.state == TierOff {
			out = append(out, ts.groups...)
		}
	}
	return out
}

// FSD returns the names that carry the NUT forced-shutdown flag now: the
// shed groups and the battery devices that feed them (Group.FedBy), sorted.
func (e *Engine) FSD() []string {
	var out []string
	for _, g := range e.Shed() {
		out = append(out, g)
		out = append(out, e.groups[g].FedBy...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (e *Engine) tierIndex(name string) int {
	for k, t := range e.plan.Tiers {
		if t.Name == name {
			return k
		}
	}
	return -1
}
