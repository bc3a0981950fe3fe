package detect

import (
	"math"
	"slices"
	"time"
)

// strand is one string's trend over hours: its float current and its
// common-mode temperature above the room (stringTrend).
type strand struct {
	cur     *sensor // the string's current; nil for a device reporting none
	subject string  // battery, battery.string.S
	// the float current, averaged over a day at rest (following a lower
	// one at once), and whether it climbs
	hasFloat   bool
	floatBase  float64
	floatClimb bool
	warm       float64 // common-mode warming over five hours, °C
	// cmBase is the string's median temperature above the room, averaged
	// over a day with no load
	cmBase    float64
	hasCmBase bool
	slotLoad  bool
	loadSlots int       // slots since the last with a load (for gaps: see trendSlope)
	tenI      history   // ten-minute string current
	tenE      history   // ten-minute median temperature of its modules minus room
	tenV      history   // ten-minute string terminal voltage
	temps     []float64 // this tick's temperatures of its modules (several strings)
}

// rank orders strands by how much they stand out: a float current
// climbing as the string warms, climbing, warming, neither.
func (st *strand) rank(cfg *Config) int {
	switch {
	case st == nil:
		return 0
	case st.floatClimb && st.warm >= cfg.StringWarm:
		return 3
	case st.floatClimb:
		return 2
	case st.warm >= cfg.StringWarm:
		return 1
	}
	return 0
}

// strandOf returns the trend of u's string: that of its current, or the
// whole device's when it reports no current; nil when u is in none.
func (dev *device) strandOf(u *unit) *strand {
	if c := dev.currentOf(u); c != nil {
		return c.strand
	}
	if len(dev.strands) == 1 && dev.strands[0].cur == nil {
		return dev.strands[0]
	}
	return nil
}

// stringTrends follows the trend of each of dev's strings (see
// stringTrend) and notes the one standing out most. all is the tick's
// battery temperatures, sorted: a device's one string has them all; with
// several, each has those of its own modules.
func (d *Detector) stringTrends(dev *device, now int64, load bool, all []float64, r room) {
	if d.newTen {
		dev.tenA.push(r.amb, r.ambOK)
	}
	if len(dev.strands) == 0 {
		dev.strands = append(dev.strands, &strand{subject: "battery"})
	}
	dev.worst = nil
	for _, st := range dev.strands {
		temps := all
		if len(dev.strands) > 1 {
			slices.Sort(st.temps)
			temps = st.temps
		}
		d.stringTrend(dev, st, now, load, temps, r)
		st.temps = st.temps[:0]
		if dev.worst == nil || st.rank(&d.cfg) > dev.worst.rank(&d.cfg) {
			dev.worst = st
		}
	}
}

// stringTrend follows, every ten minutes, a string's float current and
// its common-mode temperature above the room (the median of temps, its
// modules' temperatures, sorted), and notes a float current climbing at
// the voltage the charger holds (VRLA thermal runaway, IEEE 1491) and a
// string warming with no load and a steady room, over the last five
// hours.
func (d *Detector) stringTrend(dev *device, st *strand, now int64, load bool, temps []float64, r room) {
	cfg := &d.cfg
	cm, cmOK := 0.0, len(temps) > 0 && r.ambOK
	if cmOK {
		cm = median(temps) - r.amb
	}
	I, hasI := 0.0, false
	if c := st.cur; c != nil && c.valid(now, int64(cfg.StaleAfter)) {
		I, hasI = c.level, true
	}
	if load {
		st.slotLoad = true
	}
	sv, svOK := 0.0, false
	if c := st.cur; c != nil {
		sv, svOK = d.terminal(c, now)
	}
	if d.newTen {
		st.tenI.push(I, hasI && !st.slotLoad)
		st.tenE.push(cm, cmOK && !st.slotLoad)
		st.tenV.push(sv, svOK && !st.slotLoad)
		st.loadSlots++
		if st.slotLoad {
			st.loadSlots = 0
		}
		st.slotLoad = false
	}
	quiet := dev.noDischargeFor(now, 2*time.Hour)
	dt := float64(cfg.Tick) / 1e9
	const n = 30 // five hours of ten-minute slots
	// the charger raised the string's voltage within the window (an
	// equalising or top-up charge) and drives the current up itself: a
	// VRLA runaway climbs at the float voltage the charger holds
	chargerUp := svOK && raised(&st.tenV, 0, n, sv)
	if chargerUp {
		// the charger raised the string's voltage (an equalising or
		// top-up charge): the float current of the voltage before is no
		// baseline for the current at this one, which is learnt anew
		st.hasFloat = false
	}
	if hasI && quiet && !load && I >= 0 {
		// the float current, following a lower one at once
		if st.hasFloat && I < st.floatBase {
			st.floatBase = I
		}
		dayAverage(&st.floatBase, &st.hasFloat, I, dt)
	}
	if cmOK && !load {
		// the string's usual place relative to the room
		dayAverage(&st.cmBase, &st.hasCmBase, cm, dt)
	}
	st.floatClimb, st.warm = false, 0
	if e, ok := st.trendSlope(&st.tenE, n); ok {
		// whatever the room did over the window may explain as much
		lo, hi, okA := dev.tenA.span(n)
		if r.ambOK {
			// up to now: a room falling back since the last slot leaves
			// the string warmer than the room, and explains it
			lo, hi = math.Min(lo, r.amb), math.Max(hi, r.amb)
		}
		if okA && hi-lo < cfg.StringRoomSpan {
			st.warm = float64(e*n) - (hi - lo)
			// a string catching up with a room that stepped up (an air
			// conditioner failed and stayed off) warms towards its usual
			// place: only warming beyond that place counts
			switch {
			case !cmOK:
				// the room unknown now (its probe in a gap): no place to
				// measure the string against
				st.warm = 0
			case st.hasCmBase:
				st.warm = math.Min(st.warm, cm-st.cmBase)
			}
		}
	}
	if i, ok := st.trendSlope(&st.tenI, n); ok && hasI && st.hasFloat && quiet {
		rise := float64(i * n)
		st.floatClimb = rise >= math.Max(cfg.FloatMin, 0.5*st.floatBase) && I >= cfg.FloatRatio*st.floatBase
		if chargerUp {
			st.floatClimb = false
		}
	}
	if within(dev.back.tempGap, now, n*10*time.Minute) {
		// a module swapped in within the window charges, and may come in
		// warmer than the one it replaced: neither is the string's trend
		st.floatClimb, st.warm = false, 0
	}
}

// trendSlope is the least-squares slope of the newest n+1 slots of h, a
// string's ten-minute history. A slot with a load in it is no float and
// no rest: with one in the window there is no trend. A slot missing for
// want of data (a room probe or a current reading nan or silent for a
// while) leaves a gap: the trend is fitted over the slots there are, when
// they are three quarters of the window at least, including the newest
// and one of the oldest three.
func (st *strand) trendSlope(h *history, n int) (float64, bool) {
	if st.loadSlots <= n {
		return h.slope(n)
	}
	return h.slopeGaps(n, (3*(n+1)+3)/4)
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
	quiet := dev.noDischargeFor(now, 2*time.Hour)
	steady := !r.ambOK || r.ambRise < cfg.AmbientRiseAdvisory/2
	// a module voltage back from a gap within the hour (a module swapped
	// or reconnected) explains a charge current: its module charges
	if within(dev.back.volt, now, time.Hour) {
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
			s.joint.svMin.push(d.terminal(s, now))
		}
		if newMin {
			d.floatBase(s)
		}
		s.iStep, s.iJump = 0, 0
		if !ok || !quiet || !steady || s.level < -cfg.FloatStep || !s.iBaseOK || s.iBase >= cfg.LoadCurrent/2 {
			continue
		}
		if d.chargerRaised(s, now) {
			// the charger raised the voltage and drives the current up
			// itself: a short draws it at the voltage the charger holds
			continue
		}
		if s.level >= cfg.LoadCurrent {
			feeding = true
		}
		if j := s.level - s.iBase; j >= d.bigStep(s) && s.minute.n > 20 {
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

// chargerRise is how far (relative) a string's terminal voltage may stand
// above its lowest of the window before (the half hour before a step of
// its current, the five hours of a float climb) for the current to be
// taken for cells drawing it: a float charger holds the voltage.
const chargerRise = 0.01

// chargerRaised reports whether the terminal voltage of the string of
// current c stands more than chargerRise above its lowest of the minutes
// 4 to 30 before: the charger raised its voltage (an equalising or top-up
// charge) and drives the current up itself, where a cell drained by a
// short draws it at the voltage the charger holds. With no terminal
// voltage it cannot tell and reports false.
func (d *Detector) chargerRaised(c *sensor, now int64) bool {
	sv, ok := d.terminal(c, now)
	return ok && raised(&c.joint.svMin, 4, 30, sv)
}

// raised reports whether the voltage v stands more than chargerRise above
// the lowest valid value of the slots k0 to k1 of h.
func raised(h *history, k0, k1 int, v float64) bool {
	lo, found := 0.0, false
	for k := k0; k <= k1; k++ {
		if x, ok := h.at(k); ok && (!found || x < lo) {
			lo, found = x, true
		}
	}
	return found && lo > 0 && v > lo*(1+chargerRise)
}

// terminal is the terminal voltage of the string of current c, when it
// reports a valid one.
func (d *Detector) terminal(c *sensor, now int64) (float64, bool) {
	if sv := c.joint.sv; sv != nil && sv.valid(now, int64(d.cfg.StaleAfter)) {
		return sv.level, true
	}
	return 0, false
}

// bigStep is the rise of the string current c at float that is large on
// its own: five times Config.FloatStep or four times its noise, whichever
// is more.
func (d *Detector) bigStep(c *sensor) float64 {
	return 5 * math.Max(d.cfg.FloatStep, 4*c.iNoise)
}

// within reports whether the time t (0: never) is less than d before now.
func within(t, now int64, d time.Duration) bool {
	return t != 0 && now-t < int64(d)
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
	return within(dev.lastCharge, now, 2*time.Hour)
}

// dayAverage moves *avg towards v, sampled every dt seconds, as an
// exponential average over a day; the first value starts it.
func dayAverage(avg *float64, has *bool, v, dt float64) {
	if !*has {
		*avg, *has = v, true
		return
	}
	*avg = *avg + float64(dt/(24*3600+dt)*(v-*avg))
}

// noDischargeFor reports whether the string of dev has not discharged at
// LoadCurrent for at least d (or never).
func (dev *device) noDischargeFor(now int64, d time.Duration) bool {
	return dev.lastDischarge == 0 || now-dev.lastDischarge > int64(d)
}
