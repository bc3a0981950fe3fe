package demo

import (
	"math"
	"time"
)

// Scenario is the script the simulated rack follows: an internal fault in
// one module that starts small, grows as a developing runaway does, and is
// isolated later, after which the module cools, slowly, as a module in a
// closed cabinet does.
//
// The zero value means DefaultScenario's values field by field.
type Scenario struct {
	// Modules and Cells size the rack.
	Modules, Cells int
	// HotModule is the module with the fault (1-based).
	HotModule int
	// Start is when the fault appears, in scenario time.
	Start time.Duration
	// Isolate is when the fault is cut off and the module starts cooling.
	Isolate time.Duration
	// Period, when positive, repeats the fault every Period.
	Period time.Duration
	// Watts is the fault's heat at Start.
	Watts float64
	// Growth is the fault heat's growth rate, per second.
	Growth float64
	// MaxWatts caps the fault heat.
	MaxWatts float64
	// Current is the string current in A (< 0: discharging).
	Current float64
	// Ambient is the room temperature in °C.
	Ambient float64
}

// DefaultScenario is the demo's script: eight modules of sixteen cells
// discharging at 25 A, module 5 heating from 5 s, about 10 °C above its
// neighbours at 60 s, isolated at 90 s. It does not repeat.
var DefaultScenario = Scenario{
	Modules:   8,
	Cells:     16,
	HotModule: 5,
	Start:     5 * time.Second,
	Isolate:   90 * time.Second,
	Watts:     3000,
	Growth:    0.03,
	MaxWatts:  12000,
	Current:   -25,
	Ambient:   24,
}

// withDefaults fills zero fields from DefaultScenario.
func (s Scenario) withDefaults() Scenario {
	d := DefaultScenario
	setI := func(v *int, def int) {
		if *v == 0 {
			*v = def
		}
	}
	setD := func(v *time.Duration, def time.Duration) {
		if *v == 0 {
			*v = def
		}
	}
	setF := func(v *float64, def float64) {
		if *v == 0 {
			*v = def
		}
	}
	setI(&s.Modules, d.Modules)
	setI(&s.Cells, d.Cells)
	setI(&s.HotModule, d.HotModule)
	setD(&s.Start, d.Start)
	setD(&s.Isolate, d.Isolate)
	setF(&s.Watts, d.Watts)
	setF(&s.Growth, d.Growth)
	setF(&s.MaxWatts, d.MaxWatts)
	setF(&s.Current, d.Current)
	setF(&s.Ambient, d.Ambient)
	return s
}

// FaultWatts returns the fault heat in the hot module at scenario time t.
func (s Scenario) FaultWatts(t time.Duration) float64 {
	if s.Period > 0 {
		t %= s.Period
	}
	if t < s.Start || t >= s.Isolate {
		return 0
	}
	w := s.Watts * math.Exp(s.Growth*(t-s.Start).Seconds())
	return math.Min(w, s.MaxWatts)
}
