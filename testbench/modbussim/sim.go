package modbussim

import (
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emberwatch/emberwatch/drivers/modbus"
	mb "github.com/simonvetter/modbus"
)

// Source provides the values a Sim serves, by contract point name in SI
// units. testbench/rack.Rack is a Source.
type Source interface {
	Points() map[string]float64
}

// TextSource is a Source that also provides text points (ups.status,
// device.model), served through the profile's STRING and enum registers.
type TextSource interface {
	Source
	Texts() map[string]string
}

// Map is a fixed Source: numeric values and text values by point name.
type Map struct {
	Values map[string]float64
	Text   map[string]string
}

// Points returns m.Values.
func (m Map) Points() map[string]float64 { return m.Values }

// Texts returns m.Text.
func (m Map) Texts() map[string]string { return m.Text }

// Options tunes a Sim. The zero value is the default.
type Options struct {
	// Name names the simulated device in logs and errors (default the
	// profile's name).
	Name string
	// Logger receives the simulator's and the Modbus server's messages
	// (default: discarded).
	Logger *slog.Logger
	// Unreadable adds address ranges answering exception 2 to the
	// profile's own.
	Unreadable []modbus.Range
}

// Counters are a slave's request statistics.
type Counters struct {
	// Requests counts requests addressed to the slave that it heard (all
	// but those sent while it was Dead).
	Requests uint64
	// Registers counts registers (or bits) served in normal replies.
	Registers uint64
	// Exceptions counts exception replies.
	Exceptions uint64
	// Dropped counts requests left unanswered or cut short by a fault.
	Dropped uint64
}

// Sim is one simulated Modbus slave serving a profile. Build it with New.
type Sim struct {
	profile    *modbus.Profile
	points     []modbus.Register
	src        Source
	name       string
	log        *slog.Logger
	unreadable []modbus.Range

	img atomic.Pointer[image]

	mu    sync.Mutex
	fault Fault

	requests, registers, exceptions, dropped atomic.Uint64
}

// image is one consistent snapshot of everything a Sim serves.
type image struct {
	regs   map[modbus.Table]map[uint16]uint16
	values map[string]float64
	texts  map[string]string
}

// New returns a Sim serving p from src. p is a profile as
// modbus.ParseProfile returns it (repeats expanded into p.Points); src is
// read once now and again on every Refresh. It fails when a value cannot be
// encoded (a text that is not in a register's enum).
func New(p *modbus.Profile, src Source, opts Options) (*Sim, error) {
	s := &Sim{profile: p, src: src, name: opts.Name, log: opts.Logger}
	if s.name == "" {
		s.name = p.Name
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.points = p.Points
	if len(s.points) == 0 {
		// A profile built by hand without repeats.
		for _, r := range p.Registers {
			if len(r.Repeat) > 0 {
				return nil, fmt.Errorf("modbussim %s: profile has repeats but no expanded Points; load it with modbus.ParseProfile", s.name)
			}
			s.points = append(s.points, r)
		}
	}
	s.unreadable = append(append(s.unreadable, p.Unreadable...), opts.Unreadable...)
	if err := s.Refresh(); err != nil {
		return nil, err
	}
	return s, nil
}

// Name returns the simulated device's name.
func (s *Sim) Name() string { return s.name }

// Profile returns the profile the Sim serves.
func (s *Sim) Profile() *modbus.Profile { return s.profile }

// Refresh reads the source again and atomically replaces what is served.
// Call it after stepping the model behind the source.
func (s *Sim) Refresh() error {
	var texts map[string]string
	if ts, ok := s.src.(TextSource); ok {
		texts = ts.Texts()
	}
	vals := s.src.Points()
	img := &image{
		regs:   map[modbus.Table]map[uint16]uint16{},
		values: make(map[string]float64, len(s.points)),
		texts:  map[string]string{},
	}
	for i := range s.points {
		r := &s.points[i]
		table := tableOf(r.Table)
		words, err := s.encode(r, vals, texts)
		if err != nil {
			return fmt.Errorf("modbussim %s: %s register %d: %w", s.name, table, r.Address, err)
		}
		m := img.regs[table]
		if m == nil {
			m = map[uint16]uint16{}
			img.regs[table] = m
		}
		for k, w := range words {
			a := r.Address + uint16(k)
			if r.Type == modbus.Bit {
				m[a] |= w
			} else {
				m[a] = w
			}
		}
	}
	// Decode what is now served, so Values is exact (quantised by the
	// register's scale, or NaN where the register holds a sentinel).
	for i := range s.points {
		r := &s.points[i]
		m := img.regs[tableOf(r.Table)]
		if r.Table == modbus.Coil || r.Table == modbus.Discrete {
			img.values[r.Point] = float64(m[r.Address] & 1)
			continue
		}
		words := make([]uint16, r.Words())
		for k := range words {
			words[k] = m[r.Address+uint16(k)]
		}
		v, text, err := r.Decode(words, s.profile.ByteOrder)
		if err != nil {
			return fmt.Errorf("modbussim %s: %s register %d: decode: %w", s.name, tableOf(r.Table), r.Address, err)
		}
		img.values[r.Point] = v
		if text != "" {
			img.texts[r.Point] = text
		}
	}
	s.img.Store(img)
	return nil
}

// encode returns the registers that serve point r. A point the source does
// not provide (or provides as NaN) is served as the register's first
// invalid sentinel if it has one, else as NaN (floats) or zero.
func (s *Sim) encode(r *modbus.Register, vals map[string]float64, texts map[string]string) ([]uint16, error) {
	if r.Table == modbus.Coil || r.Table == modbus.Discrete {
		if v, ok := vals[r.Point]; ok && v != 0 && !math.IsNaN(v) {
			return []uint16{1}, nil
		}
		return []uint16{0}, nil
	}
	text, hasText := texts[r.Point]
	if r.Type == modbus.String || (r.Enum != nil && hasText) {
		return r.Encode(math.NaN(), text, s.profile.ByteOrder)
	}
	v, ok := vals[r.Point]
	if !ok || math.IsNaN(v) {
		switch {
		case len(r.Invalid) > 0:
			scale := 1.0
			if r.Scale != nil {
				scale = *r.Scale
			}
			v = float64(r.Invalid[0])*scale + r.Offset
		case r.Type == modbus.Float32 || r.Type == modbus.Float64:
			v = math.NaN()
		default:
			v = r.Offset
		}
	}
	return r.Encode(v, "", s.profile.ByteOrder)
}

func tableOf(t modbus.Table) modbus.Table {
	if t == "" {
		return modbus.Holding
	}
	return t
}

// Values returns the numeric value of every point as now served, decoded
// from the served registers (NaN for text points and sentinels).
func (s *Sim) Values() map[string]float64 {
	img := s.img.Load()
	out := make(map[string]float64, len(img.values))
	for k, v := range img.values {
		out[k] = v
	}
	return out
}

// Texts returns the text of every STRING and enum point as now served.
func (s *Sim) Texts() map[string]string {
	img := s.img.Load()
	out := make(map[string]string, len(img.texts))
	for k, v := range img.texts {
		out[k] = v
	}
	return out
}

// Registers returns n registers of table from addr as now served
// (unmapped addresses read as zero).
func (s *Sim) Registers(table modbus.Table, addr uint16, n int) []uint16 {
	m := s.img.Load().regs[tableOf(table)]
	out := make([]uint16, n)
	for i := range out {
		out[i] = m[addr+uint16(i)]
	}
	return out
}

// Counters returns the slave's request statistics so far.
func (s *Sim) Counters() Counters {
	return Counters{
		Requests:   s.requests.Load(),
		Registers:  s.registers.Load(),
		Exceptions: s.exceptions.Load(),
		Dropped:    s.dropped.Load(),
	}
}

// ResetCounters sets the counters to zero.
func (s *Sim) ResetCounters() {
	s.requests.Store(0)
	s.registers.Store(0)
	s.exceptions.Store(0)
	s.dropped.Store(0)
}

// admit is called by a transport for every request addressed to the
// slave. It counts the request and tells the transport how to treat it:
// NoFault (answer normally, exceptions included), NoReply or Dead (stay
// silent), CloseMidReply, or LateReply after the returned delay.
func (s *Sim) admit() (FaultKind, time.Duration) {
	s.mu.Lock()
	f := s.fault
	switch f.Kind {
	case NoReply, CloseMidReply, LateReply, Dead:
		s.consumeLocked()
	default:
		f.Kind = NoFault
	}
	s.mu.Unlock()
	if f.Kind != Dead {
		s.requests.Add(1)
	}
	switch f.Kind {
	case NoReply, Dead, CloseMidReply:
		s.dropped.Add(1)
		s.log.Debug("modbussim: fault", "device", s.name, "fault", f.Kind.String())
	}
	return f.Kind, f.Delay
}

// consumeLocked counts one use of a fault limited by Times.
func (s *Sim) consumeLocked() {
	if s.fault.Times > 0 {
		s.fault.Times--
		if s.fault.Times == 0 {
			s.fault = Fault{}
		}
	}
}

// readRegisters serves a read of table; the error is one of the Modbus
// exception errors of github.com/simonvetter/modbus.
func (s *Sim) readRegisters(table modbus.Table, addr, qty uint16) ([]uint16, error) {
	if err := s.check(table, addr, qty); err != nil {
		return nil, err
	}
	m := s.img.Load().regs[table]
	out := make([]uint16, qty)
	for i := range out {
		out[i] = m[addr+uint16(i)]
	}
	s.registers.Add(uint64(qty))
	return out, nil
}

func (s *Sim) readBits(table modbus.Table, addr, qty uint16) ([]bool, error) {
	if err := s.check(table, addr, qty); err != nil {
		return nil, err
	}
	m := s.img.Load().regs[table]
	out := make([]bool, qty)
	for i := range out {
		out[i] = m[addr+uint16(i)]&1 != 0
	}
	s.registers.Add(uint64(qty))
	return out, nil
}

// check applies the exception fault and the unreadable ranges to a read.
func (s *Sim) check(table modbus.Table, addr, qty uint16) error {
	last := uint32(addr) + uint32(qty) - 1
	s.mu.Lock()
	f := s.fault
	hit := f.Kind == Exception && uint32(f.From) <= last && addr <= f.to()
	if hit {
		s.consumeLocked()
	}
	s.mu.Unlock()
	if hit {
		s.exceptions.Add(1)
		return exceptionErr[f.Code]
	}
	for _, r := range s.unreadable {
		if tableOf(r.Table) == table && uint32(r.Start) <= last && addr <= r.End {
			s.exceptions.Add(1)
			return mb.ErrIllegalDataAddress
		}
	}
	return nil
}

// write refuses writes: the simulated devices are read-only.
func (s *Sim) write() error {
	s.exceptions.Add(1)
	return mb.ErrIllegalFunction
}
