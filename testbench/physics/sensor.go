package physics

import (
	"math"
	"math/rand/v2"
)

// Thermistor is a temperature sensor that sits between cells of a module:
// it sees a weighted mix of those cells and of the module's inner air,
// through a first-order lag (its mounting, pad and the cell cans).
type Thermistor struct {
	// Cells are rack cell indices the sensor touches and Weights their
	// shares; AirWeight is the share of the module's local air.
	Cells     []int
	Weights   []float64
	AirWeight float64
	// Module is the rack-wide module index (for its local air offset).
	Module int
	// Tau is the lag time constant, s.
	Tau           float64
	value         float64
	init          bool
	lastDt, alpha float64
}

// NewThermistor places a sensor in rack-wide module m between cell
// position pos and pos+1 (0-based, clamped to the module), seeing
// airWeight of the local air and lagging by tau seconds.
func NewThermistor(r *Rack, m, pos int, airWeight, tau float64) *Thermistor {
	cells := r.Cfg.Cells
	pos = max(0, min(pos, cells-1))
	first := m * cells
	th := &Thermistor{Module: m, Tau: tau, AirWeight: airWeight}
	if pos+1 < cells {
		th.Cells = []int{first + pos, first + pos + 1}
		th.Weights = []float64{(1 - airWeight) / 2, (1 - airWeight) / 2}
	} else {
		th.Cells = []int{first + pos}
		th.Weights = []float64{1 - airWeight}
	}
	return th
}

// Update advances the lag by dt seconds and returns the sensor's true
// temperature, °C.
func (th *Thermistor) Update(r *Rack, dt float64) float64 {
	target := th.AirWeight * r.ModAir[th.Module]
	for k, i := range th.Cells {
		target += th.Weights[k] * r.Cells[i].T
	}
	if !th.init || th.Tau <= 0 {
		th.value, th.init = target, true
		return th.value
	}
	if dt != th.lastDt {
		th.lastDt, th.alpha = dt, 1-math.Exp(-dt/th.Tau)
	}
	th.value += (target - th.value) * th.alpha
	return th.value
}

// FaultKind is a sensor or link failure.
type FaultKind int

// Fault kinds.
const (
	// Stuck repeats the last good value.
	Stuck FaultKind = iota
	// Open reports nan (open circuit, 0x7FFF "not available").
	Open
	// Spike reports Value (85, 127, -40: ADC and bus sentinels) for the
	// window, usually one sample.
	Spike
	// Silent drops the rows (dropout, comms loss).
	Silent
	// Offset adds Value (a shifted or badly seated sensor).
	Offset
)

// Fault is one failure of a Channel in the time window [From, To), s.
type Fault struct {
	Kind     FaultKind
	From, To float64
	Value    float64
}

// Channel turns a true value into what a device reports: noise, slow
// drift, resolution, dropouts and faults.
type Channel struct {
	// Noise is the standard deviation of white noise; Resolution the
	// reporting step (0 = none); DriftPerDay a linear drift.
	Noise, Resolution, DriftPerDay float64
	// Dropout is the probability a sample is absent.
	Dropout float64
	// Min and Max clip the reported value to the sensor's range when
	// Max > Min (an NTC channel saturates near 150 °C).
	Min, Max float64
	// Faults are the scheduled failures.
	Faults []Fault
	last   float64
	has    bool
}

// Read returns the reported value at time t (s) for the true value v and
// false when the row is absent.
func (c *Channel) Read(t, v float64, rng *rand.Rand) (float64, bool) {
	if c.Dropout > 0 && rng.Float64() < c.Dropout {
		return 0, false
	}
	out := v + c.DriftPerDay*t/86400
	if c.Noise > 0 {
		out += rng.NormFloat64() * c.Noise
	}
	if c.Max > c.Min {
		out = max(c.Min, min(c.Max, out))
	}
	if c.Resolution > 0 {
		out = quantize(out, c.Resolution)
	}
	for _, f := range c.Faults {
		if t < f.From || t >= f.To {
			continue
		}
		switch f.Kind {
		case Stuck:
			if c.has {
				return c.last, true
			}
		case Open:
			return math.NaN(), true
		case Spike:
			return f.Value, true
		case Silent:
			return 0, false
		case Offset:
			out += f.Value
		}
	}
	c.last, c.has = out, true
	return out, true
}

// quantize rounds v to a multiple of step, exactly for steps like 0.1 or
// 0.001 whose inverse is a whole number.
func quantize(v, step float64) float64 {
	if inv := math.Round(1 / step); inv >= 1 && math.Abs(inv*step-1) < 1e-9 {
		v = math.Round(v*inv) / inv
	} else {
		v = math.Round(v/step) * step
	}
	if v == 0 {
		return 0 // no "-0" in a trace
	}
	return v
}

// Value returns the sensor's last true temperature, °C.
func (th *Thermistor) Value() float64 { return th.value }
