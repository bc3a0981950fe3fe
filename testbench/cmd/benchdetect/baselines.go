package main

import (
	"math"
	"strings"
	"time"

	"github.com/emberwatch/emberwatch/agent/detect"
)

// isBatteryTemp tells battery temperature points (module, cell, pack).
func isBatteryTemp(p string) bool {
	return strings.HasPrefix(p, "battery.") && strings.HasSuffix(p, "temperature")
}

// key names a point of a device.
type key struct{ dev, point string }

// pointIndex finds the state kept for a device's point. Traces repeat their
// points in the same order sample after sample, so it first tries the
// point after the one found last and hashes only when the order breaks (a
// dropout, a new point).
type pointIndex[T any] struct {
	keys []key
	vals []*T
	m    map[key]int
	next int
}

func (p *pointIndex[T]) get(dev, point string) *T {
	if p.next < len(p.keys) {
		if k := p.keys[p.next]; k.point == point && k.dev == dev {
			p.next++
			return p.vals[p.next-1]
		}
	}
	k := key{dev, point}
	i, ok := p.m[k]
	if !ok {
		if p.m == nil {
			p.m = map[key]int{}
		}
		i = len(p.keys)
		p.keys = append(p.keys, k)
		p.vals = append(p.vals, new(T))
		p.m[k] = i
	}
	p.next = i + 1
	return p.vals[i]
}

// overTemp is the plain BMS alarm: any battery temperature reading above
// the limit raises, below clear it clears again.
type overTemp struct {
	limit, clear float64
	on           pointIndex[bool]
}

func newOverTemp(limit, clear float64) *overTemp {
	return &overTemp{limit: limit, clear: clear}
}

func (o *overTemp) observe(s detect.Sample, v *verdict) {
	if math.IsNaN(s.Value) || !isBatteryTemp(s.Point) {
		return
	}
	on := o.on.get(s.Device, s.Point)
	switch {
	case !*on && s.Value > o.limit:
		*on = true
		v.raise(s.Time)
	case *on && s.Value < o.clear:
		*on = false
	}
}

// rateOfRise is the plain rate-of-rise alarm: a battery temperature that
// rose by rate °C per minute or more over the last window, on two readings
// in a row, raises; it clears when the rise falls below half that.
type rateOfRise struct {
	rate   float64
	window time.Duration
	hist   pointIndex[ring]
}

type ring struct {
	t    []time.Time
	v    []float64
	head int // index of the oldest kept sample
	on   bool
	hits int
}

func newRateOfRise(rate float64, window time.Duration) *rateOfRise {
	return &rateOfRise{rate: rate, window: window}
}

func (o *rateOfRise) observe(s detect.Sample, v *verdict) {
	if math.IsNaN(s.Value) || !isBatteryTemp(s.Point) {
		return
	}
	h := o.hist.get(s.Device, s.Point)
	h.t = append(h.t, s.Time)
	h.v = append(h.v, s.Value)
	// drop samples older than the window, keeping one at or beyond it
	for h.head+1 < len(h.t) && s.Time.Sub(h.t[h.head+1]) >= o.window {
		h.head++
	}
	if h.head > 256 && h.head > len(h.t)/2 {
		n := copy(h.t, h.t[h.head:])
		copy(h.v, h.v[h.head:])
		h.t, h.v, h.head = h.t[:n], h.v[:n], 0
	}
	span := s.Time.Sub(h.t[h.head])
	if span < o.window*3/4 {
		return
	}
	perMin := (s.Value - h.v[h.head]) / span.Minutes()
	if perMin >= o.rate {
		h.hits++
	} else {
		h.hits = 0
	}
	switch {
	case !h.on && h.hits >= 2:
		h.on = true
		v.raise(s.Time)
	case h.on && perMin < o.rate/2:
		h.on = false
	}
}
