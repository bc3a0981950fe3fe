package detect

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// voltAvg is the time constant (s) over which a voltage deviation is
// averaged, and voltHold the minutes a sag must hold to count.
const (
	voltAvg  = 120
	voltHold = 4
	// voltNoiseFloor is the least noise (relative) a voltage deviation is
	// taken to have.
	voltNoiseFloor = 5e-5
	// voltShortZ is how many times its noise a voltage must stay below its
	// offset, sample by sample for two minutes, to count with a float
	// current step as an internal short.
	voltShortZ = 5
	// dischargeKnee is how far (relative) a voltage group may fall from
	// the start of a discharge before, with no charge reading, low
	// modules are taken for the end of the discharge rather than heat.
	dischargeKnee = 0.05
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

// faultTarget is the sensor_fault level of s at now, and why.
func (d *Detector) faultTarget(s *sensor, now int64) (level, string) {
	cfg := &d.cfg
	if s.info.role == roleTemp && s.sameSince != 0 && s.hasX {
		if !s.hasRefSam {
			s.refSame, s.hasRefSam = s.ref, true
		}
		if now-s.sameSince >= int64(cfg.StuckAfter) && abs(s.ref-s.refSame) >= cfg.StuckDelta {
			s.stuck = true
		}
	}
	switch {
	case s.nanRun >= 2 || (s.nanRun == 1 && now-s.nanSince >= int64(30*time.Second)):
		return warning, "open circuit or invalid value (nan)"
	case s.stuck:
		return warning, "stuck while its neighbours moved"
	case s.pending && sentinel(s.pend) && s.pendN >= 3:
		return warning, "stuck at a sentinel value"
	case s.glitchT != 0 && now-s.glitchT < int64(cfg.Clear):
		return advisory, s.glitchWhy
	}
	return none, ""
}

// judgeFault steps the sensor_fault alert of s.
func (d *Detector) judgeFault(s *sensor, now int64) {
	target, why := d.faultTarget(s, now)
	st, l := s.fault.step(now, target, 0, d.cfg.Clear, advisory)
	if st == "" {
		return
	}
	ev := map[string]any{"point": s.point, "glitches": s.glitches}
	msg := s.point + ": " + why
	switch {
	case st == StateCleared:
		msg = s.point + ": readings plausible again"
	case s.nanRun > 0:
		ev["nan_since"] = time.Unix(0, s.nanSince).UTC().Format(time.RFC3339Nano)
	case s.stuck:
		ev["value"] = round3(s.last)
		ev["stuck_since"] = time.Unix(0, s.sameSince).UTC().Format(time.RFC3339Nano)
		ev["reference_moved"] = round3(s.ref - s.refSame)
	case s.glitchT != 0:
		ev["value"] = round3(s.glitchV)
		ev["last_good"] = round3(s.glitchPrev)
		msg = fmt.Sprintf("%s: %s (%g, last good %g)", s.point, why, round3(s.glitchV), round3(s.glitchPrev))
	}
	if why != "" {
		ev["fault"] = why
	}
	d.emit(s.dev, &s.fault, st, l, now, msg, ev)
}

// judgeEnvironment steps the environment alert of dev's own air sensors.
func (d *Detector) judgeEnvironment(dev *device, now int64) {
	cfg := &d.cfg
	stale := int64(cfg.StaleAfter)
	lv, rs := d.fbuf[1][:0], d.fbuf[2][:0]
	defer func() { d.fbuf[1], d.fbuf[2] = lv[:0], rs[:0] }()
	for _, s := range dev.list {
		if s.info.role != roleAmbient || !s.valid(now, stale) {
			continue
		}
		lv = append(lv, s.level)
		if m, ok := s.minute.minOver(30); ok {
			rs = append(rs, s.level-m)
		}
	}
	if len(lv) == 0 && dev.env.lvl == none {
		return
	}
	target := none
	var amb, rise float64
	if len(lv) > 0 {
		slices.Sort(lv)
		amb = median(lv)
		if len(rs) > 0 {
			slices.Sort(rs)
			rise = median(rs)
		}
		switch {
		case rise >= cfg.AmbientRiseWarning || amb >= cfg.AmbientWarning:
			target = warning
		case rise >= cfg.AmbientRiseAdvisory || amb >= cfg.AmbientAdvisory:
			target = advisory
		}
	}
	st, l := dev.env.step(now, target, cfg.Confirm, cfg.Clear, critical)
	if st == "" {
		return
	}
	msg := fmt.Sprintf("room air %.1f °C, %+.1f °C in 30 min", amb, rise)
	if st == StateCleared {
		msg = fmt.Sprintf("room air steady again at %.1f °C", amb)
	}
	d.emit(dev, &dev.env, st, l, now, msg, map[string]any{
		"ambient": round3(amb), "rise_30min": round3(rise),
	})
}

// updateGas follows the baseline of an off-gas sensor.
func (d *Detector) updateGas(s *sensor, now int64) {
	if !s.valid(now, int64(d.cfg.StaleAfter)) {
		return
	}
	if !s.hasBase {
		// the first half hour learns the baseline
		s.base, s.hasBase = s.level, true
		s.settleUntil = now + int64(30*time.Minute)
		return
	}
	// the baseline follows the level down within half an hour and up
	// within two hours, and not into a rise of half the advisory: a
	// baseline that dropped to every low of a noisy sensor at once would
	// sit below its mean and take the noise for a rise
	rise := s.level - s.base
	dt := float64(d.cfg.Tick) / 1e9
	switch {
	case now < s.settleUntil:
		if rise < d.gasThreshold(s, warning) {
			s.base = s.base + float64(dt/(300+dt)*rise)
		}
	case rise < 0:
		s.base = s.base + float64(dt/(1800+dt)*rise)
	case rise < d.gasThreshold(s, advisory)/2:
		s.base = s.base + float64(dt/(7200+dt)*rise)
	}
}

func (d *Detector) gasThreshold(s *sensor, l level) float64 {
	m := d.cfg.GasAdvisory
	if l >= warning {
		m = d.cfg.GasWarning
	}
	if v, ok := m[s.info.gas]; ok {
		return v
	}
	return m["voc"]
}

// gasLevel is the offgas level of s now.
func (d *Detector) gasLevel(s *sensor) level {
	if !s.hasBase || !s.valid(d.now, int64(d.cfg.StaleAfter)) {
		return none
	}
	rise := s.level - s.base
	switch {
	case rise >= 4*d.gasThreshold(s, warning):
		return critical
	case rise >= d.gasThreshold(s, warning):
		return warning
	case rise >= d.gasThreshold(s, advisory):
		return advisory
	}
	return none
}

func (d *Detector) judgeGas(dev *device, s *sensor, now int64) {
	st, l := s.alarm.step(now, d.gasLevel(s), d.cfg.Confirm/2, d.cfg.Clear, critical)
	if st == "" {
		return
	}
	rise := s.level - s.base
	msg := fmt.Sprintf("%s %.0f ppm above its baseline %.0f ppm", s.point, rise, s.base)
	if st == StateCleared {
		msg = s.point + " back to its baseline"
	}
	d.emit(dev, &s.alarm, st, l, now, msg, map[string]any{
		"point": s.point, "ppm": round3(s.level), "baseline_ppm": round3(s.base), "rise_ppm": round3(rise),
	})
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
	if hasCurrentCharge(dev, d, now) {
		r.h2 = none
	}
	if r.h2 > r.gas {
		r.gas, r.gasPoint, r.gasRise = r.h2, r.h2Point, r.h2Rise
	}
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
	if hasI && I <= -cfg.LoadCurrent {
		dev.lastDischarge = now
	}
	if hasI && I >= cfg.LoadCurrent {
		dev.lastCharge = now
	}
	load := hasI && abs(I) >= cfg.LoadCurrent
	// the string is known not to be discharging: heat is not Joule heat
	// of a discharge (Q30-like cells heat to 65 °C under a 4C load)
	dev.charging = hasI && I > -cfg.LoadCurrent
	if load {
		if dev.loadSince == 0 {
			dev.loadSince = now
		}
	} else {
		dev.loadSince = 0
	}
	settled := !load || now-dev.loadSince >= 2*int64(cfg.AccelWindow)
	curStep, feeding := d.floatSteps(dev, now, newMin, r)
	hotJoint := d.joints(dev, now)
	recentLoad := load || (dev.lastDischarge != 0 && now-dev.lastDischarge < int64(15*time.Minute))
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
			if s.valid(now, stale) {
				sc = append(sc, ranked{v: s.level, s: s})
				cmv = append(cmv, s.level)
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
		d.markN++
		units := 0
		for _, e := range sc {
			if u := e.s.unit; u == nil || u.mark != d.markN {
				units++
				if u != nil {
					u.mark = d.markN
				}
			}
		}
		for p, e := range sc {
			s := e.s
			switch {
			case len(sc) >= 2:
				d.updateRise(s, now, medianWithout(sc, p), refNeighbours, dtH, dAmb, dAmbOK, units <= 3)
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
				d.updateQuiet(s, now)
			}
			d.accel(s, settled)
		}
		d.scratch = sc[:0]
	}
	cm, cmOK := 0.0, len(cmv) > 0 && r.ambOK
	if len(cmv) > 0 && (cmOK || newMin) {
		slices.Sort(cmv)
	}
	if cmOK {
		cm = median(cmv) - r.amb
	}
	if newMin {
		if len(cmv) > 0 {
			dev.cmMin.push(median(cmv), true)
		} else {
			dev.cmMin.push(0, false)
		}
		dev.ambMin.push(r.amb, r.ambOK)
		dev.quiet = d.atRest(dev, now, hasI, load, r.ambOK)
	}
	d.stringTrend(dev, now, I, hasI, load, cm, cmOK, r)

	// voltages against their group
	for _, g := range dev.groups {
		if g.role != roleVolt {
			continue
		}
		sc := d.scratch[:0]
		for _, s := range g.members {
			if s.valid(now, stale) && s.level > 0 {
				sc = append(sc, ranked{v: s.level, s: s})
			} else {
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
			if med > 1 && e.v > 0.5*med && e.v < 1.5*med {
				sc[k] = e
				k++
			} else {
				e.s.hasDev = false
			}
		}
		sc = sc[:k]
		// how far the group fell since its discharge began: near the end
		// of a deep discharge a weaker module's cells fall off their knee
		// first, which is no heat
		discharging := hasI && I <= -cfg.LoadCurrent
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
			for p, e := range sc {
				d.updateDeviation(e.s, now, e.s.level/medianWithout(sc, p)-1, recentLoad, newMin)
				d.updateLoadDeviation(e.s, discharging, newMin)
				e.s.groupFall = fall
			}
		}
		d.scratch = sc[:0]
	}

	// the string as a whole: float current, common-mode warming, off-gas.
	// Its verdict goes to the module standing out most, or the string.
	strLvl, strWhy := none, ""
	switch {
	case dev.floatClimb && dev.warm >= cfg.StringWarm:
		strLvl, strWhy = warning, "float current climbing as the string warms"
	case dev.floatClimb:
		strLvl, strWhy = advisory, "float current climbing"
	case dev.warm >= cfg.StringWarm:
		strLvl, strWhy = advisory, "string warming with no load and a steady room"
	case curStep:
		strLvl, strWhy = advisory, "float current stepped up at rest"
	}
	if hotJoint != nil && hotJoint.joint.heat >= cfg.JointHeat {
		strLvl, strWhy = warning, "heat in the string's wiring"
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
		var best *sensor
		for _, u := range dev.units {
			for _, s := range u.temps {
				if s.valid(now, stale) && s.hasX && s.refKind == refNeighbours && (best == nil || s.x > best.x) {
					best = s
				}
			}
		}
		if best != nil && best.x >= 1 {
			target = best.unit.subject
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

// stringTrend follows, every ten minutes, the string's float current and
// its common-mode temperature above the room, and notes a float current
// climbing (VRLA thermal runaway, IEEE 1491) and a string warming with
// no load and a steady room, over the last five hours.
func (d *Detector) stringTrend(dev *device, now int64, I float64, hasI, load bool, cm float64, cmOK bool, r room) {
	cfg := &d.cfg
	if load {
		dev.slotLoad = true
	}
	if d.newTen {
		dev.tenI.push(I, hasI && !dev.slotLoad)
		dev.tenE.push(cm, cmOK && !dev.slotLoad)
		dev.tenA.push(r.amb, r.ambOK)
		dev.slotLoad = false
	}
	quiet := dev.lastDischarge == 0 || now-dev.lastDischarge > int64(2*time.Hour)
	if hasI && quiet && !load && I >= 0 {
		dt := float64(cfg.Tick) / 1e9
		switch {
		case !dev.hasFloat || I < dev.floatBase:
			dev.floatBase, dev.hasFloat = I, true
		default:
			dev.floatBase = dev.floatBase + float64(dt/(24*3600+dt)*(I-dev.floatBase))
		}
	}
	const n = 30 // five hours of ten-minute slots
	dev.floatClimb, dev.warm = false, 0
	if e, ok := dev.tenE.slope(n); ok {
		// whatever the room did over the window may explain as much
		if lo, hi, okA := dev.tenA.span(n); okA && hi-lo < cfg.StringRoomSpan {
			dev.warm = float64(e*n) - (hi - lo)
		}
	}
	if i, ok := dev.tenI.slope(n); ok && hasI && dev.hasFloat && quiet {
		rise := float64(i * n)
		dev.floatClimb = rise >= math.Max(cfg.FloatMin, 0.5*dev.floatBase) && I >= cfg.FloatRatio*dev.floatBase
	}
}

// floatSteps follows every string current of dev that was at float (below
// half of LoadCurrent) in the last half hour, with no discharge in the
// last two hours and the room steady, and notes a step up above that
// float level held two minutes (iStep), or a jump of five times FloatStep
// now (iJump): the charger feeding a cell drained by an internal short.
// It reports whether any string current stepped or jumped, and whether
// one is feeding at LoadCurrent or more (not a recharge: no discharge
// before it).
func (d *Detector) floatSteps(dev *device, now int64, newMin bool, r room) (stepped, feeding bool) {
	cfg := &d.cfg
	stale := int64(cfg.StaleAfter)
	quiet := dev.lastDischarge == 0 || now-dev.lastDischarge > int64(2*time.Hour)
	steady := !r.ambOK || r.ambRise < cfg.AmbientRiseAdvisory/2
	// a module voltage back from a gap within the hour (a module swapped
	// or reconnected) explains a charge current: its module charges
	if dev.voltBack != 0 && now-dev.voltBack < int64(time.Hour) {
		steady = false
	}
	for _, s := range dev.currents {
		ok := s.valid(now, stale) && s.level > -cfg.LoadCurrent
		if newMin {
			// the mean of the minute's samples: quantised noise averages out
			mean := s.level
			if s.minN > 0 {
				mean = s.minSum / float64(s.minN)
			}
			s.minSum, s.minN = 0, 0
			if ok && s.hasMean && abs(mean) < cfg.LoadCurrent/2 {
				s.iNoise += (abs(mean-s.prevMean) - s.iNoise) / 60
			}
			s.prevMean, s.hasMean = mean, ok
			s.minute.push(mean, ok)
		}
		if newMin {
			d.floatBase(s)
		}
		s.iStep, s.iJump = 0, 0
		if !ok || !quiet || !steady || s.level < -cfg.FloatStep || !s.iBaseOK || s.iBase >= cfg.LoadCurrent/2 {
			continue
		}
		if s.level >= cfg.LoadCurrent {
			feeding = true
		}
		if j := s.level - s.iBase; j >= 5*math.Max(cfg.FloatStep, 4*s.iNoise) && s.minute.n > 20 {
			s.iJump, stepped = j, true
		}
		if s.iRise > 0 {
			s.iStep, stepped = s.iRise, true
		}
	}
	return stepped, feeding
}

// floatBase computes, once a minute, the float level of a string current
// before (the lowest of the half hour) and its rise held two minutes over
// the median of the minutes before (0 when below the threshold, or with
// fewer than twenty minutes to compare).
func (d *Detector) floatBase(s *sensor) {
	cfg := &d.cfg
	s.iBase, s.iBaseOK, s.iRise = 0, false, 0
	for k := 1; k <= 30; k++ {
		if v, ok := s.minute.at(k); ok && (!s.iBaseOK || v < s.iBase) {
			s.iBase, s.iBaseOK = v, true
		}
	}
	held, ok := s.minute.minOver(1)
	thr := math.Max(cfg.FloatStep, 4*s.iNoise)
	if !ok || !s.iBaseOK || held-s.iBase < thr {
		return
	}
	win := d.fbuf[2][:0]
	for k := 4; k <= 30; k++ {
		if v, okV := s.minute.at(k); okV {
			win = append(win, v)
		}
	}
	d.fbuf[2] = win
	if len(win) < 20 {
		return
	}
	slices.Sort(win)
	if rise := held - median(win); rise >= thr {
		s.iRise = rise
	}
}

// hasCurrentCharge reports whether dev was charging (at least LoadCurrent)
// within the last two hours, or has no current reading to tell.
func hasCurrentCharge(dev *device, d *Detector, now int64) bool {
	c := dev.current
	if c == nil || !c.hasLevel {
		return true
	}
	if c.level >= d.cfg.LoadCurrent {
		return true
	}
	return dev.lastCharge != 0 && now-dev.lastCharge < int64(2*time.Hour)
}

// updateRise follows the difference x between s and its reference and
// accumulates its unexplained rise (CUSUM). few says the reference is the
// median of the sensors of two other units or fewer, which one of them
// moves.
func (d *Detector) updateRise(s *sensor, now int64, ref float64, kind string, dtH, dAmb float64, dAmbOK, few bool) {
	cfg := &d.cfg
	x := s.level - ref
	if !s.hasX || s.broken {
		// back from a gap, an open circuit or a swap: let the thermistor
		// settle on its (maybe new) module before counting its rise
		s.settleUntil = now + int64(cfg.Settle)
	}
	if s.refKind != kind {
		s.cusum = 0
		s.xmin = history{}
	} else if s.hasX && !s.broken && kind == refNeighbours && now >= s.settleUntil {
		allow := float64(cfg.DriftPerHour*dtH) + float64(cfg.CommonModeGain*abs(ref-s.prevRef))
		if dAmbOK {
			allow += float64(cfg.AmbientGain * abs(dAmb))
		}
		// with two other units or fewer the rise must be the sensor's
		// own: one of them cooling down (a warm module just fitted)
		// lowers the reference but heats nothing
		inc := x - s.prevX
		if own := s.level - s.prevLvl; few && own < inc {
			inc = own
		}
		s.cusum = math.Min(100, math.Max(0, s.cusum+inc-allow))
	}
	if kind != refNeighbours {
		s.cusum = 0
	}
	if s.stepT != 0 && now-s.stepT >= int64(45*time.Second) {
		if s.hasMed && s.med >= s.stepBase+0.7*s.stepJ && s.med <= s.stepBase+s.stepJ+d.cfg.StepJump {
			// the step stayed, and stayed put: an offset, not heat (a
			// sensor still climbing past it is heating fast)
			s.cusum = math.Max(0, s.cusum-s.stepJ)
			s.stepSum += s.stepJ
			s.glitch(s.stepT, s.stepBase+s.stepJ, s.stepBase, "step")
		}
		s.stepT = 0
	}
	s.prevX, s.prevRef, s.x, s.ref, s.refKind, s.hasX, s.broken = x, ref, x, ref, kind, true, false
	s.prevLvl = s.level
}

// updateQuiet records, once a minute, the rise of s above its neighbours
// and of its own level (offset steps taken out) over Config.QuietWindow:
// the lesser of the two, when every minute of the window is valid and s
// is still at the top of it and rising (0 otherwise). A sensor settling,
// or with a glitch or a step under watch within the window, has none.
func (d *Detector) updateQuiet(s *sensor, now int64) {
	cfg := &d.cfg
	w := int(cfg.QuietWindow / time.Minute)
	ok := s.hasX && s.refKind == refNeighbours && now >= s.settleUntil && s.stepT == 0 &&
		(s.glitchT == 0 || now-s.glitchT >= int64(cfg.QuietWindow))
	s.qx.push(s.x, ok)
	s.qlvl.push(s.level-s.stepSum, ok)
	s.qraw.push(s.minSum/float64(max(1, s.minN)), ok && s.minN > 0)
	s.minSum, s.minN = 0, 0
	s.qrise = 0
	if !ok {
		return
	}
	rx, okX := windowRise(&s.qx, w)
	if !okX {
		return
	}
	rl, okL := windowRise(&s.qlvl, w)
	// a step (even one halved in the mean of two thermistors, below
	// StepJump) climbs most of its height between two minute means
	lo, okR := s.qraw.minOver(w)
	r0, _ := s.qraw.at(0)
	if okL && okR && maxClimb(&s.qraw, w, 2) <= 0.5*(r0-lo) {
		// a module that already stands out (the end of a row in the hot
		// aisle) follows whatever heats it from outside: a share of its
		// offset may change with that source
		x0, _ := s.qx.at(w)
		s.qrise = math.Max(0, math.Min(rx, rl)-float64(quietOffsetShare*abs(x0))-s.grain)
	}
}

// quietOffsetShare is the share of its offset from its neighbours by
// which a module may rise at rest without that counting (its outside
// heat source changing).
const quietOffsetShare = 0.3

// windowRise is the newest value of h above the lowest of the newest w+1
// minutes, all of which must be valid, when the newest is within 0.1 of
// the highest of them, the last five minutes hold at least a sixth of
// the rise (and 0.1) and the minutes before the last ten at least a
// quarter: heat reaching a thermistor between cells builds up over many
// minutes and is still building, a step (smoothed over a minute or two)
// is not. A sensor not rising 0.1 in five minutes (nearly all of them,
// nearly always) is turned away before the window is scanned.
func windowRise(h *history, w int) (float64, bool) {
	v0, ok := h.at(0)
	v5, ok5 := h.at(5)
	v10, ok10 := h.at(10)
	if !ok || !ok5 || !ok10 || w < 10 || v0-v5 < 0.1 {
		return 0, false
	}
	lo, hi, okW := h.fullSpan(w)
	if !okW {
		return 0, false
	}
	if r5, r := v0-v5, v0-lo; v0 < hi-0.1 || r5 < math.Max(0.1, r/6) || 4*(v10-lo) < r {
		return 0, false
	}
	return v0 - lo, true
}

// maxClimb is the largest rise of h over k minutes within the newest w
// minutes.
func maxClimb(h *history, w, k int) float64 {
	m := 0.0
	for i := 0; i+k <= w; i++ {
		a, okA := h.at(i)
		b, okB := h.at(i + k)
		if okA && okB {
			m = math.Max(m, a-b)
		}
	}
	return m
}

// atRest reports whether the string of dev is at rest for the quiet-rise
// rule: its current known, no load now and no discharge or charge at
// LoadCurrent for two hours, and its median battery temperature and
// the room (when known) steady within QuietSpan over QuietWindow.
func (d *Detector) atRest(dev *device, now int64, hasI, load, ambOK bool) bool {
	cfg := &d.cfg
	if cfg.QuietRise <= 0 || !hasI || load {
		return false
	}
	for _, t := range []int64{dev.lastDischarge, dev.lastCharge} {
		if t != 0 && now-t < int64(2*time.Hour) {
			return false
		}
	}
	w := int(cfg.QuietWindow / time.Minute)
	steady := func(h *history) bool {
		lo, hi, ok := h.fullSpan(w)
		return ok && hi-lo <= cfg.QuietSpan
	}
	if !steady(&dev.cmMin) {
		return false
	}
	if !ambOK {
		return true
	}
	// the modules filter the room over an hour or more: an air
	// conditioner cycling every quarter hour does not reach them, a
	// drift of the room's quarter-hour mean does
	lo, hi, ok := dev.ambMin.meanSpan(w, roomSmooth)
	return ok && hi-lo <= cfg.QuietSpan
}

// roomSmooth is the running mean (minutes) over which the room must be
// steady for the quiet-rise rule.
const roomSmooth = 15

// accel judges self-heating from the per-minute history of x: a rate of
// rise that at least doubled from one window to the next and is steep.
func (d *Detector) accel(s *sensor, settled bool) {
	cfg := &d.cfg
	w := int(cfg.AccelWindow / time.Minute)
	if w < 1 {
		w = 1
	}
	s.accel, s.rate = false, 0
	x0, ok0 := s.xmin.at(0)
	x1, ok1 := s.xmin.at(w)
	x2, ok2 := s.xmin.at(2 * w)
	if !ok0 || !ok1 {
		return
	}
	r1 := (x0 - x1) / float64(w)
	s.rate = r1
	if !ok2 || !settled {
		return
	}
	r0 := (x1 - x2) / float64(w)
	s.accel = r1 >= cfg.AccelRate && r0 >= 0.25 && r1 >= 2*r0 && (s.refKind == refNeighbours || x0 >= 10)
}

// updateDeviation follows the relative deviation of a voltage from its
// group's median, and its long-run offset.
func (d *Detector) updateDeviation(s *sensor, now int64, dv float64, recentLoad, newMin bool) {
	if !s.hasDev {
		s.hasDev, s.dev0, s.devNow, s.devFast = true, dv, dv, dv
		for i := range s.devHist {
			s.devHist[i] = dv
		}
		s.sagMin, s.rawMin = history{}, history{}
		s.sagPastOK, s.rawPastOK = false, false
		s.dev.voltBack = now
		s.sagHeld, s.sagFast, s.devMAD = 0, 0, 0
		s.settleUntil = now + int64(d.cfg.Settle)
		return
	}
	copy(s.devHist[1:], s.devHist[:len(s.devHist)-1])
	s.devHist[0] = s.devNow
	s.devNow = dv
	dt := float64(d.cfg.Tick) / 1e9
	s.devFast = s.devFast + float64(dt/(voltAvg+dt)*(dv-s.devFast))
	sag := s.devFast - s.dev0
	switch {
	case now < s.settleUntil:
		// learn the noise while settling
		s.devMAD = s.devMAD + float64(dt/(120+dt)*(abs(dv-s.devFast)-s.devMAD))
		s.dev0 = s.devFast
		for i := range s.devHist {
			s.devHist[i] = dv
		}
		sag = 0
	case !recentLoad && sag > -d.cfg.VoltageStep/2:
		// the long-run offset follows slowly, and not into a sag under watch
		s.dev0 = s.dev0 + float64(dt/(7200+dt)*(dv-s.dev0))
		s.devMAD = s.devMAD + float64(dt/(3600+dt)*(abs(dv-s.devFast)-s.devMAD))
	}
	if newMin {
		s.sagMin.push(sag, !recentLoad && now >= s.settleUntil)
		s.sagPast, s.sagPastOK = s.sagMin.maxOver(voltHold)
		// the raw samples against the offset, held two minutes: a step
		s.rawMin.push(s.devNow-s.dev0, !recentLoad && now >= s.settleUntil)
		s.rawPast, s.rawPastOK = s.rawMin.maxOver(2)
	}
	// a sag counts once it held for voltHold minutes
	s.sagHeld = 0
	if held := math.Max(sag, s.sagPast); s.sagPastOK && held < 0 && !recentLoad {
		s.sagHeld = held
	}
	s.sagFast = 0
	held := math.Max(s.devNow-s.dev0, s.rawPast)
	if !s.rawPastOK {
		held = 0
	}
	if held < 0 && !recentLoad {
		s.sagFast = held
	}
}

// updateLoadDeviation follows the deviation of a voltage from its group
// while the string discharges: the least of it held three minutes.
func (d *Detector) updateLoadDeviation(s *sensor, discharging, newMin bool) {
	if newMin {
		s.loadMin.push(s.devNow, discharging)
		s.loadPast, s.loadPastOK = s.loadMin.maxOver(3)
	}
	s.loadDev = 0
	if !discharging || !s.loadPastOK {
		return
	}
	if held := math.Max(s.devNow, s.loadPast); held < 0 {
		s.loadDev = held
	}
}

// dischargeHeat is the heat (W) the voltage of u missing under discharge
// turns into inside it, with the sensor and deviation behind it; 0 when
// no voltage of u is DischargeDeviation below its group for three
// minutes, or its string is nearly empty (low cells are then expected):
// below 20 % charge, or, with no charge reading, its group fallen
// dischargeKnee since the discharge began.
func (d *Detector) dischargeHeat(dev *device, u *unit, now int64) (float64, *sensor) {
	cfg := &d.cfg
	stale := int64(cfg.StaleAfter)
	c := dev.currentOf(u)
	if c == nil || !c.valid(now, stale) || c.level > -cfg.LoadCurrent {
		return 0, nil
	}
	best, bestV := 0.0, (*sensor)(nil)
	for _, v := range u.volts {
		if v.loadDev > -cfg.DischargeDeviation || !v.hasDev || !v.valid(now, stale) {
			continue
		}
		med := v.level / (1 + v.devNow)
		if p := -v.loadDev * med * -c.level; p > best {
			best, bestV = p, v
		}
	}
	if bestV == nil {
		return 0, nil
	}
	charge := false
	for _, s := range dev.list {
		sub := s.info.subject
		if s.info.role == roleCharge && s.valid(now, stale) &&
			holds(sub, u.subject) {
			if s.level < 20 {
				return 0, nil
			}
			charge = true
		}
	}
	if !charge && bestV.groupFall <= -dischargeKnee {
		// no charge reading to tell, and the group has fallen far since
		// the discharge began: the end of a deep discharge
		return 0, nil
	}
	return best, bestV
}

// afterDischarge is how long after a discharge heat is still taken as
// its Joule heat reaching the thermistors: their lag behind the cells
// (time constants of one to four minutes) several times over.
const afterDischarge = 20 * time.Minute

// judgeUnit fuses the evidence of one subject and steps its alerts.
func (d *Detector) judgeUnit(dev *device, u *unit, now int64, r room, recentLoad bool, strLvl level, strWhy string) {
	cfg := &d.cfg
	stale := int64(cfg.StaleAfter)
	th := none
	why := ""
	var best, hot *sensor
	// no discharge now, nor within the thermistors' lag behind one: a
	// string that stopped a high-rate discharge keeps warming them for
	// minutes after its current fell
	noLoad := dev.charging && (dev.lastDischarge == 0 || now-dev.lastDischarge >= int64(afterDischarge))
	for _, s := range u.temps {
		if !s.valid(now, stale) {
			continue
		}
		if hot == nil || s.last > hot.last {
			hot = s
		}
		l, w := none, ""
		switch {
		case s.last >= cfg.RunawayTemp && s.lrate > 0.5:
			l, w = critical, "self-heating"
		case noLoad && s.last >= cfg.OverTempCritical && s.lrate >= 0.2:
			l, w = critical, "hot and still heating with no discharge"
		case noLoad && s.last >= cfg.OverTempWarning && s.lrate >= 0.2:
			l, w = warning, "hot and still heating with no discharge"
		case noLoad && now >= s.settleUntil && s.lrate-math.Max(0, r.ambRate) >= cfg.ChargeRate:
			l, w = warning, "heating fast with no discharge"
		}
		if !s.hasX {
			if best == nil || l > th {
				th, why, best = l, w, s
			}
			continue
		}
		if s.refKind == refNeighbours {
			// a noisy thermistor needs a rise beyond its own noise
			k := 1.0
			if nz := float64(cfg.RiseNoiseZ * s.noiseLevel(float64(cfg.Smoothing)/1e9)); nz > cfg.RiseWarning {
				k = nz / cfg.RiseWarning
			}
			switch {
			case s.cusum >= float64(k*cfg.RiseCritical) && l < critical:
				l, w = critical, "rise"
			case s.cusum >= float64(k*cfg.RiseWarning) && l < warning:
				l, w = warning, "rise"
			case dev.quiet && s.qrise >= float64(k*cfg.QuietRise) && l < warning:
				l, w = warning, "rising at rest"
			case s.cusum >= float64(k*cfg.RiseAdvisory) && l < advisory:
				l, w = advisory, "rise"
			}
		}
		if s.accel && l < warning {
			l, w = warning, "accelerating"
		}
		if best == nil || l > th || (l == th && s.cusum > best.cusum) {
			th, why, best = l, w, s
		}
	}
	// the string's charger feeding a short: its current stepped up at rest
	c := dev.currentOf(u)
	curStep, curJump := 0.0, false
	if c != nil {
		curStep, curJump = c.iStep, c.iJump > 0
	}
	// one pass over the voltages: sag and drop against the offset; a sag
	// that held for minutes at rest, against the sensor's own noise (a
	// cell drained by an internal short); with the current stepping, a
	// sag held two minutes; the deviation from the group (imbalance)
	sag, drop, held, z, fastHeld, fastZ, worst := 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
	var wv *sensor
	for _, v := range u.volts {
		if !v.hasDev || !v.valid(now, stale) {
			continue
		}
		sag = math.Min(sag, v.devNow-v.dev0)
		drop = math.Min(drop, v.devNow-v.devHist[len(v.devHist)-1])
		if abs(v.devNow) > abs(worst) {
			worst, wv = v.devNow, v
		}
		if v.sagHeld < 0 {
			held = math.Min(held, v.sagHeld)
			z = math.Min(z, v.sagHeld/math.Max(v.devMAD, voltNoiseFloor))
		}
		if curStep > 0 && v.sagFast < 0 && now >= v.settleUntil {
			fastHeld = math.Min(fastHeld, v.sagFast)
			fastZ = math.Min(fastZ, v.sagFast/math.Max(v.devMAD, voltNoiseFloor))
		}
	}
	stepEv := !recentLoad && held <= -cfg.VoltageStep && z <= -cfg.VoltageStepZ
	// as corroboration of thermal evidence half the noise margin will do
	corrEv := !recentLoad && held <= -cfg.VoltageStep && z <= -cfg.VoltageStepZ/2
	shortEv := curStep > 0 && !recentLoad && (stepEv || (fastHeld <= -cfg.VoltageStep && fastZ <= -voltShortZ))
	if curJump && !recentLoad && !shortEv {
		// a jump of the current with a voltage well below its offset in
		// the last samples: a hard short, no time to hold for minutes
		for _, v := range u.volts {
			if !v.hasDev || !v.valid(now, stale) || now < v.settleUntil {
				continue
			}
			dv := math.Max(v.devNow, v.devHist[len(v.devHist)-1]) - v.dev0
			if dz := dv / math.Max(v.devMAD, voltNoiseFloor); dv <= -4*cfg.VoltageStep && dz <= -2*voltShortZ {
				shortEv, held, z = true, dv, dz
			}
		}
	}
	if shortEv && !stepEv && fastHeld < 0 {
		held, z = fastHeld, fastZ
	}
	fallEv := !recentLoad && held <= -cfg.VoltageFall && z <= -cfg.VoltageFallZ
	voltEv := !recentLoad && (sag <= -cfg.VoltageSag || drop <= -cfg.VoltageDrop)
	var also []string
	if voltEv || stepEv || shortEv || (corrEv && th >= advisory) {
		also = append(also, "voltage sag")
	}
	if r.gas >= warning {
		also = append(also, "off-gas")
	}
	if dev.floatClimb {
		also = append(also, "float current climbing")
	} else if curStep > 0 && !voltEv && !stepEv && !shortEv {
		also = append(also, "float current step")
	}
	if th >= advisory {
		th = min(critical, th+level(len(also)))
	} else if !recentLoad && drop <= -cfg.VoltageDrop {
		th, why = advisory, "voltage drop"
	} else if stepEv {
		th, why = advisory, "voltage step"
	}
	if fallEv && th < warning {
		th, why = warning, "voltage falling against its group"
	}
	if heat, hv := d.dischargeHeat(dev, u, now); heat >= cfg.DischargeHeat && th < warning {
		th, why = warning, "far below its group under discharge"
		u.heatW, u.heatDev, u.heatPoint = heat, hv.loadDev, hv.point
	}
	if shortEv && th < warning {
		th, why = warning, "voltage step with the float current stepping up"
	}
	if stepEv || fallEv || shortEv {
		u.held, u.heldZ = held, z
	}
	if strLvl > th {
		th, why = strLvl, strWhy
	}
	if u.runaway.lvl >= warning && th == none && (hot == nil || hot.last >= cfg.OverTempAdvisory) {
		// a runaway alert is not cleared while its module is hot or unseen
		th, why = advisory, "still hot or unseen"
	}
	if u.fastUntil >= now && u.fastLvl > th {
		th, why = u.fastLvl, u.fastWhy
	} else if u.fastUntil < now {
		u.fastLvl = none
	}
	instant := critical
	switch {
	case why == "off-gas" && th >= warning:
		instant = warning // cells are venting: no time to confirm
	case shortEv && th >= warning:
		instant = warning // both signals held for minutes already
	}
	if st, l := u.runaway.step(now, th, cfg.Confirm, 3*cfg.Clear, instant); st != "" {
		d.emitRunaway(dev, u, st, l, now, why, best, sag, drop, also, r)
	}

	ot := none
	if hot != nil {
		switch {
		case hot.last >= cfg.OverTempCritical:
			ot = critical
		case hot.last >= cfg.OverTempWarning:
			ot = warning
		case hot.last >= cfg.OverTempAdvisory:
			ot = advisory
		}
	}
	if st, l := u.overTemp.step(now, ot, 0, cfg.Clear, advisory); st != "" {
		ev := map[string]any{}
		msg := u.subject + " back below the temperature limits"
		if hot != nil {
			ev["point"], ev["temperature"] = hot.point, round3(hot.last)
			if st != StateCleared {
				msg = fmt.Sprintf("%s at %.1f °C", u.subject, hot.last)
			}
		}
		d.emit(dev, &u.overTemp, st, l, now, msg, ev)
	}

	imb := none
	switch {
	case abs(worst) >= cfg.ImbalanceWarning:
		imb = warning
	case abs(worst) >= cfg.ImbalanceAdvisory:
		imb = advisory
	}
	if st, l := u.imbalance.step(now, imb, 5*cfg.Confirm, cfg.Clear, critical); st != "" {
		ev := map[string]any{"deviation": round3(worst)}
		msg := u.subject + " voltage back in line with its group"
		if wv != nil {
			ev["point"], ev["voltage"] = wv.point, round3(wv.level)
			if st != StateCleared {
				msg = fmt.Sprintf("%s %+.1f %% from the median of its group", wv.point, 100*worst)
			}
		}
		d.emit(dev, &u.imbalance, st, l, now, msg, ev)
	}
}

func (d *Detector) emitRunaway(dev *device, u *unit, st string, l level, now int64, why string, s *sensor,
	sag, drop float64, also []string, r room) {
	ev := map[string]any{}
	var msg string
	if s != nil {
		ev["point"] = s.point
		ev["temperature"] = round3(s.last)
		ev["reference"] = round3(s.ref)
		ev["reference_kind"] = s.refKind
		ev["excess"] = round3(s.x)
		ev["rise"] = round3(s.cusum)
		if why == "rising at rest" {
			ev["quiet_rise"] = round3(s.qrise)
			ev["grain"] = round3(s.grain)
		}
		ev["rate_c_per_min"] = round3(s.rate)
		ev["temperature_rate_c_per_min"] = round3(s.lrate)
		ev["accelerating"] = s.accel
	}
	if sag != 0 {
		ev["voltage_sag"] = round3(sag)
	}
	if drop != 0 {
		ev["voltage_drop"] = round3(drop)
	}
	if u.held != 0 && st != StateCleared {
		ev["voltage_step_percent"] = round3(100 * u.held)
		ev["voltage_step_noise_ratio"] = round3(u.heldZ)
	}
	if r.gas > none {
		ev["offgas_point"], ev["offgas_rise_ppm"] = r.gasPoint, round3(r.gasRise)
	}
	if dev.current != nil && dev.current.hasLevel {
		ev["current"] = round3(dev.current.level)
		if dev.hasFloat {
			ev["float_baseline"] = round3(dev.floatBase)
		}
	}
	if c := dev.currentOf(u); c != nil && c.iStep > 0 && st != StateCleared {
		ev["float_current_step_a"] = round3(c.iStep)
	}
	if u.fastRate != 0 && u.fastUntil >= now {
		ev["fast_rate_c_per_s"] = round3(u.fastRate)
	}
	if c := dev.currentOf(u); c != nil && c.joint.heat > 0 && st != StateCleared {
		ev["joint_heat_w"] = round3(c.joint.heat)
		ev["joint_excess_voltage"] = round3(c.joint.excessV)
	}
	if why == "far below its group under discharge" && st != StateCleared {
		ev["discharge_deviation_percent"] = round3(100 * u.heatDev)
		ev["discharge_heat_w"] = round3(u.heatW)
		ev["voltage_point"] = u.heatPoint
	}
	if why != "" {
		ev["trigger"] = why
	}
	if len(also) > 0 {
		ev["corroborated_by"] = strings.Join(also, ", ")
	}
	switch {
	case st == StateCleared:
		msg = u.subject + ": runaway evidence gone"
	case why == "rise" && s != nil:
		msg = fmt.Sprintf("%s rose %.1f °C more than its neighbours explain, now %.1f °C above them", u.subject, s.cusum, s.x)
	case why == "rising at rest" && s != nil:
		msg = fmt.Sprintf("%s rose %.1f °C above its neighbours in %s with its string at rest and the room steady", u.subject, s.qrise, durText(0, int64(d.cfg.QuietWindow)))
	case why == "accelerating" && s != nil:
		msg = fmt.Sprintf("%s heating faster and faster: %.1f °C/min above its %s", u.subject, s.rate, s.refKind)
	case why == "hot and still heating with no discharge" && s != nil:
		msg = fmt.Sprintf("%s at %.0f °C and still heating %.1f °C/min with no discharge to explain it", u.subject, s.last, s.lrate)
	case why == "heating fast with no discharge" && s != nil:
		msg = fmt.Sprintf("%s heating %.1f °C/min with no discharge and no room change to explain it", u.subject, s.lrate)
	case why == "heat in the string's wiring":
		if c := dev.currentOf(u); c != nil {
			msg = fmt.Sprintf("%s: about %.0f W in the string's wiring (%.2f V lost between its modules beyond the usual, at %.0f A): a loose or corroded joint",
				u.subject, c.joint.heat, c.joint.excessV, math.Abs(c.level))
		} else {
			msg = u.subject + ": " + why
		}
	case why == "far below its group under discharge":
		msg = fmt.Sprintf("%s %.1f %% below its group under discharge for minutes: about %.0f W of heat inside it",
			u.heatPoint, -100*u.heatDev, u.heatW)
	case why == "voltage step with the float current stepping up":
		msg = fmt.Sprintf("%s voltage %.2f %% below its group (%.0f times its noise) while the string's float current stepped up: an internal short",
			u.subject, -100*u.held, -u.heldZ)
	case why == "voltage falling against its group" || why == "voltage step":
		msg = fmt.Sprintf("%s voltage %.2f %% below its group for minutes at rest (%.0f times its noise): %s",
			u.subject, -100*u.held, -u.heldZ, why)
	case why == "self-heating" && s != nil:
		msg = fmt.Sprintf("%s at %.0f °C and still rising: self-heating", u.subject, s.last)
	case why == "fast rise" || why == "fast rise with voltage drop" || why == "fast rise above the temperature limit":
		msg = fmt.Sprintf("%s rising %.1f °C/s: %s", u.subject, u.fastRate, why)
	default:
		msg = u.subject + ": " + why
	}
	if len(also) > 0 && st != StateCleared {
		msg += "; with " + strings.Join(also, ", ")
	}
	d.emit(dev, &u.runaway, st, l, now, msg, ev)
}

// fastRule applies the GB 38031-2025 rule at sample time t: a rise of at
// least FastRate sustained longer than FastHold is critical with a voltage
// drop or above the over-temperature limit, and a warning otherwise.
func (d *Detector) fastRule(s *sensor, t int64) {
	u := s.unit
	if u == nil {
		return
	}
	cfg := &d.cfg
	span := float64(s.lastT-s.runStart) / 1e9
	rate := (s.last - s.runStartV) / span
	lvl, why := warning, "fast rise"
	if s.last >= cfg.OverTempWarning {
		lvl, why = critical, "fast rise above the temperature limit"
	}
	for _, v := range u.volts {
		if v.hasLast && v.prevLast > 0 && v.last/v.prevLast-1 <= -cfg.VoltageDrop {
			lvl, why = critical, "fast rise with voltage drop"
		}
	}
	if lvl < u.fastLvl && u.fastUntil >= t {
		return
	}
	u.fastUntil, u.fastLvl, u.fastRate, u.fastWhy = t+int64(5*time.Minute), lvl, rate, why
	target := maxLevel(lvl, u.runaway.lvl)
	if st, l := u.runaway.step(t, target, cfg.Confirm, 3*cfg.Clear, warning); st != "" {
		d.emitRunaway(s.dev, u, st, l, t, why, s, 0, 0, nil, d.room)
	}
}
