package detect

import "math"

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

// updateDeviation follows the relative deviation of a voltage from its
// group's median, and its long-run offset.
func (d *Detector) updateDeviation(s *sensor, now int64, dv float64, recentLoad, newMin bool) {
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
