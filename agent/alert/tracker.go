package alert

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/emberwatch/emberwatch/agent/command"
	"github.com/emberwatch/emberwatch/agent/detect"
)

// DefaultClearHold is Options.ClearHold when it is zero.
const DefaultClearHold = 60 * time.Second

// Options configures a Tracker; the zero value means defaults.
type Options struct {
	// ClearHold is how long a cleared alert must stay clear before the
	// clear is published; DefaultClearHold if zero, none if negative.
	ClearHold time.Duration
}

// Mark records an operator's acknowledgement or silence.
type Mark struct {
	// By is the issuer of the command (its gateway field).
	By string `json:"by"`
	// At is when the command was issued.
	At time.Time `json:"at"`
	// Until ends a silence.
	Until time.Time `json:"until,omitzero"`
}

// Active is an alert that is active now, as listed on the retained alerts
// topic: the last published event of the alert, with when it was first
// raised and the operator marks.
type Active struct {
	detect.Event
	// Raised is when the alert was first raised.
	Raised time.Time `json:"raised"`
	// Acknowledged is set once an operator acknowledged the alert at its
	// current level.
	Acknowledged *Mark `json:"acknowledged,omitempty"`
	// Silenced is set while notifications of the alert are muted.
	Silenced *Mark `json:"silenced,omitempty"`
	// Clearing is when the detector cleared the alert, while the clear is
	// held (see Options.ClearHold).
	Clearing time.Time `json:"clearing,omitzero"`
}

// Update is an event to publish on the alert topic.
type Update struct {
	// Event is the event, with the alert's stable id.
	Event detect.Event
	// Notify is false while the alert is silenced: publish it, but do
	// not page anyone.
	Notify bool
}

// key identifies an alert across detector ids.
type key struct{ device, subject, kind string }

// Tracker is the set of active alerts.
type Tracker struct {
	opts   Options
	active map[key]*Active
	byID   map[string]key
}

// New returns an empty Tracker.
func New(opts Options) *Tracker {
	if opts.ClearHold == 0 {
		opts.ClearHold = DefaultClearHold
	}
	return &Tracker{opts: opts, active: map[key]*Active{}, byID: map[string]key{}}
}

// levelRank orders levels; 0 for an unknown level.
func levelRank(l string) int {
	switch l {
	case detect.LevelAdvisory:
		return 1
	case detect.LevelWarning:
		return 2
	case detect.LevelCritical:
		return 3
	}
	return 0
}

// LevelAtLeast reports whether level is at least min
// (advisory < warning < critical).
func LevelAtLeast(level, min string) bool {
	return levelRank(level) >= levelRank(min) && levelRank(level) > 0
}

// Observe takes one detector event and returns what to publish: nothing,
// or one event.
func (t *Tracker) Observe(ev detect.Event) []Update {
	k := key{ev.Device, ev.Subject, ev.Kind}
	a, ok := t.active[k]
	if !ok {
		if k2, known := t.byID[ev.ID]; known {
			k, a, ok = k2, t.active[k2], true
		}
	}
	switch ev.State {
	case detect.StateRaised, detect.StateEscalated:
		if !ok {
			a = &Active{Event: ev, Raised: ev.Time}
			a.State = detect.StateRaised
			t.active[k] = a
			t.byID[ev.ID] = k
			return []Update{{Event: a.Event, Notify: true}}
		}
		t.byID[ev.ID] = k
		wasClearing := !a.Clearing.IsZero()
		a.Clearing = time.Time{}
		if levelRank(ev.Level) <= levelRank(a.Level) {
			if !wasClearing {
				a.Message, a.Evidence = ev.Message, ev.Evidence // fresher words, same alert
			}
			return nil
		}
		id := a.ID
		a.Event = ev
		a.ID, a.State = id, detect.StateEscalated
		a.Acknowledged, a.Silenced = nil, nil
		return []Update{{Event: a.Event, Notify: true}}
	case detect.StateCleared:
		if !ok || !a.Clearing.IsZero() {
			return nil
		}
		if t.opts.ClearHold <= 0 {
			return []Update{t.clear(k, a, ev.Time)}
		}
		a.Clearing = ev.Time
		return nil
	}
	return nil
}

// clear removes an alert and returns its cleared event.
func (t *Tracker) clear(k key, a *Active, at time.Time) Update {
	delete(t.active, k)
	for id, k2 := range t.byID {
		if k2 == k {
			delete(t.byID, id)
		}
	}
	ev := a.Event
	ev.State, ev.Time = detect.StateCleared, at
	ev.Message = "cleared: " + a.Message
	return Update{Event: ev, Notify: a.Silenced == nil}
}

// Tick publishes the clears whose hold has ended by now and ends expired
// silences. Call it when time passes without events (each poll).
func (t *Tracker) Tick(now time.Time) []Update {
	var out []Update
	for _, k := range t.sortedKeys() {
		a := t.active[k]
		if a.Silenced != nil && !a.Silenced.Until.IsZero() && !now.Before(a.Silenced.Until) {
			a.Silenced = nil
		}
		if !a.Clearing.IsZero() && now.Sub(a.Clearing) >= t.opts.ClearHold {
			out = append(out, t.clear(k, a, a.Clearing))
		}
	}
	return out
}

// Errors of Apply.
var (
	ErrNoAlert       = errors.New("no active alert with that id")
	ErrNotForAlerts  = errors.New("not an alert command")
	ErrSilenceNoTime = errors.New("silence needs an until time in the future")
)

// Apply carries out a verified operator command: acknowledge, silence or
// unsilence of the alert named by c.Reason.ID.
func (t *Tracker) Apply(c command.Command) error {
	k, ok := t.byID[c.Reason.ID]
	if !ok {
		return fmt.Errorf("alert: %s %q: %w", c.Action, c.Reason.ID, ErrNoAlert)
	}
	a := t.active[k]
	switch c.Action {
	case command.ActionAcknowledge:
		a.Acknowledged = &Mark{By: c.Gateway, At: c.Issued}
	case command.ActionSilence:
		if c.Until == nil || !c.Until.After(c.Issued) {
			return fmt.Errorf("alert: silence %q: %w", c.Reason.ID, ErrSilenceNoTime)
		}
		a.Silenced = &Mark{By: c.Gateway, At: c.Issued, Until: *c.Until}
	case command.ActionUnsilence:
		a.Silenced = nil
	default:
		return fmt.Errorf("alert: action %q: %w", c.Action, ErrNotForAlerts)
	}
	return nil
}

// ApplySigned verifies an operator command with v (signature, trusted key,
// sequence, age) and applies it. The verified command is returned even
// when applying it fails, for logging.
func (t *Tracker) ApplySigned(v *command.Verifier, data []byte, now time.Time) (command.Command, error) {
	c, err := v.Verify(data, now)
	if err != nil {
		return c, fmt.Errorf("alert: operator command: %w", err)
	}
	return c, t.Apply(c)
}

// Active returns the active alerts, most severe first, then oldest first.
func (t *Tracker) Active() []Active {
	out := make([]Active, 0, len(t.active))
	for _, k := range t.sortedKeys() {
		out = append(out, *t.active[k])
	}
	sort.SliceStable(out, func(i, j int) bool {
		if ri, rj := levelRank(out[i].Level), levelRank(out[j].Level); ri != rj {
			return ri > rj
		}
		return out[i].Raised.Before(out[j].Raised)
	})
	return out
}

// ActiveJSON is Active as the JSON array published on the retained alerts
// topic ([] when nothing is active).
func (t *Tracker) ActiveJSON() ([]byte, error) {
	b, err := json.Marshal(t.Active())
	if err != nil {
		return nil, fmt.Errorf("alert: active list: %w", err)
	}
	return b, nil
}

func (t *Tracker) sortedKeys() []key {
	ks := make([]key, 0, len(t.active))
	for k := range t.active {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		a, b := ks[i], ks[j]
		if a.device != b.device {
			return a.device < b.device
		}
		if a.subject != b.subject {
			return a.subject < b.subject
		}
		return a.kind < b.kind
	})
	return ks
}
