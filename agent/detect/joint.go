package detect

import (
	"math"
	"strings"
)

// jointState follows the wiring of one string: the voltage lost between
// its modules (the sum of the module voltages minus the string's
// terminal voltage). At rest that is the two meters' offset; under load
// the rest of it, divided by the current, is the wiring's resistance,
// and the excess of that resistance over its baseline times the current
// squared is heat in a joint.
type jointState struct {
	hasOff  bool
	off     float64 // offset at rest, V
	noise   float64 // mean minute-to-minute change at rest, V
	prevD   float64
	hasPrev bool
	hasBase bool
	rBase   float64 // baseline resistance under load, Ω
	rMin    history // per minute under load: the resistance
	heat    float64 // excess heat held three minutes, W (0: none)
	excessV float64 // and the excess voltage behind it
	modules int     // module voltages summed
}

// joints follows the wiring of every string of dev that reports its
// current, its terminal voltage and every module voltage; it returns the
// current sensor of the string with the most heat in its wiring.
func (d *Detector) joints(dev *device, now int64, newMin bool) *sensor {
	cfg := &d.cfg
	stale := int64(cfg.StaleAfter)
	var worst *sensor
	for _, c := range dev.list {
		if c.info.role != roleCurrent {
			continue
		}
		j := &c.joint
		j.heat, j.excessV = 0, 0
		sv := dev.sensors[c.info.subject+".voltage"]
		if sv == nil || !sv.valid(now, stale) || !c.valid(now, stale) {
			continue
		}
		// the string's module voltages: subject S.module.N, point
		// S.module.N.voltage (no cell voltages)
		prefix := "battery.module."
		if c.info.subject != "battery" {
			prefix = c.info.subject + ".module."
		}
		sum, n, all := 0.0, 0, true
		for _, u := range dev.units {
			if !strings.HasPrefix(u.subject, prefix) {
				continue
			}
			for _, v := range u.volts {
				if v.point != u.subject+".voltage" {
					continue
				}
				if !v.valid(now, stale) {
					all = false
				}
				sum += v.level
				n++
			}
		}
		if !all || n < 2 {
			continue
		}
		if n != j.modules {
			// a module more or less: start again
			*j = jointState{modules: n}
		}
		dv := sum - sv.level
		I := c.level
		if math.Abs(I) < cfg.LoadCurrent {
			if newMin && math.Abs(I) < cfg.LoadCurrent/2 {
				if !j.hasOff {
					j.off, j.hasOff = dv, true
				} else {
					if j.hasPrev {
						j.noise += (math.Abs(dv-j.prevD) - j.noise) / 60
					}
					j.off += (dv - j.off) / 60
				}
				j.prevD, j.hasPrev = dv, true
			}
			if newMin {
				j.rMin.push(0, false)
			}
			continue
		}
		if !j.hasOff {
			continue
		}
		r := (dv - j.off) / -I
		if newMin {
			j.rMin.push(r, true)
			switch {
			case !j.hasBase:
				j.rBase, j.hasBase = r, true
			case r < j.rBase:
				j.rBase += (r - j.rBase) / 5
			default:
				j.rBase += (r - j.rBase) / 600
			}
		}
		held, ok := r, true
		for k := 0; k < 3 && ok; k++ {
			var v float64
			if v, ok = j.rMin.at(k); ok {
				held = math.Min(held, v)
			}
		}
		if !ok || !j.hasBase {
			continue
		}
		ex := (held - j.rBase) * math.Abs(I)
		// the excess must stand well clear of the meters' noise
		if ex <= 0 || ex < 5*math.Max(j.noise, 0.05) {
			continue
		}
		j.heat, j.excessV = ex*math.Abs(I), ex
		if worst == nil || j.heat > worst.joint.heat {
			worst = c
		}
	}
	return worst
}
