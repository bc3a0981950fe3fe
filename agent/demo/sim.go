package demo

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
	"github.com/emberwatch/emberwatch/testbench/rack"
)

// Sim is the simulated rack driven by its scenario and a scenario clock.
// It is safe for concurrent use: the clock advances it while pollers read
// it.
type Sim struct {
	sc Scenario

	mu   sync.Mutex
	rack *rack.Rack
	now  time.Duration
}

// NewSim returns a rack at scenario time zero, built for sc (zero fields
// take DefaultScenario's values). seed makes the measurement noise
// reproducible.
func NewSim(sc Scenario, seed uint64) *Sim {
	sc = sc.withDefaults()
	r := rack.New(rack.Config{
		Modules: sc.Modules,
		Cells:   sc.Cells,
		Seed:    seed,
		Ambient: sc.Ambient,
		Current: sc.Current,
	})
	return &Sim{sc: sc, rack: r}
}

// Scenario returns the script the rack follows, defaults filled in.
func (s *Sim) Scenario() Scenario { return s.sc }

// Now returns the scenario time reached.
func (s *Sim) Now() time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// AdvanceTo steps the rack to scenario time t, applying the scenario's
// fault heat at most a second of scenario time apart. Earlier times are
// ignored.
func (s *Sim) AdvanceTo(t time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for s.now < t {
		dt := min(t-s.now, time.Second)
		// The hot module is always in range: withDefaults and rack.New
		// agree on the module count.
		_ = s.rack.HeatModule(s.sc.HotModule, s.sc.FaultWatts(s.now))
		s.rack.Step(dt)
		s.now += dt
	}
}

// Points returns the rack's readings now, by contract point name.
func (s *Sim) Points() map[string]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rack.Points()
}

// ModuleTemperature returns the true temperature of module n (1-based).
func (s *Sim) ModuleTemperature(n int) float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rack.ModuleTemperature(n)
}

// Run advances the scenario clock speed times faster than the wall clock,
// every tick of wall time, until ctx is done.
func (s *Sim) Run(ctx context.Context, speed float64, tick time.Duration) {
	start := time.Now()
	base := s.Now()
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.AdvanceTo(base + time.Duration(float64(now.Sub(start))*speed))
		}
	}
}

// Poller reads a device once. Implementations say whether they are safe
// for concurrent use; the demo's agent calls Poll from one goroutine.
type Poller interface {
	// Poll returns one reading per point, sampled now.
	Poll(ctx context.Context) ([]drivers.Reading, error)
}

// DirectPoller reads the simulated rack in process, without a protocol in
// between: the fallback when no Modbus path is wired.
type DirectPoller struct {
	sim   *Sim
	vocab *drivers.PointVocabulary
	now   func() time.Time
}

// NewDirectPoller returns a poller of sim.
func NewDirectPoller(sim *Sim) *DirectPoller {
	return &DirectPoller{sim: sim, vocab: drivers.NewVocabulary(), now: time.Now}
}

// Poll returns the rack's points as readings, in name order, with the
// vocabulary's units.
func (p *DirectPoller) Poll(ctx context.Context) ([]drivers.Reading, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pts := p.sim.Points()
	at := p.now()
	out := make([]drivers.Reading, 0, len(pts))
	for name, v := range pts {
		spec, _ := p.vocab.Lookup(name)
		out = append(out, drivers.Reading{Point: name, Value: v, Unit: spec.Unit, Time: at})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Point < out[j].Point })
	return out, nil
}

// Texts returns the simulated BMS's text points: its model name.
func (s *Sim) Texts() map[string]string {
	return map[string]string{"device.model": fmt.Sprintf("EW-SIM-%dx%d", s.sc.Modules, s.sc.Cells)}
}
