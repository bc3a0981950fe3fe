package shed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/emberwatch/emberwatch/agent/command"
	"github.com/emberwatch/emberwatch/agent/detect"
)

// Publisher sends a message at QoS 1 and returns once the broker has
// acknowledged it (or ctx ends).
type Publisher interface {
	Publish(ctx context.Context, topic string, payload []byte, retain bool) error
}

// OutletSwitch switches PDU outlets. SetOutlet switches outlet n (1-based)
// of the PDU named pdu on or off and returns the state read back
// afterwards (true for on). Implementations must only touch outlets they
// allow (the SNMP driver's allow-listed SET); they are called from one
// goroutine at a time.
type OutletSwitch interface {
	SetOutlet(ctx context.Context, pdu string, outlet int, on bool) (bool, error)
}

// Outcome is what became of one Action.
type Outcome struct {
	Action Action `json:"-"`
	// Kind, Tier, Group and Why repeat the action for the published form.
	Kind  string `json:"kind"`
	Tier  int    `json:"tier"`
	Group string `json:"group,omitempty"`
	Why   string `json:"why,omitempty"`
	// Seq is the sequence of the command sent.
	Seq int64 `json:"seq,omitempty"`
	// Outlets are the outlets switched, each with its read-back state.
	Outlets []OutletResult `json:"outlets,omitempty"`
	// Error is the failure, if any.
	Error string `json:"error,omitempty"`
	// Time is when the action was done.
	Time time.Time `json:"time"`
}

// OutletResult is one outlet after a switch.
type OutletResult struct {
	Outlet
	// On is the state read back.
	On    bool   `json:"on"`
	Error string `json:"error,omitempty"`
}

// ControllerOptions configure a Controller. Signer and Publisher are
// required; the rest default.
type ControllerOptions struct {
	// Site names the topics.
	Site string
	// Signer signs commands.
	Signer *command.Signer
	// Publisher sends commands and outcomes.
	Publisher Publisher
	// Switch switches outlets; with none, OutletsOff outcomes fail.
	Switch OutletSwitch
	// StatusTopic, if set, receives each outcome (QoS 1) and the tier
	// status (retained) after every change, e.g.
	// emberwatch/v1/<site>/<gateway>/shed.
	StatusTopic string
	// OnOutcome, if set, is called with every outcome.
	OnOutcome func(Outcome)
	// OnFSD, if set, is called with Engine.FSD after every change.
	OnFSD func([]string)
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// Logger; slog.Default() if nil.
	Logger *slog.Logger
}

// Controller drives an Engine with alerts, acknowledgements and time, and
// carries out its actions. Its methods are safe for concurrent use;
// actions run one at a time, in order.
type Controller struct {
	opts ControllerOptions
	log  *slog.Logger

	acks chan command.Ack

	mu  sync.Mutex
	eng *Engine
}

// NewController returns a controller over eng.
func NewController(eng *Engine, opts ControllerOptions) (*Controller, error) {
	if opts.Signer == nil || opts.Publisher == nil || opts.Site == "" {
		return nil, errors.New("shed: controller needs a site, a signer and a publisher")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Controller{opts: opts, log: opts.Logger, eng: eng, acks: make(chan command.Ack, 1024)}, nil
}

// Alert feeds an alert event.
func (c *Controller) Alert(ctx context.Context, ev detect.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.step(ctx, func(now time.Time) []Action { return c.eng.Alert(ev, now) })
}

// Ack feeds a host acknowledgement.
func (c *Controller) Ack(ctx context.Context, a command.Ack) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.step(ctx, func(now time.Time) []Action { return c.eng.Ack(a, now) })
}

// Enqueue hands an acknowledgement to Run without blocking (for MQTT
// callbacks, which must not block); it is dropped, and logged, when 1024
// are already waiting.
func (c *Controller) Enqueue(a command.Ack) {
	select {
	case c.acks <- a:
	default:
		c.log.Error("shed: acknowledgement queue full, dropped", "host", a.Host, "status", a.Status)
	}
}

// Tick lets deadlines pass.
func (c *Controller) Tick(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.step(ctx, c.eng.Tick)
}

// Cancel withdraws shedding (an operator's verified command).
func (c *Controller) Cancel(ctx context.Context, why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.do(ctx, c.eng.Cancel(c.opts.Now(), why), true)
}

// Operator carries out a verified operator command: cancel withdraws
// shedding, clear-fsd cancels it and returns every tier to idle (clearing
// the FSD flags). Other actions are errors.
func (c *Controller) Operator(ctx context.Context, cmd command.Command) error {
	why := fmt.Sprintf("%s by %s seq %d", cmd.Action, cmd.Gateway, cmd.Seq)
	c.mu.Lock()
	defer c.mu.Unlock()
	switch cmd.Action {
	case command.ActionCancel:
		c.do(ctx, c.eng.Cancel(c.opts.Now(), why), true)
	case command.ActionClearFSD:
		acts := c.eng.Cancel(c.opts.Now(), why)
		c.eng.Reset(c.opts.Now(), why)
		c.do(ctx, acts, true)
	default:
		return fmt.Errorf("shed: operator action %q is not cancel or clear-fsd", cmd.Action)
	}
	c.log.Warn("shed: operator command", "action", cmd.Action, "by", cmd.Gateway, "seq", cmd.Seq)
	return nil
}

// StatusMessage is the retained message on ControllerOptions.StatusTopic.
type StatusMessage struct {
	// Tiers is the state of every tier.
	Tiers []TierStatus `json:"tiers"`
	// FSD are the names carrying the NUT forced-shutdown flag.
	FSD []string `json:"fsd"`
}

// Status returns the engine's tier status.
func (c *Controller) Status() []TierStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.eng.Status()
}

// Run feeds enqueued acknowledgements and ticks every interval (200ms if
// zero) until ctx ends.
func (c *Controller) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 200 * time.Millisecond
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			c.Tick(ctx)
		case a := <-c.acks:
			c.Ack(ctx, a)
		}
	}
}

// step feeds the engine through f and carries out the actions it returns.
// The status is published also when f returned none but changed a tier's
// state or its count of hosts down: a tier without outlets ends without an
// action, and its retained status must not stay "commanded". c.mu is held.
func (c *Controller) step(ctx context.Context, f func(now time.Time) []Action) {
	before := c.eng.Status()
	actions := f(c.opts.Now())
	c.do(ctx, actions, tiersChanged(before, c.eng.Status()))
}

// tiersChanged reports whether a tier's state or count of hosts down
// differs between two statuses of the same engine.
func tiersChanged(a, b []TierStatus) bool {
	if len(a) != len(b) {
		return true
	}
	for i := range a {
		if a[i].State != b[i].State || a[i].Down != b[i].Down {
			return true
		}
	}
	return false
}

// do carries out actions in order, then publishes the status and FSD
// set when anything happened (or changed is set); c.mu is held.
func (c *Controller) do(ctx context.Context, actions []Action, changed bool) {
	if len(actions) == 0 && !changed {
		return
	}
	for _, a := range actions {
		o := Outcome{Action: a, Kind: a.Kind.String(), Tier: a.Tier, Group: a.Group, Why: a.Why}
		switch a.Kind {
		case Send:
			o.Seq, o.Error = c.send(ctx, a)
		case OutletsOff:
			o.Outlets, o.Error = c.outletsOff(ctx, a)
		}
		o.Time = c.opts.Now().UTC()
		if o.Error != "" {
			c.log.Error("shed action failed", "action", a.String(), "err", o.Error)
		} else {
			c.log.Warn("shed", "action", a.String(), "seq", o.Seq)
		}
		if c.opts.OnOutcome != nil {
			c.opts.OnOutcome(o)
		}
		if c.opts.StatusTopic != "" {
			if b, err := json.Marshal(o); err == nil {
				if err := c.opts.Publisher.Publish(ctx, c.opts.StatusTopic+"/outcome", b, false); err != nil {
					c.log.Warn("shed outcome not published", "err", err)
				}
			}
		}
	}
	if c.opts.StatusTopic != "" {
		if b, err := json.Marshal(StatusMessage{Tiers: c.eng.Status(), FSD: append([]string{}, c.eng.FSD()...)}); err == nil {
			if err := c.opts.Publisher.Publish(ctx, c.opts.StatusTopic, b, true); err != nil {
				c.log.Warn("shed status not published", "err", err)
			}
		}
	}
	if c.opts.OnFSD != nil {
		c.opts.OnFSD(c.eng.FSD())
	}
}

func (c *Controller) send(ctx context.Context, a Action) (int64, string) {
	wire, signed, err := c.opts.Signer.Sign(a.Command, c.opts.Now())
	if err != nil {
		return 0, err.Error()
	}
	if err := c.opts.Publisher.Publish(ctx, command.ShedTopic(c.opts.Site, a.Group), wire, false); err != nil {
		return signed.Seq, fmt.Sprintf("publish to group %s: %v", a.Group, err)
	}
	return signed.Seq, ""
}

func (c *Controller) outletsOff(ctx context.Context, a Action) ([]OutletResult, string) {
	if c.opts.Switch == nil {
		return nil, "no outlet switch configured"
	}
	var res []OutletResult
	var failed []error
	for _, o := range a.Outlets {
		on, err := c.opts.Switch.SetOutlet(ctx, o.PDU, o.Outlet, false)
		r := OutletResult{Outlet: o, On: on}
		if err == nil && on {
			err = errors.New("still on after the switch")
		}
		if err != nil {
			r.Error = err.Error()
			failed = append(failed, fmt.Errorf("%s outlet %d: %w", o.PDU, o.Outlet, err))
		}
		res = append(res, r)
	}
	if err := errors.Join(failed...); err != nil {
		return res, err.Error()
	}
	return res, ""
}
