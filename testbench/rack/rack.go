package rack

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Config describes a rack. The zero value of every field means its default.
type Config struct {
	// Modules is the number of modules in the string (default 8).
	Modules int
	// Cells is the number of cells in series in each module (default 16).
	Cells int
	// Seed makes the per-cell offsets, initial temperatures and measurement
	// noise reproducible.
	Seed uint64
	// Ambient is the room air temperature in °C (default 24).
	Ambient float64
	// CapacityAh is the string's capacity in ampere-hours (default 100).
	CapacityAh float64
	// Charge is the initial state of charge in % (default 90).
	Charge float64
	// Current is the string current in A, > 0 charging (default 0: float).
	Current float64
	// HeatCapacity is each module's heat capacity in J/K (default 32000:
	// sixteen 2 kg cells).
	HeatCapacity float64
	// NeighbourConductance is the thermal conductance between adjacent
	// modules in W/K (default 1.5).
	NeighbourConductance float64
	// AirConductance is each module's convective conductance to the room
	// air in W/K (default 4).
	AirConductance float64
	// CellResistance is each cell's internal resistance in Ω (default
	// 0.0005).
	CellResistance float64
	// Quiet turns off measurement noise (0.05 °C, 1 mV standard deviation).
	Quiet bool
	// Model is the device.model text the rack reports (default
	// "EW-SIM-RACK").
	Model string
}

func (c Config) withDefaults() Config {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Model == "" {
		c.Model = "EW-SIM-RACK"
	}
	if c.Modules <= 0 {
		c.Modules = 8
	}
	if c.Cells <= 0 {
		c.Cells = 16
	}
	def(&c.Ambient, 24)
	def(&c.CapacityAh, 100)
	def(&c.Charge, 90)
	def(&c.HeatCapacity, 32000)
	def(&c.NeighbourConductance, 1.5)
	def(&c.AirConductance, 4)
	def(&c.CellResistance, 0.0005)
	return c
}

// Measurement noise, standard deviations.
const (
	tempNoise = 0.05  // °C
	voltNoise = 0.001 // V
)

// Off-gas: onset temperatures (°C), production per kelvin above onset
// (ppm/s/K), background concentrations (ppm) and the ventilation's time
// constant (s).
const (
	vocOnset, vocRate, vocBackground = 60.0, 0.5, 0.1
	h2Onset, h2Rate, h2Background    = 90.0, 4.0, 0.2
	coOnset, coRate, coBackground    = 100.0, 2.0, 0.5
	ventilation                      = 600.0
)

// maxSubstep bounds one integration step, far below the thermal time
// constants, so that Step is stable for any duration.
const maxSubstep = time.Second

// Rack is the simulated battery string and its room. Build one with New.
type Rack struct {
	cfg      Config
	rng      *rand.Rand
	elapsed  time.Duration
	current  float64
	ambient  float64
	temp     []float64   // per module, °C
	soc      []float64   // per module, %
	extra    []float64   // per module, W of fault heat
	offset   [][]float64 // per module per cell, V
	cellTmp  [][]float64 // per module per cell, °C offset from the module
	tNoise   []float64   // per module, °C
	vNoise   [][]float64 // per module per cell, V
	h2, co   float64     // ppm above background
	voc      float64     // ppm above background
	scratchT []float64
}

// New returns a rack in thermal equilibrium with the room, give or take the
// small per-module offsets drawn from the seed.
func New(cfg Config) *Rack {
	cfg = cfg.withDefaults()
	r := &Rack{
		cfg:     cfg,
		rng:     rand.New(rand.NewPCG(cfg.Seed, 0x656d626572)),
		current: cfg.Current,
		ambient: cfg.Ambient,
	}
	n, m := cfg.Modules, cfg.Cells
	r.temp = make([]float64, n)
	r.soc = make([]float64, n)
	r.extra = make([]float64, n)
	r.tNoise = make([]float64, n)
	r.scratchT = make([]float64, n)
	r.offset = make([][]float64, n)
	r.cellTmp = make([][]float64, n)
	r.vNoise = make([][]float64, n)
	for i := range n {
		r.temp[i] = cfg.Ambient + 0.3*r.rng.NormFloat64()
		r.soc[i] = cfg.Charge
		r.offset[i] = make([]float64, m)
		r.cellTmp[i] = make([]float64, m)
		r.vNoise[i] = make([]float64, m)
		for j := range m {
			r.offset[i][j] = 0.004 * r.rng.NormFloat64()
			r.cellTmp[i][j] = 0.2 * r.rng.NormFloat64()
		}
	}
	return r
}

// Config returns the rack's configuration with defaults filled in.
func (r *Rack) Config() Config { return r.cfg }

// Elapsed returns the simulated time stepped so far.
func (r *Rack) Elapsed() time.Duration { return r.elapsed }

// SetCurrent sets the string current in A (> 0 charging, < 0 discharging).
func (r *Rack) SetCurrent(amps float64) { r.current = amps }

// SetAmbient sets the room air temperature in °C.
func (r *Rack) SetAmbient(celsius float64) { r.ambient = celsius }

// HeatModule sets the extra heat, in W, dissipated inside module n (1-based)
// from now on: the hot-module knob. The power stands for an internal short,
// so it also drains the module's charge. Zero turns the fault off.
func (r *Rack) HeatModule(n int, watts float64) error {
	if n < 1 || n > len(r.temp) {
		return fmt.Errorf("rack: module %d out of range 1..%d", n, len(r.temp))
	}
	r.extra[n-1] = watts
	return nil
}

// ModuleTemperature returns the true (noise-free) temperature of module n
// (1-based) in °C.
func (r *Rack) ModuleTemperature(n int) float64 { return r.temp[n-1] }

// Step advances the model by dt of simulated time. Long steps are split
// into substeps of at most a second.
func (r *Rack) Step(dt time.Duration) {
	for dt > 0 {
		h := min(dt, maxSubstep)
		r.substep(h.Seconds())
		dt -= h
		r.elapsed += h
	}
	if !r.cfg.Quiet {
		for i := range r.temp {
			r.tNoise[i] = tempNoise * r.rng.NormFloat64()
			for j := range r.vNoise[i] {
				r.vNoise[i][j] = voltNoise * r.rng.NormFloat64()
			}
		}
	}
}

func (r *Rack) substep(h float64) {
	c := r.cfg
	n := len(r.temp)
	joule := r.current * r.current * c.CellResistance * float64(c.Cells)
	for i := range n {
		p := joule + r.extra[i] + c.AirConductance*(r.ambient-r.temp[i])
		if i > 0 {
			p += c.NeighbourConductance * (r.temp[i-1] - r.temp[i])
		}
		if i < n-1 {
			p += c.NeighbourConductance * (r.temp[i+1] - r.temp[i])
		}
		r.scratchT[i] = r.temp[i] + h*p/c.HeatCapacity
	}
	var vocP, h2P, coP float64
	for i := range n {
		r.temp[i] = r.scratchT[i]
		// The string current flows through every module; a fault's heat
		// is drawn from its own module's charge.
		amps := r.current
		if r.extra[i] > 0 {
			amps -= r.extra[i] / r.moduleOCV(i)
		}
		r.soc[i] += 100 * amps * h / (3600 * c.CapacityAh)
		r.soc[i] = min(max(r.soc[i], 0), 100)
		vocP += vocRate * max(0, r.temp[i]-vocOnset)
		h2P += h2Rate * max(0, r.temp[i]-h2Onset)
		coP += coRate * max(0, r.temp[i]-coOnset)
	}
	decay := h / ventilation
	r.voc += h*vocP - decay*r.voc
	r.h2 += h*h2P - decay*r.h2
	r.co += h*coP - decay*r.co
}

// ocvCurve is an LFP cell's open-circuit voltage against state of charge,
// at 10 % steps from 0 to 100 %.
var ocvCurve = [...]float64{2.80, 3.20, 3.25, 3.27, 3.28, 3.29, 3.30, 3.31, 3.33, 3.35, 3.50}

// ocv interpolates the open-circuit curve at soc %.
func ocv(soc float64) float64 {
	x := min(max(soc, 0), 100) / 10
	i := min(int(x), len(ocvCurve)-2)
	f := x - float64(i)
	return ocvCurve[i] + f*(ocvCurve[i+1]-ocvCurve[i])
}

func (r *Rack) moduleOCV(i int) float64 { return float64(r.cfg.Cells) * ocv(r.soc[i]) }

// cellVoltage is the measured terminal voltage of cell j of module i.
func (r *Rack) cellVoltage(i, j int) float64 {
	return ocv(r.soc[i]) + r.current*r.cfg.CellResistance + r.offset[i][j] + r.vNoise[i][j]
}

// Points returns the rack's readings by contract point name (SI units):
// battery.voltage, battery.current, battery.charge, battery.temperature,
// battery.runtime (while discharging), battery.module.N.temperature,
// battery.module.N.voltage, battery.module.N.charge,
// battery.module.N.cell.M.voltage, battery.module.N.cell.M.temperature,
// battery.module.N.cell.{avg,min,max}.voltage,
// battery.module.N.cell.{min,max}.temperature,
// battery.cell.{min,max}.voltage, battery.module.{min,max}.temperature,
// ambient.temperature, gas.h2, gas.co and gas.voc.
//
// Points does not change the rack: between two Steps it returns the same
// values, measurement noise included.
func (r *Rack) Points() map[string]float64 {
	c := r.cfg
	pts := make(map[string]float64, 13+c.Modules*(8+2*c.Cells))
	var total, socSum, tSum float64
	cellMin, cellMax := math.Inf(1), math.Inf(-1)
	modMin, modMax := math.Inf(1), math.Inf(-1)
	for i := range c.Modules {
		n := i + 1
		t := r.temp[i] + r.tNoise[i]
		var mv float64
		vMin, vMax := math.Inf(1), math.Inf(-1)
		tMin, tMax := math.Inf(1), math.Inf(-1)
		for j := range c.Cells {
			v := r.cellVoltage(i, j)
			mv += v
			vMin, vMax = min(vMin, v), max(vMax, v)
			pts[fmt.Sprintf("battery.module.%d.cell.%d.voltage", n, j+1)] = v
			ct := t + r.cellTmp[i][j]
			tMin, tMax = min(tMin, ct), max(tMax, ct)
			pts[fmt.Sprintf("battery.module.%d.cell.%d.temperature", n, j+1)] = ct
		}
		pts[fmt.Sprintf("battery.module.%d.temperature", n)] = t
		pts[fmt.Sprintf("battery.module.%d.voltage", n)] = mv
		pts[fmt.Sprintf("battery.module.%d.charge", n)] = r.soc[i]
		pts[fmt.Sprintf("battery.module.%d.cell.avg.voltage", n)] = mv / float64(c.Cells)
		pts[fmt.Sprintf("battery.module.%d.cell.min.voltage", n)] = vMin
		pts[fmt.Sprintf("battery.module.%d.cell.max.voltage", n)] = vMax
		pts[fmt.Sprintf("battery.module.%d.cell.min.temperature", n)] = tMin
		pts[fmt.Sprintf("battery.module.%d.cell.max.temperature", n)] = tMax
		total += mv
		socSum += r.soc[i]
		tSum += t
		cellMin, cellMax = min(cellMin, vMin), max(cellMax, vMax)
		modMin, modMax = min(modMin, t), max(modMax, t)
	}
	soc := socSum / float64(c.Modules)
	pts["battery.voltage"] = total
	pts["battery.current"] = r.current
	pts["battery.charge"] = soc
	pts["battery.temperature"] = tSum / float64(c.Modules)
	pts["battery.cell.min.voltage"] = cellMin
	pts["battery.cell.max.voltage"] = cellMax
	pts["battery.module.min.temperature"] = modMin
	pts["battery.module.max.temperature"] = modMax
	if r.current < 0 {
		pts["battery.runtime"] = soc / 100 * c.CapacityAh * 3600 / -r.current
	}
	pts["ambient.temperature"] = r.ambient
	pts["gas.voc"] = vocBackground + r.voc
	pts["gas.h2"] = h2Background + r.h2
	pts["gas.co"] = coBackground + r.co
	return pts
}

// Texts returns the rack's text points: device.model and device.mfr.
func (r *Rack) Texts() map[string]string {
	return map[string]string{"device.model": r.cfg.Model, "device.mfr": "Emberwatch"}
}
