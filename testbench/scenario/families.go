package scenario

import (
	"math"
	"math/rand/v2"

	"github.com/emberwatch/emberwatch/testbench/physics"
)

// builders set up each family: rack, sensors, room and story.
var builders = map[string]func(*Scenario, Options) error{
	"soft_short":          buildSoftShort,
	"hard_short":          buildHardShort,
	"loose_busbar":        buildLooseBusbar,
	"overcharge":          buildOvercharge,
	"aged_cell_discharge": buildAgedCell,
	"neighbour_heat":      buildNeighbourHeat,
	"vrla_float":          buildVRLA,
	"normal_float":        buildNormalFloat,
	"utility_outage":      buildOutage,
	"hvac_failure":        buildHVAC,
	"hot_aisle":           buildHotAisle,
	"module_replaced":     buildModuleReplaced,
	"sensor_faults":       buildSensorFaults,
	"comms_loss":          buildCommsLoss,
	"string_test":         buildStringTest,
	"boost_charge":        buildBoostCharge,
}

const (
	hour = 3600.0
	day  = 86400.0
)

// liRack draws a Li-ion rack.
func (s *Scenario) liRack() physics.Config {
	chem := pick(s, physics.NMC(), physics.NMC(), physics.NMC(), physics.LFP(), physics.LFP())
	strs := pick(s, 1, 1, 1, 1, 2)
	mods := 6 + s.rng.IntN(15) // 6..20
	var cells int
	if chem.Name == "lfp" {
		cells = pick(s, 8, 16, 16)
	} else {
		cells = pick(s, 8, 12, 14, 16)
	}
	cfg := physics.Config{Chem: chem, Strings: strs, Modules: mods, Cells: cells,
		CellG:   s.uniform(0.5, 4),
		ModuleG: s.uniform(0.15, 0.5),
		AirG:    s.uniform(0.25, 0.5),
	}
	return cfg
}

// build makes the rack and its sensors; runaway scenarios sample faster.
func (s *Scenario) build(cfg physics.Config, soc, dt float64, fast bool) error {
	if s.opt.Modules > 0 {
		cfg.Modules = s.opt.Modules
	}
	if s.opt.Strings > 0 {
		cfg.Strings = s.opt.Strings
	}
	room0 := s.param("room_c", s.uniform(19, 27))
	amp := s.uniform(0.3, 2.5)
	phase := s.uniform(0, day)
	cyc := s.uniform(0.1, 0.4)
	cycP := s.uniform(900, 2400)
	s.room = func(t float64) float64 {
		return room0 + amp*math.Sin(2*math.Pi*(t+phase)/day) + cyc*math.Sin(2*math.Pi*t/cycP)
	}
	r, err := physics.NewRack(cfg, room0, soc, s.rng)
	if err != nil {
		return err
	}
	s.rack, s.dt = r, dt
	spread := 0.15
	if cfg.Chem.LeadAcid {
		spread = 0.3
	}
	for m := 0; m < cfg.Strings*cfg.Modules; m++ {
		f := 1 + spread*(2*s.rng.Float64()-1)
		for k := range cfg.Cells {
			r.Cells[m*cfg.Cells+k].Cooling = f
		}
	}
	perModule := pick(s, 1, 1, 1, 2, 2, 3)
	res := pick(s, 0.1, 0.1, 0.5, 1.0)
	noise := s.uniform(0.03, 0.3)
	tau := s.uniform(60, 240)
	air := s.uniform(0.1, 0.4)
	in := newInstruments(s, r, perModule, tau, air, res, noise)
	// one Li-ion BMS in five reports 4-8 probes a module one by one, as
	// cell temperatures (drawn apart, so the rest of the draw stays)
	probes := 0
	if aux := rand.New(rand.NewPCG(s.truth.Seed, hash("cell probes "+s.truth.Family))); !cfg.Chem.LeadAcid && aux.Float64() < 0.2 {
		probes = min(4+aux.IntN(5), cfg.Cells-1)
		in.probesAsCells(r, probes, aux)
	}
	// runaway traces are short and sample at any rate; the long nuisance
	// traces sample at 5-10 s (what most BMS gateways poll at), so a
	// benchmark of rack-years stays within minutes
	if fast {
		in.sample = pick(s, 1.0, 2, 5, 5, 10)
	} else {
		in.sample = pick(s, 5.0, 10, 10, 10, 10)
	}
	in.volt = max(1, int(pick(s, 10.0, 30, 60)/in.sample))
	if !fast {
		in.volt = max(1, int(60/in.sample))
	}
	if !cfg.Chem.LeadAcid && s.rng.Float64() < 0.3 {
		in.cellV = max(1, int(pick(s, 60.0, 120)/in.sample))
		if !fast {
			in.cellV = max(1, int(300/in.sample))
		}
	}
	in.amb = max(1, int(pick(s, 10.0, 30, 60)/in.sample))
	if s.rng.Float64() < 0.6 {
		in.gasN = max(1, int(pick(s, 10.0, 30)/in.sample))
	}
	in.envDevice = pick(s, "env-1", "env-1", s.truth.Device)
	in.gasDevice = pick(s, "gas-1", "env-1")
	drop := s.uniform(0, 0.005)
	for i := range in.modules {
		for k := range in.modules[i].tch {
			in.modules[i].tch[k].Dropout = drop
		}
	}
	s.inst = in
	s.truth.Rack = RackInfo{Chemistry: cfg.Chem.Name, Strings: r.Cfg.Strings, Modules: cfg.Modules, Cells: cfg.Cells,
		SampleS: in.sample, VoltageS: float64(in.volt) * in.sample, CellVoltageS: float64(in.cellV) * in.sample,
		ThermistorsPer: perModule, CellProbes: probes, ResolutionC: res, NoiseC: noise, GasSensors: in.gasN > 0,
		AmbientDevice: in.envDevice, PhysicsStepS: dt, ThermistorTauS: tau, ThermistorAirMix: air}
	return nil
}

// float puts every string on float charge.
func float(r *physics.Rack, imax float64) {
	for i := range r.Strings {
		r.Strings[i].Drive = physics.Drive{Kind: physics.Charge, VCell: r.Chem.FloatV, IMax: imax}
	}
}

// liDefaults builds a Li-ion rack on float for a runaway family and draws
// the lead-in before the fault and the faulted module and cell.
func (s *Scenario) liRunaway(dt float64) (cell int, err error) {
	cfg := s.liRack()
	if err := s.build(cfg, cfg.Chem.SoCAt(cfg.Chem.FloatV), dt, true); err != nil {
		return 0, err
	}
	r := s.rack
	float(r, 0.3*r.Chem.CapacityAh)
	s.fault = s.param("fault_s", s.uniform(1*hour, 4*hour))
	s.subj = s.rng.IntN(r.Cfg.Strings * r.Cfg.Modules)
	c := s.rng.IntN(r.Cfg.Cells)
	return s.subj*r.Cfg.Cells + c, nil
}

// endAfterRunaway stops a runaway scenario some minutes after the first
// runaway, or at the time limit.
func (s *Scenario) endAfterRunaway(limit float64) {
	tail := s.uniform(5*60, 15*60)
	s.dur = limit
	s.stopAt = func(t float64, r *physics.Rack) bool {
		for i := range r.Cells {
			if r.Cells[i].Runaway && t > r.Cells[i].RunawayAt+tail {
				return true
			}
		}
		return false
	}
}

func buildSoftShort(s *Scenario, _ Options) error {
	cell, err := s.liRunaway(2)
	if err != nil {
		return err
	}
	r0 := s.param("rshort_start_ohm", math.Exp(s.uniform(math.Log(2), math.Log(30))))
	h := s.param("escalation_h", s.uniform(1.5, 6))
	rate := math.Log(r0/0.01) / (h * hour)
	s.step = func(t float64, r *physics.Rack) {
		c := &r.Cells[cell]
		if t >= s.fault && c.Rshort == 0 {
			c.Rshort, c.ShortRate, c.RshortMin = r0, rate, 0.004
		}
	}
	s.endAfterRunaway(s.fault + 3*h*hour)
	return nil
}

func buildHardShort(s *Scenario, _ Options) error {
	cell, err := s.liRunaway(1)
	if err != nil {
		return err
	}
	rs := s.param("rshort_ohm", s.uniform(0.008, 0.03))
	s.step = func(t float64, r *physics.Rack) {
		c := &r.Cells[cell]
		if t >= s.fault && c.Rshort == 0 {
			c.Rshort = rs
		}
	}
	s.endAfterRunaway(s.fault + 3*hour)
	return nil
}

func buildLooseBusbar(s *Scenario, _ Options) error {
	if _, err := s.liRunaway(1); err != nil {
		return err
	}
	r := s.rack
	st, m := s.subj/r.Cfg.Modules, s.subj%r.Cfg.Modules
	r0 := s.param("contact_start_ohm", s.uniform(0.001, 0.004))
	tau := s.param("contact_growth_s", s.uniform(300, 900))
	rmax := s.param("contact_max_ohm", s.uniform(0.25, 0.6))
	// the joint degrades under the load of an outage: the UPS runs on
	// battery at a high rate, then recharges through the same joint.
	cRate := s.param("discharge_c", s.uniform(0.5, 1.0))
	nominal := r.Chem.OCVAt(0.5) * float64(r.Cfg.Modules*r.Cfg.Cells)
	power := cRate * r.Chem.CapacityAh * nominal
	s.step = func(t float64, r *physics.Rack) {
		if t < s.fault {
			return
		}
		sr := &r.Strings[st]
		sr.ContactR[m] = min(rmax, r0*math.Exp((t-s.fault)/tau))
		if sr.Drive.Kind != physics.Discharge && !sr.Empty {
			sr.Drive = physics.Drive{Kind: physics.Discharge, Power: power}
		}
		if sr.Empty && sr.Drive.Kind == physics.Discharge {
			sr.Drive = physics.Drive{Kind: physics.Charge, VCell: r.Chem.FloatV, IMax: 0.5 * r.Chem.CapacityAh}
		}
	}
	// the hot joint sits between module m and m+1; report the module whose
	// cell runs away
	s.subj = -1
	s.endAfterRunaway(s.fault + 4*hour)
	return nil
}

func buildOvercharge(s *Scenario, _ Options) error {
	if _, err := s.liRunaway(2); err != nil {
		return err
	}
	r := s.rack
	weak := s.param("weak_capacity", s.uniform(0.75, 0.92))
	for k := range r.Cfg.Cells {
		r.Cells[s.subj*r.Cfg.Cells+k].CapacityFactor = weak
	}
	cRate := s.param("charge_c", s.uniform(0.15, 0.5))
	st := s.subj / r.Cfg.Modules
	s.step = func(t float64, r *physics.Rack) {
		if t >= s.fault {
			r.Strings[st].Drive = physics.Drive{Kind: physics.Overcharge, IMax: cRate * r.Chem.CapacityAh}
		}
	}
	s.endAfterRunaway(s.fault + 6*hour)
	return nil
}

func buildAgedCell(s *Scenario, _ Options) error {
	cell, err := s.liRunaway(2)
	if err != nil {
		return err
	}
	r := s.rack
	c := &r.Cells[cell]
	c.RFactor = s.param("r_factor", s.uniform(25, 50))
	c.CapacityFactor = s.param("capacity_factor", s.uniform(0.5, 0.7))
	cRate := s.param("discharge_c", s.uniform(1.2, 2.0))
	nominal := r.Chem.OCVAt(0.5) * float64(r.Cfg.Modules*r.Cfg.Cells)
	power := cRate * r.Chem.CapacityAh * nominal
	st := s.subj / r.Cfg.Modules
	s.step = func(t float64, r *physics.Rack) {
		sr := &r.Strings[st]
		if t >= s.fault && sr.Drive.Kind != physics.Discharge && !sr.Empty {
			// a long outage; the UPS cuts off on string voltage only
			sr.Drive = physics.Drive{Kind: physics.Discharge, Power: power, StringCutoff: true}
		}
		if sr.Empty && sr.Drive.Kind == physics.Discharge {
			sr.Drive = physics.Drive{Kind: physics.Rest}
		}
	}
	s.endAfterRunaway(s.fault + 8*hour)
	return nil
}

func buildNeighbourHeat(s *Scenario, _ Options) error {
	if _, err := s.liRunaway(1); err != nil {
		return err
	}
	r := s.rack
	// a failing part against the module's end cell (a converter, a
	// burning neighbour) heats it. The part is a body of its own: its
	// power goes into the cell through their contact and into the air
	// around it, the more so the hotter it runs. Inside the module's
	// enclosure that air is the module's; outside it, the cabinet's.
	end := s.subj * r.Cfg.Cells
	if s.rng.IntN(2) == 1 {
		end += r.Cfg.Cells - 1
	}
	peak := s.param("heater_w", s.uniform(300, 700))
	ramp := s.param("ramp_s", s.uniform(300, 2400))
	gc := s.param("contact_w_per_k", s.uniform(1.5, 4))
	ga := s.param("part_air_w_per_k", s.uniform(0.3, 1.2))
	inside := s.param("inside_module", float64(s.rng.IntN(2))) == 1
	const partC = 1000.0 // J/K, a part of about 2 kg
	part := math.NaN()
	m := s.subj
	s.step = func(t float64, r *physics.Rack) {
		air := r.Air
		if inside {
			air = r.ModAir[m]
		}
		if math.IsNaN(part) {
			part = air
		}
		p := 0.0
		if t >= s.fault {
			p = peak * min(1, (t-s.fault)/ramp)
		}
		qc := gc * (part - r.Cells[end].T)
		qa := ga * (part - air)
		part += (p - qc - qa) * s.dt / partC
		r.Cells[end].Heater = qc
		if inside {
			r.ModAirHeater[m] = qa
		} else {
			r.AirHeater = qa
		}
	}
	s.endAfterRunaway(s.fault + 6*hour)
	return nil
}

// vrlaRack draws a string of 12 V VRLA monoblocs.
func vrlaRack(s *Scenario) physics.Config {
	blocks := 8 + s.rng.IntN(33) // 8..40 monoblocs of 6 cells
	return physics.Config{Chem: physics.VRLA(), Strings: 1, Modules: blocks, Cells: 6,
		CellG: s.uniform(8, 15), ModuleG: s.uniform(0.3, 1.0), AirG: s.uniform(0.08, 0.15)}
}

func buildVRLA(s *Scenario, _ Options) error {
	cfg := vrlaRack(s)
	if err := s.build(cfg, 1.0, 10, false); err != nil {
		return err
	}
	r := s.rack
	// no temperature compensation, a warm room; at the fault a cell shorts
	// and its block's neighbours take its voltage.
	hot := s.param("room_rise_c", s.uniform(6, 12))
	base := s.room
	s.room = func(t float64) float64 { return base(t) + hot }
	r.Room = s.room(0)
	for i := range r.Cells {
		r.Cells[i].T = r.Room
	}
	r.Air = r.Room
	vc := s.param("float_v", s.uniform(2.29, 2.35))
	for i := range r.Strings {
		r.Strings[i].Drive = physics.Drive{Kind: physics.Charge, VCell: vc, IMax: 0.1 * r.Chem.CapacityAh}
	}
	nShort := 1 + s.rng.IntN(2)
	s.param("shorted_cells", float64(nShort))
	s.fault = s.param("fault_s", s.uniform(1*hour, 3*hour))
	var shorted []int
	for range nShort {
		shorted = append(shorted, s.rng.IntN(len(r.Cells)))
	}
	s.step = func(t float64, r *physics.Rack) {
		if t < s.fault {
			s.baseI = r.Strings[0].I
			return
		}
		for _, i := range shorted {
			r.Cells[i].Rshort = 0.01
		}
	}
	s.endAfterRunaway(s.fault + 48*hour)
	s.stopAt = func(t float64, r *physics.Rack) bool {
		for i := range r.Cells {
			if r.Cells[i].Runaway && t > r.Cells[i].RunawayAt+1800 {
				return true
			}
		}
		return false
	}
	return nil
}

// nuisance builds a Li-ion rack on float for a nuisance family.
func (s *Scenario) nuisance(opt Options, days float64) error {
	cfg := s.liRack()
	soc := cfg.Chem.SoCAt(cfg.Chem.FloatV)
	switch s.truth.Family {
	case "normal_float", "utility_outage", "hvac_failure", "sensor_faults", "boost_charge":
		if s.rng.Float64() < 0.2 {
			// a healthy VRLA string: float current follows the room
			cfg = vrlaRack(s)
			soc = 1
		}
	case "string_test":
		cfg.Strings = max(cfg.Strings, 2+s.rng.IntN(2))
	}
	// 30 s physics steps: a tenth of the fastest thermal time constant
	if err := s.build(cfg, soc, 30, false); err != nil {
		return err
	}
	float(s.rack, 0.3*s.rack.Chem.CapacityAh)
	if cfg.Chem.LeadAcid {
		float(s.rack, 0.1*s.rack.Chem.CapacityAh)
	}
	s.dur = days * day
	if s.inst.sample < 10 {
		s.dur /= 2 // the faster-polled racks give shorter traces
	}
	if opt.Duration > 0 {
		s.dur = opt.Duration.Seconds()
	}
	s.param("days", s.dur/day)
	return nil
}

func buildNormalFloat(s *Scenario, opt Options) error {
	return s.nuisance(opt, s.uniform(2, 7))
}

// outages schedules n utility outages: discharge at a C-rate for minutes,
// then a recharge to float.
func (s *Scenario) outages(n int) {
	type outage struct{ at, len, power float64 }
	var list []outage
	r := s.rack
	nominal := r.Chem.OCVAt(0.5) * float64(r.Cfg.Modules*r.Cfg.Cells)
	for k := range n {
		// UPS batteries are sized for minutes of runtime: from a light
		// load at 0.3C to a full one at 4C (15 min), log-uniform
		c := math.Exp(s.uniform(math.Log(0.3), math.Log(4)))
		list = append(list, outage{
			at:    s.uniform(0.1, 0.9) * s.dur,
			len:   s.uniform(5*60, 45*60),
			power: c * r.Chem.CapacityAh * nominal,
		})
		s.param("outage_"+string(rune('1'+k))+"_c", c)
	}
	recharge := s.uniform(0.2, 0.5) * r.Chem.CapacityAh
	prev := s.step
	s.step = func(t float64, r *physics.Rack) {
		if prev != nil {
			prev(t, r)
		}
		on := -1
		for k, o := range list {
			if t >= o.at && t < o.at+o.len {
				on = k
			}
		}
		for i := range r.Strings {
			sr := &r.Strings[i]
			if on >= 0 {
				if sr.Drive.Kind != physics.Discharge && !sr.Empty {
					sr.Drive = physics.Drive{Kind: physics.Discharge, Power: list[on].power / float64(len(r.Strings))}
				}
				if sr.Empty {
					sr.Drive = physics.Drive{Kind: physics.Rest}
				}
			} else if sr.Drive.Kind != physics.Charge {
				sr.Empty = false
				sr.Drive = physics.Drive{Kind: physics.Charge, VCell: r.Chem.FloatV, IMax: recharge}
			}
		}
	}
}

func buildOutage(s *Scenario, opt Options) error {
	if err := s.nuisance(opt, s.uniform(1, 5)); err != nil {
		return err
	}
	s.outages(1 + s.rng.IntN(3))
	return nil
}

// buildStringTest discharges one string of two or three for a test (a
// capacity test, or strings behind separate UPS modules) at 0.2-1C for
// 20-60 minutes, or until it is empty, then recharges it, while the
// others stay on float: its modules warm with their own Joule heat and
// its voltages fall, the other strings' do not.
func buildStringTest(s *Scenario, opt Options) error {
	if err := s.nuisance(opt, s.uniform(1, 3)); err != nil {
		return err
	}
	r := s.rack
	st := s.rng.IntN(len(r.Strings))
	s.param("test_string", float64(st+1))
	c := s.param("test_c", s.uniform(0.2, 1))
	at := s.param("test_at_h", s.uniform(0.2, 0.7)*s.dur/hour) * hour
	length := s.param("test_min", s.uniform(20, 60)) * 60
	nominal := r.Chem.OCVAt(0.5) * float64(r.Cfg.Modules*r.Cfg.Cells)
	power := c * r.Chem.CapacityAh * nominal
	recharge := s.uniform(0.2, 0.5) * r.Chem.CapacityAh
	prev := s.step
	s.step = func(t float64, r *physics.Rack) {
		if prev != nil {
			prev(t, r)
		}
		sr := &r.Strings[st]
		switch {
		case t < at:
		case t < at+length && !sr.Empty:
			if sr.Drive.Kind != physics.Discharge {
				sr.Drive = physics.Drive{Kind: physics.Discharge, Power: power}
			}
		case sr.Drive.Kind != physics.Charge:
			sr.Empty = false
			sr.Drive = physics.Drive{Kind: physics.Charge, VCell: r.Chem.FloatV, IMax: recharge}
		}
	}
	return nil
}

// buildBoostCharge raises the charger from float to a boost (equalising)
// voltage for hours, once or twice, at rest: a top-up charge a UPS runs on
// a schedule. The string current climbs from its float level to the
// charger's limit and decays as the cells fill, and the modules' voltages
// part as each reaches its knee at its own charge; the cells' balancing
// bleeds a little heat. VRLA: 2.30-2.35 V per cell for 6-12 hours; Li-ion:
// 0.04-0.08 V above float for 1-4 hours.
func buildBoostCharge(s *Scenario, opt Options) error {
	if err := s.nuisance(opt, s.uniform(1, 4)); err != nil {
		return err
	}
	r := s.rack
	type boost struct{ at, len, v float64 }
	var list []boost
	for k := range 1 + s.rng.IntN(2) {
		b := boost{at: s.uniform(0.1, 0.8) * s.dur}
		if r.Chem.LeadAcid {
			b.len, b.v = s.uniform(6, 12)*hour, s.uniform(2.30, 2.35)
		} else {
			b.len, b.v = s.uniform(1, 4)*hour, r.Chem.FloatV+s.uniform(0.04, 0.08)
		}
		name := "boost_" + string(rune('1'+k))
		s.param(name+"_at_h", b.at/hour)
		s.param(name+"_h", b.len/hour)
		s.param(name+"_v", b.v)
		list = append(list, b)
	}
	limit := s.uniform(0.05, 0.2) * r.Chem.CapacityAh
	prev := s.step
	s.step = func(t float64, r *physics.Rack) {
		if prev != nil {
			prev(t, r)
		}
		v := r.Chem.FloatV
		for _, b := range list {
			if t >= b.at && t < b.at+b.len {
				v = b.v
			}
		}
		for i := range r.Strings {
			sr := &r.Strings[i]
			if sr.Drive.Kind == physics.Charge && sr.Drive.VCell != v {
				sr.Drive.VCell, sr.Drive.IMax = v, limit
			}
		}
	}
	return nil
}

func buildHVAC(s *Scenario, opt Options) error {
	if err := s.nuisance(opt, s.uniform(1, 4)); err != nil {
		return err
	}
	rise := s.param("room_rise_c", s.uniform(10, 15))
	ramp := s.param("ramp_s", s.uniform(20*60, 40*60))
	at := s.param("failure_s", s.uniform(0.2, 0.6)*s.dur)
	hold := s.param("hold_s", s.uniform(1*hour, 8*hour))
	base := s.room
	s.room = func(t float64) float64 {
		switch {
		case t < at:
			return base(t)
		case t < at+ramp:
			return base(t) + rise*(t-at)/ramp
		case t < at+ramp+hold:
			return base(t) + rise
		case t < at+ramp+hold+2*ramp:
			return base(t) + rise*(1-(t-at-ramp-hold)/(2*ramp))
		}
		return base(t)
	}
	s.truth.ExpectKinds = []string{"environment"}
	return nil
}

func buildHotAisle(s *Scenario, opt Options) error {
	if err := s.nuisance(opt, s.uniform(2, 6)); err != nil {
		return err
	}
	r := s.rack
	off := s.param("offset_c", s.uniform(3, 8))
	n := 1 + s.rng.IntN(2)
	// a string of one to three modules has one end module at each end
	n = min(n, max(1, r.Cfg.Modules/2))
	for st := 0; st < r.Cfg.Strings; st++ {
		for k := range n {
			a, b := st*r.Cfg.Modules+k, st*r.Cfg.Modules+r.Cfg.Modules-1-k
			r.LocalOffset[a] = off * (1 - 0.3*float64(k))
			if s.rng.IntN(2) == 0 {
				r.LocalOffset[b] = off * 0.6
			}
		}
	}
	for i := range r.Cells {
		r.Cells[i].T += r.LocalOffset[r.Module(i)] * 0.8
	}
	if s.rng.IntN(2) == 0 {
		s.outages(1)
	}
	return nil
}

func buildModuleReplaced(s *Scenario, opt Options) error {
	if err := s.nuisance(opt, s.uniform(1, 4)); err != nil {
		return err
	}
	r := s.rack
	m := s.rng.IntN(r.Cfg.Strings * r.Cfg.Modules)
	at := s.param("swap_s", s.uniform(0.2, 0.6)*s.dur)
	gap := s.param("gap_s", s.uniform(10*60, 60*60))
	warm := s.param("warm_c", s.uniform(6, 15))
	soc := s.param("new_soc_below", s.uniform(0.1, 1)) // share of 12 %
	ms := &s.inst.modules[m]
	for k := range ms.tch {
		ms.tch[k].Faults = append(ms.tch[k].Faults, physics.Fault{Kind: physics.Silent, From: at, To: at + gap})
	}
	ms.vch.Faults = append(ms.vch.Faults, physics.Fault{Kind: physics.Silent, From: at, To: at + gap})
	for c := range ms.cellCh {
		ms.cellCh[c].Faults = append(ms.cellCh[c].Faults, physics.Fault{Kind: physics.Silent, From: at, To: at + gap})
	}
	soc = min(r.Cells[0].SoC, 1) - soc*0.12 // shipped a little below the string
	done := false
	st := m / r.Cfg.Modules
	s.step = func(t float64, r *physics.Rack) {
		if t >= at && t < at+gap {
			r.Strings[st].Drive = physics.Drive{Kind: physics.Rest}
		}
		if t >= at+gap && !done {
			done = true
			for k := range r.Cfg.Cells {
				c := &r.Cells[m*r.Cfg.Cells+k]
				c.T, c.SoC = r.Room+warm, soc
			}
			r.Strings[st].Drive = physics.Drive{Kind: physics.Charge, VCell: r.Chem.FloatV, IMax: 0.2 * r.Chem.CapacityAh}
		}
	}
	return nil
}

func buildSensorFaults(s *Scenario, opt Options) error {
	if err := s.nuisance(opt, s.uniform(1, 5)); err != nil {
		return err
	}
	in := s.inst
	n := 3 + s.rng.IntN(8)
	s.param("faults", float64(n))
	// a glitch or an open sensor must raise sensor_fault; drift, dropouts,
	// an offset, and a stuck value while the neighbours hold still may
	// look like nothing (and do no harm)
	glitch := false
	for range n {
		ms := &in.modules[s.rng.IntN(len(in.modules))]
		ch := &ms.tch[s.rng.IntN(len(ms.tch))]
		at := s.uniform(0.05, 0.95) * s.dur
		switch s.rng.IntN(7) {
		case 0, 1: // spikes: ADC and bus sentinels, one or a few samples
			v := pick(s, 85.0, 127, -40, 85)
			k := 1 + s.rng.IntN(3)
			glitch = true
			for j := range k {
				t := at + float64(j)*s.uniform(60, 600)
				ch.Faults = append(ch.Faults, physics.Fault{Kind: physics.Spike, From: t, To: t + in.sample, Value: v})
			}
		case 2: // stuck for hours
			ch.Faults = append(ch.Faults, physics.Fault{Kind: physics.Stuck, From: at, To: at + s.uniform(1*hour, 12*hour)})
		case 3: // open circuit
			glitch = true
			ch.Faults = append(ch.Faults, physics.Fault{Kind: physics.Open, From: at, To: at + s.uniform(60, 6*hour)})
		case 4: // slow drift of a loosening sensor
			ch.DriftPerDay += pick(s, -1.0, 1) * s.uniform(0.5, 2)
		case 5: // burst of dropouts
			ch.Faults = append(ch.Faults, physics.Fault{Kind: physics.Silent, From: at, To: at + s.uniform(60, 1800)})
		case 6: // a sensor that slips off its cell: a step offset
			ch.Faults = append(ch.Faults, physics.Fault{Kind: physics.Offset, From: at, To: s.dur + 1, Value: pick(s, -1.0, 1) * s.uniform(1, 4)})
		}
	}
	// and a noisy bus: more dropouts everywhere
	drop := s.param("dropout", s.uniform(0.005, 0.05))
	for i := range in.modules {
		for k := range in.modules[i].tch {
			in.modules[i].tch[k].Dropout = drop
		}
	}
	if glitch {
		s.truth.ExpectKinds = []string{"sensor_fault"}
	}
	return nil
}

func buildCommsLoss(s *Scenario, opt Options) error {
	if err := s.nuisance(opt, s.uniform(1, 4)); err != nil {
		return err
	}
	n := 1 + s.rng.IntN(4)
	s.param("outages", float64(n))
	for range n {
		at := s.uniform(0.05, 0.9) * s.dur
		s.inst.silent = append(s.inst.silent, [2]float64{at, at + s.uniform(5*60, 2*hour)})
	}
	s.truth.ExpectKinds = []string{"comms_lost"}
	return nil
}
