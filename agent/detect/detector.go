package detect

import (
	"math"
	"slices"
	"strings"
	"time"
)

// Sample is one reading fed to the detector. Value NaN means the device
// answered with an invalid value (an open sensor, a sentinel).
type Sample struct {
	Time   time.Time
	Device string
	Point  string
	Value  float64
}

// Detector is the streaming detector. It is not safe for concurrent use:
// one goroutine feeds it, in time order. Its memory grows with the number
// of distinct devices and points, never with the number of samples.
type Detector struct {
	cfg     Config
	devs    map[string]*device
	order   []*device
	lastDev *device
	lastS   *sensor

	ambients []*sensor // every room air sensor, in order of first sight
	gases    []*sensor // every off-gas sensor

	now      int64 // latest trace time seen, ns
	nextTick int64
	lastMin  int64
	lastTen  int64
	newTen   bool
	room     room

	out     []Event
	scratch []ranked
	// partBuf and partDone: scratch for splitting a voltage group by string
	partBuf  []ranked
	partAt   []int
	partDone []*sensor
	// medBuf and bbuf: each temperature's reference and whether few
	// units make it
	medBuf []float64
	bbuf   []bool
	fbuf   [3][]float64 // reusable buffers for medians
	rawBuf []float64    // a voltage group's samples, for one's deviation
	markN  uint64       // stamps units while counting those of a group
}

// device is the state of one device.
type device struct {
	name    string
	sensors map[string]*sensor
	list    []*sensor

	groups  []*group
	units   []*unit
	unitMap map[string]*unit
	current *sensor
	// currents are the current sensors; voltSeq counts voltage samples
	currents []*sensor
	voltSeq  uint64
	// back is when readings of its modules last came back
	back    comebacks
	battery bool // has battery points: gets thermal_runaway verdicts

	last     int64   // latest sample time
	gap      float64 // usual sampling interval, s
	comms    alert
	commsGap int64

	env alert

	prevAmb   float64
	prevAmbOK bool

	lastTick      int64
	lastDischarge int64
	lastCharge    int64
	loadSince     int64
	// under load, when its current last moved beyond a quarter of
	// loadRef, the magnitude it had then
	steadySince int64
	loadRef     float64
	charging    bool // current known and not a discharge
	// inCharge: a charge at LoadCurrent or more is under way; fromFloat:
	// it began from float, with no discharge before it and no module back
	// from a gap (the charger feeding a fault, not a recharge), and is no
	// load
	inCharge, fromFloat bool
	// strands are the trends of its strings (stringTrend): one a current
	// point, or one for the whole device when it reports no current;
	// worst is the one standing out most at the last tick
	strands []*strand
	worst   *strand
	tenA    history // ten-minute room air
	// per-minute median battery temperature and room air, and whether
	// the string is at rest and both held steady (Config.QuietRise), and
	// whether it is at rest with the room steady or unknown, whatever the
	// median does (a lone module is the median; one of two or three moves
	// it)
	cmMin, ambMin    history
	quiet, roomQuiet bool
}

// comebacks records when readings of a device's modules last came back
// after an absence: a module swapped in or reconnected shows as its
// readings returning, and charges, and may come in warmer or cooler than
// the one it replaced. Each rule holds back for the return it can be
// fooled by.
type comebacks struct {
	volt    int64 // a module voltage valid again, or new (floatSteps)
	voltGap int64 // a module voltage valid again after it was seen (a charge from float)
	temp    int64 // a temperature valid again after a gap, an open circuit or a stuck spell
	tempGap int64 // a temperature back from a gap of a minute or more (the string trends)
}

// group is the sensors compared with each other: the same point pattern.
type group struct {
	key     string
	role    role
	members []*sensor
	// loadMed is a voltage group's median when the discharge under way
	// began (0: none under way)
	loadMed float64
}

// unit is one subject: a module, a cell, a string.
type unit struct {
	subject   string
	mark      uint64 // Detector.markN when last counted
	temps     []*sensor
	volts     []*sensor
	runaway   alert
	overTemp  alert
	imbalance alert
	fastUntil int64
	fastLvl   level
	fastRate  float64
	fastWhy   string
	held      float64 // the voltage step last seen, relative
	cur       *sensor // the current of the unit's string
	heatW     float64 // heat under discharge last seen, W
	heatDev   float64 // and the deviation behind it
	heatPoint string
	curN      int     // len(dev.currents) when cur was found
	heldZ     float64 // and in units of its noise
	// probesChanged is when a temperature probe of the unit last went
	// silent or came back (0: never)
	probesChanged int64
}

// room is the air a battery device breathes.
type room struct {
	amb, ambRise float64
	ambRate      float64 // °C/min over the last five minutes
	ambOK        bool
	gas          level
	gasPoint     string
	gasRise      float64
	gas2         level // the second highest level of the other gases
	gases        int   // gas points reporting other than hydrogen
	h2           level
	h2Point      string
	h2Rise       float64
	h2b          level // the second highest hydrogen level
	h2N          int   // hydrogen points reporting
}

// offgas is the room's off-gas level for the thermal_runaway verdict,
// with hydrogen (when no charge explains it) among the gases: vented
// gas is a mix (hydrogen, carbon monoxide, solvent vapour) that every
// detector in the room sees, so where two or more report, the highest
// counts for at most one level above the next highest: one detector
// alone, glitching, drifting or stepping, is not venting.
func (r *room) offgas(h2Counts bool) {
	top, second, n := r.gas, r.gas2, r.gases
	if h2Counts {
		n += r.h2N
		if r.h2 > top {
			top, second = r.h2, max(top, r.h2b)
			r.gasPoint, r.gasRise = r.h2Point, r.h2Rise
		} else {
			second = max(second, r.h2)
		}
	}
	if n >= 2 && top > second+1 {
		top = second + 1
	}
	r.gas = top
}

// ranked is a sensor with the value it is ranked by.
type ranked struct {
	v float64
	s *sensor
}

// New returns a Detector with cfg; zero fields of cfg take their defaults.
func New(cfg Config) *Detector {
	return &Detector{cfg: cfg.withDefaults(), devs: make(map[string]*device)}
}

// Observe feeds one sample and returns the events it caused. Samples must
// come in time order; an earlier one is taken as happening at the latest
// time seen. The returned slice is valid until the next call.
func (d *Detector) Observe(s Sample) []Event {
	d.out = d.out[:0]
	t := s.Time.UnixNano()
	if t < d.now {
		t = d.now
	}
	d.advanceTo(t)
	// rows come in the same order every poll: try the sensor that
	// followed the last one before looking device and point up
	var sn *sensor
	var dev *device
	if p := d.lastS; p != nil && p.next != nil && p.next.point == s.Point && p.next.dev.name == s.Device {
		sn, dev = p.next, p.next.dev
	} else {
		dev = d.lastDev
		if dev == nil || dev.name != s.Device {
			dev = d.device(s.Device)
			d.lastDev = dev
		}
		sn = d.sensor(dev, s.Point)
		if p != nil {
			p.next = sn
		}
	}
	d.lastS = sn
	d.touch(dev, t)
	if sn.info.role == roleVolt {
		dev.voltSeq++
	}
	if sn.observe(d, t, s.Value) {
		d.judgeFault(sn, t)
	}
	if sn.info.role == roleTemp && sn.runN >= 2 && sn.lastT-sn.runStart > int64(d.cfg.FastHold) &&
		sn.last-sn.runStartV >= float64(5*sn.sampleNoise()) {
		d.fastRule(sn, sn.lastT)
	}
	return d.out
}

// Advance tells the detector that trace time t has come with no sample,
// so silent devices (comms_lost) and stale sensors are noticed. The
// returned slice is valid until the next call.
func (d *Detector) Advance(t time.Time) []Event {
	d.out = d.out[:0]
	ns := t.UnixNano()
	if ns > d.now {
		d.advanceTo(ns)
	}
	return d.out
}

func (d *Detector) device(name string) *device {
	if dev, ok := d.devs[name]; ok {
		return dev
	}
	dev := &device{name: name, sensors: make(map[string]*sensor), unitMap: make(map[string]*unit)}
	dev.comms = alert{subject: "device", kind: KindCommsLost}
	dev.env = alert{subject: "ambient", kind: KindEnvironment}
	d.devs[name] = dev
	d.order = append(d.order, dev)
	return dev
}

func (d *Detector) sensor(dev *device, point string) *sensor {
	if s, ok := dev.sensors[point]; ok {
		return s
	}
	info := classify(point)
	s := &sensor{dev: dev, point: point, info: info, order: len(dev.list)}
	s.fault = alert{subject: point, kind: KindSensorFault}
	dev.sensors[point] = s
	dev.list = append(dev.list, s)
	switch info.role {
	case roleStrVolt:
		s.recent = &[32]timed{}
	case roleVolt:
		s.voltState = &voltState{}
	}
	switch info.role {
	case roleAmbient:
		d.ambients = append(d.ambients, s)
	case roleGas:
		d.gases = append(d.gases, s)
		s.alarm = alert{subject: point, kind: KindOffgas}
	case roleCurrent:
		dev.currents = append(dev.currents, s)
		s.joint, s.recent = &jointState{}, &[32]timed{}
		s.strand = &strand{cur: s, subject: info.subject}
		if len(dev.strands) == 1 && dev.strands[0].cur == nil {
			dev.strands = dev.strands[:0] // the whole device's, until now
		}
		dev.strands = append(dev.strands, s.strand)
		if dev.current == nil {
			dev.current = s
		}
		dev.battery = true
		dev.unitFor(info.subject)
	case roleTemp, roleVolt:
		dev.battery = true
		u := dev.unitFor(info.subject)
		if info.role == roleTemp {
			u.temps = append(u.temps, s)
		} else {
			u.volts = append(u.volts, s)
		}
		s.unit = u
		var g *group
		for _, gg := range dev.groups {
			if gg.key == info.group {
				g = gg
			}
		}
		if g == nil {
			g = &group{key: info.group, role: info.role}
			dev.groups = append(dev.groups, g)
		}
		g.members = append(g.members, s)
	}
	return s
}

func (dev *device) unitFor(subject string) *unit {
	if u, ok := dev.unitMap[subject]; ok {
		return u
	}
	u := &unit{subject: subject}
	u.runaway = alert{subject: subject, kind: KindThermalRunaway}
	u.overTemp = alert{subject: subject, kind: KindOverTemperature}
	u.imbalance = alert{subject: subject, kind: KindCellImbalance}
	dev.unitMap[subject] = u
	dev.units = append(dev.units, u)
	return u
}

// currentOf returns the current of u's string: the current point whose
// subject (battery, battery.string.S) holds u, the longest such.
func (dev *device) currentOf(u *unit) *sensor {
	if u.curN == len(dev.currents) {
		return u.cur
	}
	u.cur, u.curN = nil, len(dev.currents)
	for _, s := range dev.currents {
		if sub := s.info.subject; holds(sub, u.subject) && (u.cur == nil || len(sub) > len(u.cur.info.subject)) {
			u.cur = s
		}
	}
	return u.cur
}

// stringCurrent is the current of the string s belongs to (see
// currentOf); nil for a sensor of no unit.
func (dev *device) stringCurrent(s *sensor) *sensor {
	if s.unit == nil {
		return nil
	}
	return dev.currentOf(s.unit)
}

// holds reports whether the string or pack subject sub (battery,
// battery.string.S) holds subject.
func holds(sub, subject string) bool {
	return sub == "battery" || subject == sub || strings.HasPrefix(subject, sub+".")
}

// touch notes a sample from dev at t: sampling interval, comms back.
func (d *Detector) touch(dev *device, t int64) {
	if t > dev.last {
		if dev.last != 0 {
			// the usual polling interval; a gap five times longer is an
			// outage, not a poll
			g := float64(t-dev.last) / 1e9
			switch {
			case dev.gap == 0:
				if g*1e9 <= float64(10*d.cfg.CommsLost) {
					dev.gap = g
				}
			case g <= 5*dev.gap:
				dev.gap = dev.gap + float64(0.1*(g-dev.gap))
			}
		}
		dev.last = t
	}
	if dev.comms.lvl != none {
		if st, l := dev.comms.step(t, none, 0, 0, critical); st != "" {
			d.emit(dev, &dev.comms, st, l, t, "samples again after "+durText(dev.commsGap, t), map[string]any{
				"silent_s": round3(float64(t-dev.commsGap) / 1e9),
			})
		}
	}
}

// advanceTo runs the evaluation tick when trace time passes a boundary.
func (d *Detector) advanceTo(t int64) {
	tick := int64(d.cfg.Tick)
	if d.nextTick == 0 {
		d.nextTick = (t/tick + 1) * tick
	}
	if t >= d.nextTick {
		at := d.nextTick + (t-d.nextTick)/tick*tick
		d.tick(at)
		d.nextTick = at + tick
	}
	if t > d.now {
		d.now = t
	}
}

// tick evaluates every device at trace time now.
func (d *Detector) tick(now int64) {
	minute := now / int64(time.Minute)
	newMin := minute != d.lastMin
	d.lastMin = minute
	ten := now / int64(10*time.Minute)
	d.newTen = ten != d.lastTen
	d.lastTen = ten
	stale := int64(d.cfg.StaleAfter)
	for _, s := range d.ambients {
		if newMin {
			s.minute.push(s.level, s.valid(now, stale))
		}
	}
	for _, s := range d.gases {
		d.updateGas(s, now)
	}
	d.room = d.roomOf(nil, now)
	for _, dev := range d.order {
		d.tickDevice(dev, now, newMin)
	}
}

// roomOf computes the air of dev (nil: of every device).
func (d *Detector) roomOf(dev *device, now int64) room {
	var r room
	stale := int64(d.cfg.StaleAfter)
	var air []string
	if dev != nil {
		air = d.cfg.Air[dev.name]
	}
	sc := d.scratch[:0]
	rises := d.fbuf[0][:0]
	rates := d.fbuf[1][:0]
	for _, s := range d.ambients {
		if air != nil && !slices.Contains(air, s.dev.name) {
			continue
		}
		if s.valid(now, stale) {
			sc = append(sc, ranked{v: s.level, s: s})
			if m, ok := s.minute.minOver(30); ok {
				rises = append(rises, s.level-m)
			}
			if m5, ok := s.minute.at(5); ok {
				rates = append(rates, (s.level-m5)/5)
			}
		}
	}
	if len(sc) > 0 {
		r.amb, r.ambOK = medianRanked(sc), true
	}
	if len(rises) > 0 {
		slices.Sort(rises)
		r.ambRise = median(rises)
	}
	d.fbuf[0] = rises[:0]
	if len(rates) > 0 {
		slices.Sort(rates)
		r.ambRate = median(rates)
	}
	d.fbuf[1] = rates[:0]
	d.scratch = sc[:0]
	for _, s := range d.gases {
		if air != nil && !slices.Contains(air, s.dev.name) {
			continue
		}
		l := d.gasLevel(s)
		reporting := s.hasBase && s.valid(now, stale)
		if s.info.gas == "h2" {
			// hydrogen also comes from charging (VRLA gassing): kept
			// apart, used only when no charge explains it
			if l > r.h2 {
				r.h2b = r.h2
				r.h2, r.h2Point, r.h2Rise = l, s.dev.name+"/"+s.point, s.level-s.base
			} else {
				r.h2b = max(r.h2b, l)
			}
			if reporting {
				r.h2N++
			}
			continue
		}
		if reporting {
			r.gases++
		}
		if l > r.gas || (l == r.gas && l > none && s.level-s.base > r.gasRise) {
			r.gas2 = max(r.gas2, r.gas)
			r.gas, r.gasPoint, r.gasRise = l, s.dev.name+"/"+s.point, s.level-s.base
		} else {
			r.gas2 = max(r.gas2, l)
		}
	}
	return r
}

func medianRanked(sc []ranked) float64 {
	slices.SortFunc(sc, func(a, b ranked) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return a.s.order - b.s.order
	})
	n := len(sc)
	if n%2 == 1 {
		return sc[n/2].v
	}
	return (sc[n/2-1].v + sc[n/2].v) / 2
}

func median(v []float64) float64 {
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// medianWithout is the median of sorted sc without its element p.
func medianWithout(sc []ranked, p int) float64 {
	m := len(sc) - 1
	at := func(k int) float64 {
		if k < p {
			return sc[k].v
		}
		return sc[k+1].v
	}
	if m%2 == 1 {
		return at((m - 1) / 2)
	}
	return (at(m/2-1) + at(m/2)) / 2
}

func durText(from, to int64) string {
	return time.Duration(to - from).Round(time.Second).String()
}

func abs(v float64) float64 { return math.Abs(v) }

func maxLevel(a, b level) level {
	if a > b {
		return a
	}
	return b
}

// emit appends an event for alert a.
func (d *Detector) emit(dev *device, a *alert, state string, l level, t int64, msg string, ev map[string]any) {
	if state == StateRaised {
		a.id = eventID(dev.name, a.subject, a.kind, t)
	}
	d.out = append(d.out, Event{
		ID: a.id, Time: time.Unix(0, t).UTC(), Site: d.cfg.Site, Gateway: d.cfg.Gateway,
		Device: dev.name, Subject: a.subject, Kind: a.kind, Level: levelNames[l], State: state,
		Message: msg, Evidence: ev,
	})
}
