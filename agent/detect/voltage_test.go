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
		// module 5 misread 10 % low for a minute every half hour
		misread bool
		want    string // highest thermal_runaway level expected, "" for none
	}{
		{"a deep fall is a warning", 0.012, 0.02, false, LevelWarning},
		{"a small step well above the noise is an advisory", 0.003, 0.01, false, LevelAdvisory},
		{"a small step within coarse noise is nothing", 0.003, 0.1, false, ""},
		{"noise alone is nothing", 0, 0.05, false, ""},
		{"a minute misread every half hour is a drop at most, no fall", 0, 0.02, true, LevelAdvisory},
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
					if c.misread && m == 5 && at >= onset && (at-onset)%(30*time.Minute) < time.Minute {
						v *= 0.9
					}
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

// TestVoltageFallTwoModules checks the fall rule on a bank of two strings
// of two modules, whose charger holds each string's voltage: one module
// falling below its group is a warning, while the other module of a
// string whose first module was replaced by one at a lower charge, which
// stood above the group and falls back towards it as the two even out
// over two days, is not.
func TestVoltageFallTwoModules(t *testing.T) {
	for _, c := range []struct {
		name     string
		from, to float64 // string 2 module 1 voltage at the start and after 40 h
		want     bool    // a warning expected
	}{
		{"module 2 falls below the group", 49, 49.4, true},
		{"module 2 falls back towards the group", 48.3, 48.9, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(9))
			evs := feed(DefaultConfig(), 48*time.Hour, 30*time.Second, func(at time.Duration) []Sample {
				var out []Sample
				f := math.Min(1, at.Hours()/40)
				for st := 1; st <= 2; st++ {
					for m := 1; m <= 2; m++ {
						v := 49.0
						if st == 2 {
							v = c.from + (c.to-c.from)*f
							if m == 2 {
								v = 98 - v
							}
						}
						v += rng.NormFloat64() * 0.02
						p := fmt.Sprintf("battery.string.%d.module.%d.", st, m)
						out = append(out,
							Sample{t0.Add(at), "bms-1", p + "temperature", 25},
							Sample{t0.Add(at), "bms-1", p + "voltage", math.Round(v*100) / 100})
					}
					out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.string.%d.current", st), 0})
				}
				return out
			})
			got, subj, _ := levelOn(evs)
			if warned := got == LevelWarning || got == LevelCritical; warned != c.want {
				t.Errorf("highest thermal_runaway level %q on %s, want a warning: %v", got, subj, c.want)
			}
			if c.want && subj != "battery.string.2.module.2" {
				t.Errorf("warning on %s, want battery.string.2.module.2", subj)
			}
		})
	}
}
