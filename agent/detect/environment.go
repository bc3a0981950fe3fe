package detect

import (
	"fmt"
	"slices"
	"time"
)

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
