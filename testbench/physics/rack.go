package physics

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Config is the build of a rack. The zero value of a field means its
// default (see DefaultConfig); Chem, Modules and Cells must be set.
type Config struct {
	// Chem is the cell chemistry.
	Chem Chemistry
	// Strings, Modules per string and series Cells per module.
	Strings, Modules, Cells int
	// CellG is the conductance between adjacent cells of a module, W/K.
	CellG float64
	// ModuleG is the conductance between the end cells of adjacent
	// modules of a string, W/K.
	ModuleG float64
	// AirG is the conductance of a cell to the cabinet air, W/K; the two
	// end cells of a module get 1.5 times as much.
	AirG float64
	// CabinetC is the heat capacity of the cabinet air and sheet metal, J/K.
	CabinetC float64
	// CabinetG is the conductance of the cabinet air to the room air
	// (ventilation and walls), W/K.
	CabinetG float64
	// CabinetVolume is the free air volume of the cabinet, m³, and
	// AirChanges its air changes per hour with the room.
	CabinetVolume, AirChanges float64
	// BalanceA is the passive balancing bleed of a cell above BalanceV.
	BalanceA, BalanceV float64
	// ModuleAirC is the heat capacity of a module's inner air and
	// enclosure, J/K; ModuleAirG its conductance to the cabinet air, W/K.
	// Cells convect to their module's air.
	ModuleAirC, ModuleAirG float64
}

// DefaultConfig returns a one-string rack of modules×cells of chem with
// typical conductances for prismatic cells in a ventilated cabinet.
func DefaultConfig(chem Chemistry, modules, cells int) Config {
	return Config{Chem: chem, Strings: 1, Modules: modules, Cells: cells}.withDefaults()
}

func (c Config) withDefaults() Config {
	def := func(p *float64, v float64) {
		if *p == 0 {
			*p = v
		}
	}
	if c.Strings == 0 {
		c.Strings = 1
	}
	def(&c.CellG, 2.0)
	def(&c.ModuleG, 0.3)
	def(&c.AirG, 0.35)
	n := float64(c.Strings * c.Modules * c.Cells)
	def(&c.CabinetC, 20e3+100*n)
	def(&c.CabinetG, 40+0.6*n)
	def(&c.CabinetVolume, 0.8+0.004*n)
	def(&c.AirChanges, 6)
	def(&c.BalanceA, 0.1)
	def(&c.BalanceV, c.Chem.FloatV+0.02)
	def(&c.ModuleAirC, 2000+300*float64(c.Cells))
	def(&c.ModuleAirG, 1+0.8*float64(c.Cells)*c.AirG)
	return c
}

// Cell is the state of one cell. Scenarios set the fault fields (Rshort,
// ShortRate, RFactor, Heater, CapacityFactor) between steps; the model
// updates the rest.
type Cell struct {
	// T is the cell temperature, °C; SoC the state of charge (1 = full,
	// above 1 overcharged).
	T, SoC float64
	// CapacityFactor scales the chemistry's capacity (ageing), RFactor its
	// internal resistance.
	CapacityFactor, RFactor float64
	// Rshort is the resistance of an internal short, Ω; 0 means none.
	// ShortRate makes it shrink as exp(-ShortRate·t) (1/s) down to
	// RshortMin, a soft short escalating as the separator degrades; the
	// rate grows with temperature (×2 at 60 °C, ×8 at 80 °C).
	Rshort, ShortRate, RshortMin float64
	// Heater is external heat into the cell, W (a neighbouring fire, a hot
	// part pressed against it).
	Heater float64
	// Cooling scales the cell's conductance to its module air (position in
	// the airflow); NewRack sets 1.
	Cooling float64
	// Trigger is the temperature where the cell's self-heating reaches
	// 1 °C/s, VentT where it vents, °C.
	Trigger, VentT float64
	// TriggerISC replaces Trigger while the cell has an internal short
	// (drawn from the databank's internal-short tests, not below the
	// separator's melting point).
	TriggerISC float64
	calibrated float64
	// Vented and Runaway are set once, with the time in seconds.
	Vented, Runaway   bool
	VentAt, RunawayAt float64
	reactMul          float64
	bulk, spot        pool
	pendingGas        float64
	// V is the terminal voltage, I the current into the cell's chemistry
	// (positive charging, after the short), Q the heat power of the last
	// step, W, and Rate its dT/dt, °C/s, SelfRate the part from reactions.
	V, I, Q, Rate, SelfRate float64
	// BalanceI is the balancing bleed of the last step, A.
	BalanceI            float64
	shortHeat, spotHeat float64
}

// DriveKind tells what the power electronics does with a string.
type DriveKind int

// Drive kinds.
const (
	// Rest: no current.
	Rest DriveKind = iota
	// Charge: constant current IMax up to VCell per cell, then constant
	// voltage (float when VCell is the float voltage).
	Charge
	// Discharge: constant power Power (W) out of the string until a cell
	// reaches the chemistry's MinV.
	Discharge
	// Overcharge: constant current IMax with no voltage limit, a charger
	// whose BMS lost control.
	Overcharge
)

// Drive is the set point of a string's charger or load.
type Drive struct {
	Kind  DriveKind
	VCell float64
	IMax  float64
	Power float64
	// StringCutoff stops a discharge on the string's average cell voltage
	// instead of its lowest cell (a UPS that does not listen to the BMS),
	// so a weak cell can be driven into reversal.
	StringCutoff bool
}

// String is the electrical state of one string.
type String struct {
	// Drive is the set point; scenarios change it between steps.
	Drive Drive
	// I is the string current (positive charging), V the string voltage.
	I, V float64
	// Empty is set when a discharge stopped at the cut-off voltage.
	Empty bool
	// Gassing is the part of a lead-acid string's current that splits
	// water (float current, the tail of a recharge), A.
	Gassing float64
	// ContactR[m] is the resistance of the joint after module m (between
	// m and m+1, or the string terminal after the last), Ω; 0 = sound.
	ContactR []float64
}

// Rack is the simulated rack. Fields are exported for scenarios and
// sensors to read and for scenarios to set between steps.
type Rack struct {
	Cfg  Config
	Chem Chemistry
	// Cells, index (string·Modules + module)·Cells + cell.
	Cells   []Cell
	Strings []String
	// Time is the simulated time, s.
	Time float64
	// Room is the room (inlet) air temperature, set by the scenario, °C.
	Room float64
	// Air is the cabinet air temperature, °C.
	Air float64
	// LocalOffset[string·Modules+module] is added to the cabinet air a
	// module draws (hot aisle, a module near an exhaust), °C.
	LocalOffset []float64
	// ModAir is the inner air of each module, °C.
	ModAir []float64
	// ModAirHeater is external heat into each module's inner air, W, and
	// AirHeater into the cabinet air (a hot part's losses to the air
	// around it), set by the scenario.
	ModAirHeater []float64
	AirHeater    float64
	// Gas is the litres of H2, CO and VOC in the cabinet air.
	Gas [3]float64
	// Energy counts the heat that entered (sources) and left (to the room)
	// the rack, J, for energy-balance checks.
	EnergyIn, EnergyOut float64
	maxStep             float64
	bufA, bufB          []float64
	cellRs              []float64
	links               [][2]link
	rates, selfQ        []float64
}

// NewRack builds a rack at temperature room, every cell at charge soc,
// with per-cell vent and trigger temperatures drawn from rng.
func NewRack(cfg Config, room, soc float64, rng *rand.Rand) (*Rack, error) {
	cfg = cfg.withDefaults()
	if cfg.Modules < 1 || cfg.Cells < 1 {
		return nil, fmt.Errorf("physics: rack needs modules and cells, got %d×%d", cfg.Modules, cfg.Cells)
	}
	r := &Rack{Cfg: cfg, Chem: cfg.Chem, Room: room, Air: room}
	n := cfg.Strings * cfg.Modules * cfg.Cells
	r.Cells = make([]Cell, n)
	r.LocalOffset = make([]float64, cfg.Strings*cfg.Modules)
	r.ModAir = make([]float64, cfg.Strings*cfg.Modules)
	r.ModAirHeater = make([]float64, cfg.Strings*cfg.Modules)
	for m := range r.ModAir {
		r.ModAir[m] = room
	}
	r.cellRs = make([]float64, n)
	r.Strings = make([]String, cfg.Strings)
	for s := range r.Strings {
		r.Strings[s].ContactR = make([]float64, cfg.Modules)
	}
	for i := range r.Cells {
		c := &r.Cells[i]
		c.T, c.SoC, c.CapacityFactor, c.RFactor, c.Cooling = room, soc, 1, 1, 1
		c.VentT = cfg.Chem.VentLow + rng.Float64()*(cfg.Chem.VentHigh-cfg.Chem.VentLow)
		if !cfg.Chem.LeadAcid {
			c.SetTrigger(cfg.Chem.TriggerTemperature(rng, false))
			c.TriggerISC = max(cfg.Chem.TriggerTemperature(rng, true), cfg.Chem.SeparatorT)
			c.bulk, c.spot = newPool(&cfg.Chem), newPool(&cfg.Chem)
		} else {
			c.Trigger = cfg.Chem.RunawayT
		}
	}
	r.links = make([][2]link, n)
	for i := range r.Cells {
		r.links[i] = [2]link{{-1, 0}, {-1, 0}}
		for k, j := range r.neighbours(i) {
			r.links[i][k] = link{j, r.linkG(i, j)}
		}
	}
	r.rates, r.selfQ = make([]float64, n), make([]float64, n)
	r.bufA, r.bufB = make([]float64, cfg.Modules*cfg.Cells), make([]float64, cfg.Modules*cfg.Cells)
	cap := cfg.Chem.CellMass * cfg.Chem.SpecificHeat
	minTau := math.Inf(1)
	for i := range r.Cells {
		g := r.airG(i)
		for _, j := range r.neighbours(i) {
			g += r.linkG(i, j)
		}
		minTau = min(minTau, cap/g)
	}
	minTau = min(minTau, cfg.ModuleAirC/(cfg.ModuleAirG+float64(cfg.Cells)*cfg.AirG*1.5))
	nm := float64(cfg.Strings * cfg.Modules)
	r.maxStep = 0.3 * min(minTau, cfg.CabinetC/(cfg.CabinetG+nm*cfg.ModuleAirG))
	return r, nil
}

// SetTrigger sets the temperature where the cell's self-heating reaches
// 1 °C/s and calibrates its reactions to it.
func (c *Cell) SetTrigger(t float64) { c.Trigger = t; c.calibrated = 0 }

// Index returns the index in Cells of a cell (all 0-based).
func (r *Rack) Index(str, module, cell int) int {
	return (str*r.Cfg.Modules+module)*r.Cfg.Cells + cell
}

// Module returns the rack-wide module index (string·Modules + module) of
// cell i.
func (r *Rack) Module(i int) int { return i / r.Cfg.Cells }

func (r *Rack) airG(i int) float64 {
	c := i % r.Cfg.Cells
	if c == 0 || c == r.Cfg.Cells-1 {
		return r.Cfg.AirG * 1.5 * r.Cells[i].Cooling
	}
	return r.Cfg.AirG * r.Cells[i].Cooling
}

// link is a conduction path to cell j (-1: none) of conductance g.
type link struct {
	j int
	g float64
}

// neighbours returns the cells conducting to cell i.
func (r *Rack) neighbours(i int) []int {
	var out []int
	cells, mods := r.Cfg.Cells, r.Cfg.Modules
	c := i % cells
	m := (i / cells) % mods
	if c > 0 {
		out = append(out, i-1)
	} else if m > 0 {
		out = append(out, i-1) // last cell of the previous module
	}
	if c < cells-1 {
		out = append(out, i+1)
	} else if m < mods-1 {
		out = append(out, i+1)
	}
	return out
}

func (r *Rack) linkG(i, j int) float64 {
	if r.Module(i) != r.Module(j) {
		return r.Cfg.ModuleG
	}
	return r.Cfg.CellG
}

// cellR is the internal resistance of a cell: higher when cold and near
// empty.
func (r *Rack) cellR(c *Cell) float64 {
	// exp(-0.025·(T-25)), to second order; the ageing part (RFactor above
	// 1: lost contact, tab damage) does not depend on temperature
	x := -0.025 * (min(c.T, 85) - 25)
	rr := r.Chem.R0 * (1 + x + x*x/2)
	if c.SoC < 0.15 {
		rr *= 1 + 3*(0.15-max(c.SoC, -0.2))
	}
	return rr + r.Chem.R0*max(0, c.RFactor-1)
}

// Step advances the model by dt seconds.
func (r *Rack) Step(dt float64) {
	for s := range r.Strings {
		r.electrical(s, dt)
	}
	left := dt
	for left > 1e-9 {
		h := r.thermal(min(left, r.maxStep))
		left -= h
		r.Time += h
	}
}

// electrical sets string current, cell voltages and electrical heat.
func (r *Rack) electrical(s int, dt float64) {
	st := &r.Strings[s]
	ch := &r.Chem
	first := r.Index(s, 0, 0)
	n := r.Cfg.Modules * r.Cfg.Cells
	cells := r.Cells[first : first+n]
	sumA, sumB := 0.0, 0.0
	a, b := r.bufA, r.bufB
	for k := range cells {
		c := &cells[k]
		ocv := ch.ocv(c.SoC)
		R := r.cellR(c)
		r.cellRs[first+k] = R
		if c.Rshort > 0 {
			a[k] = ocv / (1 + R/c.Rshort)
			b[k] = R / (1 + R/c.Rshort)
		} else {
			a[k], b[k] = ocv, R
		}
		sumA += a[k]
		sumB += b[k]
	}
	for _, rc := range st.ContactR {
		sumB += rc
	}
	var I, pol float64
	leadFloat := false
	switch st.Drive.Kind {
	case Charge:
		I = (st.Drive.VCell*float64(n) - sumA) / sumB
		I = max(0, min(I, st.Drive.IMax))
		if ch.LeadAcid && st.Drive.VCell >= ch.FloatV-0.05 {
			// a recharged lead-acid string goes over to float
			soc := 0.0
			for k := range cells {
				soc += cells[k].SoC
			}
			leadFloat = soc/float64(n) >= 0.995
		}
	case Overcharge:
		I = st.Drive.IMax
	case Discharge:
		if !st.Empty {
			d := sumA*sumA - 4*sumB*st.Drive.Power
			if d < 0 {
				d = 0
			}
			I = (-sumA + math.Sqrt(d)) / (2 * sumB)
		}
	}
	st.Gassing = 0
	if leadFloat {
		I = r.leadFloatCurrent(cells, st.Drive.VCell*float64(n))
		I = min(I, st.Drive.IMax)
		st.Gassing = I
		// the charger holds the string at its voltage: what the cells'
		// open-circuit voltages and resistances leave of it stands across
		// the gassing cells as their over-voltage (a shorted cell takes
		// none of it)
		ok := 0
		for k := range cells {
			if cells[k].gassing() {
				ok++
			}
		}
		if ok > 0 {
			pol = max(0, st.Drive.VCell*float64(n)-sumA-sumB*I) / float64(ok)
		}
	} else if ch.LeadAcid && I > 0 {
		// the end of a recharge gasses, the bulk of it does not
		soc := 0.0
		for k := range cells {
			soc += cells[k].SoC
		}
		// (absorption: about 1 A per 100 Ah at most)
		st.Gassing = min(0.01*ch.CapacityAh, 0.3*I) * max(0, min(1, (soc/float64(n)-0.9)/0.1))
	}
	st.I = I
	st.V = 0
	minV := math.Inf(1)
	for k := range cells {
		c := &cells[k]
		c.V = a[k] + b[k]*I
		if c.gassing() {
			c.V += pol
		}
		c.I = I
		q := 0.0
		c.spotHeat = 0
		if c.Rshort > 0 {
			c.I = I - c.V/c.Rshort
			c.spotHeat = c.V * c.V / c.Rshort
			q += c.spotHeat
		}
		R := r.cellRs[first+k]
		q += c.I * c.I * R
		if c.V < 0 && I < 0 {
			// reversal: the string drives current through an empty cell,
			// which absorbs the power and dissolves its copper.
			q += c.V * I
			if c.SoC < -0.05 && c.Rshort == 0 {
				c.Rshort, c.ShortRate, c.RshortMin = 0.5, 1.0/300, 0.01
			}
		}
		c.BalanceI = 0
		if !ch.LeadAcid && st.Drive.Kind == Charge && c.V > r.Cfg.BalanceV {
			c.BalanceI = r.Cfg.BalanceA
		}
		capAs := ch.CapacityAh * c.CapacityFactor * 3600
		if leadFloat {
			// all float current past full charge becomes heat (oxygen
			// recombination); a shorted cell carries it without heat.
			if c.Rshort == 0 {
				q = I * c.V
			} else {
				q = I * I * R
			}
		} else {
			if c.SoC > 1 && c.I > 0 {
				// overcharge: electrolyte oxidation and lithium plating
				// turn a growing share of the charge into heat.
				f := min(0.9, (c.SoC-1)/0.15)
				q += f * c.I * c.V
				if !ch.LeadAcid && c.SoC > 1.35 && c.Rshort == 0 {
					// dendrites pierce the separator
					c.Rshort, c.ShortRate, c.RshortMin = 1.0, 1.0/60, 0.03
				}
			}
			c.SoC += (c.I - c.BalanceI) * dt / capAs
			if ch.LeadAcid && c.SoC > 1 {
				c.SoC = 1 // charge past full only gasses
			}
		}
		c.shortHeat = q
		st.V += c.V
		minV = min(minV, c.V)
		if c.Rshort > 0 && c.ShortRate > 0 && c.Rshort > c.RshortMin {
			// the separator degrades faster as the cell warms
			rate := c.ShortRate * (1 + math.Exp((min(c.T, 150)-60)/10))
			c.Rshort = max(c.RshortMin, c.Rshort*math.Exp(-rate*dt))
		}
	}
	if st.Drive.Kind == Discharge {
		if st.Drive.StringCutoff {
			st.Empty = st.Empty || st.V < ch.MinV*float64(n)
		} else if minV < ch.MinV {
			st.Empty = true
		}
	}
	// loose joints heat the two cells they join
	for m, rc := range st.ContactR {
		if rc == 0 {
			continue
		}
		q := I * I * rc
		last := r.Index(s, m, r.Cfg.Cells-1)
		if m+1 < r.Cfg.Modules {
			r.Cells[last].shortHeat += q / 2
			r.Cells[last+1].shortHeat += q / 2
		} else {
			r.Cells[last].shortHeat += q
		}
		st.V += I * rc // the joint drops voltage in the direction of the current
	}
}

// gassing reports whether a lead-acid cell on float carries its share of
// the over-voltage and gasses: not one shorted hard (below 0.5 Ω), whose
// voltage its neighbours take.
func (c *Cell) gassing() bool {
	return c.Rshort == 0 || c.Rshort >= 0.5
}

// leadFloatCurrent is the float current of a VRLA string held at vString:
// each cell's gassing current doubles per FloatDoubling °C and rises ten
// times per 120 mV of over-voltage; shorted cells hand their share of the
// voltage to the others.
func (r *Rack) leadFloatCurrent(cells []Cell, vString float64) float64 {
	ch := &r.Chem
	ok := 0
	sum := 0.0
	for k := range cells {
		c := &cells[k]
		if !c.gassing() {
			continue
		}
		ok++
		sum += math.Exp2((c.T - 25) / ch.FloatDoubling)
	}
	if ok == 0 {
		return 0
	}
	over := vString/float64(ok) - ch.FloatV
	return ch.FloatCurrent25 * ch.CapacityAh * sum / float64(ok) * math.Pow(10, over/0.12)
}

// thermal advances temperatures, reactions and gas by at most h seconds
// and returns the step taken.
func (r *Rack) thermal(h float64) float64 {
	ch := &r.Chem
	capJ := ch.CellMass * ch.SpecificHeat
	// rates
	maxRate := 0.0
	rates, selfQ := r.rates, r.selfQ
	for i := range r.Cells {
		c := &r.Cells[i]
		q := c.shortHeat + c.Heater
		q -= r.airG(i) * (c.T - r.ModAir[r.Module(i)])
		for _, l := range r.links[i] {
			if l.j >= 0 {
				q -= l.g * (c.T - r.Cells[l.j].T)
			}
		}
		rates[i] = q / capJ // without reactions
		selfQ[i] = 0
		if !ch.LeadAcid {
			selfQ[i], _ = r.reactionHeat(c)
		}
		maxRate = max(maxRate, math.Abs(rates[i]+selfQ[i]/capJ))
	}
	if maxRate*h > 2 {
		h = max(2/maxRate, 1e-4)
	}
	// air
	airQ := r.Cfg.CabinetG*(r.Room-r.Air) + r.AirHeater
	r.EnergyIn += r.AirHeater * h
	for m := range r.ModAir {
		mq := r.Cfg.ModuleAirG * (r.Air + r.LocalOffset[m] - r.ModAir[m])
		airQ -= mq
		mq += r.ModAirHeater[m]
		r.EnergyIn += r.ModAirHeater[m] * h
		cells := r.Cells[m*r.Cfg.Cells : (m+1)*r.Cfg.Cells]
		for k := range cells {
			mq += r.airG(m*r.Cfg.Cells+k) * (cells[k].T - r.ModAir[m])
			r.EnergyIn += (cells[k].shortHeat + cells[k].Heater) * h
		}
		r.ModAir[m] += mq * h / r.Cfg.ModuleAirC
	}
	r.EnergyOut -= r.Cfg.CabinetG * (r.Room - r.Air) * h
	r.Air += airQ * h / r.Cfg.CabinetC
	decay := math.Exp(-r.Cfg.AirChanges / 3600 * h)
	for g := range r.Gas {
		r.Gas[g] *= decay
	}
	for i := range r.Cells {
		c := &r.Cells[i]
		e := 0.0
		if !ch.LeadAcid {
			var bulk float64
			e, bulk = r.react(c, h)
			c.SelfRate = bulk / h / capJ
			r.EnergyIn += e
			if c.Vented && e > 0 && ch.EjectaRatio > 0 {
				// hot gas and ejecta carry most of a runaway's energy out
				// of the can: into the module, some on to the cabinet
				x := e * ch.EjectaRatio
				m := r.Module(i)
				r.ModAir[m] += 0.8 * x / r.Cfg.ModuleAirC
				r.Air += 0.2 * x / r.Cfg.CabinetC
				r.EnergyIn += x
			}
		}
		c.T += rates[i]*h + e/capJ
		c.Rate = rates[i] + e/h/capJ
		c.Q = c.Rate * capJ
		if c.Rshort > 0 && c.T >= ch.SeparatorT && !ch.LeadAcid {
			c.Rshort = min(c.Rshort, 0.01) // separator melts: hard short
		} else if c.T >= ch.SeparatorT+30 && !ch.LeadAcid && c.Rshort == 0 {
			c.Rshort = 0.05 // separator shrinks and collapses
		}
		if !c.Vented && c.T >= c.VentT {
			r.vent(c, r.Time+h)
		}
		if ch.LeadAcid {
			// VRLA: hydrogen from the part of the float current the
			// recombination cycle misses (most of it once the valve lifts).
			frac := 0.005 // VRLA recombines 99.5 % of it
			if c.Vented {
				frac = 0.5
			}
			r.Gas[0] += 0.418 / 3600 * r.Strings[r.Module(i)/r.Cfg.Modules].Gassing * frac * h
			if !c.Runaway && c.T >= ch.RunawayT {
				c.Runaway, c.RunawayAt = true, r.Time+h
			}
		} else if !c.Runaway && c.SelfRate >= 1 {
			c.Runaway, c.RunawayAt = true, r.Time+h
			if !c.Vented { // the pressure of a runaway bursts the vent
				r.vent(c, r.Time+h)
			}
		}
	}
	return h
}

// vent opens the cell's vent at time t: electrolyte vapour and the gas
// the reactions made so far go into the cabinet.
func (r *Rack) vent(c *Cell, t float64) {
	ch := &r.Chem
	c.Vented, c.VentAt = true, t
	vol := ch.VentGasLPerAh * ch.CapacityAh * c.CapacityFactor
	for g := range r.Gas {
		r.Gas[g] += vol*ch.VentMix[g] + c.pendingGas*ch.RunawayMix[g]
	}
	c.pendingGas = 0
}

// spotFrac is the share of a cell's material around an internal short
// that runs at the hot-spot temperature.
const spotFrac = 0.05

// pool is the reactant state of a region of a cell.
type pool struct {
	c     [4]float64 // sei, anode, (unused), electrolyte remaining
	alpha float64    // cathode conversion
}

func newPool(ch *Chemistry) pool {
	var p pool
	for k, re := range ch.Reactions {
		p.c[k] = re.Start
	}
	p.alpha = 0.04
	return p
}

// spotK is the hot-spot temperature around an internal short, K: the short's
// heat concentrates there, which is why shorted cells run away at lower
// casing temperatures in the databank's internal-short tests.
func (r *Rack) spotK(c *Cell) float64 {
	return c.T + min(250, c.spotHeat*r.Chem.HotSpotKPerW) + 273.15
}

// reactionHeat is the heat power of the cell's decomposition reactions, W,
// and the part of it from the bulk (outside the hot spot).
func (r *Rack) reactionHeat(c *Cell) (total, bulk float64) {
	tb := c.T + 273.15
	ts := r.spotK(c)
	if ts < 45+273.15 {
		return 0, 0 // negligible: below 1e-6 °C/s
	}
	want := c.Trigger
	if c.Rshort > 0 {
		want = min(want, c.TriggerISC)
	}
	if want != c.calibrated {
		c.reactMul, c.calibrated = r.Chem.Calibrate(want), want
	}
	qb, qs := 0.0, 0.0
	for k, re := range r.Chem.Reactions {
		qb += r.reactionRate(c, &c.bulk, k, tb) * re.Heat
		if c.spotHeat > 0 || c.spot.alpha > 0.04 {
			qs += r.reactionRate(c, &c.spot, k, ts) * re.Heat
		}
	}
	m := r.Chem.CellMass
	bulk = qb * m * (1 - spotFrac)
	return bulk + qs*m*spotFrac, bulk
}

func (r *Rack) reactionRate(c *Cell, p *pool, k int, tk float64) float64 {
	re := &r.Chem.Reactions[k]
	if tk < 45+273.15 {
		return 0
	}
	a := re.A
	if re.Scaled {
		a *= c.reactMul
	}
	return a * math.Exp(-re.Ea/(GasConst*tk)) * reactantFactor(k, p.c[k], 1, p.alpha)
}

// react consumes reactants over h seconds, releases runaway gas, and
// returns the heat released, J, in all and in the bulk.
func (r *Rack) react(c *Cell, h float64) (total, bulk float64) {
	bulk = r.reactPool(c, &c.bulk, c.T+273.15, h, 1-spotFrac)
	if c.spotHeat > 0 || c.spot.alpha > 0.04 {
		total = r.reactPool(c, &c.spot, r.spotK(c), h, spotFrac)
	}
	return total + bulk, bulk
}

func (r *Rack) reactPool(c *Cell, p *pool, tk, h, share float64) float64 {
	if tk < 45+273.15 {
		return 0
	}
	e := 0.0
	ch := &r.Chem
	for k := range ch.Reactions {
		rate := r.reactionRate(c, p, k, tk) * h
		var used float64
		if k == reactCathode {
			used = min(rate, 1-p.alpha)
			p.alpha += used
		} else {
			used = min(rate, p.c[k])
			p.c[k] -= used
		}
		e += used * ch.Reactions[k].Heat * ch.CellMass * share
		if k == reactAnode || k == reactCathode {
			main := ch.Reactions[reactAnode].Heat + ch.Reactions[reactCathode].Heat
			vol := share * ch.RunawayGasLPerAh * ch.CapacityAh * c.CapacityFactor * used * ch.Reactions[k].Heat / main
			if c.Vented {
				for g := range r.Gas {
					r.Gas[g] += vol * ch.RunawayMix[g]
				}
			} else {
				c.pendingGas += vol
			}
		}
	}
	return e
}

// HeatContent is the heat stored in cells and cabinet air relative to 0 °C,
// J, for energy-balance checks (reaction heat is counted as it is released).
func (r *Rack) HeatContent() float64 {
	capJ := r.Chem.CellMass * r.Chem.SpecificHeat
	e := r.Air * r.Cfg.CabinetC
	for _, t := range r.ModAir {
		e += t * r.Cfg.ModuleAirC
	}
	for i := range r.Cells {
		e += r.Cells[i].T * capJ
	}
	return e
}

// GasPPM returns the cabinet concentration of H2, CO and VOC, ppm.
func (r *Rack) GasPPM() [3]float64 {
	var out [3]float64
	for g := range out {
		out[g] = r.Gas[g] / (r.Cfg.CabinetVolume * 1000) * 1e6
	}
	return out
}

// ModuleVoltage returns the sum of the cell voltages of rack-wide module m.
func (r *Rack) ModuleVoltage(m int) float64 {
	v := 0.0
	for k := range r.Cfg.Cells {
		v += r.Cells[m*r.Cfg.Cells+k].V
	}
	return v
}

// Hottest returns the index of the hottest cell.
func (r *Rack) Hottest() int {
	best := 0
	for i := range r.Cells {
		if r.Cells[i].T > r.Cells[best].T {
			best = i
		}
	}
	return best
}
