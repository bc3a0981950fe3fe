package metrics

import (
	"bytes"
	"math"
	"strings"
	"sync"
	"testing"
)

func TestWriteTo(t *testing.T) {
	r := NewRegistry()
	polls := r.Counter("emberwatch_polls_total", "Polls finished.", "device")
	temp := r.Gauge("room_temperature_celsius", "Room air.\nSecond line with a \\ backslash.", "room", "probe")
	r.Gauge("empty_gauge", "")
	up := r.Gauge("up", "Up.")

	polls.With("ups-1").Add(3)
	polls.With("bms-1").Inc()
	polls.With("bms-1").Add(-5)          // ignored
	polls.With("bms-1").Add(math.Inf(1)) // ignored
	temp.With(`hall "2"`, "a\nb\\c").Set(24.5)
	temp.With("hall1", "1").Set(math.NaN())
	temp.With("hall1", "2").Set(math.Inf(-1))
	temp.With("hall1", "3").Set(1e21)
	up.With().Set(1)

	var b bytes.Buffer
	n, err := r.WriteTo(&b)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(b.Len()) {
		t.Errorf("WriteTo returned %d, wrote %d", n, b.Len())
	}
	want := `# HELP emberwatch_polls_total Polls finished.
# TYPE emberwatch_polls_total counter
emberwatch_polls_total{device="bms-1"} 1
emberwatch_polls_total{device="ups-1"} 3
# TYPE empty_gauge gauge
# HELP room_temperature_celsius Room air.\nSecond line with a \\ backslash.
# TYPE room_temperature_celsius gauge
room_temperature_celsius{room="hall \"2\"",probe="a\nb\\c"} 24.5
room_temperature_celsius{room="hall1",probe="1"} NaN
room_temperature_celsius{room="hall1",probe="2"} -Inf
room_temperature_celsius{room="hall1",probe="3"} 1e+21
# HELP up Up.
# TYPE up gauge
up 1
`
	if got := b.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestCounterSetNeverDecreases(t *testing.T) {
	r := NewRegistry()
	c := r.Counter("c_total", "").With()
	for _, tt := range []struct{ set, want float64 }{{5, 5}, {3, 5}, {9, 9}} {
		c.Set(tt.set)
		if c.Value() != tt.want {
			t.Fatalf("Set(%v): value %v, want %v", tt.set, c.Value(), tt.want)
		}
	}
}

func TestDeleteAndReset(t *testing.T) {
	r := NewRegistry()
	g := r.Gauge("g", "", "device")
	g.With("a").Set(1)
	g.With("b").Set(2)
	g.Delete("a")
	var b strings.Builder
	r.WriteTo(&b)
	if strings.Contains(b.String(), `"a"`) || !strings.Contains(b.String(), `g{device="b"} 2`) {
		t.Fatalf("after Delete:\n%s", b.String())
	}
	g.Reset()
	b.Reset()
	r.WriteTo(&b)
	if b.String() != "# TYPE g gauge\n" {
		t.Fatalf("after Reset:\n%s", b.String())
	}
}

func TestRegisterPanics(t *testing.T) {
	tests := []struct {
		name string
		do   func(r *Registry)
	}{
		{"bad metric name", func(r *Registry) { r.Gauge("1abc", "") }},
		{"dash in name", func(r *Registry) { r.Gauge("a-b", "") }},
		{"bad label", func(r *Registry) { r.Gauge("a", "", "de-vice") }},
		{"reserved label", func(r *Registry) { r.Gauge("a", "", "__name") }},
		{"repeated label", func(r *Registry) { r.Gauge("a", "", "x", "x") }},
		{"twice", func(r *Registry) { r.Gauge("a", ""); r.Counter("a", "") }},
		{"label count", func(r *Registry) { r.Gauge("a", "", "x").With() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tt.do(NewRegistry())
		})
	}
}

func TestOnScrapeAndConcurrency(t *testing.T) {
	r := NewRegistry()
	c := r.Counter("events_total", "", "device")
	scrapes := r.Gauge("scrapes", "")
	r.OnScrape(func() { scrapes.With().Add(1) })
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 1000 {
				c.With(string(rune('a' + i%2))).Inc()
			}
		})
		wg.Go(func() {
			var b bytes.Buffer
			r.WriteTo(&b)
		})
	}
	wg.Wait()
	if got := c.With("a").Value() + c.With("b").Value(); got != 8000 {
		t.Fatalf("total %v, want 8000", got)
	}
	if got := scrapes.With().Value(); got != 8 {
		t.Fatalf("scrape hook ran %v times, want 8", got)
	}
}
