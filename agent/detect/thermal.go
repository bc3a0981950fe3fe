package detect

import (
	"math"
	"time"
)

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
		s.settleUntil, s.backAt = now+int64(cfg.Settle), now
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
		// judged on the samples since the step, which a noisy sensor's
		// newest sample alone would not tell: their mean against the
		// smoothed level before it (the jump from one sample to the next
		// is off by the noise of both) and against the sample it jumped
		// from (the level lags a sensor that was heating, and would take
		// that heat for part of the step), and their trend
		post := s.stepPost.mean()
		h := post - s.stepLvl
		climb := s.med - (s.stepBase + s.stepJ)
		if rate, ok := s.stepPost.slope(); ok {
			climb = rate * 45
		}
		if s.hasMed && h >= 0.7*s.stepJ && post >= s.stepBase+0.7*s.stepJ && climb <= d.cfg.StepJump {
			// the step stayed, and stayed put: an offset, not heat (a
			// sensor still climbing past it is heating fast)
			h = math.Min(h, s.stepJ+d.cfg.StepJump)
			s.cusum = math.Max(0, s.cusum-h)
			s.stepSum += h
			s.glitch(s.stepT, s.stepLvl+h, s.stepLvl, "step", cfg.ErraticFade)
		}
		s.stepT = 0
	}
	s.prevX, s.prevRef, s.x, s.ref, s.refKind, s.hasX, s.broken = x, ref, x, ref, kind, true, false
	s.prevLvl, s.few = s.level, few
}

// updateQuiet records, once a minute, the rise of s above its reference
// (its neighbours, or the room) and of its own level (offset steps taken
// out) over Config.QuietWindow: the lesser of the two, when every minute
// of the window is valid and s is still at the top of it and rising (0
// otherwise). A sensor settling, or with a glitch or a step under watch
// within the window, has none, nor has one of a module a probe of which
// went silent or came back within the window.
func (d *Detector) updateQuiet(s *sensor, now int64) {
	cfg := &d.cfg
	w := int(cfg.QuietWindow / time.Minute)
	ok := s.hasX && (s.refKind == refNeighbours || s.refKind == refRoom) && now >= s.settleUntil && s.stepT == 0 &&
		(s.glitchT == 0 || now-s.glitchT >= int64(cfg.QuietWindow))
	s.qx.push(s.x, ok)
	s.qlvl.push(s.level-s.stepSum, ok)
	s.qraw.push(s.minSum/float64(max(1, s.minN)), ok && s.minN > 0)
	s.minSum, s.minN = 0, 0
	s.qrise, s.refQuiet = 0, false
	if !ok || (s.unit != nil && within(s.unit.probesChanged, now, cfg.QuietWindow)) {
		// (a probe of the module went silent or came back within the
		// window: what its reading stands for changed)
		return
	}
	if s.few && s.refKind == refNeighbours {
		// the reference, level less x, minute by minute (less the offset
		// steps taken out, which stay put within a valid window)
		lo, hi := math.Inf(1), math.Inf(-1)
		s.refQuiet = true
		for k := 0; k <= w; k++ {
			x, okX := s.qx.at(k)
			l, okL := s.qlvl.at(k)
			if !okX || !okL {
				s.refQuiet = false
				break
			}
			lo, hi = math.Min(lo, l-x), math.Max(hi, l-x)
		}
		// the reference steady within half the rise that is a warning
		s.refQuiet = s.refQuiet && hi-lo <= math.Min(cfg.QuietSpan, cfg.QuietRise/2)
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

// conducted takes out of the rise at rest of each sensor in sc what a
// module of its string standing well above it and cooling down (a warm
// module just fitted) may have given it by conduction: heat flows from
// the hotter to the cooler, and a module takes from its neighbour no
// more than that neighbour loses, so a rise within the fall of such a
// module over the window is not heat of its own.
func (d *Detector) conducted(dev *device, sc []ranked) {
	w := int(d.cfg.QuietWindow / time.Minute)
	for _, e := range sc {
		s := e.s
		if s.qrise <= 0 || s.unit == nil {
			continue
		}
		fall := 0.0
		for _, f := range sc {
			o := f.s
			if o.unit == nil || o.unit == s.unit || !o.hasX || o.x-s.x < conductAbove {
				continue
			}
			if len(dev.strands) > 1 && dev.strandOf(o.unit) != dev.strandOf(s.unit) {
				continue
			}
			if _, hi, ok := o.xmin.span(w); ok {
				fall = math.Max(fall, hi-o.x)
			}
		}
		s.qrise = math.Max(0, s.qrise-fall)
	}
}

// conductAbove is how far (°C) above a module another must stand for
// its cooling to count as heat conducted into it.
const conductAbove = 2.0

// quietOffsetShare is the share of its offset from its neighbours by
// which a module may rise at rest without that counting (its outside
// heat source changing).
const quietOffsetShare = 0.3

// quietDecel is the least share of the rise of the five minutes before
// that the last five minutes must hold: heat building up at a thermistor
// between cells rises steadily or faster, an offset step reaching it
// through the thermistor's lag slows down (by e^-1 over one time
// constant).
const quietDecel = 0.5

// windowRise is the newest value of h above the lowest of the newest w+1
// minutes, all of which must be valid, when the newest is within 0.1 of
// the highest of them, the last five minutes hold at least a sixth of
// the rise (and 0.1) and half the rise of the five before, and the
// minutes before the last ten at least a quarter of it, or 0.1 with each
// of the last two five-minute spans rising more than the one before:
// heat reaching a thermistor between cells builds up over many minutes
// and is still building (self-heating faster and faster), a step
// (smoothed over a minute or two, or through a thermistor's lag) is
// not. A sensor not rising 0.1 in five minutes (nearly all of them,
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
	r5, r := v0-v5, v0-lo
	// building over many minutes: a quarter of the rise before the last
	// ten, or a rise that began before them and grew faster in each of
	// the last two five-minute spans (self-heating accelerates; a step
	// through a thermistor's lag slows down once it is under way)
	building := 4*(v10-lo) >= r || (v10-lo >= 0.1 && v5-v10 >= math.Max(0.1, r/6) && r5 >= v5-v10)
	if v0 < hi-0.1 || r5 < math.Max(0.1, r/6) || !building || r5 < quietDecel*(v5-v10) {
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
// the room (when known) steady within QuietSpan over QuietWindow (quiet);
// and whether it is at rest with the room steady or unknown, whatever its
// median temperature does (roomQuiet: a lone module is that median, and
// one of two or three moves it).
func (d *Detector) atRest(dev *device, now int64, hasI, load, ambOK bool) (quiet, roomQuiet bool) {
	cfg := &d.cfg
	if cfg.QuietRise <= 0 || !hasI || load {
		return false, false
	}
	for _, t := range []int64{dev.lastDischarge, dev.lastCharge} {
		if within(t, now, 2*time.Hour) {
			return false, false
		}
	}
	w := int(cfg.QuietWindow / time.Minute)
	// the modules filter the room over an hour or more: an air
	// conditioner cycling every quarter hour does not reach them, a
	// drift of the room's quarter-hour mean does
	roomQuiet = true
	if ambOK {
		lo, hi, ok := dev.ambMin.meanSpan(w, roomSmooth)
		roomQuiet = ok && hi-lo <= cfg.QuietSpan
	}
	lo, hi, ok := dev.cmMin.fullSpan(w)
	quiet = ok && hi-lo <= cfg.QuietSpan && roomQuiet
	return quiet, roomQuiet
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

// settleLonger keeps s settling, a minute at a time, while it still
// climbs towards its module's temperature after a gap or a swap: its rate
// of rise (lrate, once a minute) falling from one minute to the next, as a
// thermistor's does when it nears the temperature around it (heat that
// builds does not fall). Settling ends half an hour after it began at the
// latest.
func settleLonger(s *sensor, now int64) {
	if s.backAt != 0 && now+int64(time.Minute) >= s.settleUntil && now-s.backAt < int64(30*time.Minute) &&
		s.lrate >= 0.2 && s.lrate < s.prevLrate {
		s.settleUntil = now + int64(time.Minute)
	}
	s.prevLrate = s.lrate
}
