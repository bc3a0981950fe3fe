package plot

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"sort"
	"time"
)

// Mark is an event drawn on the plot.
type Mark struct {
	Time  time.Time
	Kind  string // thermal_runaway, environment, ...
	Level string // advisory, warning, critical
	State string // raised, escalated, cleared
	Label string
}

type point struct {
	t int64
	v float64
}

type series struct {
	name  string
	pts   []point
	every int // points merged into one
	acc   int
}

// Recorder collects series and marks with bounded memory. The zero value
// is not usable; call NewRecorder. It is not safe for concurrent use.
type Recorder struct {
	max    int
	byName map[string]*series
	order  []*series
	marks  []Mark
}

// NewRecorder returns a Recorder keeping at most maxPoints points per
// series (0 means 2000) and the first 500 marks.
func NewRecorder(maxPoints int) *Recorder {
	if maxPoints <= 0 {
		maxPoints = 2000
	}
	if maxPoints < 4 {
		maxPoints = 4
	}
	return &Recorder{max: maxPoints, byName: make(map[string]*series)}
}

// Add records value v of series name at t. NaN values are gaps.
func (r *Recorder) Add(name string, t time.Time, v float64) {
	s := r.byName[name]
	if s == nil {
		if len(r.order) >= 64 {
			return
		}
		s = &series{name: name, every: 1}
		r.byName[name] = s
		r.order = append(r.order, s)
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	p := point{t.UnixNano(), v}
	if s.acc > 0 && len(s.pts) > 0 {
		// merge into the last point: keep the value furthest from the
		// previous kept point, so spikes and peaks stay visible
		last := &s.pts[len(s.pts)-1]
		ref := last.v
		if len(s.pts) > 1 {
			ref = s.pts[len(s.pts)-2].v
		}
		if math.Abs(v-ref) > math.Abs(last.v-ref) {
			last.v = v
		}
		s.acc++
		if s.acc >= s.every {
			s.acc = 0
		}
		return
	}
	s.pts = append(s.pts, p)
	if s.every > 1 {
		s.acc = 1
	}
	if len(s.pts) >= r.max {
		half := s.pts[:0]
		for i := 0; i+1 < len(s.pts); i += 2 {
			a, b := s.pts[i], s.pts[i+1]
			if math.Abs(b.v) > math.Abs(a.v) {
				a.v = b.v
			}
			half = append(half, a)
		}
		s.pts = half
		s.every *= 2
		s.acc = 0
	}
}

// Mark records an event.
func (r *Recorder) Mark(m Mark) {
	if len(r.marks) < 500 {
		r.marks = append(r.marks, m)
	}
}

var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2",
	"#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173"}

var levelColour = map[string]string{"advisory": "#d4a017", "warning": "#e6550d", "critical": "#b30000"}

// WriteSVG draws the recorded series and marks.
func (r *Recorder) WriteSVG(w io.Writer, title string) error {
	const W, H, left, right, top, bottom = 1100.0, 560.0, 60.0, 260.0, 40.0, 50.0
	bw := bufio.NewWriter(w)
	t0, t1 := int64(math.MaxInt64), int64(math.MinInt64)
	v0, v1 := math.Inf(1), math.Inf(-1)
	for _, s := range r.order {
		for _, p := range s.pts {
			t0, t1 = min(t0, p.t), max(t1, p.t)
			v0, v1 = math.Min(v0, p.v), math.Max(v1, p.v)
		}
	}
	for _, m := range r.marks {
		t := m.Time.UnixNano()
		t0, t1 = min(t0, t), max(t1, t)
	}
	if t0 > t1 {
		t0, t1 = 0, 1
	}
	if t1 == t0 {
		t1 = t0 + int64(time.Second)
	}
	if v0 > v1 {
		v0, v1 = 0, 1
	}
	v0, v1 = math.Floor(v0/5)*5, math.Ceil(v1/5)*5
	if v1 == v0 {
		v1 = v0 + 5
	}
	pw, ph := W-left-right, H-top-bottom
	x := func(t int64) float64 { return left + pw*float64(t-t0)/float64(t1-t0) }
	y := func(v float64) float64 { return top + ph*(1-(v-v0)/(v1-v0)) }

	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="11">`+"\n", W, H, W, H)
	fmt.Fprintf(bw, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(bw, `<text x="%g" y="22" font-size="14" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	// axes and grid
	step := niceStep((v1 - v0) / 8)
	for v := v0; v <= v1+1e-9; v += step {
		fmt.Fprintf(bw, `<line x1="%g" y1="%.1f" x2="%g" y2="%.1f" stroke="#ddd"/>`, left, y(v), left+pw, y(v))
		fmt.Fprintf(bw, `<text x="%g" y="%.1f" text-anchor="end">%g</text>`+"\n", left-5, y(v)+4, v)
	}
	span := time.Duration(t1 - t0)
	tstep := niceDuration(span / 8)
	for t := (t0/int64(tstep) + 1) * int64(tstep); t <= t1; t += int64(tstep) {
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="#eee"/>`, x(t), top, x(t), top+ph)
		fmt.Fprintf(bw, `<text x="%.1f" y="%g" text-anchor="middle">%s</text>`+"\n", x(t), top+ph+15,
			time.Unix(0, t).UTC().Format("15:04"))
	}
	fmt.Fprintf(bw, `<rect x="%g" y="%g" width="%g" height="%g" fill="none" stroke="#333"/>`+"\n", left, top, pw, ph)
	fmt.Fprintf(bw, `<text x="%g" y="%g" text-anchor="middle">time (UTC, from %s)</text>`+"\n", left+pw/2, H-12,
		time.Unix(0, t0).UTC().Format(time.RFC3339))
	fmt.Fprintf(bw, `<text x="15" y="%g" transform="rotate(-90 15 %g)" text-anchor="middle">°C</text>`+"\n", top+ph/2, top+ph/2)
	// series
	for i, s := range r.order {
		if len(s.pts) == 0 {
			continue
		}
		c := palette[i%len(palette)]
		fmt.Fprintf(bw, `<polyline fill="none" stroke="%s" stroke-width="1.2" points="`, c)
		for _, p := range s.pts {
			fmt.Fprintf(bw, "%.1f,%.1f ", x(p.t), y(p.v))
		}
		fmt.Fprintln(bw, `"/>`)
		if i < 30 {
			ly := top + 12*float64(i)
			fmt.Fprintf(bw, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="%s" stroke-width="2"/>`, W-right+10, ly, W-right+25, ly, c)
			fmt.Fprintf(bw, `<text x="%g" y="%g">%s</text>`+"\n", W-right+30, ly+4, html.EscapeString(s.name))
		}
	}
	// marks: raised and escalated as coloured lines, cleared dashed grey
	sorted := append([]Mark(nil), r.marks...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Time.Before(sorted[j].Time) })
	ly := top + 12*float64(min(len(r.order), 30)) + 20
	for i, m := range sorted {
		xm := x(m.Time.UnixNano())
		c, dash := levelColour[m.Level], ""
		if c == "" || m.State == "cleared" {
			c, dash = "#888", ` stroke-dasharray="4 3"`
		}
		fmt.Fprintf(bw, `<line x1="%.1f" y1="%g" x2="%.1f" y2="%g" stroke="%s" stroke-width="1.5"%s><title>%s</title></line>`+"\n",
			xm, top, xm, top+ph, c, dash, html.EscapeString(markText(m)))
		fmt.Fprintf(bw, `<text x="%.1f" y="%g" font-size="9" fill="%s">%d</text>`+"\n", xm+2, top+10+float64(i%5)*10, c, i+1)
		if ly < H-bottom {
			fmt.Fprintf(bw, `<text x="%g" y="%g" font-size="9" fill="%s">%d %s</text>`+"\n", W-right+10, ly, c, i+1,
				html.EscapeString(m.Time.UTC().Format("15:04:05")+" "+m.Kind+" "+m.Level+" "+m.State))
			ly += 11
		}
	}
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}

func markText(m Mark) string {
	return m.Time.UTC().Format(time.RFC3339) + " " + m.Label + " " + m.Kind + " " + m.Level + " " + m.State
}

func niceStep(raw float64) float64 {
	for _, s := range []float64{1, 2, 5, 10, 20, 50, 100, 200, 500} {
		if s >= raw {
			return s
		}
	}
	return 1000
}

func niceDuration(raw time.Duration) time.Duration {
	for _, s := range []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute,
		15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour,
		12 * time.Hour, 24 * time.Hour} {
		if s >= raw {
			return s
		}
	}
	return 7 * 24 * time.Hour
}
