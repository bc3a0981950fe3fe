package detect

import (
	"math"
	"math/rand"
	"testing"
	"time"
)

// TestGasBaseline checks that a noisy off-gas sensor's baseline sits at
// its mean, not at its lows, so noise is no off-gas, while a real rise is.
func TestGasBaseline(t *testing.T) {
	for _, c := range []struct {
		name  string
		rise  float64 // VOC rise after twelve hours, ppm
		first float64 // the first reading, ppm
		drift float64 // background drift over the first two hours, ppm
		want  string  // highest offgas level, "" for none
	}{
		{"noise of 2 ppm around 3 ppm is nothing", 0, 3, 0, ""},
		{"a first reading of 0 is nothing either", 0, 0, 0, ""},
		{"a background drifting up 1.5 ppm is nothing", 0, 0, 1.5, ""},
		{"a 30 ppm rise is a warning", 30, 3, 0, LevelWarning},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(11))
			evs := feed(DefaultConfig(), 24*time.Hour, 30*time.Second, func(at time.Duration) []Sample {
				v := 3 + c.drift*math.Min(1, at.Hours()/2) + rng.NormFloat64()*2
				if at == 0 {
					v = c.first
				}
				if at > 12*time.Hour {
					v += c.rise * math.Min(1, (at-12*time.Hour).Minutes()/10)
				}
				return []Sample{{t0.Add(at), "gas-1", "gas.voc", math.Max(0, math.Round(v))}}
			})
			got := ""
			for _, l := range []string{LevelAdvisory, LevelWarning, LevelCritical} {
				if e := first(evs, KindOffgas, l); e != nil {
					got = l
					if e.Time.Before(t0.Add(12 * time.Hour)) {
						t.Errorf("%s at %v, before the rise", l, e.Time.Sub(t0))
					}
				}
			}
			if got != c.want {
				t.Errorf("highest offgas level %q, want %q", got, c.want)
			}
		})
	}
}
