package sunspec

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
	"github.com/emberwatch/emberwatch/drivers/modbus"
)

// Registers reads registers from a Modbus device. The drivers/modbus
// client satisfies it; tests use a fake or the SunSpec simulator.
type Registers interface {
	ReadRegisters(ctx context.Context, unit byte, table modbus.Table, addr, count uint16) ([]uint16, error)
}

// Marker is the "SunS" marker at the base address of a SunSpec map.
var marker = [2]uint16{0x5375, 0x6e53}

// endID is the model ID of the end marker.
const endID = 0xFFFF

// Opts configures a Device. The zero value means defaults.
type Opts struct {
	// Unit is the Modbus unit (slave) id.
	Unit byte
	// Bases are the addresses searched for the SunS marker, in order.
	// Default 40000, 0, 50000.
	Bases []uint16
	// MaxRegisters caps registers per request (1-125). Default 125.
	MaxRegisters int
	// Now stamps readings. Default time.Now.
	Now func() time.Time
}

// Header is one model of a device's chain.
type Header struct {
	// ID is the model ID.
	ID uint16
	// Addr is the address of the model's ID register.
	Addr uint16
	// Len is the model length L: registers after ID and L.
	Len uint16
}

// end returns the address after the model, as an int (it may be 65536).
func (h Header) end() int { return int(h.Addr) + 2 + int(h.Len) }

// Device reads one SunSpec device. It discovers the model chain on first
// use and keeps it; Reset forgets it. A Device is not safe for concurrent
// use; it does not own its Registers.
type Device struct {
	r      Registers
	models *Models
	opts   Opts
	base   uint16
	chain  []Header
	found  bool
}

// New returns a Device reading unit opts.Unit through r, decoding the models
// defined in models. opts may be nil.
func New(r Registers, models *Models, opts *Opts) *Device {
	d := &Device{r: r, models: models}
	if opts != nil {
		d.opts = *opts
	}
	if d.opts.Bases == nil {
		d.opts.Bases = []uint16{40000, 0, 50000}
	}
	if d.opts.MaxRegisters <= 0 || d.opts.MaxRegisters > 125 {
		d.opts.MaxRegisters = 125
	}
	if d.opts.Now == nil {
		d.opts.Now = time.Now
	}
	return d
}

// ErrNotSunSpec is returned (wrapped) when no base address holds the SunS
// marker.
var ErrNotSunSpec = errors.New("no SunS marker")

// Reset forgets the discovered model chain; the next Read discovers again.
func (d *Device) Reset() { d.found, d.chain = false, nil }

// Base returns the address of the SunS marker, once discovered.
func (d *Device) Base() uint16 { return d.base }

// Discover finds the SunS marker and walks the model chain to the end
// marker, reading two registers a model.
func (d *Device) Discover(ctx context.Context) ([]Header, error) {
	var errs []error
	for _, b := range d.opts.Bases {
		w, err := d.read(ctx, b, 2)
		if err != nil {
			if unreachable(ctx, err) {
				// Nobody answers: the other bases would cost a timeout each.
				return nil, fmt.Errorf("sunspec: unit %d: SunS marker at %d: %w", d.opts.Unit, b, err)
			}
			errs = append(errs, fmt.Errorf("at %d: %w", b, err))
			continue
		}
		if w[0] != marker[0] || w[1] != marker[1] {
			errs = append(errs, fmt.Errorf("at %d: %04x %04x", b, w[0], w[1]))
			continue
		}
		chain, err := d.walk(ctx, b)
		if err != nil {
			return nil, err
		}
		d.base, d.chain, d.found = b, chain, true
		return append([]Header(nil), chain...), nil
	}
	return nil, fmt.Errorf("sunspec: unit %d: %w (%w)", d.opts.Unit, ErrNotSunSpec, errors.Join(errs...))
}

// unreachable tells a device that does not answer (a timeout, a gateway
// whose target is silent, a cancelled context) from one that refused.
func unreachable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, modbus.ErrTimeout) {
		return true
	}
	var ex *modbus.ExceptionError
	return errors.As(err, &ex) && (ex.Code == modbus.ExGatewayNoResponse || ex.Code == modbus.ExGatewayPath)
}

func (d *Device) walk(ctx context.Context, base uint16) ([]Header, error) {
	var chain []Header
	addr := int(base) + 2
	for {
		if addr+2 > 1<<16 {
			return nil, fmt.Errorf("sunspec: unit %d: model chain from %d runs past address 65535", d.opts.Unit, base)
		}
		w, err := d.read(ctx, uint16(addr), 2)
		if err != nil {
			after := "the SunS marker"
			if len(chain) > 0 {
				after = fmt.Sprintf("model %d at %d", chain[len(chain)-1].ID, chain[len(chain)-1].Addr)
			}
			return nil, fmt.Errorf("sunspec: unit %d: model header at %d (after %s): %w", d.opts.Unit, addr, after, err)
		}
		if w[0] == endID {
			return chain, nil
		}
		h := Header{ID: w[0], Addr: uint16(addr), Len: w[1]}
		if h.end() > 1<<16 {
			return nil, fmt.Errorf("sunspec: unit %d: model %d at %d: length %d runs past address 65535", d.opts.Unit, h.ID, h.Addr, h.Len)
		}
		chain = append(chain, h)
		addr = h.end()
	}
}

func (d *Device) read(ctx context.Context, addr uint16, count int) ([]uint16, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	w, err := d.r.ReadRegisters(ctx, d.opts.Unit, modbus.Holding, addr, uint16(count))
	if err != nil {
		return nil, err
	}
	if len(w) != count {
		return nil, fmt.Errorf("asked for %d registers at %d, got %d", count, addr, len(w))
	}
	return w, nil
}

// Read reads every model of the chain that has a definition, discovering
// the chain first if needed, and returns the readings named by the contract
// vocabulary. Adjacent models are read together, at most MaxRegisters a
// request; should a device refuse a request that spans models, each model
// is read on its own. Each model's ID and length are checked again on every
// read; after any error the chain is discovered anew on the next Read, so
// a device that was replaced or reconfigured is read with its new map.
func (d *Device) Read(ctx context.Context) ([]drivers.Reading, error) {
	rs, err := d.read1(ctx)
	if err != nil {
		d.Reset()
	}
	return rs, err
}

// Poll is Read, for the agent's poller.
func (d *Device) Poll(ctx context.Context) ([]drivers.Reading, error) { return d.Read(ctx) }

func (d *Device) read1(ctx context.Context) ([]drivers.Reading, error) {
	if !d.found {
		if _, err := d.Discover(ctx); err != nil {
			return nil, err
		}
	}
	now := d.opts.Now()
	var wanted []Header
	for _, h := range d.chain {
		if _, ok := d.models.Model(int(h.ID)); ok {
			wanted = append(wanted, h)
		}
	}
	regs := make(map[uint16][]uint16, len(wanted))
	for _, run := range runs(wanted, d.opts.MaxRegisters) {
		if err := d.readRun(ctx, run, regs); err != nil {
			return nil, err
		}
	}
	var entries []entry
	nstr := 0
	for _, h := range wanted {
		w := regs[h.Addr]
		if w[0] != h.ID || w[1] != h.Len {
			return nil, fmt.Errorf("sunspec: unit %d: model %d at %d now reads as model %d of length %d: the model chain changed",
				d.opts.Unit, h.ID, h.Addr, w[0], w[1])
		}
		m, _ := d.models.Model(int(h.ID))
		es, n, err := decodeModel(h, m, w)
		if err != nil {
			return nil, fmt.Errorf("sunspec: unit %d: %w", d.opts.Unit, err)
		}
		nstr = max(nstr, n)
		entries = append(entries, es...)
	}
	return d.name(entries, nstr, now), nil
}

// runs groups the wanted models into runs read as one span of registers.
// A run reads through the models between two wanted ones (models without a
// definition) when that takes no more requests than reading apart.
func runs(hs []Header, limit int) [][]Header {
	reqs := func(n int) int { return (n + limit - 1) / limit }
	var out [][]Header
	for i, h := range hs {
		if i > 0 {
			run := out[len(out)-1]
			start, end := int(run[0].Addr), hs[i-1].end()
			if reqs(h.end()-start) <= reqs(end-start)+reqs(h.end()-int(h.Addr)) {
				out[len(out)-1] = append(run, h)
				continue
			}
		}
		out = append(out, []Header{h})
	}
	return out
}

// readRun reads the adjacent models of run into regs, by model address.
func (d *Device) readRun(ctx context.Context, run []Header, regs map[uint16][]uint16) error {
	start := int(run[0].Addr)
	buf, err := d.readSpan(ctx, start, run[len(run)-1].end()-start)
	if err != nil {
		if len(run) == 1 || ctx.Err() != nil {
			return fmt.Errorf("sunspec: unit %d: model %d at %d: %w", d.opts.Unit, run[0].ID, run[0].Addr, err)
		}
		for _, h := range run {
			if err := d.readRun(ctx, []Header{h}, regs); err != nil {
				return err
			}
		}
		return nil
	}
	for _, h := range run {
		regs[h.Addr] = buf[int(h.Addr)-start : h.end()-start]
	}
	return nil
}

// readSpan reads count registers from addr in requests of at most
// MaxRegisters.
func (d *Device) readSpan(ctx context.Context, addr, count int) ([]uint16, error) {
	buf := make([]uint16, 0, count)
	for off := 0; off < count; off += d.opts.MaxRegisters {
		n := min(d.opts.MaxRegisters, count-off)
		w, err := d.read(ctx, uint16(addr+off), n)
		if err != nil {
			return nil, fmt.Errorf("read %d registers at %d: %w", n, addr+off, err)
		}
		buf = append(buf, w...)
	}
	return buf, nil
}

// entry is one decoded, mapped value before naming.
type entry struct {
	tmpl    string
	unit    string
	vars    map[string]int
	several bool
	value   float64
	text    string
	isText  bool
}

// decodeModel decodes the mapped points of one model instance. It returns
// the number of strings the model reports when its group repeats per
// string (model 803), else 0.
func decodeModel(h Header, m *Model, regs []uint16) ([]entry, int, error) {
	where := fmt.Sprintf("model %d at %d", h.ID, h.Addr)
	words := func(block []uint16, p *Point) ([]uint16, bool) {
		if p.Offset+p.Len() > len(block) {
			return nil, false
		}
		return block[p.Offset : p.Offset+p.Len()], true
	}
	fixedLen := min(m.FixedLen(), len(regs))
	fixed := regs[:fixedLen]
	sfs := scaleFactors(m.Points, fixed, nil)
	vars := map[string]int{}
	for v, name := range m.Index {
		p, _ := m.Point(name)
		w, ok := words(fixed, &p)
		if !ok {
			return nil, 0, fmt.Errorf("%s: point %s: beyond the model length %d", where, name, h.Len)
		}
		raw, _, _, valid := rawValue(&p, w)
		if !valid || raw < 1 {
			return nil, 0, fmt.Errorf("%s: point %s: index %d is not a valid 1-based index", where, name, raw)
		}
		vars[v] = int(raw)
	}
	var out []entry
	emit := func(block []uint16, ps []Point, sfs map[string]float64, vars map[string]int) {
		for i := range ps {
			p := &ps[i]
			if p.Contract == "" {
				continue
			}
			w, ok := words(block, p)
			if !ok {
				continue
			}
			out = append(out, decodePoint(p, w, sfs, vars))
		}
	}
	emit(fixed, m.Points, sfs, vars)
	if len(m.Groups) == 0 {
		return out, 0, nil
	}
	g := &m.Groups[0]
	glen := g.Len()
	fit := (len(regs) - fixedLen) / glen
	n := fit
	if g.Count != "" {
		p, _ := m.Point(g.Count)
		w, ok := words(fixed, &p)
		if ok {
			raw, _, _, valid := rawValue(&p, w)
			if valid {
				n = int(raw)
			}
		}
		if n > fit {
			return nil, 0, fmt.Errorf("%s: point %s: %d repetitions of group %s need %d registers, the model has %d",
				where, g.Count, n, g.Name, n*glen, len(regs)-fixedLen)
		}
	}
	for k := 1; k <= n; k++ {
		block := regs[fixedLen+(k-1)*glen : fixedLen+k*glen]
		gv := map[string]int{g.Index: k}
		for v, i := range vars {
			gv[v] = i
		}
		emit(block, g.Points, scaleFactors(g.Points, block, sfs), gv)
	}
	nstr := 0
	if g.Index == "str" {
		nstr = n
	}
	return out, nstr, nil
}

// scaleFactors returns the sunssf points of a block (NaN where not
// implemented), on top of those of parent.
func scaleFactors(ps []Point, block []uint16, parent map[string]float64) map[string]float64 {
	sfs := make(map[string]float64, len(parent)+8)
	for k, v := range parent {
		sfs[k] = v
	}
	for i := range ps {
		p := &ps[i]
		if p.Type != "sunssf" || p.Offset >= len(block) {
			continue
		}
		raw, _, _, ok := rawValue(p, block[p.Offset:p.Offset+1])
		if ok && raw >= -10 && raw <= 10 {
			sfs[p.Name] = float64(raw)
		} else {
			sfs[p.Name] = math.NaN()
		}
	}
	return sfs
}

func decodePoint(p *Point, w []uint16, sfs map[string]float64, vars map[string]int) entry {
	e := entry{tmpl: p.Contract, unit: p.unit, vars: vars, several: p.Strings == "several", value: math.NaN()}
	if p.Type == "string" {
		e.isText, e.text = true, text(w)
		return e
	}
	i, f, isFloat, ok := rawValue(p, w)
	if p.Enum != nil {
		e.isText = true
		if ok {
			if t, known := p.Enum[i]; known {
				e.text = t
			} else {
				e.text = strconv.FormatInt(i, 10)
			}
		}
		return e
	}
	if !ok {
		return e
	}
	if !isFloat {
		f = float64(i)
	}
	if p.SF == "" {
		e.value = f
		return e
	}
	sf, ok := sfs[p.SF]
	if !ok || math.IsNaN(sf) {
		return e
	}
	e.value = Scale(f, int(sf))
	return e
}

// name turns entries into readings: indices substituted, the string prefix
// added for banks of several strings, duplicates dropped (first wins).
func (d *Device) name(entries []entry, nstr int, now time.Time) []drivers.Reading {
	strs := map[int]bool{}
	for _, e := range entries {
		if s, ok := e.vars["str"]; ok {
			strs[s] = true
		}
	}
	several := nstr > 1 || len(strs) > 1
	seen := make(map[string]bool, len(entries))
	out := make([]drivers.Reading, 0, len(entries))
	for _, e := range entries {
		if e.several && !several {
			continue
		}
		name := templateVar.ReplaceAllStringFunc(e.tmpl, func(v string) string {
			return strconv.Itoa(e.vars[v[1:len(v)-1]])
		})
		if s, ok := e.vars["str"]; ok && several && strings.HasPrefix(name, "battery.") {
			name = "battery.string." + strconv.Itoa(s) + "." + strings.TrimPrefix(name, "battery.")
		}
		if seen[name] {
			continue
		}
		seen[name] = true
		r := drivers.Reading{Point: name, Value: e.value, Unit: e.unit, Time: now}
		if e.isText {
			r.Value, r.Text = math.NaN(), e.text
		}
		out = append(out, r)
	}
	return out
}
