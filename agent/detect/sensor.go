package detect

import (
	"math"
	"time"
)

// histLen is the length of the per-minute history each sensor keeps.
const histLen = 32

// history is a ring of per-minute values; at(k) is the value k minutes
// before the newest.
type history struct {
	v    [histLen]float64
	ok   [histLen]bool
	head int
	n    int
}

func (h *history) push(v float64, ok bool) {
	h.head = (h.head + 1) % histLen
	h.v[h.head], h.ok[h.head] = v, ok
	if h.n < histLen {
		h.n++
	}
}

func (h *history) at(k int) (float64, bool) {
	if k >= h.n {
		return 0, false
	}
	i := (h.head - k + histLen) % histLen
	return h.v[i], h.ok[i]
}

// minOver returns the lowest valid value of the last k minutes.
func (h *history) minOver(k int) (float64, bool) {
	m, found := 0.0, false
	for i := 0; i <= k && i < h.n; i++ {
		if v, ok := h.at(i); ok && (!found || v < m) {
			m, found = v, true
		}
	}
	return m, found
}

// slope is the least-squares slope per slot over the newest k+1 slots,
// all of which must be valid.
func (h *history) slope(k int) (float64, bool) {
	return h.slopeGaps(k, k+1)
}

// slopeGaps is like slope over the valid slots among the newest k+1,
// when they number min at least and include the newest and one of the
// oldest three.
func (h *history) slopeGaps(k, min int) (float64, bool) {
	if k+1 > h.n || k < 2 {
		return 0, false
	}
	if _, ok := h.at(0); !ok {
		return 0, false
	}
	old := false
	for i := k - 2; i <= k; i++ {
		_, ok := h.at(i)
		old = old || ok
	}
	var sx, sy, sxx, sxy float64
	m := 0
	for i := 0; i <= k; i++ {
		v, ok := h.at(i)
		if !ok {
			continue
		}
		x := float64(-i)
		sx += x
		sy += v
		sxx += float64(x * x)
		sxy += float64(x * v)
		m++
	}
	if !old || m < min {
		return 0, false
	}
	fm := float64(m)
	den := float64(fm*sxx) - float64(sx*sx)
	return (float64(fm*sxy) - float64(sx*sy)) / den, true
}

// maxOver is the highest of the newest k slots, all of which must be
// valid.
func (h *history) maxOver(k int) (float64, bool) {
	m := math.Inf(-1)
	for i := 0; i < k; i++ {
		v, ok := h.at(i)
		if !ok {
			return 0, false
		}
		m = math.Max(m, v)
	}
	return m, k > 0
}

// span is the lowest and highest valid value over the newest k+1 slots.
func (h *history) span(k int) (lo, hi float64, ok bool) {
	for i := 0; i <= k && i < h.n; i++ {
		if v, vok := h.at(i); vok {
			if !ok || v < lo {
				lo = v
			}
			if !ok || v > hi {
				hi = v
			}
			ok = true
		}
	}
	return lo, hi, ok
}

// fullSpan is the lowest and highest of the newest k+1 slots, all of
// which must be valid.
func (h *history) fullSpan(k int) (lo, hi float64, ok bool) {
	if k >= h.n {
		return 0, 0, false
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	for i := 0; i <= k; i++ {
		v, vok := h.at(i)
		if !vok {
			return 0, 0, false
		}
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	return lo, hi, true
}

// meanSpan is the lowest and highest of the m-slot running means over
// the newest k+1 slots, all of which must be valid: the span of the
// history with anything faster than m slots smoothed out.
func (h *history) meanSpan(k, m int) (lo, hi float64, ok bool) {
	if k >= h.n || m < 1 || m > k+1 {
		return 0, 0, false
	}
	lo, hi = math.Inf(1), math.Inf(-1)
	sum := 0.0
	for i := 0; i <= k; i++ {
		v, vok := h.at(i)
		if !vok {
			return 0, 0, false
		}
		sum += v
		if i >= m {
			old, _ := h.at(i - m)
			sum -= old
		}
		if i >= m-1 {
			mean := sum / float64(m)
			lo, hi = math.Min(lo, mean), math.Max(hi, mean)
		}
	}
	return lo, hi, true
}

// goesOn reports whether v carries a held jump on in its direction, by
// at most four jumps: a sensor heating (or cooling) fast, polled slowly,
// not a glitch, which falls back.
func (s *sensor) goesOn(v, jump float64) bool {
	d := v - s.pendV
	return float64((s.pend-s.last)*d) > 0 && math.Abs(d) <= 4*jump
}

// spikeHold is how long a jump of more than Config.SpikeJump must stand
// before it is taken as real.
const spikeHold = 30 * time.Second

// presence takes whether s is valid at this tick of its group and
// reports whether it came back: valid now and not at the tick before (a
// gap, an open circuit, a stuck spell: a module swapped or reconnected
// shows so), with how long it was gone, and whether it had been valid at
// a tick before (seen).
func (s *sensor) presence(valid bool, now int64) (back bool, gap int64, seen bool) {
	seen = s.seen
	if !valid {
		if !s.gone {
			s.gone, s.goneAt = true, now
		}
		return false, 0, seen
	}
	back, gap = s.gone, now-s.goneAt
	s.gone, s.seen = false, true
	return back, gap, seen
}

// sentinel reports values devices send for "no sensor" or "not ready".
func sentinel(v float64) bool {
	switch v {
	case 85, 127, 127.5, -40, -127, -128, 128, 255, -273, -273.15, 3276.7, -3276.8, 32767, -32768, 65535, 6553.5:
		return true
	}
	return false
}

// sensor is the state of one point of one device.
type sensor struct {
	dev   *device
	point string
	info  pointInfo
	unit  *unit
	order int     // position in the device, for deterministic ordering
	next  *sensor // the sensor whose sample followed this one's last time

	// glitch filter: the last accepted sample and a held jump.
	hasLast bool
	last    float64
	lastT   int64
	// every is the usual interval between its samples, s (0: not known)
	every   float64
	pending bool
	pend    float64
	pendT   int64
	pendV   float64 // the latest sample held with the jump
	pendN   int
	// lowRun: a string current's samples in a row (despiked) at a
	// discharge, the first at lowSince
	lowRun   int
	lowSince int64

	// smoothed level
	hasLevel bool
	level    float64
	levelT   int64

	// faults
	nanRun     int
	nanSince   int64
	glitchT    int64
	glitchV    float64
	glitchPrev float64 // the last good value before it
	glitchWhy  string
	glitches   int
	// glitchW counts the glitches, each fading with the time constant
	// Config.ErraticFade from glitchWT on (see erratic)
	glitchW   float64
	glitchWT  int64
	sameSince int64
	refSame   float64
	hasRefSam bool
	stuck     bool
	fault     alert
	alarm     alert // offgas, for gas sensors
	prevLast  float64
	accel     bool
	rate      float64 // rise of x, °C/min over AccelWindow
	lrate     float64 // rise of the level, °C/min over five minutes
	xmin      history
	// per minute: x and the level with the offset steps taken out (invalid
	// while unsettled or just after a glitch), and the rise of both over
	// Config.QuietWindow, the lesser of the two, when still rising
	qx, qlvl history
	qraw     history // and the mean of its samples in each minute
	qrise    float64
	// few: the reference is the median of two other units or fewer;
	// refQuiet: with few, that reference held within QuietSpan over
	// QuietWindow
	few, refQuiet bool

	// noise of a thermistor: the mean absolute second difference of its
	// accepted samples (a steady rise cancels out of it) and the mean
	// interval between them, s; see noiseLevel
	d2, dtMean, wD2 float64
	nD2             int
	// grain is the mean size of the changes between successive samples
	// that are not zero (about one step of a coarse sensor's resolution)
	grain  float64
	nGrain int

	// GB 38031 fast rise: a run of samples each rising >= FastRate.
	runStart  int64
	runStartV float64
	runN      int
	runEnded  int // the length of the run that ended with this sample

	// differential rise against the neighbours
	hasX        bool
	broken      bool
	prevX       float64
	prevLvl     float64 // level at the last rise update
	prevRef     float64
	x, ref      float64
	cusum       float64
	stepJ       float64 // a step up under watch: its jump, when, from what
	stepT       int64
	stepBase    float64
	stepLvl     float64 // the smoothed level just before it
	stepPost    stepFit // the samples since (despiked)
	stepSum     float64 // all offset steps so far
	raw         [2]float64
	nraw        int
	med         float64 // the newest sample, despiked, and the one before
	medPrev     float64
	medPrevT    int64
	hasMed      bool
	hasMedPrev  bool
	settleUntil int64
	// backAt is when the sensor last began to settle (back from a gap,
	// an open circuit or a swap, or new); prevLrate its lrate a minute ago
	backAt    int64
	prevLrate float64
	refKind   string

	// voltage deviation from the group median (module and cell voltages only)
	*voltState

	// string current: its rise at rest above its lowest of the last half
	// hour, held two minutes (0: none)
	iStep float64
	iJump float64 // a jump from float now, A (0: none)
	// once a minute: the float level of the half hour before, and the
	// rise over it held two minutes (0: none)
	iBase, iRise float64
	iBaseOK      bool
	// gone: the sensor was not valid at the last tick of its group (a
	// gap, an open circuit, stuck), since goneAt; seen: it was valid at
	// one (see presence)
	gone, seen bool
	goneAt     int64
	// the samples of this minute, summed (a current's raw ones; a
	// temperature's filtered ones with its offset steps taken out, for
	// qraw), and the mean change of a current's minute means from one
	// minute to the next (its noise)
	minSum           float64
	minN             int
	prevMean, iNoise float64
	hasMean          bool
	// and, through it, the string's wiring: the voltage the modules lose
	// between them (sum of module voltages minus the string's) as a
	// resistance, its baseline, and the heat of the excess held three
	// minutes
	joint  *jointState // currents only
	strand *strand     // currents only: its string's trend
	// the last raw samples of a current or string voltage, to line them
	// up with module voltages polled at another rate
	recent  *[32]timed // currents and string voltages only
	nRecent int

	// gas baseline
	hasBase bool
	base    float64

	minute history
}

// timed is a raw sample.
type timed struct {
	t int64
	v float64
}

// span is how far apart the samples of one poll may be stamped: a poller
// that reads its points one after another stamps each as it comes. It is
// 2 s, or up to half the usual interval between s's samples: a sample
// lost on the bus leaves the one before a whole interval old.
func (s *sensor) span() int64 {
	return max(int64(2*time.Second), int64(s.every*1e9/2))
}

// at returns the raw sample of s nearest to t, if one is within s's span.
func (s *sensor) at(t int64) (float64, bool) {
	best, found, bd := 0.0, false, s.span()
	if s.recent == nil {
		return 0, false
	}
	for k := range min(s.nRecent, len(s.recent)) {
		e := s.recent[k]
		d := e.t - t
		if d < 0 {
			d = -d
		}
		if d <= bd {
			best, found, bd = e.v, true, d
		}
	}
	return best, found
}

// swing is how far apart the raw samples of s lie that bracket the span
// from from to to (times, ns): those within it and the last before and
// first after it. 0 with fewer than two.
func (s *sensor) swing(from, to int64) float64 {
	if s.recent == nil {
		return 0
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	var before, after timed
	for k := range min(s.nRecent, len(s.recent)) {
		switch e := s.recent[k]; {
		case e.t < from:
			if e.t > before.t {
				before = e
			}
		case e.t > to:
			if after.t == 0 || e.t < after.t {
				after = e
			}
		default:
			lo, hi = math.Min(lo, e.v), math.Max(hi, e.v)
		}
	}
	for _, e := range [...]timed{before, after} {
		if e.t != 0 {
			lo, hi = math.Min(lo, e.v), math.Max(hi, e.v)
		}
	}
	return math.Max(0, hi-lo)
}

// voltState is the deviation of a module or cell voltage from the median
// of its group.
type voltState struct {
	hasDev  bool
	dev0    float64 // long-run offset of the deviation
	devNow  float64
	devHist [4]float64 // deviation at the last ticks, for sudden drops
	devFast float64    // deviation averaged over minutes (noise down)
	sagMin  history    // per minute: devFast - dev0
	sagHeld float64    // the least sag of the last minutes: a sag that held
	sagFast float64    // the deviation from dev0 held over two minutes (sampleHeld)
	// the raw deviation from dev0 of the last samples (one in each
	// eighth of shortHold at most), newest at sampN-1 (mod len), with
	// their times: a sag held over distinct samples, not over ticks that
	// repeat one sample
	sampDev   [8]float64
	sampT     [8]int64
	sampN     int
	lastSampT int64
	sampMAD   float64 // mean absolute deviation of those samples from devFast
	rawMin    history // per minute: devNow - dev0 (only whether each minute was valid is read)
	loadMin   history // per minute under discharge: devNow
	loadDev   float64 // the least deviation under discharge held three minutes (0: none)
	devMAD    float64 // mean absolute deviation of a sample from devFast: its noise
	// the highest of sagMin's last voltHold minutes and loadMin's last
	// three (set once a minute; OK when all were valid, and rawPastOK when
	// rawMin's last two were)
	sagPast, loadPast                float64
	groupFall                        float64 // the group's fall since its discharge began
	sagPastOK, rawPastOK, loadPastOK bool
	// compared: it has been within its group's range, compared with it
	// (and outSince: since when it is out of it at rest, 0 if not)
	compared bool
	outSince int64
	// avgMin: per minute, the mean of devNow - dev0 over its ticks
	avgMin history
	rawSum float64
	rawN   int
}

// valid reports whether the sensor may take part in comparisons at now.
func (s *sensor) valid(now int64, stale int64) bool {
	return s.hasLevel && now-s.lastT <= stale && s.nanRun == 0 && !s.stuck
}

// lateFactor is how many of its usual intervals a sensor's samples may
// be late (a few lost on the bus) before it is taken as gone, within
// lateMax times Config.StaleAfter: a module swapped out and back in
// takes longer than that.
const (
	lateFactor = 5
	lateMax    = 3
)

// late reports whether s, polled more often than Config.StaleAfter, is
// stale but no more than a few samples late for its usual interval: a
// point polled every minute or two (cell voltages) whose samples were
// lost on the bus. It is not valid, and not gone either: not a module
// swapped out and back in. A sensor polled less often than StaleAfter
// goes stale between its samples and is not judged so.
func (s *sensor) late(now, stale int64) bool {
	age := now - s.lastT
	return s.hasLevel && s.nanRun == 0 && !s.stuck && age > stale && s.every > 0 && s.every*1e9 < float64(stale) &&
		float64(age) <= math.Min(float64(lateFactor*s.every*1e9), float64(lateMax*stale))
}

// glitch records a rejected sample; fade is Config.ErraticFade.
func (s *sensor) glitch(t int64, v, prev float64, why string, fade time.Duration) {
	s.glitchT, s.glitchV, s.glitchPrev, s.glitchWhy = t, v, prev, why
	s.glitches++
	s.glitchW = s.recentGlitches(t, fade) + 1
	s.glitchWT = t
}

// recentGlitches is the number of the sensor's glitches, each fading
// with the time constant fade, at now.
func (s *sensor) recentGlitches(now int64, fade time.Duration) float64 {
	if s.glitchW == 0 {
		return 0
	}
	return s.glitchW * math.Exp(-float64(now-s.glitchWT)/float64(fade))
}

// erratic says the sensor glitched Config.ErraticGlitches times or more,
// each fading over Config.ErraticFade: spikes, steps and values out of
// range one after the other are a failing sensor or its wiring (a probe
// dropping in and out of a BMS's minimum or maximum), not heat. Its
// movements alone make no more than an advisory.
func (s *sensor) erratic(now int64, cfg *Config) bool {
	return s.recentGlitches(now, cfg.ErraticFade) >= cfg.ErraticGlitches
}

// observe filters one sample; it returns true when a glitch or an open
// circuit was just found, so the caller can raise sensor_fault at once.
func (s *sensor) observe(d *Detector, t int64, v float64) bool {
	cfg := &d.cfg
	if math.IsNaN(v) {
		s.nanRun++
		if s.nanRun == 1 {
			s.nanSince = t
		}
		s.broken = true
		s.pending = false
		s.nraw, s.hasMed, s.hasMedPrev = 0, false, false
		return s.nanRun == 2
	}
	s.nanRun = 0
	isTemp := s.info.role == roleTemp || s.info.role == roleAmbient
	if isTemp && (v < cfg.SensorMin || v > cfg.SensorMax) {
		s.glitch(t, v, s.last, "out of range", cfg.ErraticFade)
		return true
	}
	if s.info.role == roleGas {
		return s.observeGas(d, t, v)
	}
	if !isTemp || !s.hasLast {
		s.accept(d, t, v)
		return false
	}
	jump := cfg.SpikeJump
	if s.pending {
		switch {
		case sentinel(s.pend) && v == s.pend:
			// a sentinel repeated is no confirmation
			s.pendN++
			return false
		case (math.Abs(v-s.pendV) <= jump || s.goesOn(v, jump)) && t-s.pendT < int64(spikeHold):
			// a thermistor lags its cells: it does not leap and fall
			// back within seconds, so a jump counts once it stood
			// spikeHold (a glitch held over several fast polls does not)
			s.pendN++
			s.pendV = v
			return false
		case math.Abs(v-s.pendV) <= jump || s.goesOn(v, jump):
			s.pending = false
			s.accept(d, s.pendT, s.pend)
			s.accept(d, t, v)
			return false
		case math.Abs(v-s.last) <= jump:
			s.pending = false
			s.glitch(s.pendT, s.pend, s.last, "spike", cfg.ErraticFade)
			s.accept(d, t, v)
			return true
		default:
			s.glitch(s.pendT, s.pend, s.last, "spike", cfg.ErraticFade)
			s.pend, s.pendV, s.pendT, s.pendN = v, v, t, 1
			return true
		}
	}
	if math.Abs(v-s.last) > jump {
		s.pending = true
		s.pend, s.pendV, s.pendT, s.pendN = v, v, t, 1
		return false
	}
	s.accept(d, t, v)
	return false
}

// observeGas filters one sample of an off-gas detector: a negative
// concentration or a register's "no value" is a glitch, and so is a jump
// up of the gas's warning threshold or more that falls back within
// spikeHold: vented gas fills the cabinet and stays for minutes. A jump
// that another detector shares counts at its second sample.
func (s *sensor) observeGas(d *Detector, t int64, v float64) bool {
	cfg := &d.cfg
	switch {
	case v < 0:
		s.glitch(t, v, s.last, "negative concentration", cfg.ErraticFade)
		return true
	case gasSentinel(v):
		s.glitch(t, v, s.last, "no value", cfg.ErraticFade)
		return true
	case !s.hasLast:
		s.accept(d, t, v)
		return false
	}
	jump := d.gasThreshold(s, warning)
	if s.pending {
		if v < s.last+jump/2 {
			// back where it was: the jump was a glitch
			s.pending = false
			s.glitch(s.pendT, s.pend, s.last, "spike", cfg.ErraticFade)
			s.accept(d, t, v)
			return true
		}
		if t-s.pendT < int64(spikeHold) && !d.otherGasUp(s, t) {
			s.pendN++
			return false
		}
		s.pending = false
		s.accept(d, s.pendT, s.pend)
		s.accept(d, t, v)
		return false
	}
	if v-s.last >= jump {
		s.pending = true
		s.pend, s.pendV, s.pendT, s.pendN = v, v, t, 1
		return false
	}
	s.accept(d, t, v)
	return false
}

// otherGasUp reports whether another off-gas detector than s jumped
// within spikeHold before t, or stands at its warning threshold or more
// above its baseline: a jump that two detectors share, and that stood
// for a second sample, is gas (a garbled poll of a whole detector is
// one sample).
func (d *Detector) otherGasUp(s *sensor, t int64) bool {
	for _, o := range d.gases {
		if o == s {
			continue
		}
		if o.pending && t-o.pendT < int64(spikeHold) || d.gasLevel(o) >= warning {
			return true
		}
	}
	return false
}

// outAtRest notes a voltage out of its group's range (or below zero) with
// the string at rest: after two minutes it is no longer taken as one that
// was compared, which a discharge would keep in the comparison far below
// its group (a cell driven into reversal); a channel misreading at rest
// is no such cell.
func (s *sensor) outAtRest(now int64) {
	switch {
	case s.outSince == 0:
		s.outSince = now
	case now-s.outSince >= int64(2*time.Minute):
		s.compared = false
	}
}

// gasSentinel reports the values gas detectors and their registers send
// for "no value" (an unsigned or signed 16-bit register's top, with or
// without a scale of 0.1).
func gasSentinel(v float64) bool {
	switch v {
	case 65535, 32767, 6553.5, 3276.7:
		return true
	}
	return false
}

// accept takes a sample into the smoothed level.
func (s *sensor) accept(d *Detector, t int64, v float64) {
	if s.hasLast && v == s.last {
		if s.sameSince == 0 {
			s.sameSince = s.lastT
			s.hasRefSam = false
		}
	} else {
		s.sameSince = 0
		s.stuck = false
	}
	if s.info.role == roleTemp && s.hasLast && t > s.lastT {
		s.trackChanges(d, t, v)
	}
	raw := v
	if s.info.role == roleTemp || s.info.role == roleAmbient || s.info.role == roleCurrent {
		// a string current too: one sample of a discharge is a glitch, and
		// would hold the rules that need rest off for two hours
		v = s.despike(v)
	}
	if s.info.role == roleTemp && s.stepT != 0 {
		s.stepPost.add(float64(t-s.stepT)/1e9, v)
	}
	if s.info.role == roleTemp && s.hasMed && t > s.lastT && t-s.lastT <= int64(d.cfg.StaleAfter) && s.stepT == 0 {
		s.checkStep(d, t, v)
	}
	if s.info.role == roleTemp {
		s.medPrev, s.medPrevT, s.hasMedPrev = s.med, s.lastT, s.hasMed
		s.med, s.hasMed = v, true
	}
	s.smooth(d, t, v)
	if s.hasLast && t > s.lastT {
		// the usual interval: a gap five times longer is an outage
		switch g := float64(t-s.lastT) / 1e9; {
		case s.every == 0:
			s.every = g
		case g <= 5*s.every:
			s.every = s.every + float64(0.1*(g-s.every))
		}
	}
	s.hasLast, s.last, s.lastT = true, raw, t
	if s.info.role == roleTemp {
		s.minSum += v - s.stepSum
		s.minN++
	}
	if s.info.role == roleCurrent {
		s.minSum += v
		s.minN++
		if v > -d.cfg.LoadCurrent {
			s.lowRun = 0
		} else if s.lowRun++; s.lowRun == 1 {
			s.lowSince = t
		}
	}
	if s.recent != nil {
		s.recent[s.nRecent%len(s.recent)] = timed{t, raw}
		s.nRecent++
	}
}

// trackChanges follows a temperature's sample-to-sample changes: its
// noise (mean absolute second difference), its grain (mean size of a
// non-zero change below StepJump) and its runs of samples rising at
// FastRate or more.
func (s *sensor) trackChanges(d *Detector, t int64, v float64) {
	dt := float64(t-s.lastT) / 1e9
	if s.nraw >= 2 && t-s.lastT <= int64(d.cfg.StaleAfter) {
		if dd := math.Abs(v - 2*s.raw[1] + s.raw[0]); dd <= 2*d.cfg.SpikeJump {
			if s.nD2 < 256 {
				s.nD2++
				s.wD2 = 1 / float64(s.nD2)
			}
			s.d2 += float64(s.wD2 * (dd - s.d2))
			s.dtMean += float64(s.wD2 * (dt - s.dtMean))
		}
	}
	if dv := math.Abs(v - s.last); dv > 0 && dv <= d.cfg.StepJump {
		if s.nGrain < 256 {
			s.nGrain++
		}
		s.grain += (dv - s.grain) / float64(s.nGrain)
	}
	// a sample that only climbs back from a low one before it is a
	// glitch recovering, not heat: it must also clear the sample
	// before the last
	if (v-s.last)/dt >= d.cfg.FastRate && (s.nraw < 2 || (v-s.raw[0])/dt >= d.cfg.FastRate) {
		if s.runN == 0 {
			s.runStart, s.runStartV = s.lastT, s.last
		}
		s.runN++
		s.runEnded = 0
	} else {
		s.runEnded = s.runN
		s.runN = 0
	}
}

// despike returns the median of the last three samples, v the newest:
// one-sample noise spikes, too small for the jump filter, never reach
// the level.
func (s *sensor) despike(v float64) float64 {
	m := v
	if s.nraw >= 2 {
		m = median3(s.raw[0], s.raw[1], v)
	}
	s.raw[0], s.raw[1] = s.raw[1], v
	if s.nraw < 2 {
		s.nraw++
	}
	return m
}

// checkStep notes an offset step of a temperature. A thermistor lags its
// cells: a step up of StepJump or more (plus 1 °C per minute between the
// samples) is an offset (a loose contact, a recalibrated or swapped
// sensor) if it stays; it is then taken out of the rise (see
// updateRise). One that goes away again was noise and cancels itself.
func (s *sensor) checkStep(d *Detector, t int64, v float64) {
	gapMin := float64(t-s.lastT) / float64(time.Minute)
	base := s.med
	// polled every second, a step can arrive over two samples, each
	// fast: measured from where that short run began, once it ended
	if s.runEnded > 0 && s.runEnded < 3 && s.runStartV < base {
		base, gapMin = s.runStartV, float64(t-s.runStart)/float64(time.Minute)
	}
	// on a noisy sensor the median of three can take a step in two moves
	// (the sample before it was a high one): measured from the sample
	// before
	if s.hasMedPrev && s.medPrev < base && t-s.medPrevT <= int64(d.cfg.StaleAfter) {
		base, gapMin = s.medPrev, float64(t-s.medPrevT)/float64(time.Minute)
	}
	if j := v - base; j >= d.cfg.StepJump+gapMin && j <= d.cfg.SpikeJump && s.runN == 0 {
		s.stepJ, s.stepT, s.stepBase = j, t, base
		s.stepLvl, s.stepPost = s.level, stepFit{}
		s.stepPost.add(0, v)
	}
}

// stepFit is a least-squares line through the samples after a step.
type stepFit struct {
	n                int
	st, sv, stt, stv float64
}

func (f *stepFit) add(t, v float64) {
	f.n++
	f.st += t
	f.sv += v
	f.stt += t * t
	f.stv += t * v
}

// mean is the mean of the samples.
func (f *stepFit) mean() float64 { return f.sv / float64(max(1, f.n)) }

// slope is their trend per second, and false with fewer than three.
func (f *stepFit) slope() (float64, bool) {
	n := float64(f.n)
	den := n*f.stt - f.st*f.st
	if f.n < 3 || den <= 0 {
		return 0, false
	}
	return (n*f.stv - f.st*f.sv) / den, true
}

// smooth moves the level towards v: an exponential average over
// Config.Smoothing (a quarter of it for voltages and currents), restarted
// after a gap of three times that or a clock going back.
func (s *sensor) smooth(d *Detector, t int64, v float64) {
	tau := float64(d.cfg.Smoothing) / 1e9
	if s.info.role == roleVolt || s.info.role == roleCurrent || s.info.role == roleStrVolt {
		tau /= 4
	}
	if !s.hasLevel || t-s.levelT > 3*int64(d.cfg.Smoothing) || t < s.levelT {
		s.level = v
		if s.hasLevel {
			s.broken = true
		}
	} else {
		dt := float64(t-s.levelT) / 1e9
		a := dt / (tau + dt)
		s.level = s.level + float64(a*(v-s.level))
	}
	s.hasLevel, s.levelT = true, t
}

// sampleNoise is the standard deviation of the noise on the sensor's
// samples, from their mean absolute second difference (√6 σ times √(2/π)
// for Gaussian noise; a steady rise cancels out of it), 0 until 32
// samples.
func (s *sensor) sampleNoise() float64 {
	if s.nD2 < 32 {
		return 0
	}
	return s.d2 / 1.9544
}

// noiseLevel is the standard deviation of the sensor's smoothed level
// that white noise on its samples leaves (tau the smoothing, s): through
// an exponential average of weight a = dt/(tau+dt), √(a/(2-a)) of the
// samples' noise. 0 until 32 samples.
func (s *sensor) noiseLevel(tau float64) float64 {
	sigma := s.sampleNoise()
	if sigma == 0 || s.dtMean <= 0 {
		return 0
	}
	a := s.dtMean / (tau + s.dtMean)
	return float64(sigma * math.Sqrt(a/(2-a)))
}

func median3(a, b, c float64) float64 {
	if a > b {
		a, b = b, a
	}
	if b > c {
		b = c
	}
	if a > b {
		return a
	}
	return b
}
