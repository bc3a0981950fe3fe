package detect

import (
	"math"
	"time"
)

// jointState follows the wiring of one string: the voltage lost between
// its modules (the sum of the module voltages minus the string's
// terminal voltage, from the same poll). At rest that is the meters'
// offset; under load the rest of it is the wiring's drop, and what it
// exceeds the drop of the wiring's baseline resistance by, times the
// current, is heat in a joint.
type jointState struct {
	sv        *sensor   // the string's terminal voltage
	looked    int       // points of the device when sv was looked up
	prefixes  [2]string // S.module. and S.cell.
	seq       uint64    // the device's voltage sample count when last looked at
	modules   int       // module voltages summed
	kind      voltKind  // and what they measure
	cells     float64   // cells a module has, for mean cell voltages (0: not known yet)
	cellsSeen float64   // the count the last polls at rest gave, and in how many in a row
	cellsN    int
	lastPoll  int64 // time of the module poll last used
	// pollV is the string's voltage at the module polls last seen
	pollV      [8]timed
	nPollV     int
	hasOff     bool
	off        float64 // offset at rest, V
	noise      float64 // mean change from poll to poll at rest, V
	prevD      float64
	hasPrev    bool
	polls      int       // polls under load seen
	learnUntil int64     // end of the baseline's learning
	num, den   float64   // Σ loss·(-I) and Σ I², decaying: the baseline resistance is num/den
	ex         [32]timed // excess voltage of the recent polls under load
	nex        int
	heat       float64 // excess heat held for minutes, W (0: none)
	excessV    float64 // and the excess voltage behind it
	// svMin is sv's level each minute, for the float-step rule (see
	// Detector.chargerRaised)
	svMin history
}

// jointHold is how long the excess must hold, and jointPolls the least
// number of polls over it.
const (
	jointHold  = 2 * time.Minute
	jointPolls = 3
	// jointLearn is how long the first load learns the wiring's baseline.
	jointLearn = 2 * time.Minute
	// jointCover is how far (relative) the module voltages summed may
	// stand from the string's terminal voltage at rest: meter offsets.
	jointCover = 0.05
	// jointMisread is how far (relative) they may stand from it in any
	// poll: beyond, a voltage was misread (the wiring of a sound string
	// drops a few per cent under load at most).
	jointMisread = 0.25
)

// joints follows the wiring of every string of dev that reports its
// current, its terminal voltage and every module voltage (with none,
// every cell voltage; with none, every module's mean cell voltage) (with
// one module, the wiring is that between it and the string's
// terminals); it returns the
// current sensor of the string with the most heat in its wiring.
func (d *Detector) joints(dev *device, now int64) *sensor {
	cfg := &d.cfg
	stale := int64(cfg.StaleAfter)
	var worst *sensor
	for _, c := range dev.currents {
		j := c.joint
		if j.sv == nil && j.looked != len(dev.list) {
			// looked up again only when the device has new points
			j.looked = len(dev.list)
			j.sv = dev.sensors[c.info.subject+".voltage"]
			j.prefixes = [2]string{c.info.subject + ".module.", c.info.subject + ".cell."}
		}
		sv := j.sv
		if sv == nil || !sv.valid(now, stale) || !c.valid(now, stale) {
			j.heat, j.excessV = 0, 0
			continue
		}
		d.joint(dev, c, sv, j, now)
		if j.heat > 0 && (worst == nil || j.heat > worst.joint.heat) {
			worst = c
		}
	}
	return worst
}

// each calls f for every voltage of kind under j's prefix k (0: modules,
// 1: cells) in dev.
func (j *jointState) each(dev *device, k int, kind voltKind, f func(v *sensor)) {
	prefix := j.prefixes[k]
	for _, u := range dev.units {
		if len(u.subject) <= len(prefix) || u.subject[:len(prefix)] != prefix {
			continue
		}
		for _, v := range u.volts {
			if v.info.volt == kind {
				f(v)
			}
		}
	}
}

// voltAt is the string's voltage at the module poll of time t, when one
// of the polls j remembers was then, within span.
func (j *jointState) voltAt(t, span int64) (float64, bool) {
	for k := range min(j.nPollV, len(j.pollV)) {
		if e := j.pollV[k]; abs(float64(e.t-t)) <= float64(span) {
			return e.v, true
		}
	}
	return 0, false
}

// joint takes the newest module poll of string c into j.
func (d *Detector) joint(dev *device, c, sv *sensor, j *jointState, now int64) {
	cfg := &d.cfg
	stale := int64(cfg.StaleAfter)
	if dev.voltSeq == j.seq {
		return // no voltage sampled since: keep the last verdict
	}
	j.seq = dev.voltSeq
	// the string's voltages that add up to it, all from one poll: its
	// module voltages (S.module.N.voltage); with none, its cells
	// (S.cell.N.voltage, S.module.N.cell.M.voltage); with none of those,
	// its modules' mean cell voltages, times the cells a module has. Read
	// one by one, a poll's samples lie up to a sensor's span apart.
	//
	// A voltage one or a few polls old (its sample lost on the bus) is
	// brought up to the poll by the string voltage's change since: a
	// module's voltage follows its string's. With more than one in ten of
	// them old (one, in strings of four to nineteen), or any in a string
	// of fewer than four, the poll is no whole poll.
	n, ok, kind, pre := 0, true, voltWhole, 0
	var last, first int64
	for _, want := range [...]struct {
		prefix int
		kind   voltKind
	}{{0, voltWhole}, {1, voltWhole}, {0, voltCell}, {0, voltCellAvg}} {
		j.each(dev, want.prefix, want.kind, func(v *sensor) {
			if !v.valid(now, stale) {
				ok = false
			}
			last = max(last, v.lastT)
			n++
		})
		if n > 0 {
			kind, pre = want.kind, want.prefix
			break
		}
	}
	if !ok {
		j.heat, j.excessV = 0, 0
		return
	}
	if n == 0 || last <= j.lastPoll {
		return // no new poll: keep the last verdict
	}
	sum, old, whole := 0.0, 0, true
	lo, hi := math.Inf(1), math.Inf(-1)
	svLast, okLast := sv.at(last)
	if okLast {
		j.pollV[j.nPollV%len(j.pollV)] = timed{last, svLast}
		j.nPollV++
	}
	j.each(dev, pre, kind, func(v *sensor) {
		x := v.last
		if last-v.lastT > v.span() {
			then, okThen := j.voltAt(v.lastT, v.span())
			if !okLast || !okThen || then <= 0 {
				whole = false
				return
			}
			x = float64(x * (svLast / then)) // rounded: no fused multiply-add into the sum
			old++
		} else if first == 0 || v.lastT < first {
			first = v.lastT
		}
		sum += x
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	})
	if !whole || old > 0 && (n < 4 || old > max(1, n/10)) {
		return // no whole poll: keep the last verdict
	}
	if first < last {
		// read one by one: a poll the load changed during is no measure
		// of the wiring (its first modules read before the change, the
		// rest after), and would teach it a wrong baseline
		if sw := c.swing(first, last); sw > math.Max(cfg.LoadCurrent/2, 0.05*math.Abs(c.last)) {
			j.lastPoll = last
			return
		}
	}
	if mean := sum / float64(n); lo < 0.5*mean || hi > 1.5*mean {
		// a module or cell misread (0 V, a garbled register): this poll
		// is no measure of the wiring, and would teach it a wrong baseline
		j.lastPoll = last
		return
	}
	if n != j.modules || kind != j.kind {
		// a module more or less: start again
		*j = jointState{sv: j.sv, looked: j.looked, prefixes: j.prefixes, seq: j.seq, modules: n, kind: kind,
			pollV: j.pollV, nPollV: j.nPollV}
	}
	j.lastPoll = last
	V, okV := sv.at(last)
	I, okI := c.at(last)
	if !okV || !okI {
		return
	}
	if kind == voltCellAvg {
		if j.cells == 0 && math.Abs(I) < cfg.LoadCurrent/2 && sum > 0 {
			// the cells a module has, from the string's voltage at rest,
			// the same in three polls in a row
			if k := math.Round(V / sum); k >= 1 && k == j.cellsSeen {
				j.cellsN++
			} else {
				j.cellsSeen, j.cellsN = k, 1
			}
			if j.cellsN >= 3 {
				j.cells = j.cellsSeen
			}
		}
		if j.cells < 1 {
			return
		}
		sum = float64(sum * j.cells)
	}
	if math.Abs(sum-V) > jointMisread*math.Abs(V) {
		// a module or cell misread (0 V, a garbled register) that the
		// check against the mean could not see (one or two modules)
		return
	}
	D := sum - V
	if math.Abs(I) < cfg.LoadCurrent {
		j.heat, j.excessV, j.nex = 0, 0, 0
		if math.Abs(I) < cfg.LoadCurrent/2 {
			if !j.hasOff {
				j.off, j.hasOff = D, true
			} else {
				if j.hasPrev {
					j.noise += (math.Abs(D-j.prevD) - j.noise) / 30
				}
				j.off += (D - j.off) / 30
			}
			j.prevD, j.hasPrev = D, true
		}
		return
	}
	if !j.hasOff || math.Abs(j.off) > jointCover*math.Abs(V) {
		// no rest seen yet, or the voltages summed do not make up the
		// string's (some of its modules or cells reported only)
		return
	}
	// the wiring's voltage under load beyond the offset, against the
	// baseline resistance: a regression through the origin over the polls
	// under load, weighting each by its current squared
	loss := D - j.off
	noise := math.Max(j.noise, 0.05)
	ex := loss
	if j.den > 0 {
		ex = loss - float64(j.num/j.den*-I)
	}
	j.ex[j.nex%len(j.ex)] = timed{last, ex}
	j.nex++
	j.polls++
	if j.polls == 1 {
		j.learnUntil = last + int64(jointLearn)
	}
	// the polls of the first jointLearn under load (five at most) set the
	// baseline
	learning := j.polls == 1 || (j.polls <= 5 && last < j.learnUntil)
	if learning || ex < 3*noise {
		// later polls that stay within the noise follow it, a growing
		// excess does not
		j.num = float64(j.num*(1-1.0/200)) + float64(loss*-I)
		j.den = float64(j.den*(1-1.0/200)) + float64(I*I)
	}
	j.heat, j.excessV = 0, 0
	if learning {
		return
	}
	// the least excess of the newest polls that span jointHold and number
	// jointPolls at least, whatever the polling interval
	held, k, ok := math.Inf(1), 0, false
	for i := 0; i < min(j.nex, len(j.ex)); i++ {
		e := j.ex[(j.nex-1-i)%len(j.ex)]
		held = math.Min(held, e.v)
		k++
		if k >= jointPolls && last-e.t >= int64(jointHold) {
			ok = true
			break
		}
	}
	if !ok {
		return
	}
	if held > 0 && held >= 5*noise {
		j.heat, j.excessV = held*math.Abs(I), held
	}
}
