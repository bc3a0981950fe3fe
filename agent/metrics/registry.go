package metrics

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Kind is a metric family's type.
type Kind string

// The kinds this package writes.
const (
	KindCounter Kind = "counter"
	KindGauge   Kind = "gauge"
)

var (
	metricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)
	labelName  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
)

// Registry holds metric families and writes them in the text format. The
// zero value is not usable; call NewRegistry.
type Registry struct {
	mu       sync.Mutex
	families map[string]*family
	hooks    []func()
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{families: map[string]*family{}}
}

// family is one metric name: its help, type, label names and series.
type family struct {
	name, help string
	kind       Kind
	labels     []string

	mu     sync.Mutex
	series map[string]*series // key: label values joined by \xff
}

// series is one labelled time series; its value is a float64 in bits.
type series struct {
	values []string
	mu     sync.Mutex
	v      float64
}

func (r *Registry) register(name, help string, kind Kind, labels []string) *family {
	if !metricName.MatchString(name) {
		panic(fmt.Sprintf("metrics: invalid metric name %q", name))
	}
	seen := map[string]bool{}
	for _, l := range labels {
		if !labelName.MatchString(l) || strings.HasPrefix(l, "__") || seen[l] {
			panic(fmt.Sprintf("metrics: %s: invalid or repeated label name %q", name, l))
		}
		seen[l] = true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.families[name]; dup {
		panic(fmt.Sprintf("metrics: %s registered twice", name))
	}
	f := &family{name: name, help: help, kind: kind, labels: append([]string(nil), labels...), series: map[string]*series{}}
	r.families[name] = f
	return f
}

// with returns the series of the given label values, creating it.
func (f *family) with(values []string) *series {
	if len(values) != len(f.labels) {
		panic(fmt.Sprintf("metrics: %s: %d label values for labels %v", f.name, len(values), f.labels))
	}
	key := strings.Join(values, "\xff")
	f.mu.Lock()
	defer f.mu.Unlock()
	s, ok := f.series[key]
	if !ok {
		s = &series{values: append([]string(nil), values...)}
		f.series[key] = s
	}
	return s
}

func (f *family) delete(values []string) {
	f.mu.Lock()
	delete(f.series, strings.Join(values, "\xff"))
	f.mu.Unlock()
}

func (f *family) reset() {
	f.mu.Lock()
	clear(f.series)
	f.mu.Unlock()
}

func (s *series) add(d float64) {
	s.mu.Lock()
	s.v += d
	s.mu.Unlock()
}

func (s *series) set(v float64) {
	s.mu.Lock()
	s.v = v
	s.mu.Unlock()
}

func (s *series) get() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.v
}

// CounterVec is a counter family with labels.
type CounterVec struct{ f *family }

// Counter is one series of a counter family: a total that only goes up.
type Counter struct{ s *series }

// Counter registers a counter family. Names follow Prometheus conventions
// (emberwatch_polls_total); it panics on an invalid or repeated name, as
// these are fixed in the program.
func (r *Registry) Counter(name, help string, labels ...string) *CounterVec {
	return &CounterVec{r.register(name, help, KindCounter, labels)}
}

// With returns the series for the label values, in the order of the
// family's labels, creating it at 0.
func (v *CounterVec) With(values ...string) Counter { return Counter{v.f.with(values)} }

// Delete removes the series of the label values (a device removed).
func (v *CounterVec) Delete(values ...string) { v.f.delete(values) }

// Inc adds 1.
func (c Counter) Inc() { c.s.add(1) }

// Add adds d; negative, NaN and infinite amounts are ignored, since a
// counter never goes down.
func (c Counter) Add(d float64) {
	if d > 0 && !math.IsInf(d, 0) {
		c.s.add(d)
	}
}

// Set mirrors a total kept elsewhere (a scheduler's poll count). Values
// lower than the current one are ignored, so the series never goes down.
func (c Counter) Set(total float64) {
	c.s.mu.Lock()
	if total > c.s.v {
		c.s.v = total
	}
	c.s.mu.Unlock()
}

// Value returns the current total.
func (c Counter) Value() float64 { return c.s.get() }

// GaugeVec is a gauge family with labels.
type GaugeVec struct{ f *family }

// Gauge is one series of a gauge family: a value that goes up and down.
type Gauge struct{ s *series }

// Gauge registers a gauge family; it panics on an invalid or repeated name.
func (r *Registry) Gauge(name, help string, labels ...string) *GaugeVec {
	return &GaugeVec{r.register(name, help, KindGauge, labels)}
}

// With returns the series for the label values, creating it at 0.
func (v *GaugeVec) With(values ...string) Gauge { return Gauge{v.f.with(values)} }

// Delete removes the series of the label values.
func (v *GaugeVec) Delete(values ...string) { v.f.delete(values) }

// Reset removes every series of the family.
func (v *GaugeVec) Reset() { v.f.reset() }

// Set sets the value.
func (g Gauge) Set(v float64) { g.s.set(v) }

// Add adds d (which may be negative).
func (g Gauge) Add(d float64) { g.s.add(d) }

// Value returns the current value.
func (g Gauge) Value() float64 { return g.s.get() }

// OnScrape adds a function called before every WriteTo, in the order
// added: the place to copy stats kept elsewhere into the registry.
func (r *Registry) OnScrape(f func()) {
	r.mu.Lock()
	r.hooks = append(r.hooks, f)
	r.mu.Unlock()
}

// WriteTo runs the scrape hooks and writes every family in the text
// exposition format: families by name, series by label values. A family
// without series is written with its HELP and TYPE lines only.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	hooks := append([]func(){}, r.hooks...)
	fams := make([]*family, 0, len(r.families))
	for _, f := range r.families {
		fams = append(fams, f)
	}
	r.mu.Unlock()
	for _, h := range hooks {
		h()
	}
	sort.Slice(fams, func(i, j int) bool { return fams[i].name < fams[j].name })

	cw := &countWriter{w: w}
	bw := bufio.NewWriter(cw)
	for _, f := range fams {
		f.write(bw)
	}
	err := bw.Flush()
	return cw.n, err
}

func (f *family) write(w *bufio.Writer) {
	f.mu.Lock()
	list := make([]*series, 0, len(f.series))
	for _, s := range f.series {
		list = append(list, s)
	}
	f.mu.Unlock()
	sort.Slice(list, func(i, j int) bool { return lessStrings(list[i].values, list[j].values) })

	if f.help != "" {
		fmt.Fprintf(w, "# HELP %s %s\n", f.name, escapeHelp(f.help))
	}
	fmt.Fprintf(w, "# TYPE %s %s\n", f.name, f.kind)
	for _, s := range list {
		w.WriteString(f.name)
		if len(f.labels) > 0 {
			w.WriteByte('{')
			for i, l := range f.labels {
				if i > 0 {
					w.WriteByte(',')
				}
				w.WriteString(l)
				w.WriteString(`="`)
				w.WriteString(escapeLabel(s.values[i]))
				w.WriteByte('"')
			}
			w.WriteByte('}')
		}
		w.WriteByte(' ')
		w.WriteString(formatValue(s.get()))
		w.WriteByte('\n')
	}
}

func lessStrings(a, b []string) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}

var (
	helpEscaper  = strings.NewReplacer(`\`, `\\`, "\n", `\n`)
	labelEscaper = strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`)
)

func escapeHelp(s string) string  { return helpEscaper.Replace(s) }
func escapeLabel(s string) string { return labelEscaper.Replace(s) }

// formatValue writes a sample value as the text format wants it.
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "+Inf"
	case math.IsInf(v, -1):
		return "-Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
