package snmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
	"github.com/gosnmp/gosnmp"
)

// Bulk sizes: GETBULK asks for DefaultMaxRepetitions rows, and 1 after an
// error or a corrupt answer from that agent's table.
const (
	DefaultMaxRepetitions = 10
	FallbackRepetitions   = 1
	// retryFullRepsAfter is how many polls run at 1 before 10 is tried again.
	retryFullRepsAfter = 60
)

// Options tune a Device; the zero value means defaults.
type Options struct {
	// Logger receives partial failures (a table that could not be read) at
	// warning level. Default: discard.
	Logger *slog.Logger
	// Now is the clock stamped on readings (default time.Now).
	Now func() time.Time
	// InventoryEvery reads the inventory points (device.model, serial,
	// firmware, ...) on the first poll and then once every so many polls
	// (default 12: once a minute at a 5 s poll). 1 reads them every poll.
	InventoryEvery int
}

// Device polls one agent through a profile. Poll is for one goroutine at a
// time; Stats is safe to call concurrently.
type Device struct {
	name string
	p    *Profile
	c    Conn
	log  *slog.Logger
	now  func() time.Time
	voc  *drivers.PointVocabulary

	mu      sync.Mutex // guards maxOIDs and reps between Poll and Switch
	maxOIDs int
	reps    uint32 // GETBULK max-repetitions that works
	atOne   int    // polls walked at max-repetitions 1 since the fallback
	invery  int

	requests, errs, polls atomic.Uint64
}

// NewDevice returns a Device named name (used in errors and logs) reading
// profile p through c. The Device borrows c: the caller closes it.
func NewDevice(name string, p *Profile, c Conn, opts Options) *Device {
	d := &Device{name: name, p: p, c: c, log: opts.Logger, now: opts.Now, voc: drivers.NewVocabulary(),
		maxOIDs: p.MaxOIDs, reps: DefaultMaxRepetitions}
	if d.maxOIDs <= 0 {
		d.maxOIDs = DefaultMaxOIDs
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	if d.now == nil {
		d.now = time.Now
	}
	d.invery = opts.InventoryEvery
	if d.invery <= 0 {
		d.invery = 12
	}
	return d
}

// Profile returns the device's profile.
func (d *Device) Profile() *Profile { return d.p }

// Stats counts a Device's work.
type Stats struct {
	// Polls is the number of Poll calls.
	Polls uint64
	// Requests is the requests the Device made (GET, GETNEXT, GETBULK, SET),
	// each counted once however often the Client retried it.
	Requests uint64
	// Packets is the datagrams sent and received when the Conn counts them
	// (a *Client does), else 0.
	Packets uint64
	// Errors is the requests that failed and the answers that were refused.
	Errors uint64
	// MaxOIDs is the GET size that currently works with the agent.
	MaxOIDs int
}

// Stats returns the counters.
func (d *Device) Stats() Stats {
	s := Stats{Polls: d.polls.Load(), Requests: d.requests.Load(), Errors: d.errs.Load()}
	if pc, ok := d.c.(interface{ Stats() ClientStats }); ok {
		s.Packets = pc.Stats().Packets
	}
	d.mu.Lock()
	s.MaxOIDs = d.maxOIDs
	d.mu.Unlock()
	return s
}

// Poll reads every scalar and table of the profile once (the inventory
// points device.* only every Options.InventoryEvery polls). Objects the agent
// lacks are left out; a table that cannot be read is logged and left out.
// Poll fails only when the agent gave nothing at all (no answer, wrong
// credentials); the error names the agent and the OID.
func (d *Device) Poll(ctx context.Context) ([]drivers.Reading, error) {
	n := d.polls.Add(1)
	d.mu.Lock()
	defer d.mu.Unlock()
	inventory := (n-1)%uint64(d.invery) == 0
	var oids []string
	seen := map[string]bool{}
	for _, s := range d.p.Scalars {
		if isInventory(s.Point) && !inventory {
			continue
		}
		for _, o := range []string{s.OID, s.DecimalsOID} {
			if o != "" && !seen[o] {
				seen[o] = true
				oids = append(oids, o)
			}
		}
	}
	var errs []error
	answered := false
	vals, err := d.getMany(ctx, oids)
	if err != nil {
		errs = append(errs, err)
	}
	if len(vals) > 0 || (err == nil && len(oids) > 0) {
		answered = true
	}
	t := d.now()
	var out []drivers.Reading
	done := map[string]int{} // point -> index in out
	emit := func(point string, v *Value, pdu gosnmp.SnmpPDU, x rowExtra) {
		r, ok := d.reading(point, v, pdu, x, t)
		if !ok {
			return
		}
		if i, dup := done[point]; dup {
			if !out[i].Valid() && r.Valid() {
				out[i] = r // a fallback row fills in
			}
			return
		}
		done[point] = len(out)
		out = append(out, r)
	}
	for i := range d.p.Scalars {
		s := &d.p.Scalars[i]
		if pdu, ok := vals[s.OID]; ok {
			x := rowExtra{}
			if s.DecimalsOID != "" {
				if dd, ok := rawNumber(vals[s.DecimalsOID]); ok && dd > 0 && dd < 10 {
					x.decimals = int(dd)
				}
			}
			emit(s.Point, &s.Value, pdu, x)
		}
	}
	data, err := d.walkAll(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return out, err
		}
		errs = append(errs, err)
		d.log.Warn("snmp tables not read whole", "device", d.name, "agent", d.c.String(), "err", err)
	}
	read := 0
	for _, m := range data {
		read += len(m)
	}
	if len(d.p.Tables) > 0 && (read > 0 || err == nil) {
		answered = true
	}
	for ti := range d.p.Tables {
		tb := &d.p.Tables[ti]
		rows := tableRows(tb, data)
		for _, row := range rows {
			for ci := range tb.Columns {
				c := &tb.Columns[ci]
				pdu, ok := row.vals[c.OID]
				if !ok {
					continue
				}
				x := rowExtra{}
				if c.FahrenheitWhen != nil {
					if u, ok := rawNumber(row.vals[c.FahrenheitWhen.OID]); ok && containsInt(c.FahrenheitWhen.Values, u) {
						x.fahrenheit = true
					}
				}
				if c.DecimalsColumn != "" {
					if dd, ok := rawNumber(row.vals[c.DecimalsColumn]); ok && dd > 0 && dd < 10 {
						x.decimals = int(dd)
					}
				}
				point := strings.Replace(c.Point, ".N.", "."+strconv.Itoa(row.index)+".", 1)
				emit(point, &c.Value, pdu, x)
			}
		}
	}
	if !answered && len(errs) > 0 {
		return nil, fmt.Errorf("snmp %s (%s): %w", d.name, d.c.String(), errors.Join(errs...))
	}
	return out, nil
}

// isInventory tells the points that do not change between polls.
func isInventory(point string) bool { return strings.HasPrefix(point, "device.") }

// reading decodes one varbind for point.
func (d *Device) reading(point string, v *Value, pdu gosnmp.SnmpPDU, x rowExtra, t time.Time) (drivers.Reading, bool) {
	dv := decodeValue(v, pdu, x)
	if !dv.ok {
		return drivers.Reading{}, false
	}
	spec, _ := d.voc.Lookup(point)
	if spec.Unit == "°C" && dv.value < -273.15 {
		dv.value = math.NaN() // below absolute zero: a sentinel the profile missed
	}
	r := drivers.Reading{Point: point, Value: dv.value, Text: dv.text, Unit: spec.Unit, Time: t}
	if spec.Kind == drivers.Text {
		r.Value = math.NaN()
	}
	return r, true
}

func containsInt(vs []int64, f float64) bool {
	for _, v := range vs {
		if float64(v) == f {
			return true
		}
	}
	return false
}

// getMany GETs oids in as few requests as the agent allows and returns the
// varbinds of the objects it has. A tooBig answer halves the request size
// (remembered for later polls); v1 noSuchName drops the named OID and
// sends the rest again; genErr on a multi-OID request falls back to one
// OID a request for the rest of the call.
func (d *Device) getMany(ctx context.Context, oids []string) (map[string]gosnmp.SnmpPDU, error) {
	vals := make(map[string]gosnmp.SnmpPDU, len(oids))
	rest := oids
	single := false
	var errs []error
	for len(rest) > 0 {
		n := d.maxOIDs
		if single {
			n = 1
		}
		n = min(n, len(rest))
		chunk := rest[:n]
		d.requests.Add(1)
		pkt, err := d.c.Get(ctx, chunk)
		if err != nil {
			d.errs.Add(1)
			if ctx.Err() != nil || len(vals) == 0 {
				// No answer at all: the next chunks would wait just as long.
				return vals, fmt.Errorf("GET %s: %w", chunk[0], err)
			}
			errs = append(errs, fmt.Errorf("GET %s: %w", chunk[0], err))
			rest = rest[n:]
			continue
		}
		switch pkt.Error {
		case gosnmp.NoError:
			for _, v := range pkt.Variables {
				vals[strings.TrimPrefix(v.Name, ".")] = v
			}
			rest = rest[n:]
		case gosnmp.TooBig:
			d.errs.Add(1)
			if n == 1 {
				errs = append(errs, fmt.Errorf("GET %s: tooBig for a single OID", chunk[0]))
				rest = rest[1:]
				continue
			}
			d.maxOIDs = max(1, (n+1)/2)
			d.log.Debug("snmp tooBig: fewer OIDs per GET", "device", d.name, "max_oids", d.maxOIDs)
		case gosnmp.NoSuchName:
			// v1: the whole request fails; ErrorIndex names the culprit.
			idx := int(pkt.ErrorIndex)
			if idx >= 1 && idx <= n {
				rest = append(append([]string(nil), chunk[:idx-1]...), rest[idx:]...)
				continue
			}
			if n == 1 {
				rest = rest[1:]
				continue
			}
			single = true
		default:
			d.errs.Add(1)
			if n == 1 {
				errs = append(errs, fmt.Errorf("GET %s: %v", chunk[0], pkt.Error))
				rest = rest[1:]
				continue
			}
			single = true
		}
	}
	return vals, errors.Join(errs...)
}

// row is one row of a walked table.
type row struct {
	suffix []uint32
	index  int
	vals   map[string]gosnmp.SnmpPDU // column OID -> varbind
}

// walkAll reads every column of every table side by side, by GETBULK
// (GETNEXT on v1). After an error or a corrupt answer it walks again with
// max-repetitions 1, and keeps that for later polls. What was read before
// a failure is returned with the error.
func (d *Device) walkAll(ctx context.Context) (map[string]map[string]gosnmp.SnmpPDU, error) {
	if len(d.p.Tables) == 0 {
		return nil, nil
	}
	maxRows := map[string]int{}
	var cols []string
	for ti := range d.p.Tables {
		for _, c := range tableColumns(&d.p.Tables[ti]) {
			if _, ok := maxRows[c]; !ok {
				cols = append(cols, c)
			}
			maxRows[c] = max(maxRows[c], d.p.Tables[ti].MaxRows)
		}
	}
	if d.reps == FallbackRepetitions {
		// A fallback after a passing fault should not cost requests for
		// ever: try the full size again now and then.
		if d.atOne++; d.atOne >= retryFullRepsAfter {
			d.reps, d.atOne = DefaultMaxRepetitions, 0
		}
	}
	data, err := d.walkColumns(ctx, cols, maxRows, d.reps)
	if err != nil && ctx.Err() == nil && d.reps > FallbackRepetitions {
		d.log.Debug("snmp walk failed: max-repetitions 1", "device", d.name, "err", err)
		d.reps = FallbackRepetitions
		data, err = d.walkColumns(ctx, cols, maxRows, d.reps)
	}
	return data, err
}

// tableRows gathers a table's rows from the walked columns, keeps those
// Where selects, numbers them, and returns them in instance order.
func tableRows(tb *Table, data map[string]map[string]gosnmp.SnmpPDU) []row {
	bySuffix := map[string]*row{}
	var rows []*row
	for _, col := range tableColumns(tb) {
		for sfx, pdu := range data[col] {
			r := bySuffix[sfx]
			if r == nil {
				r = &row{suffix: parseOID(sfx), vals: map[string]gosnmp.SnmpPDU{}}
				bySuffix[sfx] = r
				rows = append(rows, r)
			}
			r.vals[col] = pdu
		}
	}
	sort.Slice(rows, func(i, j int) bool { return oidLess(rows[i].suffix, rows[j].suffix) })
	var out []row
	pos := 0
rows:
	for _, r := range rows {
		for _, w := range tb.Where {
			v, ok := rawNumber(r.vals[w.OID])
			if !ok || !containsInt(w.Values, v) {
				continue rows
			}
		}
		for k, v := range tb.Instance {
			if k > len(r.suffix) || r.suffix[k-1] != v {
				continue rows
			}
		}
		pos++
		if len(r.suffix) == 0 {
			continue
		}
		switch {
		case tb.IndexSub > 0:
			if tb.IndexSub > len(r.suffix) {
				continue
			}
			r.index = int(r.suffix[tb.IndexSub-1])
		case tb.Index == IndexPosition:
			r.index = pos
		case tb.Index == IndexFirst:
			r.index = int(r.suffix[0])
		default:
			r.index = int(r.suffix[len(r.suffix)-1])
		}
		r.index += tb.IndexOffset
		if r.index < 1 {
			continue // contract indices start at 1
		}
		out = append(out, *r)
	}
	return out
}

// tableColumns lists the distinct columns a table reads.
func tableColumns(tb *Table) []string {
	seen := map[string]bool{}
	var cols []string
	add := func(o string) {
		if o != "" && !seen[o] {
			seen[o] = true
			cols = append(cols, o)
		}
	}
	for _, w := range tb.Where {
		add(w.OID)
	}
	for _, c := range tb.Columns {
		add(c.OID)
		if c.FahrenheitWhen != nil {
			add(c.FahrenheitWhen.OID)
		}
		add(c.DecimalsColumn)
	}
	return cols
}

// errCorrupt marks an answer that does not walk forward.
var errCorrupt = errors.New("corrupt table answer (OIDs not increasing)")

// walkColumns walks the columns side by side, at most maxOIDs columns a
// request. It returns, per column, the varbinds by instance suffix. A
// corrupt answer at reps > 1 is an error (the caller walks again at 1); at
// 1 it ends the column.
func (d *Device) walkColumns(ctx context.Context, cols []string, maxRows map[string]int, reps uint32) (map[string]map[string]gosnmp.SnmpPDU, error) {
	type colState struct {
		base, cur string
		baseP     []uint32
		last      []uint32
		done      bool
		rows      int
	}
	st := make([]*colState, len(cols))
	data := map[string]map[string]gosnmp.SnmpPDU{}
	for i, c := range cols {
		st[i] = &colState{base: c, cur: c, baseP: parseOID(c), last: parseOID(c)}
		data[c] = map[string]gosnmp.SnmpPDU{}
	}
	v1 := d.c.Version() == gosnmp.Version1
	total := 0
	for _, n := range maxRows {
		total += n
	}
	for guard := 0; guard < total+8; guard++ {
		var active []*colState
		var req []string
		for _, s := range st {
			if !s.done && len(active) < d.maxOIDs {
				active = append(active, s)
				req = append(req, s.cur)
			}
		}
		if len(active) == 0 {
			return data, nil
		}
		var pkt *gosnmp.SnmpPacket
		var err error
		d.requests.Add(1)
		if v1 {
			pkt, err = d.c.GetNext(ctx, req)
		} else {
			pkt, err = d.c.GetBulk(ctx, req, reps)
		}
		if err != nil {
			d.errs.Add(1)
			return data, fmt.Errorf("GETBULK %s: %w", req[0], err)
		}
		if pkt.Error != gosnmp.NoError {
			if v1 && pkt.Error == gosnmp.NoSuchName {
				// v1 end of view: the culprit column is finished.
				idx := int(pkt.ErrorIndex)
				if idx >= 1 && idx <= len(active) {
					active[idx-1].done = true
					continue
				}
				for _, s := range active {
					s.done = true
				}
				continue
			}
			d.errs.Add(1)
			if (pkt.Error == gosnmp.TooBig || pkt.Error == gosnmp.GenErr) && reps <= FallbackRepetitions && len(active) > 1 {
				// Fewer columns a request, remembered as for GET (some
				// agents answer genErr rather than tooBig).
				d.maxOIDs = (len(active) + 1) / 2
				continue
			}
			return data, fmt.Errorf("GETBULK %s: %v", req[0], pkt.Error)
		}
		if len(pkt.Variables) == 0 {
			for _, s := range active {
				s.done = true
			}
			continue
		}
		corrupt := false
		for i, v := range pkt.Variables {
			s := active[i%len(active)]
			if s.done {
				continue
			}
			if v.Type == gosnmp.EndOfMibView || v.Type == gosnmp.NoSuchObject || v.Type == gosnmp.NoSuchInstance {
				s.done = true
				continue
			}
			name := strings.TrimPrefix(v.Name, ".")
			p := parseOID(name)
			if !hasPrefix(p, s.baseP) {
				s.done = true
				continue
			}
			if !oidLess(s.last, p) {
				corrupt = true
				s.done = true
				continue
			}
			s.last, s.cur = p, name
			data[s.base][name[len(s.base)+1:]] = v
			s.rows++
			if s.rows >= maxRows[s.base] {
				s.done = true
			}
		}
		if corrupt {
			d.errs.Add(1)
			if reps > FallbackRepetitions {
				return data, errCorrupt
			}
		}
	}
	return data, fmt.Errorf("walk of %s did not end", cols[0])
}

// parseOID turns "1.3.6" into its sub-identifiers; a bad one yields nil.
func parseOID(s string) []uint32 {
	s = strings.TrimPrefix(s, ".")
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ".")
	out := make([]uint32, len(parts))
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 32)
		if err != nil {
			return nil
		}
		out[i] = uint32(n)
	}
	return out
}

func oidLess(a, b []uint32) bool {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return len(a) < len(b)
}

func hasPrefix(p, pre []uint32) bool {
	if len(p) <= len(pre) {
		return false
	}
	for i := range pre {
		if p[i] != pre[i] {
			return false
		}
	}
	return true
}
