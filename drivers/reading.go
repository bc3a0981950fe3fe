package drivers

import (
	"math"
	"time"
)

// Reading is the value of one point of one device at one time.
//
// Numeric points carry Value; an invalid or unavailable value reported by
// the device (an open sensor, a 0x7FFF sentinel) is NaN, never a number
// that looks real. Text points (ups.status, outlet.N.status) carry Text and
// leave Value as NaN.
type Reading struct {
	// Point is the contract name, for example "battery.module.1.temperature".
	Point string
	// Value is the reading in the point's SI unit, or NaN.
	Value float64
	// Text is the value of a text point, empty otherwise.
	Text string
	// Unit is the SI unit of Value ("V", "A", "°C", "%", "s", "ppm", ...).
	Unit string
	// Time is when the value was sampled.
	Time time.Time
}

// Valid reports whether r carries a usable value: a number that is not NaN,
// or a non-empty text.
func (r Reading) Valid() bool {
	if r.Text != "" {
		return true
	}
	return !math.IsNaN(r.Value) && !math.IsInf(r.Value, 0)
}
