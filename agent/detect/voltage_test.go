package detect

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"
)

// TestVoltageFall checks the internal-short rule on voltages alone: eight
// modules at rest with flat temperatures, one module's voltage falling
// against its group after an hour.
func TestVoltageFall(t *testing.T) {
	for _, c := range []struct {
		name  string
		fall  float64 // relative fall of module 5 after the hour
		noise float64 // voltage noise, V
		want  string  // highest thermal_runaway level expected, "" for none
	}{
		{"a deep fall is a warning", 0.012, 0.02, LevelWarning},
		{"a small step well above the noise is an advisory", 0.003, 0.01, LevelAdvisory},
		{"a small step within coarse noise is nothing", 0.003, 0.1, ""},
		{"noise alone is nothing", 0, 0.05, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(3))
			onset := time.Hour
			evs := feed(DefaultConfig(), 2*time.Hour, 10*time.Second, func(at time.Duration) []Sample {
				out := modules(at, 8, func(int) float64 { return 25 })
				for m := 1; m <= 8; m++ {
					v := 54.0
					if m == 5 && at > onset {
						// the fall grows over ten minutes, then holds
						f := math.Min(1, (at-onset).Minutes()/10)
						v *= 1 - c.fall*f
					}
					v += rng.NormFloat64() * c.noise
					out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.module.%d.voltage", m), math.Round(v*100) / 100})
				}
				return append(out, Sample{t0.Add(at), "bms-1", "battery.current", 0})
			})
			got := ""
			for _, l := range []string{LevelAdvisory, LevelWarning, LevelCritical} {
				if e := first(evs, KindThermalRunaway, l); e != nil {
					got = l
					if e.Subject != "battery.module.5" {
						t.Errorf("%s on %s, want battery.module.5", l, e.Subject)
					}
					if e.Time.Before(t0.Add(onset)) {
						t.Errorf("%s at %v, before the fall", l, e.Time.Sub(t0))
					}
				}
			}
			if got != c.want {
				t.Errorf("highest thermal_runaway level %q, want %q", got, c.want)
			}
		})
	}
}
