package i2c

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
	"github.com/emberwatch/emberwatch/drivers/i2c/chip"
	"periph.io/x/conn/v3/i2c"
)

// Buses hands out the I²C buses sensors sit on, by name (/dev/i2c-1).
// The implementation owns the buses; devices only borrow them.
type Buses interface {
	Bus(name string) (i2c.Bus, error)
}

// BusMap is a fixed set of buses by name, for tests and simulators.
type BusMap map[string]i2c.Bus

// Bus returns the bus called name.
func (m BusMap) Bus(name string) (i2c.Bus, error) {
	if b, ok := m[name]; ok {
		return b, nil
	}
	return nil, fmt.Errorf("i2c: no bus %q", name)
}

// Opts configures a Device or Sensor. The zero value means defaults.
type Opts struct {
	// Bus is the bus of sensors whose spec and profile name none: the
	// path of the device's address (i2c:///dev/i2c-1).
	Bus string
	// Logger receives sensor failures and recoveries, once per change;
	// slog.Default() if nil.
	Logger *slog.Logger
	// Now stamps the readings; time.Now if nil.
	Now func() time.Time
}

func (o *Opts) withDefaults() Opts {
	var r Opts
	if o != nil {
		r = *o
	}
	if r.Logger == nil {
		r.Logger = slog.Default()
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	return r
}

// Stats counts the polls and failures of one sensor.
type Stats struct {
	// Sensor is the sensor's label (Spec.String).
	Sensor string
	// Polls counts reads, Errors the failed ones among them.
	Polls, Errors uint64
	// ByClass counts errors by class: bus, crc, range, not_ready, id.
	ByClass map[string]uint64
	// LastError is the last failure's message, empty after a success.
	LastError string
}

// Sensor polls one chip. It is safe to call Stats while Poll runs; Poll
// itself must not be called concurrently.
type Sensor struct {
	spec  Spec
	kind  *Kind
	bus   i2c.Bus
	opts  Opts
	units map[string]string // by point

	sense SenseFunc // nil until the chip is probed

	mu    sync.Mutex
	stats Stats
}

// NewSensor checks spec (as a profile entry would be) and returns a
// sensor on bus b. The chip is probed on the first Poll, and again after
// any bus or identity failure, so a sensor plugged in or power-cycled
// later is picked up.
func NewSensor(spec Spec, b i2c.Bus, opts *Opts) (*Sensor, error) {
	var errs []error
	add := func(_ int, field, format string, a ...any) {
		errs = append(errs, &ProfileError{Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	if spec.Lines == nil {
		spec.Lines = implicitLines(&spec)
	}
	kinds := Kinds()
	voc := drivers.NewVocabulary()
	checkSpec(&spec, kinds, voc, add)
	if errs != nil {
		return nil, fmt.Errorf("i2c: sensor %s: %w", spec.String(), errors.Join(errs...))
	}
	o := opts.withDefaults()
	if spec.Bus == "" {
		spec.Bus = o.Bus
	}
	units := map[string]string{}
	for _, pt := range spec.Points {
		ps, _ := voc.Lookup(pt)
		units[pt] = ps.Unit
	}
	return &Sensor{spec: spec, kind: kinds[spec.Sensor], bus: b, opts: o, units: units,
		stats: Stats{Sensor: spec.String(), ByClass: map[string]uint64{}}}, nil
}

// implicitLines marks the fields a Spec built in Go sets, so that checks
// of "is this key given" work as for YAML.
func implicitLines(s *Spec) map[string]int {
	m := map[string]int{"sensor": 0, "address": 0}
	set := func(key string, ok bool) {
		if ok {
			m[key] = 0
		}
	}
	set("name", s.Name != "")
	set("bus", s.Bus != "")
	set("points", s.Points != nil)
	set("resolution", s.Resolution != 0)
	set("repeatability", s.Repeatability != "")
	set("precision", s.Precision != "")
	set("oversampling", s.Oversampling != 0)
	set("filter", s.Filter != 0)
	set("channel", s.Channel != "")
	set("gain", s.Gain != 0)
	set("data_rate", s.DataRate != 0)
	set("scale", s.Scale != nil)
	set("offset", s.Offset != 0)
	set("min", s.Min != nil)
	set("max", s.Max != nil)
	return m
}

// Spec returns the sensor's entry, defaults applied.
func (s *Sensor) Spec() Spec {
	return s.spec
}

// Poll reads the chip once and returns one reading per point of its spec,
// in the order of the chip's roles. On any failure every reading is NaN
// and the error, naming the chip and address, is returned as well.
func (s *Sensor) Poll(ctx context.Context) ([]drivers.Reading, error) {
	vals, err := s.read(ctx)
	now := s.opts.Now()
	var rs []drivers.Reading
	for _, role := range s.kind.Roles {
		pt, ok := s.spec.Points[role]
		if !ok {
			continue
		}
		v := math.NaN()
		if err == nil {
			v = vals[role]
		}
		rs = append(rs, drivers.Reading{Point: pt, Value: v, Unit: s.units[pt], Time: now})
	}
	s.count(err)
	return rs, err
}

func (s *Sensor) read(ctx context.Context) (map[string]float64, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.sense == nil {
		f, err := s.kind.Open(s.bus, &s.spec)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.spec.String(), err)
		}
		s.sense = f
	}
	vals, err := s.sense(ctx)
	if err == nil {
		for role, v := range vals {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				err = fmt.Errorf("%s: %s is %v: %w", s.kind.Name, role, v, chip.ErrRange)
			}
		}
	}
	if err != nil {
		switch chip.Class(err) {
		case "bus", "id":
			s.sense = nil // probe and configure again next time
		}
		return nil, fmt.Errorf("%s: %w", s.spec.String(), err)
	}
	return vals, nil
}

func (s *Sensor) count(err error) {
	if chip.Class(err) == "canceled" {
		return // the poll was cut short, the sensor did nothing wrong
	}
	s.mu.Lock()
	s.stats.Polls++
	was := s.stats.LastError
	if err != nil {
		s.stats.Errors++
		s.stats.ByClass[chip.Class(err)]++
		s.stats.LastError = err.Error()
	} else {
		s.stats.LastError = ""
	}
	s.mu.Unlock()
	switch {
	case err != nil && was == "":
		s.opts.Logger.Warn("i2c sensor failed", "sensor", s.spec.String(), "class", chip.Class(err), "err", err)
	case err == nil && was != "":
		s.opts.Logger.Info("i2c sensor recovered", "sensor", s.spec.String())
	}
}

// Stats returns a copy of the sensor's counters.
func (s *Sensor) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.ByClass = maps.Clone(s.stats.ByClass)
	return st
}

// Device polls the sensors of one profile. It implements the agent's
// poll.Device. Poll must not be called concurrently; Stats may be.
type Device struct {
	name    string
	sensors []*Sensor
}

// NewDevice builds the sensors of p on the buses from buses (a sensor
// without a bus in its spec or the profile takes opts.Bus). It fails when
// a bus cannot be opened; missing chips only fail their polls.
func NewDevice(p *Profile, buses Buses, opts *Opts) (*Device, error) {
	o := opts.withDefaults()
	d := &Device{name: p.Name}
	for i := range p.Sensors {
		spec := p.Sensors[i]
		if spec.Bus == "" {
			spec.Bus = p.Bus
		}
		if spec.Bus == "" {
			spec.Bus = o.Bus
		}
		if spec.Bus == "" {
			return nil, fmt.Errorf("i2c: %s: %s has no bus (give bus: in the profile or the device's address)", p.Name, spec.String())
		}
		b, err := buses.Bus(spec.Bus)
		if err != nil {
			return nil, fmt.Errorf("i2c: %s: %s: %w", p.Name, spec.String(), err)
		}
		s, err := NewSensor(spec, b, &o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		d.sensors = append(d.sensors, s)
	}
	return d, nil
}

// Poll reads every sensor once, in profile order. A sensor that fails
// gives NaN readings and is counted in its Stats. The error is nil unless
// no sensor answered at all (every failure a bus error: NACKs, a missing
// bus), or ctx ended; the readings are complete either way.
func (d *Device) Poll(ctx context.Context) ([]drivers.Reading, error) {
	var rs []drivers.Reading
	var errs []error
	answered := false
	for _, s := range d.sensors {
		r, err := s.Poll(ctx)
		rs = append(rs, r...)
		switch {
		case err == nil:
			answered = true
		case chip.Class(err) == "canceled":
			return rs, err
		case chip.Class(err) != "bus":
			answered = true
			errs = append(errs, err)
		default:
			errs = append(errs, err)
		}
	}
	if !answered && len(errs) > 0 {
		return rs, fmt.Errorf("i2c: %s: no sensor answered: %w", d.name, errors.Join(errs...))
	}
	return rs, nil
}

// Stats returns the counters of every sensor, in profile order.
func (d *Device) Stats() []Stats {
	st := make([]Stats, len(d.sensors))
	for i, s := range d.sensors {
		st[i] = s.Stats()
	}
	return st
}

// Sensors returns the labels of the device's sensors, in profile order.
func (d *Device) Sensors() []string {
	names := make([]string, len(d.sensors))
	for i, s := range d.sensors {
		names[i] = s.spec.String()
	}
	return names
}

// String names the device and its sensors.
func (d *Device) String() string {
	return fmt.Sprintf("i2c{%s: %s}", d.name, strings.Join(d.Sensors(), ", "))
}

// NewDeviceURL builds the device of a site config entry from its address
// (see ParseURL) and profile: i2c:///dev/i2c-1 with a profile polls the
// profile's sensors, the bus of the address serving those that name none;
// i2c:///dev/i2c-1?addr=0x48&sensor=tmp102 without a profile polls that
// one sensor. name labels the device in errors.
func NewDeviceURL(name, address string, p *Profile, buses Buses, opts *Opts) (*Device, error) {
	bus, spec, err := ParseURL(address)
	if err != nil {
		return nil, err
	}
	o := opts.withDefaults()
	o.Bus = bus
	switch {
	case spec != nil && p != nil:
		return nil, fmt.Errorf("i2c: %s: %q names a sensor and the device has profile %s: give one or the other", name, address, p.Name)
	case spec != nil:
		if spec.Name == "" {
			spec.Name = name
		}
		p = &Profile{Name: name, Sensors: []Spec{*spec}}
	case p == nil:
		return nil, fmt.Errorf("i2c: %s: %q names no sensor and the device has no profile", name, address)
	default:
		cp := *p
		cp.Name = name
		p = &cp
	}
	return NewDevice(p, buses, &o)
}
