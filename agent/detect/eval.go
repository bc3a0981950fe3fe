package detect

import (
	"math"
	"slices"
	"strings"
	"time"
)

const (
	refNeighbours = "neighbours"
	refRoom       = "room"
	refNone       = "none" // no neighbours, no room: the temperature itself
)

// tickDevice evaluates one device at trace time now.
func (d *Detector) tickDevice(dev *device, now int64, newMin bool) {
	cfg := &d.cfg
	timeout := int64(cfg.CommsLost)
	if g := int64(float64(5*dev.gap) * 1e9); g > timeout {
		timeout = g
	}
	if dev.last != 0 && now-dev.last > timeout && dev.comms.lvl == none {
		if st, l := dev.comms.step(now, warning, 0, 0, advisory); st != "" {
			dev.commsGap = dev.last
			d.emit(dev, &dev.comms, st, l, now, "no samples for "+durText(dev.last, now), map[string]any{
				"last_sample": time.Unix(0, dev.last).UTC().Format(time.RFC3339Nano),
				"timeout_s":   round3(float64(timeout) / 1e9),
			})
		}
	}
	for _, s := range dev.list {
		d.judgeFault(s, now)
	}
	d.judgeEnvironment(dev, now)
	for _, s := range dev.list {
		if s.info.role == roleGas {
			d.judgeGas(dev, s, now)
		}
	}
	if dev.battery {
		d.judgeBattery(dev, now, newMin)
	}
	for _, s := range dev.list {
		if s.info.role == roleVolt {
			s.prevLast = s.last
		}
	}
	dev.lastTick = now
}

func (d *Detector) sortRanked(sc []ranked) {
	less := func(a, b ranked) bool { return a.v < b.v || (a.v == b.v && a.s.order < b.s.order) }
	if len(sc) > 24 {
		slices.SortFunc(sc, func(a, b ranked) int {
			switch {
			case less(a, b):
				return -1
			case less(b, a):
				return 1
			}
			return 0
		})
		return
	}
	// groups are small: insertion sort, and levels barely move between ticks
	for i := 1; i < len(sc); i++ {
		for j := i; j > 0 && less(sc[j], sc[j-1]); j-- {
			sc[j], sc[j-1] = sc[j-1], sc[j]
		}
	}
}

// judgeBattery runs the thermal, voltage and current analysis of dev and
// steps its units' alerts.
func (d *Detector) judgeBattery(dev *device, now int64, newMin bool) {
	cfg := &d.cfg
	stale := int64(cfg.StaleAfter)
	r := d.room
	if cfg.Air[dev.name] != nil {
		r = d.roomOf(dev, now)
	}
	dtH := 0.0
	if dev.lastTick != 0 {
		dtH = float64(now-dev.lastTick) / float64(time.Hour)
	}
	// hydrogen counts as off-gas only when no charge in the last two hours
	// explains it
	r.offgas(!hasCurrentCharge(dev, d, now))
	dAmb, dAmbOK := 0.0, false
	if r.ambOK && dev.prevAmbOK {
		dAmb, dAmbOK = r.amb-dev.prevAmb, true
	}
	dev.prevAmb, dev.prevAmbOK = r.amb, r.ambOK

	// string current: load, discharge, float climb
	I, hasI := 0.0, false
	if c := dev.current; c != nil && c.valid(now, stale) {
		I, hasI = c.level, true
	}
	// a discharge of a sample or two is a glitch of the current reading:
	// no Joule heat, and it would hold the rules that need rest off for
	// hours
	if c := dev.current; hasI && I <= -cfg.LoadCurrent && c.discharges() {
		dev.lastDischarge = now
	}
	// another string of the device discharging (strings behind separate
	// UPS modules, a capacity test on one) holds the rules that need rest
	// off as a discharge of the first does: the module voltages and
	// temperatures of all its strings are compared together
	otherLoad := 0.0
	for _, c := range dev.currents {
		if c != dev.current && c.valid(now, stale) && c.level <= -cfg.LoadCurrent && c.discharges() {
			otherLoad = math.Min(otherLoad, c.level)
		}
	}
	if otherLoad < 0 {
		dev.lastDischarge = now
	}
	// a charge that begins with no discharge in the two hours before it
	// began from float: no recharge, but the charger feeding a fault (a
	// short, a VRLA string's climbing float current) or a large bank's
	// float. It stays so until the current falls back, unless a module
	// comes back from a gap within the hour before or during it (a module
	// swapped in charges).
	switch {
	case !hasI || I < cfg.LoadCurrent:
		dev.inCharge, dev.fromFloat = false, false
	case !dev.inCharge:
		dev.inCharge = true
		dev.fromFloat = dev.noDischargeFor(now, 2*time.Hour)
	}
	if within(dev.back.voltGap, now, time.Hour) {
		dev.fromFloat = false
	}
	charge := hasI && I >= cfg.LoadCurrent && !dev.fromFloat
	if charge {
		dev.lastCharge = now
	}
	load := hasI && (I <= -cfg.LoadCurrent || charge) || otherLoad < 0
	// the string is known not to be discharging: heat is not Joule heat
	// of a discharge (Q30-like cells heat to 65 °C under a 4C load)
	dev.charging = hasI && I > -cfg.LoadCurrent
	if load {
		if dev.loadSince == 0 {
			dev.loadSince = now
		}
		a := abs(I)
		if otherLoad < 0 && (!hasI || abs(I) < cfg.LoadCurrent) {
			a = -otherLoad
		}
		if dev.steadySince == 0 || a < 0.8*dev.loadRef || a > 1.25*dev.loadRef {
			dev.steadySince, dev.loadRef = now, a
		}
	} else {
		dev.loadSince, dev.steadySince = 0, 0
	}
	settled := !load || now-dev.loadSince >= 2*int64(cfg.AccelWindow)
	// a sensor judged against the room has no neighbours to cancel the
	// Joule heat: its rate climbs for minutes after the load starts or
	// steps (the thermistor's lag) and only a steady current settles it
	roomSettled := !load || now-dev.steadySince >= 3*int64(cfg.AccelWindow)
	curStep, feeding := d.floatSteps(dev, now, newMin, r)
	hotJoint := d.joints(dev, now)
	recentLoad := load || within(dev.lastDischarge, now, 15*time.Minute)
	if feeding {
		// a charge from float with no discharge before it is no recharge:
		// the charger may be feeding a short, keep the voltages in view
		recentLoad = false
	}

	// temperatures against their neighbours or the room
	cmv := d.fbuf[0][:0]
	defer func() { d.fbuf[0] = cmv[:0] }()
	for _, g := range dev.groups {
		if g.role != roleTemp {
			continue
		}
		sc := d.scratch[:0]
		for _, s := range g.members {
			valid := s.valid(now, stale)
			wasGone := s.gone
			back, gap, seen := s.presence(valid, now)
			if seen && s.gone != wasGone && s.unit != nil {
				// a probe of the unit went silent or came back: what
				// the unit's other readings stand for may change with it
				s.unit.probesChanged = now
			}
			if back {
				dev.back.temp = now
				if gap >= int64(time.Minute) {
					dev.back.tempGap = now
				}
			}
			if valid {
				sc = append(sc, ranked{v: s.level, s: s})
				cmv = append(cmv, s.level)
				if len(dev.strands) > 1 && s.unit != nil {
					if st := dev.strandOf(s.unit); st != nil {
						st.temps = append(st.temps, s.level)
					}
				}
			} else {
				s.hasX, s.accel, s.lrate, s.qrise = false, false, 0, 0
				if newMin {
					s.xmin.push(0, false)
					s.minute.push(0, false)
					s.qx.push(0, false)
					s.qlvl.push(0, false)
					s.qraw.push(0, false)
					s.minSum, s.minN = 0, 0
				}
			}
		}
		d.sortRanked(sc)
		// the units (modules, cells) the group's sensors belong to: a
		// module may report several probes as cell temperatures, and
		// with three units or fewer one of them moves the reference
		units := d.unitsIn(sc)
		// against the others of its string, where each string reports its
		// current: one may discharge, and warm, while another rests
		med := d.medBuf[:0]
		few := d.bbuf[:0]
		if len(sc) >= 2 {
			med, few = slices.Grow(med, len(sc))[:len(sc)], slices.Grow(few, len(sc))[:len(sc)]
			d.deviations(dev, sc, func(i int, m float64, part []ranked) {
				med[i], few[i] = m, units <= 3
				if len(part) < len(sc) {
					few[i] = d.unitsIn(part) <= 3
				}
			})
		}
		for p, e := range sc {
			s := e.s
			switch {
			case len(sc) >= 2:
				d.updateRise(s, now, med[p], refNeighbours, dtH, dAmb, dAmbOK, few[p])
			case r.ambOK:
				d.updateRise(s, now, r.amb, refRoom, dtH, dAmb, dAmbOK, false)
			default:
				d.updateRise(s, now, 0, refNone, dtH, dAmb, dAmbOK, false)
			}
			if newMin {
				s.xmin.push(s.x, s.hasX)
				// offset steps are kept out of the history, as out of the rise
				s.minute.push(s.level-s.stepSum, true)
				s.lrate = 0
				if l5, ok := s.minute.at(5); ok {
					s.lrate = (s.level - s.stepSum - l5) / 5
				}
				settleLonger(s, now)
				d.updateQuiet(s, now)
			}
			if s.refKind == refNeighbours {
				d.accel(s, settled)
			} else {
				d.accel(s, roomSettled)
			}
		}
		if newMin {
			d.conducted(dev, sc)
		}
		d.medBuf, d.bbuf = med[:0], few[:0]
		d.scratch = sc[:0]
	}
	if len(cmv) > 0 && (r.ambOK || newMin) {
		slices.Sort(cmv)
	}
	if newMin {
		if len(cmv) > 0 {
			dev.cmMin.push(median(cmv), true)
		} else {
			dev.cmMin.push(0, false)
		}
		dev.ambMin.push(r.amb, r.ambOK)
		dev.quiet, dev.roomQuiet = d.atRest(dev, now, hasI, load, r.ambOK)
	}
	d.stringTrends(dev, now, load, cmv, r)

	// voltages against their group. Where the strings of a device each
	// report their own current, one may discharge or charge while another
	// rests: a voltage is compared with the others of its string (of
	// three or more), and its string discharges by its own current
	devDis := hasI && I <= -cfg.LoadCurrent
	dis := func(s *sensor) bool {
		if c := dev.stringCurrent(s); c != nil && c != dev.current {
			return c.valid(now, stale) && c.level <= -cfg.LoadCurrent
		}
		return devDis
	}
	for _, g := range dev.groups {
		if g.role != roleVolt {
			continue
		}
		// under discharge the current flows through every module and cell:
		// one that was compared with its group and now reads far below it,
		// even below zero (a weak cell driven into reversal), turns that
		// voltage into heat; only a reading near zero (a sense wire off)
		// is no reading
		discharging := devDis
		sc := d.scratch[:0]
		for _, s := range g.members {
			live := s.valid(now, stale)
			sDis := dis(s)
			valid := live && (s.level > 0 || sDis && s.compared && s.level < 0)
			switch {
			case !live:
				s.compared, s.outSince = false, 0
			case sDis:
				s.outSince = 0
			case !valid:
				s.outAtRest(now)
			}
			late := s.late(now, stale) && s.level > 0
			back, _, seen := s.presence(valid || late, now)
			if valid && (back || !seen) {
				// back from a gap, or new
				dev.back.volt = now
			}
			if back && seen {
				// back from a gap: a module swapped in
				dev.back.voltGap = now
			}
			switch {
			case valid:
				sc = append(sc, ranked{v: s.level, s: s})
			case !late:
				s.hasDev = false
			}
		}
		d.sortRanked(sc)
		med := 0.0
		if len(sc) >= 3 {
			med = medianRanked(sc)
		}
		// a string switched off or a module disconnected is no comparison
		k := 0
		for _, e := range sc {
			in := e.v > 0.5*med && e.v < 1.5*med
			sDis := dis(e.s)
			if sDis && e.s.compared && !in {
				in = e.v < 1.5*med && e.v >= -med && abs(e.v) >= 0.05*med
			}
			if med > 1 && in {
				sc[k] = e
				k++
				e.s.compared, e.s.outSince = true, 0
			} else {
				e.s.hasDev = false
				if !sDis {
					e.s.outAtRest(now)
				}
			}
		}
		sc = sc[:k]
		// how far the group fell since its discharge began: near the end
		// of a deep discharge a weaker module's cells fall off their knee
		// first, which is no heat
		fall := 0.0
		switch {
		case !discharging || med <= 1:
			g.loadMed = 0
		case g.loadMed == 0:
			g.loadMed = med
		default:
			fall = med/g.loadMed - 1
		}
		if len(sc) >= 3 {
			d.deviations(dev, sc, func(i int, med float64, part []ranked) {
				e := sc[i]
				d.updateDeviation(e.s, now, e.s.level/med-1, d.sampleDeviation(e.s, part), recentLoad, newMin)
				d.updateLoadDeviation(e.s, dis(e.s), newMin)
				e.s.groupFall = fall
			})
		}
		d.scratch = sc[:0]
	}

	// the string as a whole: float current, common-mode warming, off-gas.
	// Its verdict goes to the module standing out most, or the string.
	strLvl, strWhy := none, ""
	var ofStrand *strand // the string whose trend or step it is, if it is one
	worst := dev.worst.rank(cfg)
	var lone *unit
	unplaced := false
	if curStep {
		lone, unplaced = d.unlocalisedStep(dev, now)
	}
	switch {
	case unplaced && lone != nil:
		strLvl, strWhy = warning, whyLoneStep
	case unplaced:
		strLvl, strWhy = warning, whyUnplacedStep
	case worst == 3:
		strLvl, strWhy, ofStrand = warning, "float current climbing as the string warms", dev.worst
	case worst == 2:
		strLvl, strWhy, ofStrand = advisory, "float current climbing", dev.worst
	case worst == 1:
		strLvl, strWhy, ofStrand = advisory, "string warming with no load and a steady room", dev.worst
	case curStep:
		strLvl, strWhy, ofStrand = advisory, "float current stepped up at rest", steppedStrand(dev)
	}
	if hotJoint != nil && hotJoint.joint.heat >= cfg.JointHeat {
		strLvl, strWhy, ofStrand = warning, "heat in the string's wiring", nil
	}
	switch {
	case r.gas >= critical:
		strLvl, strWhy = maxLevel(strLvl, warning), "off-gas"
	case r.gas >= warning && strLvl == none:
		strLvl, strWhy = advisory, "off-gas"
	}
	target := ""
	if strLvl > none {
		target = "battery"
		if dev.current != nil {
			target = dev.current.info.subject
		}
		// a string's trend goes to that string, or its module standing out
		in := "battery"
		if ofStrand != nil {
			in = ofStrand.subject
			if ofStrand.cur != nil {
				target = ofStrand.cur.info.subject
			}
		}
		var best *sensor
		for _, u := range dev.units {
			if !holds(in, u.subject) {
				continue
			}
			for _, s := range u.temps {
				if s.valid(now, stale) && s.hasX && s.refKind == refNeighbours && (best == nil || s.x > best.x) {
					best = s
				}
			}
		}
		if best != nil && best.x >= 1 {
			target = best.unit.subject
		}
		if lone != nil && strWhy == whyLoneStep {
			target = lone.subject
		}
		if strWhy == "heat in the string's wiring" {
			// the hot joint is in this string; its module, when a
			// temperature there stands out
			target = hotJoint.info.subject
			if best != nil && best.x >= 1 && strings.HasPrefix(best.unit.subject, target+".") {
				target = best.unit.subject
			}
		}
		if strWhy == "float current stepped up at rest" {
			// the charger feeds the module whose voltage stepped down
			var low *sensor
			lowZ := -3.0
			for _, u := range dev.units {
				for _, v := range u.volts {
					if !v.hasDev || !v.valid(now, stale) {
						continue
					}
					if z := (v.devFast - v.dev0) / math.Max(v.devMAD, voltNoiseFloor); z < lowZ {
						low, lowZ = v, z
					}
				}
			}
			if low != nil {
				target = low.unit.subject
			}
		}
		dev.unitFor(target)
	}

	for _, u := range dev.units {
		lvl, why := none, ""
		if u.subject == target {
			lvl, why = strLvl, strWhy
		}
		d.judgeUnit(dev, u, now, r, recentLoad, lvl, why)
	}
}

// A string current counts as discharging (see Detector.judgeBattery) once
// dischargeSamples of its samples in a row (despiked) show it, or, polled
// slowly, two that span dischargeSpan.
const (
	dischargeSamples = 3
	dischargeSpan    = time.Minute
)

// The two verdicts of a float-current step that no module voltage can
// place (see unlocalisedStep).
const (
	whyLoneStep     = "float current stepped up at rest into its string's one module"
	whyUnplacedStep = "float current stepped up at rest, no module voltage to show where"
)

// unlocalisedStep reports whether a string current of dev stepped up at
// rest by five times its threshold where no module voltage can show which
// module the charger feeds, the step then being all an internal short can
// show: the string has one module (the charger holds its voltage, which
// has no group to step against), returned as lone, or none of the
// string's module (or cell) voltages is compared with a group.
func (d *Detector) unlocalisedStep(dev *device, now int64) (lone *unit, ok bool) {
	cfg := &d.cfg
	stale := int64(cfg.StaleAfter)
	if within(dev.back.temp, now, time.Hour) {
		// a module swapped in charges
		return nil, false
	}
	for _, c := range dev.currents {
		if c.iStep < d.bigStep(c) {
			continue
		}
		fed, shown := 0, false
		var only *unit
		for _, u := range dev.units {
			if dev.currentOf(u) != c || u.subject == c.info.subject {
				continue
			}
			fed++
			only = u
			for _, v := range u.volts {
				shown = shown || (v.hasDev && v.valid(now, stale))
			}
		}
		if fed == 1 {
			return only, true
		}
		if !shown {
			return nil, true
		}
	}
	return nil, false
}

// discharges reports whether the string current c has shown a discharge
// long enough to count: dischargeSamples samples in a row, or two that
// span dischargeSpan.
func (c *sensor) discharges() bool {
	return c.lowRun >= dischargeSamples || c.lowRun >= 2 && c.lastT-c.lowSince >= int64(dischargeSpan)
}

// deviations calls f with the index in sc (sorted by level) of each
// sensor, the median of the others it is compared with, and those with
// it: the sensors of its string, where its device meters each string's
// current and its string has three or more in sc, else all of sc.
func (d *Detector) deviations(dev *device, sc []ranked, f func(i int, med float64, part []ranked)) {
	first := dev.stringCurrent(sc[0].s)
	one := true
	for _, e := range sc[1:] {
		if dev.stringCurrent(e.s) != first {
			one = false
			break
		}
	}
	if one {
		for p := range sc {
			f(p, medianWithout(sc, p), sc)
		}
		return
	}
	// each string's in turn, in the order of sc
	done := d.partDone[:0]
	for i, e := range sc {
		c := dev.stringCurrent(e.s)
		if slices.Contains(done, c) {
			continue
		}
		done = append(done, c)
		sub, at := d.partBuf[:0], d.partAt[:0]
		for k, o := range sc[i:] {
			if dev.stringCurrent(o.s) == c {
				sub, at = append(sub, o), append(at, i+k)
			}
		}
		for q := range sub {
			if len(sub) >= 3 {
				f(at[q], medianWithout(sub, q), sub)
			} else {
				f(at[q], medianWithout(sc, at[q]), sc)
			}
		}
		d.partBuf, d.partAt = sub[:0], at[:0]
	}
	d.partDone = done[:0]
}

// unitsIn counts the units (modules, cells) the sensors of part belong to.
func (d *Detector) unitsIn(part []ranked) int {
	d.markN++
	n := 0
	for _, e := range part {
		if u := e.s.unit; u == nil || u.mark != d.markN {
			n++
			if u != nil {
				u.mark = d.markN
			}
		}
	}
	return n
}

// steppedStrand is the string whose float current stepped up the most
// (Detector.floatSteps), nil when none did.
func steppedStrand(dev *device) *strand {
	var best *sensor
	for _, c := range dev.currents {
		if st := math.Max(c.iStep, c.iJump); st > 0 && (best == nil || st > math.Max(best.iStep, best.iJump)) {
			best = c
		}
	}
	if best == nil {
		return nil
	}
	return best.strand
}
