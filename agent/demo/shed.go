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
// thermal_runaway warning of bms-1, the database rack too on a critical one.
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
// go offline a few scenario seconds later, and a PDU simulated in memory.
type Shedder struct {
	ctl  *shed.Controller
	link *shed.Link
	pdu  *SimPDU
	wait func()
}

// StartShedder starts shedding through the broker at url until ctx is
// done. Commands carry the wall clock's time, which the hosts check, so
// tier deadlines are wall time too; hosts stop after stop of wall time.
func StartShedder(ctx context.Context, url string, stop time.Duration, log *slog.Logger) (*Shedder, error) {
	plan, err := ShedPlan()
	if err != nil {
		return nil, err
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
	s := &Shedder{pdu: NewSimPDU()}
	var ctlMu sync.Mutex // the link may deliver an ack before ctl is set
	var ctl *shed.Controller
	s.link, err = shed.Dial(ctx, shed.LinkOptions{Broker: url, Site: Site, Gateway: Gateway, Logger: log,
		OnAck: func(a command.Ack) {
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
	go c.Run(ctx, 100*time.Millisecond)
	s.wait, err = shed.StartSimulatedHosts(ctx, plan, shed.SimulatedHostsOptions{
		Broker: url, Site: Site, Keys: []ed25519.PublicKey{signer.PublicKey()}, StopAfter: stop, Logger: log,
	})
	if err != nil {
		s.link.Close()
		return nil, fmt.Errorf("demo: %w", err)
	}
	return s, nil
}

// Alert feeds an alert event to the shed controller.
func (s *Shedder) Alert(ctx context.Context, ev detect.Event) { s.ctl.Alert(ctx, ev) }

// Status returns the state of every tier.
func (s *Shedder) Status() []shed.TierStatus { return s.ctl.Status() }

// Outlets returns the simulated PDU's outlets that were switched, and
// whether each is on.
func (s *Shedder) Outlets() map[shed.Outlet]bool { return s.pdu.Outlets() }

// Close waits for the host listeners (which stop with the context given
// to StartShedder) and closes the link.
func (s *Shedder) Close() {
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
