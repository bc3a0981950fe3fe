package demo

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	_ "embed"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/emberwatch/emberwatch/agent/command"
	"github.com/emberwatch/emberwatch/agent/console"
	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/agent/shed"
)

//go:embed shed.yaml
var shedPlan []byte

// ShedPlan returns the demo's shed plan: the web rack is shed on a
// thermal_runaway warning of bms-1, the database rack too on a critical
// one; the web tier overlaps the database tier, so the room goes dark
// about one host shutdown (HostStop) after the critical alert.
func ShedPlan() (*shed.Plan, error) {
	p, err := shed.ParsePlan("agent/demo/shed.yaml", shedPlan)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	return p, nil
}

// Shedder is the demo's load shedding: the agent's shed controller
// (agent/shed) signing commands with a key made for the run, dry-run host
// listeners (agent/host) for every host of the plan, which acknowledge and
// go offline HostStop of scenario time later, and a PDU simulated in
// memory. It measures the course of shedding in scenario time (Timeline).
type Shedder struct {
	ctl  *shed.Controller
	link *shed.Link
	pdu  *SimPDU
	rec  *recorder
	wait func()
}

// ShedderOptions configure StartShedder.
type ShedderOptions struct {
	// Broker is the URL of the MQTT broker.
	Broker string
	// Speed is how many times faster than the wall clock scenario time
	// runs (default 1). Commands carry the wall clock's issue time, which
	// the hosts check, so the controller runs on the wall clock: the
	// plan's deadlines and HostStop, in scenario time, are divided by
	// Speed to wall time.
	Speed float64
	// Scenario returns the scenario time now, which stamps the Timeline;
	// the wall time since StartShedder times Speed if nil.
	Scenario func() time.Duration
	// Logger; a discarding logger if nil.
	Logger *slog.Logger
}

// StartShedder starts shedding until ctx is done.
func StartShedder(ctx context.Context, opts ShedderOptions) (*Shedder, error) {
	if opts.Speed <= 0 {
		opts.Speed = 1
	}
	if opts.Scenario == nil {
		start := time.Now()
		opts.Scenario = func() time.Duration { return time.Duration(float64(time.Since(start)) * opts.Speed) }
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	plan, err := ShedPlan()
	if err != nil {
		return nil, err
	}
	s := &Shedder{pdu: NewSimPDU(), rec: newRecorder(plan, opts.Scenario)}
	wall := func(d time.Duration) time.Duration { return time.Duration(float64(d) / opts.Speed) }
	for i := range plan.Tiers {
		plan.Tiers[i].Deadline = wall(plan.Tiers[i].Deadline)
	}
	eng, err := shed.NewEngine(plan)
	if err != nil {
		return nil, fmt.Errorf("demo: shed plan: %w", err)
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("demo: shed key: %w", err)
	}
	signer, err := command.NewSigner(key, Site, Gateway, "")
	if err != nil {
		return nil, fmt.Errorf("demo: shed signer: %w", err)
	}
	var ctlMu sync.Mutex // the link may deliver an ack before ctl is set
	var ctl *shed.Controller
	s.link, err = shed.Dial(ctx, shed.LinkOptions{Broker: opts.Broker, Site: Site, Gateway: Gateway, Logger: log,
		OnAck: func(a command.Ack) {
			if ctx.Err() == nil { // hosts going offline as the run ends are not measured
				s.rec.ack(a) // before the controller can act on it
			}
			ctlMu.Lock()
			c := ctl
			ctlMu.Unlock()
			if c != nil {
				c.Enqueue(a)
			}
		}})
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	c, err := shed.NewController(eng, shed.ControllerOptions{
		Site:        Site,
		Signer:      signer,
		Publisher:   s.link,
		Switch:      s.pdu,
		StatusTopic: console.Root(Site, Gateway) + "/shed",
		OnOutcome:   s.rec.outcome,
		Logger:      log,
	})
	if err != nil {
		s.link.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	ctlMu.Lock()
	ctl = c
	ctlMu.Unlock()
	s.ctl = c
	tick := min(100*time.Millisecond, wall(time.Second))
	go c.Run(ctx, tick)
	s.wait, err = shed.StartSimulatedHosts(ctx, plan, shed.SimulatedHostsOptions{
		Broker: opts.Broker, Site: Site, Keys: []ed25519.PublicKey{signer.PublicKey()}, StopAfter: wall(HostStop), Logger: log,
	})
	if err != nil {
		s.link.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	return s, nil
}

// Alert feeds an alert event to the shed controller.
func (s *Shedder) Alert(ctx context.Context, ev detect.Event) {
	s.rec.alert(ev)
	s.ctl.Alert(ctx, ev)
}

// Dark is closed once every host of the plan has acknowledged going down
// and every outlet is off.
func (s *Shedder) Dark() <-chan struct{} { return s.rec.done }

// Timeline returns the course of shedding so far, in scenario time.
func (s *Shedder) Timeline() *Timeline { return s.rec.timeline() }

// Status returns the state of every tier.
func (s *Shedder) Status() []shed.TierStatus { return s.ctl.Status() }

// Outlets returns the simulated PDU's outlets that were switched, and
// whether each is on.
func (s *Shedder) Outlets() map[shed.Outlet]bool { return s.pdu.Outlets() }

// Close stops the measurement, waits for the host listeners (which stop
// with the context given to StartShedder) and closes the link.
func (s *Shedder) Close() {
	s.rec.freeze()
	s.wait()
	s.link.Close()
}

// SimPDU is a PDU simulated in memory: every outlet is on until switched.
// It is safe for concurrent use.
type SimPDU struct {
	mu sync.Mutex
	on map[shed.Outlet]bool
}

// NewSimPDU returns a PDU with every outlet on.
func NewSimPDU() *SimPDU { return &SimPDU{on: map[shed.Outlet]bool{}} }

// SetOutlet switches an outlet and returns its new state.
func (p *SimPDU) SetOutlet(_ context.Context, pdu string, n int, on bool) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.on[shed.Outlet{PDU: pdu, Outlet: n}] = on
	return on, nil
}

// Outlets returns the outlets switched so far and their states.
func (p *SimPDU) Outlets() map[shed.Outlet]bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[shed.Outlet]bool, len(p.on))
	for k, v := range p.on {
		out[k] = v
	}
	return out
}

var _ shed.OutletSwitch = (*SimPDU)(nil)
