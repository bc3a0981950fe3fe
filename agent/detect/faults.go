package detect

import (
	"fmt"
	"time"
)

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
	case s.pending && s.info.role != roleGas && sentinel(s.pend) && s.pendN >= 3:
		return warning, "stuck at a sentinel value"
	case within(s.glitchT, now, cfg.Clear):
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
