package physics

import (
	"math"
	"math/rand/v2"
	"sort"
)

// GasConst is the molar gas constant, J/(mol·K).
const GasConst = 8.314

// Reaction is one Arrhenius decomposition reaction of a cell, per kg of cell.
type Reaction struct {
	// Name is a short label (sei, anode, cathode, electrolyte).
	Name string
	// A is the frequency factor, 1/s; Ea the activation energy, J/mol.
	A, Ea float64
	// Heat is the heat released when the reaction completes, J per kg of cell.
	Heat float64
	// Start is the initial amount of reactant (dimensionless, 1 = all).
	Start float64
	// Scaled tells whether the databank calibration multiplies A.
	Scaled bool
}

// Chemistry holds the figures of one cell chemistry and format.
type Chemistry struct {
	// Name is nmc, lfp or vrla.
	Name string
	// LeadAcid selects the VRLA float model instead of the Li-ion reactions.
	LeadAcid bool
	// CellMass in kg and SpecificHeat in J/(kg·K) give the heat capacity.
	CellMass, SpecificHeat float64
	// CapacityAh is the rated capacity and R0 the internal resistance at
	// 25 °C and mid charge, Ω.
	CapacityAh, R0 float64
	// OCV is the open-circuit voltage curve, (state of charge, volts) sorted
	// by charge; charge beyond 1 is overcharge, below 0 reversal.
	OCV [][2]float64
	// FloatV is the float or top-of-charge voltage per cell, MinV the
	// discharge cut-off per cell.
	FloatV, MinV float64
	// Reactions are the Arrhenius decomposition reactions (Li-ion only).
	Reactions []Reaction
	// VentLow and VentHigh bound the venting temperature, °C.
	VentLow, VentHigh float64
	// SeparatorT is where the separator melts and an internal short
	// collapses to a hard short, °C.
	SeparatorT float64
	// TriggerShift is added to databank trigger temperatures (NMC 18650 cells)
	// for this chemistry, °C.
	TriggerShift float64
	// VentGasLPerAh and RunawayGasLPerAh are the gas volumes released at
	// first venting and over a full runaway, litres per Ah of capacity.
	VentGasLPerAh, RunawayGasLPerAh float64
	// VentMix and RunawayMix are the volume fractions of H2, CO and VOC.
	VentMix, RunawayMix [3]float64
	// FloatCurrent25 is the VRLA float current per Ah at 25 °C, A/Ah, and
	// FloatDoubling the temperature rise that doubles it, °C.
	FloatCurrent25, FloatDoubling float64
	// EjectaRatio is the energy that leaves a venting cell with its gas and
	// ejecta per unit of energy released in the cell body (databank median:
	// 29.7 % in the body, so 70.3/29.7).
	EjectaRatio float64
	// HotSpotKPerW is how far above the cell body an internal short's hot
	// spot runs per watt of short heat, K/W.
	HotSpotKPerW float64
	// RunawayT is, for VRLA, the temperature taken as runaway (case
	// softening, electrolyte boiling), °C.
	RunawayT float64
}

// kim2007 returns the four reactions of Kim et al. (2007), "A
// three-dimensional thermal abuse model for lithium-ion cells", with their
// heats turned into J per kg of cell for the given mass fractions of anode
// carbon, cathode and electrolyte, and scaled so that together they release
// bodyJPerKg.
func kim2007(fC, fP, fE, bodyJPerKg float64) []Reaction {
	r := []Reaction{
		{Name: "sei", A: 1.667e15, Ea: 1.3508e5, Heat: 257e3 * fC * 0.15, Start: 1},
		{Name: "anode", A: 2.5e13, Ea: 1.3508e5, Heat: 1714e3 * fC * 0.75, Start: 1, Scaled: true},
		{Name: "cathode", A: 6.667e13, Ea: 1.396e5, Heat: 314e3 * fP * 0.96, Start: 1, Scaled: true},
		{Name: "electrolyte", A: 5.14e25, Ea: 2.74e5, Heat: 155e3 * fE, Start: 1, Scaled: true},
	}
	total := 0.0
	for _, x := range r {
		total += x.Heat
	}
	for i := range r {
		r[i].Heat *= bodyJPerKg / total
	}
	return r
}

// NMC is a prismatic NMC cell of the kind in rack UPS modules (about 63 Ah,
// 1.9 kg). Vent temperatures follow 18650 and prismatic abuse tests.
func NMC() Chemistry {
	return Chemistry{
		Name: "nmc", CellMass: 1.9, SpecificHeat: 1050, CapacityAh: 63, R0: 0.0012,
		OCV: [][2]float64{{-0.3, -0.5}, {-0.05, 2.2}, {0, 3.0}, {0.05, 3.40}, {0.1, 3.50}, {0.2, 3.58},
			{0.3, 3.63}, {0.4, 3.68}, {0.5, 3.74}, {0.6, 3.82}, {0.7, 3.90}, {0.8, 3.98}, {0.9, 4.07},
			{1.0, 4.17}, {1.1, 4.36}, {1.2, 4.52}, {1.4, 4.78}, {1.7, 5.1}, {2.5, 5.5}},
		FloatV: 4.08, MinV: 3.0,
		// Databank median: 62.4 kJ for a 47.3 g cell, 29.7 % of it in the
		// cell body: 0.39 MJ per kg of cell.
		Reactions: kim2007(0.25, 0.40, 0.12, 0.39e6),
		VentLow:   120, VentHigh: 160, SeparatorT: 130, HotSpotKPerW: 0.25, EjectaRatio: 70.3 / 29.7,
		VentGasLPerAh: 0.12, RunawayGasLPerAh: 1.6,
		VentMix: [3]float64{0.03, 0.05, 0.70}, RunawayMix: [3]float64{0.30, 0.25, 0.10},
	}
}

// LFP is a prismatic LiFePO4 cell (about 100 Ah, 2 kg): flatter voltage
// curve, later venting and less energy than NMC.
func LFP() Chemistry {
	return Chemistry{
		Name: "lfp", CellMass: 2.0, SpecificHeat: 1100, CapacityAh: 100, R0: 0.0006,
		OCV: [][2]float64{{-0.3, -0.5}, {-0.05, 1.8}, {0, 2.5}, {0.05, 3.0}, {0.1, 3.18}, {0.2, 3.24},
			{0.5, 3.29}, {0.8, 3.32}, {0.9, 3.34}, {0.97, 3.40}, {1.0, 3.50}, {1.1, 3.95}, {1.2, 4.30},
			{1.5, 4.8}, {2.5, 5.4}},
		FloatV: 3.38, MinV: 2.6,
		Reactions: kim2007(0.25, 0.40, 0.12, 0.21e6),
		VentLow:   140, VentHigh: 190, SeparatorT: 135, TriggerShift: 25, HotSpotKPerW: 0.25, EjectaRatio: 1.5,
		VentGasLPerAh: 0.08, RunawayGasLPerAh: 1.0,
		VentMix: [3]float64{0.05, 0.05, 0.65}, RunawayMix: [3]float64{0.40, 0.10, 0.08},
	}
}

// VRLA is a 2 V cell of a valve-regulated lead-acid monobloc (100 Ah, a
// sixth of a 30 kg 12 V block). Float current per IEEE 1188/1491: about
// 1 mA per Ah at 25 °C, doubling every 10 °C.
func VRLA() Chemistry {
	return Chemistry{
		Name: "vrla", LeadAcid: true, CellMass: 5.0, SpecificHeat: 800, CapacityAh: 100, R0: 0.0008,
		OCV:    [][2]float64{{-0.2, 1.6}, {0, 1.95}, {0.5, 2.05}, {1.0, 2.14}, {1.2, 2.35}, {2, 2.6}},
		FloatV: 2.27, MinV: 1.75,
		// the valve lifts as dry-out and pressure rise; runaway taken when
		// the case softens and the electrolyte nears boiling.
		VentLow: 65, VentHigh: 72, RunawayT: 80,
		FloatCurrent25: 0.001, FloatDoubling: 10,
		VentMix: [3]float64{0.95, 0, 0}, RunawayMix: [3]float64{0.95, 0, 0},
	}
}

// ocv interpolates the open-circuit voltage curve.
func (c *Chemistry) ocv(soc float64) float64 {
	t := c.OCV
	if soc <= t[0][0] {
		return t[0][1]
	}
	n := len(t)
	if soc >= t[n-1][0] {
		return t[n-1][1]
	}
	i := sort.Search(n, func(i int) bool { return t[i][0] >= soc })
	a, b := t[i-1], t[i]
	return a[1] + (b[1]-a[1])*(soc-a[0])/(b[0]-a[0])
}

// OCVAt returns the open-circuit voltage at a state of charge.
func (c *Chemistry) OCVAt(soc float64) float64 { return c.ocv(soc) }

// SoCAt inverts the open-circuit voltage curve between charge 0 and 1.
func (c *Chemistry) SoCAt(v float64) float64 {
	lo, hi := 0.0, 1.0
	for range 40 {
		m := (lo + hi) / 2
		if c.ocv(m) < v {
			lo = m
		} else {
			hi = m
		}
	}
	return (lo + hi) / 2
}

// Databank holds deciles of the NREL/NASA Battery Failure Databank (rev. 2,
// Fractional Calorimetry Data), column Avg-Cell-Temp-At-Trigger-degC, the
// cell casing temperature when thermal runaway set off: 156 heater tests
// without an internal-short device (min 144, max 362 °C) and 99 heater tests
// with one (min 52, max 342 °C). The interop test in this package checks
// them against the file in ../shared/data.
var Databank = struct {
	// HeaterDeciles are the 10th..90th percentiles of heater-only tests.
	HeaterDeciles [9]float64
	// ISCDeciles are those of tests with an implanted internal-short device.
	ISCDeciles [9]float64
	// HeaterMin, HeaterMax, ISCMin, ISCMax bound the samples.
	HeaterMin, HeaterMax, ISCMin, ISCMax float64
}{
	HeaterDeciles: [9]float64{214, 225, 234, 244, 254, 263, 282, 291, 306},
	ISCDeciles:    [9]float64{91, 106, 123, 136, 165, 189, 206, 233, 250},
	HeaterMin:     144, HeaterMax: 362, ISCMin: 52, ISCMax: 342,
}

// sampleDeciles draws from the piecewise-linear distribution through the
// deciles and the extremes.
func sampleDeciles(rng *rand.Rand, dec [9]float64, lo, hi float64) float64 {
	q := rng.Float64() * 10
	pts := append(append([]float64{lo}, dec[:]...), hi)
	i := int(q)
	if i >= 10 {
		i = 9
	}
	return pts[i] + (pts[i+1]-pts[i])*(q-float64(i))
}

// TriggerTemperature draws the temperature at which a cell of this chemistry
// reaches a self-heating rate of 1 °C/s: from the databank's heater tests,
// or its internal-short tests when isc is true (a cell with a developing
// internal short), shifted by TriggerShift.
func (c *Chemistry) TriggerTemperature(rng *rand.Rand, isc bool) float64 {
	if isc {
		return sampleDeciles(rng, Databank.ISCDeciles, Databank.ISCMin, Databank.ISCMax) + c.TriggerShift
	}
	return sampleDeciles(rng, Databank.HeaterDeciles, Databank.HeaterMin, Databank.HeaterMax) + c.TriggerShift
}

// reactantFactor is the dependence of reaction i's rate on its reactant:
// c for sei and electrolyte, c·exp(-z/z0) for the anode (z the SEI
// regrowth), α(1-α) for the cathode (α its conversion).
func reactantFactor(i int, c, z, alpha float64) float64 {
	switch i {
	case reactAnode:
		return c * math.Exp(-z)
	case reactCathode:
		return alpha * (1 - alpha)
	}
	return c
}

// Indices of the Li-ion reactions in Chemistry.Reactions.
const (
	reactSEI = iota
	reactAnode
	reactCathode
	reactElectrolyte
)

// selfHeating returns the adiabatic self-heating rate, °C/s, of fresh
// reactants at temperature t (°C) with the scaled reactions multiplied by
// mul.
func (c *Chemistry) selfHeating(t, mul float64) float64 {
	tk := t + 273.15
	q := 0.0
	for i, r := range c.Reactions {
		if !r.Scaled {
			continue // the SEI is long consumed at trigger temperatures
		}
		rate := r.A * mul * math.Exp(-r.Ea/(GasConst*tk)) * reactantFactor(i, r.Start, 1, 0.04)
		q += rate * r.Heat * r.Start
	}
	return q / c.SpecificHeat
}

// Calibrate returns the multiplier of the scaled reactions' frequency
// factors that makes the adiabatic self-heating rate of fresh reactants
// 1 °C/s at trigger (°C).
func (c *Chemistry) Calibrate(trigger float64) float64 {
	if c.LeadAcid || len(c.Reactions) == 0 {
		return 1
	}
	lo, hi := -30.0, 30.0 // log multiplier
	for range 80 {
		m := (lo + hi) / 2
		if c.selfHeating(trigger, math.Exp(m)) < 1 {
			lo = m
		} else {
			hi = m
		}
	}
	return math.Exp((lo + hi) / 2)
}
