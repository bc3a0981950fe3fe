// Package variant rewrites a scenario's readings as another rack would
// give them: other point naming (one device per string, cell
// temperatures, SunSpec mean cell voltages, indexed room probes), points
// missing, readings stamped late, and the misreadings of the off-gas,
// room, current and voltage instruments that a real site has and the
// scenario families do not draw.
//
// It is how the detector is tried on racks unlike the benchmark's own:
// a Filter sits between a scenario and the detector and edits or drops
// each row (Apply), or also re-stamps rows and hands them on in time
// order (Pass, Flush). Filters are deterministic: the same names, start
// and seed give the same rows.
package variant

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emberwatch/emberwatch/agent/trace"
)

// A variant's name and what it does, in the order Names lists them.
var variants = []struct{ name, doc string }{
	// point naming
	{"split-strings", "one device per string (bms-1, bms-2 ...) reporting battery.module.N.*"},
	{"cell-temps", "module temperatures reported as the temperature of their first cell"},
	{"cell-avg-volts", "module voltages reported as SunSpec 804 mean cell voltages (cell.avg.voltage)"},
	{"no-module-volts", "no module voltages"},
	{"room-indexed", "the room probe reported as ambient.1.temperature"},
	// off-gas misreadings: every two hours, from minute 37, one gas point
	// chosen by the hour
	{"gas-spike", "one off-gas point reads 1000 ppm for 20 s every two hours"},
	{"gas-spike3", "one off-gas point reads 1000 ppm for a minute every two hours"},
	{"gas-sentinel", "one off-gas point reads 65535 (no value) for 20 s every two hours"},
	{"gas-step", "one off-gas point steps up 60 ppm after the first hour"},
	{"gas-drift", "one off-gas point drifts up 40 ppm a day"},
	// room probe
	{"room-stuck", "the room probe sticks at its reading after the first hour"},
	{"room-spike", "the room probe reads 12 °C high for 30 s every 90 minutes"},
	{"room-drift", "the room probe drifts up 3 °C a day"},
	{"room-nan", "the room probe reads nan for 10 minutes every two hours"},
	// string current and module voltages: every two hours, at a phase
	// drawn from the seed, one module chosen by the hour
	{"current-spike", "string currents read 40 A high for one sample every two hours"},
	{"current-negative", "string currents read 60 A low (a discharge) for one sample every two hours"},
	{"current-nan", "string currents read nan for 10 minutes every two hours"},
	{"volt-low", "one module voltage reads 10 % low for a minute every two hours"},
	{"volt-zero", "one module voltage reads 0 V for a minute every two hours"},
	{"volt-nan", "one module voltage reads nan for 10 minutes every two hours"},
	// lost samples and timing
	{"lossy-bus", "one battery reading in twenty is lost, at random"},
	{"jitter", "each reading stamped up to 6 s after its poll, at random, as a poller reading one point at a time stamps them"},
}

// jitterMax is how late the jitter variant stamps a reading at most.
const jitterMax = 6 * time.Second

// Names returns every variant name with what it does.
func Names() [][2]string {
	out := make([][2]string, len(variants))
	for i, v := range variants {
		out[i] = [2]string{v.name, v.doc}
	}
	return out
}

// Filter edits the rows of one trace.
type Filter struct {
	on    map[string]bool
	drop  []string // point suffixes dropped
	start time.Time
	seed  uint64
	cells int
	stuck float64 // the stuck room reading, nan until taken
	// jitter: rows stamped later than rows still to come, and how many
	// were held
	held   rowHeap
	pushed uint64
}

// New returns a Filter applying the named variants, and "drop:SUFFIX"
// (rows whose point ends in SUFFIX are left out), to a trace that starts
// at start. seed places the misreadings; cells is the rack's cells per
// module (for mean cell voltages). Unknown names are an error.
func New(names []string, start time.Time, seed uint64, cells int) (*Filter, error) {
	f := &Filter{on: map[string]bool{}, start: start, seed: seed, cells: max(1, cells), stuck: math.NaN()}
	for _, n := range names {
		n = strings.TrimSpace(n)
		if n == "" {
			continue
		}
		if suf, ok := strings.CutPrefix(n, "drop:"); ok {
			if suf == "" {
				return nil, fmt.Errorf("variant %q: drop needs a point suffix", n)
			}
			f.drop = append(f.drop, suf)
			continue
		}
		if !slices.ContainsFunc(variants, func(v struct{ name, doc string }) bool { return v.name == n }) {
			return nil, fmt.Errorf("unknown variant %q (have %s, drop:SUFFIX)", n, strings.Join(names0(), ", "))
		}
		f.on[n] = true
	}
	return f, nil
}

func names0() []string {
	var s []string
	for _, v := range Names() {
		s = append(s, v[0])
	}
	return s
}

// Pass applies f to row and hands emit the rows that are due, in time
// order. Without jitter that is row itself, when kept. With jitter, row
// is stamped later and held until no row yet to come (none stamped
// before row's own time) can be stamped before it; Flush hands over the
// rest at the end of the trace.
func (f *Filter) Pass(row trace.Row, emit func(trace.Row) error) error {
	if !f.Apply(&row) {
		return nil
	}
	if !f.on["jitter"] {
		return emit(row)
	}
	now := row.Time
	row.Time = row.Time.Add(time.Duration(f.hash(row, 0x9e3779b97f4a7c15) % uint64(jitterMax)))
	f.held.push(stamped{row, f.pushed})
	f.pushed++
	for len(f.held) > 0 && !f.held[0].Time.After(now) {
		if err := emit(f.held.pop().Row); err != nil {
			return err
		}
	}
	return nil
}

// Flush hands emit the rows Pass still holds, in time order.
func (f *Filter) Flush(emit func(trace.Row) error) error {
	for len(f.held) > 0 {
		if err := emit(f.held.pop().Row); err != nil {
			return err
		}
	}
	return nil
}

// stamped is a row held by Pass, with the order it came in: rows stamped
// alike leave in that order.
type stamped struct {
	trace.Row
	n uint64
}

// rowHeap is a min-heap of held rows by time, then arrival; it holds
// rows by value, not boxed as container/heap would, for a benchmark
// passes a billion rows through it.
type rowHeap []stamped

func (h rowHeap) less(i, j int) bool {
	if !h[i].Time.Equal(h[j].Time) {
		return h[i].Time.Before(h[j].Time)
	}
	return h[i].n < h[j].n
}

func (h *rowHeap) push(r stamped) {
	*h = append(*h, r)
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (h *rowHeap) pop() stamped {
	q := *h
	top := q[0]
	n := len(q) - 1
	q[0] = q[n]
	q = q[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && q.less(l, m) {
			m = l
		}
		if l+1 < n && q.less(l+1, m) {
			m = l + 1
		}
		if m == i {
			break
		}
		q[i], q[m] = q[m], q[i]
		i = m
	}
	*h = q
	return top
}

// Apply edits row in place and reports whether to keep it.
func (f *Filter) Apply(row *trace.Row) bool {
	for _, d := range f.drop {
		if strings.HasSuffix(row.Point, d) {
			return false
		}
	}
	if len(f.on) == 0 {
		return true
	}
	if f.on["lossy-bus"] && strings.HasPrefix(row.Point, "battery") && f.lost(row) {
		return false
	}
	el := row.Time.Sub(f.start).Seconds()
	f.gas(row, el)
	f.room(row, el)
	f.electrical(row, el)
	return f.rename(row)
}

// lost draws, from the row's time, point and the seed, whether a lossy
// bus lost it (one in twenty).
func (f *Filter) lost(row *trace.Row) bool {
	return f.hash(*row, 0)%20 == 0
}

// hash mixes the row's time and point with the seed and salt.
func (f *Filter) hash(row trace.Row, salt uint64) uint64 {
	h := uint64(14695981039346656037) ^ f.seed ^ salt
	mix := func(b byte) { h = (h ^ uint64(b)) * 1099511628211 }
	for x := uint64(row.Time.UnixNano()); x != 0; x >>= 8 {
		mix(byte(x))
	}
	for i := 0; i < len(row.Point); i++ {
		mix(row.Point[i])
	}
	h ^= h >> 29
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 32
	return h
}

// modulePoint says whether p is a module's own point ending in suffix
// (battery.[string.S.]module.N<suffix>), not one of its cells'.
func modulePoint(p, suffix string) bool {
	return strings.HasPrefix(p, "battery.") && strings.HasSuffix(p, suffix) &&
		strings.Contains(p, "module.") && !strings.Contains(p, ".cell.")
}

func (f *Filter) rename(row *trace.Row) bool {
	if f.on["no-module-volts"] && modulePoint(row.Point, ".voltage") {
		return false
	}
	if f.on["cell-avg-volts"] && modulePoint(row.Point, ".voltage") {
		row.Point = strings.TrimSuffix(row.Point, ".voltage") + ".cell.avg.voltage"
		row.Value /= float64(f.cells)
	}
	if f.on["cell-temps"] && modulePoint(row.Point, ".temperature") {
		row.Point = strings.TrimSuffix(row.Point, ".temperature") + ".cell.1.temperature"
	}
	if f.on["room-indexed"] && row.Point == "ambient.temperature" {
		row.Point = "ambient.1.temperature"
	}
	if f.on["split-strings"] {
		if rest, ok := strings.CutPrefix(row.Point, "battery.string."); ok {
			if i := strings.IndexByte(rest, '.'); i > 0 {
				row.Device = "bms-" + rest[:i]
				row.Point = "battery." + rest[i+1:]
			}
		}
	}
	return true
}

// every2h is the phase of el (s) in a two-hour cycle, starting at off
// seconds (negative before the first cycle).
func every2h(el, off float64) float64 {
	if el < off {
		return -1
	}
	return math.Mod(el-off, 7200)
}

var gasPoints = [3]string{"gas.h2", "gas.co", "gas.voc"}

func (f *Filter) gas(row *trace.Row, el float64) {
	if !strings.HasPrefix(row.Point, "gas.") {
		return
	}
	which := gasPoints[int(el/7200+float64(f.seed))%3]
	fixed := gasPoints[f.seed%3]
	ph := every2h(el, 37*60)
	switch {
	case f.on["gas-spike"] && row.Point == which && ph >= 0 && ph < 20,
		f.on["gas-spike3"] && row.Point == which && ph >= 0 && ph < 60:
		row.Value = 1000
	case f.on["gas-sentinel"] && row.Point == which && ph >= 0 && ph < 20:
		row.Value = 65535
	}
	if f.on["gas-step"] && row.Point == fixed && el > 3600 {
		row.Value += 60
	}
	if f.on["gas-drift"] && row.Point == fixed {
		row.Value += 40 * el / 86400
	}
}

func (f *Filter) room(row *trace.Row, el float64) {
	if !strings.HasPrefix(row.Point, "ambient.") || !strings.HasSuffix(row.Point, "temperature") {
		return
	}
	if f.on["room-stuck"] && el > 3600 {
		if math.IsNaN(f.stuck) {
			f.stuck = row.Value
		}
		row.Value = f.stuck
	}
	if f.on["room-spike"] && el > 1800 && math.Mod(el, 5400) < 30 {
		row.Value += 12
	}
	if f.on["room-drift"] {
		row.Value += 3 * el / 86400
	}
	if f.on["room-nan"] && el > 1800 && math.Mod(el, 7200) < 600 {
		row.Value = math.NaN()
	}
}

func (f *Filter) electrical(row *trace.Row, el float64) {
	ph := math.Mod(el+float64(f.seed%64)*613, 7200)
	if strings.HasPrefix(row.Point, "battery") && strings.HasSuffix(row.Point, ".current") {
		switch {
		case f.on["current-spike"] && ph < 1.5:
			row.Value += 40
		case f.on["current-negative"] && ph < 1.5:
			row.Value -= 60
		case f.on["current-nan"] && ph < 600:
			row.Value = math.NaN()
		}
		return
	}
	mod := "module." + strconv.Itoa(1+int(el/7200+float64(f.seed))%4) + ".voltage"
	if !modulePoint(row.Point, mod) {
		return
	}
	switch {
	case f.on["volt-low"] && ph < 60:
		row.Value *= 0.9
	case f.on["volt-zero"] && ph < 60:
		row.Value = 0
	case f.on["volt-nan"] && ph < 600:
		row.Value = math.NaN()
	}
}
