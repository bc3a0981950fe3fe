package detect

import (
	"cmp"
	"fmt"
	"math"
	"strings"
	"time"
)

// afterDischarge is how long after a discharge heat is still taken as
// its Joule heat reaching the thermistors: their lag behind the cells
// (time constants of one to four minutes) several times over.
const afterDischarge = 20 * time.Minute

// noiseBars returns the factor k by which the noise of s scales the
// rise thresholds up (1 for a quiet sensor), and the rise at rest that
// is a warning for s: quiet_rise so scaled, plus quiet_noise_z times the
// noise of its smoothed temperature (how far that noise wanders over the
// window, which a rise must pass).
func (d *Detector) noiseBars(s *sensor) (k, quietBar float64) {
	cfg := &d.cfg
	k = 1.0
	noise := s.noiseLevel(float64(cfg.Smoothing) / 1e9)
	if nz := float64(cfg.RiseNoiseZ * noise); nz > cfg.RiseWarning {
		k = nz / cfg.RiseWarning
	}
	return k, float64(k*cfg.QuietRise) + float64(cfg.QuietNoiseZ*noise)
}

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
		hotNow := false // judged on how hot it is, not only on how it moves
		switch {
		case s.last >= cfg.RunawayTemp && s.lrate > 0.5:
			l, w, hotNow = critical, "self-heating", true
		case noLoad && s.last >= cfg.OverTempCritical && s.lrate >= 0.2:
			l, w, hotNow = critical, "hot and still heating with no discharge", true
		case noLoad && s.last >= cfg.OverTempWarning && s.lrate >= 0.2:
			l, w, hotNow = warning, "hot and still heating with no discharge", true
		case noLoad && now >= s.settleUntil && s.lrate-math.Max(0, r.ambRate) >= cfg.ChargeRate:
			l, w = warning, "heating fast with no discharge"
		}
		if !s.hasX {
			if best == nil || l > th {
				th, why, best = l, w, s
			}
			continue
		}
		// a noisy thermistor needs a rise beyond its own noise
		k, quietBar := d.noiseBars(s)
		switch {
		case s.refKind == refNeighbours:
			switch {
			case s.cusum >= float64(k*cfg.RiseCritical) && l < critical:
				l, w = critical, "rise"
			case s.cusum >= float64(k*cfg.RiseWarning) && l < warning:
				l, w = warning, "rise"
			case (dev.quiet || (dev.roomQuiet && s.refQuiet)) && s.qrise >= quietBar && l < warning:
				l, w = warning, "rising at rest"
			case s.cusum >= float64(k*cfg.RiseAdvisory) && l < advisory:
				l, w = advisory, "rise"
			}
		case s.refKind == refRoom && s.info.part && dev.roomQuiet && s.qrise >= quietBar && l < warning:
			// a module (or cell) with no neighbours, at rest in a steady
			// room, rising with the rise still building: nothing but heat
			// inside it or against it does that (one coming in cold warms
			// towards the room ever more slowly, and from below it). A
			// pack temperature is not judged so: the electronics around it
			// heat with the load they carry.
			l, w = warning, "rising at rest"
		}
		if s.accel && l < warning {
			l, w = warning, "accelerating"
		}
		if l > advisory && !hotNow && s.erratic(now, cfg) {
			// a sensor glitching again and again: how it moves is no
			// more than an advisory
			l = advisory
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
	sag, drop, held, z, fastHeld, fastZ, worst, low := 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0
	var wv *sensor
	for _, v := range u.volts {
		if !v.hasDev || !v.valid(now, stale) {
			continue
		}
		// a sag now that the two minutes before shared: a misreading of a
		// sample or a minute is no sag
		now0 := v.devNow - v.dev0
		for k := range 2 {
			if m, ok := v.avgMin.at(k); ok {
				now0 = math.Max(now0, m)
			}
		}
		sag = math.Min(sag, now0)
		drop = math.Min(drop, v.devNow-v.devHist[len(v.devHist)-1])
		if abs(v.devNow) > abs(worst) {
			worst, wv = v.devNow, v
		}
		low = math.Min(low, v.devFast)
		if v.sagHeld < 0 {
			held = math.Min(held, v.sagHeld)
			z = math.Min(z, v.sagHeld/math.Max(v.devMAD, voltNoiseFloor))
		}
		if (curStep > 0 || curJump) && v.sagFast < 0 && now >= v.settleUntil {
			fastHeld = math.Min(fastHeld, v.sagFast)
			fastZ = math.Min(fastZ, v.sagFast/math.Max(v.sampMAD, voltNoiseFloor))
		}
	}
	stepEv := !recentLoad && held <= -cfg.VoltageStep && z <= -cfg.VoltageStepZ
	// as corroboration of thermal evidence half the noise margin will do
	corrEv := !recentLoad && held <= -cfg.VoltageStep && z <= -cfg.VoltageStepZ/2
	shortEv := (curStep > 0 || curJump) && !recentLoad && (stepEv || (fastHeld <= -cfg.VoltageStep && fastZ <= -voltShortZ))
	if curJump && !recentLoad && !shortEv {
		// a jump of the current with a voltage well below its offset in
		// the last samples: a hard short, no time to hold for minutes
		for _, v := range u.volts {
			if !v.hasDev || !v.valid(now, stale) || now < v.settleUntil {
				continue
			}
			dv, ok := v.lastTwo()
			if !ok {
				continue
			}
			if dz := dv / math.Max(v.sampMAD, voltNoiseFloor); dv <= -4*cfg.VoltageStep && dz <= -voltJumpZ {
				shortEv, held, z = true, dv, dz
			}
		}
	}
	if shortEv && !stepEv && fastHeld < 0 {
		held, z = fastHeld, fastZ
	}
	// a float-current step no voltage can place is the string's verdict,
	// on this subject when the string has no other module
	unplaced := strWhy == whyLoneStep || strWhy == whyUnplacedStep
	// a fall is a warning once the voltage stands well below its group: a
	// module that stood above it (its string's other module just replaced
	// by one at a lower charge) and falls back towards it is no short
	fallEv := !recentLoad && held <= -cfg.VoltageFall && z <= -cfg.VoltageFallZ && low <= -cfg.VoltageFall/2
	voltEv := !recentLoad && (sag <= -cfg.VoltageSag || drop <= -cfg.VoltageDrop)
	var also []string
	if voltEv || stepEv || shortEv || (corrEv && th >= advisory) {
		also = append(also, "voltage sag")
	}
	if r.gas >= warning {
		also = append(also, "off-gas")
	}
	if st := dev.strandOf(u); st != nil && st.floatClimb {
		also = append(also, "float current climbing")
	} else if curStep > 0 && !voltEv && !stepEv && !shortEv && !unplaced {
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
	case (shortEv || unplaced) && th >= warning:
		instant = warning // the signals held for minutes already
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
			_, bar := d.noiseBars(s)
			ev["quiet_rise"] = round3(s.qrise)
			ev["quiet_rise_threshold"] = round3(bar)
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
	// the current of u's string (the device's first for a unit in none)
	uc := dev.currentOf(u)
	if c := cmp.Or(uc, dev.current); c != nil && c.hasLevel {
		ev["current"] = round3(c.level)
		if c.strand.hasFloat {
			ev["float_baseline"] = round3(c.strand.floatBase)
		}
	}
	if uc != nil && uc.iStep > 0 && st != StateCleared {
		ev["float_current_step_a"] = round3(uc.iStep)
	}
	if u.fastRate != 0 && u.fastUntil >= now {
		ev["fast_rate_c_per_s"] = round3(u.fastRate)
	}
	if uc != nil && uc.joint.heat > 0 && st != StateCleared {
		ev["joint_heat_w"] = round3(uc.joint.heat)
		ev["joint_excess_voltage"] = round3(uc.joint.excessV)
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
		ref := "its neighbours"
		if s.refKind == refRoom {
			ref = "the room"
		}
		msg = fmt.Sprintf("%s rose %.1f °C above %s in %s with its string at rest and the room steady", u.subject, s.qrise, ref, durText(0, int64(d.cfg.QuietWindow)))
	case why == "accelerating" && s != nil:
		msg = fmt.Sprintf("%s heating faster and faster: %.1f °C/min above its %s", u.subject, s.rate, s.refKind)
	case why == "hot and still heating with no discharge" && s != nil:
		msg = fmt.Sprintf("%s at %.0f °C and still heating %.1f °C/min with no discharge to explain it", u.subject, s.last, s.lrate)
	case why == "heating fast with no discharge" && s != nil:
		msg = fmt.Sprintf("%s heating %.1f °C/min with no discharge and no room change to explain it", u.subject, s.lrate)
	case why == "heat in the string's wiring":
		if uc != nil {
			msg = fmt.Sprintf("%s: about %.0f W in the string's wiring (%.2f V lost between its modules beyond the usual, at %.0f A): a loose or corroded joint",
				u.subject, uc.joint.heat, uc.joint.excessV, math.Abs(uc.level))
		} else {
			msg = u.subject + ": " + why
		}
	case why == "far below its group under discharge" && u.heatDev < -1:
		msg = fmt.Sprintf("%s below zero under discharge for minutes, driven into reversal by its string: about %.0f W of heat inside it",
			u.heatPoint, u.heatW)
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
