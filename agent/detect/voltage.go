package detect

import (
	"math"
	"slices"
)

// voltAvg is the time constant (s) over which a voltage deviation is
// averaged, and voltHold the minutes a sag must hold to count.
const (
	voltAvg  = 120
	voltHold = 4
	// voltNoiseFloor is the least noise (relative) a voltage deviation is
	// taken to have.
	voltNoiseFloor = 5e-5
	// voltShortZ is how many times its noise (the mean absolute
	// deviation of its samples) a voltage must stand below its offset,
	// in all of its samples of the last two minutes but one (at least
	// shortSamples of them), to count with a float current step or jump
	// as an internal short. Three of four samples 3.75 σ below by chance:
	// once in 10^11 windows of white noise. A slow drift within the
	// offset's two hours makes it likelier, so the string current must
	// step at rest at the same time.
	voltShortZ = 3
	// voltJumpZ is the same for its last two samples, with the current
	// jumping, when the voltage has no two minutes to hold.
	voltJumpZ = 10
	// dischargeKnee is how far (relative) a voltage group may fall from
	// the start of a discharge before, with no charge reading, low
	// modules are taken for the end of the discharge rather than heat.
	dischargeKnee = 0.05
)

// updateDeviation follows the relative deviation of a voltage from its
// group's median, and its long-run offset; sdv is its newest sample's
// deviation from its group's samples (NaN: none due, see sampleDeviation).
func (d *Detector) updateDeviation(s *sensor, now int64, dv, sdv float64, recentLoad, newMin bool) {
	if !s.hasDev {
		s.hasDev, s.dev0, s.devNow, s.devFast = true, dv, dv, dv
		for i := range s.devHist {
			s.devHist[i] = dv
		}
		s.sagMin, s.rawMin, s.avgMin = history{}, history{}, history{}
		s.rawSum, s.rawN = 0, 0
		s.sagPastOK, s.rawPastOK = false, false
		s.dev.back.volt = now
		s.sagHeld, s.sagFast, s.devMAD = 0, 0, 0
		s.sampN, s.lastSampT, s.sampMAD = 0, 0, 0
		s.settleUntil = now + int64(d.cfg.Settle)
		return
	}
	copy(s.devHist[1:], s.devHist[:len(s.devHist)-1])
	s.devHist[0] = s.devNow
	s.devNow = dv
	dt := float64(d.cfg.Tick) / 1e9
	s.devFast = s.devFast + float64(dt/(voltAvg+dt)*(dv-s.devFast))
	sag := s.devFast - s.dev0
	noiseTau := 0.0 // how the noise estimates follow, s (0: not now)
	switch {
	case now < s.settleUntil:
		// learn the noise while settling
		noiseTau = 120
		s.devMAD = s.devMAD + float64(dt/(120+dt)*(abs(dv-s.devFast)-s.devMAD))
		s.dev0 = s.devFast
		for i := range s.devHist {
			s.devHist[i] = dv
		}
		sag = 0
	case !recentLoad && sag > -d.cfg.VoltageStep/2:
		// the long-run offset follows slowly, and not into a sag under watch
		noiseTau = 3600
		s.dev0 = s.dev0 + float64(dt/(7200+dt)*(dv-s.dev0))
		s.devMAD = s.devMAD + float64(dt/(3600+dt)*(abs(dv-s.devFast)-s.devMAD))
	}
	s.rawSum += s.devNow - s.dev0
	s.rawN++
	if newMin {
		s.sagMin.push(sag, !recentLoad && now >= s.settleUntil)
		s.sagPast, s.sagPastOK = s.sagMin.maxOver(voltHold)
		// and the raw deviation's mean of each minute: a misreading of a
		// minute, which the average over minutes smears over several,
		// leaves the minutes after it clean
		s.avgMin.push(s.rawSum/float64(s.rawN), !recentLoad && now >= s.settleUntil)
		s.rawSum, s.rawN = 0, 0
		if p, ok := s.avgMin.maxOver(voltHold); ok && s.sagPastOK {
			s.sagPast = math.Max(s.sagPast, p)
		} else {
			s.sagPastOK = false
		}
		// whether the last two minutes were all at rest and settled: a
		// sag held over samples counts only then
		s.rawMin.push(s.devNow-s.dev0, !recentLoad && now >= s.settleUntil)
		_, s.rawPastOK = s.rawMin.maxOver(2)
	}
	// a sag counts once it held for voltHold minutes
	s.sagHeld = 0
	if held := math.Max(sag, s.sagPast); s.sagPastOK && held < 0 && !recentLoad {
		s.sagHeld = held
	}
	if !math.IsNaN(sdv) {
		// a new sample for the ring
		lt := s.lastT
		k := s.sampN % len(s.sampDev)
		s.sampDev[k], s.sampT[k] = sdv-s.dev0, lt
		// and its noise, which the smoothed level's (devMAD) understates
		switch e := abs(sdv - s.devFast); {
		case s.sampN == 0:
			s.sampMAD = e
		case noiseTau > 0:
			gap := float64(lt-s.lastSampT) / 1e9
			s.sampMAD += gap / (noiseTau + gap) * (e - s.sampMAD)
		}
		s.sampN++
		s.lastSampT = lt
	}
	s.sagFast = 0
	held, ok := d.sampleHeld(s, now)
	if !ok || !s.rawPastOK {
		held = 0
	}
	if held < 0 && !recentLoad {
		s.sagFast = held
	}
}

// shortHold is the span over which a voltage's samples show a sag held
// with the float current stepping, and shortSamples the fewest samples
// that may show it (more time when the voltage is polled slowly).
const (
	shortHold    int64 = 2 * 60 * 1e9
	shortSamples       = 4
)

// sampleDue reports whether voltage s has a sample for its ring: a new
// one, at most as often as the ring spans shortHold.
func (s *voltState) sampleDue(lastT int64) bool {
	return lastT != s.lastSampT && lastT-s.lastSampT >= shortHold/int64(len(s.sampDev))
}

// sampleDeviation is the relative deviation of the newest sample of
// voltage s from the median of the newest samples of the others of its
// group, part; NaN when s has no sample due for its ring. The samples
// themselves, not the smoothed levels: one misread sample smoothed into
// the next would look like two, and a move of the whole group would
// stand out of the levels until they caught up.
func (d *Detector) sampleDeviation(s *sensor, part []ranked) float64 {
	if !s.hasDev || s.nanRun > 0 || !s.sampleDue(s.lastT) {
		return math.NaN()
	}
	buf := d.rawBuf[:0]
	for _, o := range part {
		if o.s != s {
			buf = append(buf, o.s.last)
		}
	}
	d.rawBuf = buf
	if len(buf) == 0 {
		return math.NaN()
	}
	slices.Sort(buf)
	m := median(buf)
	if m == 0 {
		return math.NaN()
	}
	return s.last/m - 1
}

// sampleHeld is the deviation from the offset that the samples of
// voltage s in the last shortHold (or its last shortSamples samples, if
// that span has fewer) all stand at or below but one: a sag held through
// a sample that noise put near the group, and not made by one misread
// sample, or a minute of them, among the last two minutes'; false with
// fewer samples than shortSamples.
func (d *Detector) sampleHeld(s *sensor, now int64) (float64, bool) {
	buf := d.fbuf[2][:0]
	for k := 1; k <= min(s.sampN, len(s.sampDev)); k++ {
		i := (s.sampN - k) % len(s.sampDev)
		if k > shortSamples && now-s.sampT[i] >= shortHold {
			break
		}
		buf = append(buf, s.sampDev[i])
	}
	d.fbuf[2] = buf
	if len(buf) < shortSamples {
		return 0, false
	}
	slices.Sort(buf)
	return buf[len(buf)-2], true
}

// lastTwo is the higher deviation from the offset of the last two samples
// of voltage s: a fall both show; false before two samples.
func (s *voltState) lastTwo() (float64, bool) {
	if s.sampN < 2 {
		return 0, false
	}
	n := len(s.sampDev)
	return math.Max(s.sampDev[(s.sampN-1)%n], s.sampDev[(s.sampN-2)%n]), true
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
		if v.info.volt == voltCellAvg && c.joint.cells > 0 {
			// a module's mean cell voltage: the module's is that many times it
			med *= c.joint.cells
		}
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
