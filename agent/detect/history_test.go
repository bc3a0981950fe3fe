package detect

import (
	"math"
	"slices"
	"testing"
)

// TestHistorySpans checks the window spans the rules read from a sensor's
// per-minute history: span skips invalid minutes, fullSpan and meanSpan
// want every minute of the window valid, and meanSpan smooths out what
// is faster than its running mean.
func TestHistorySpans(t *testing.T) {
	type slot struct {
		v  float64
		ok bool
	}
	// oldest first
	cycle := func(n, period int, amp float64) []slot {
		out := make([]slot, n)
		for i := range out {
			out[i] = slot{22 + amp*math.Sin(2*math.Pi*float64(i)/float64(period)), true}
		}
		return out
	}
	tests := []struct {
		name           string
		slots          []slot
		fn             func(h *history) (float64, float64, bool)
		wantLo, wantHi float64
		wantOK         bool
	}{
		{"span skips an invalid minute", []slot{{1, true}, {9, false}, {3, true}},
			func(h *history) (float64, float64, bool) { return h.span(2) }, 1, 3, true},
		{"fullSpan refuses an invalid minute", []slot{{1, true}, {9, false}, {3, true}},
			func(h *history) (float64, float64, bool) { return h.fullSpan(2) }, 0, 0, false},
		{"fullSpan over a short history", []slot{{1, true}, {3, true}},
			func(h *history) (float64, float64, bool) { return h.fullSpan(2) }, 0, 0, false},
		{"fullSpan", []slot{{5, true}, {1, true}, {3, true}},
			func(h *history) (float64, float64, bool) { return h.fullSpan(2) }, 1, 5, true},
		{"meanSpan of a steady ramp is the ramp less the mean's lag", []slot{{0, true}, {1, true}, {2, true}, {3, true}, {4, true}},
			func(h *history) (float64, float64, bool) { return h.meanSpan(4, 2) }, 0.5, 3.5, true},
		{"meanSpan over one slot is fullSpan", []slot{{5, true}, {1, true}, {3, true}},
			func(h *history) (float64, float64, bool) { return h.meanSpan(2, 1) }, 1, 5, true},
		{"meanSpan refuses an invalid minute", []slot{{1, true}, {2, true}, {9, false}, {3, true}},
			func(h *history) (float64, float64, bool) { return h.meanSpan(3, 2) }, 0, 0, false},
		{"meanSpan wider than the window", []slot{{1, true}, {2, true}, {3, true}},
			func(h *history) (float64, float64, bool) { return h.meanSpan(2, 4) }, 0, 0, false},
		{"a whole cycle in the mean is flat", cycle(31, 15, 0.4),
			func(h *history) (float64, float64, bool) { return h.meanSpan(30, 15) }, 22, 22, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h history
			for _, s := range tt.slots {
				h.push(s.v, s.ok)
			}
			lo, hi, ok := tt.fn(&h)
			if ok != tt.wantOK || (ok && (math.Abs(lo-tt.wantLo) > 1e-9 || math.Abs(hi-tt.wantHi) > 1e-9)) {
				t.Errorf("got %g..%g ok=%v, want %g..%g ok=%v", lo, hi, ok, tt.wantLo, tt.wantHi, tt.wantOK)
			}
		})
	}
}

// TestSlopeGaps checks the least-squares slope over a window with gaps:
// a line is recovered whatever slots are missing, but only while the
// newest, one of the oldest three and enough slots are there.
func TestSlopeGaps(t *testing.T) {
	const k, need = 30, 24
	for _, c := range []struct {
		name    string
		missing []int // slots (0 newest) with no value
		ok      bool
	}{
		{"whole", nil, true},
		{"six gaps", []int{3, 4, 10, 11, 20, 28}, true},
		{"the oldest two gone", []int{29, 30}, true},
		{"the newest gone", []int{0}, false},
		{"the oldest three gone", []int{28, 29, 30}, false},
		{"eight gaps", []int{1, 2, 3, 4, 5, 6, 7, 8}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var h history
			for i := k; i >= 0; i-- { // oldest first
				h.push(10+0.25*float64(k-i), !slices.Contains(c.missing, i))
			}
			got, ok := h.slopeGaps(k, need)
			if ok != c.ok {
				t.Fatalf("ok %v, want %v", ok, c.ok)
			}
			if ok && math.Abs(got-0.25) > 1e-9 {
				t.Errorf("slope %v, want 0.25", got)
			}
		})
	}
}
