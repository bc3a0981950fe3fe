package detect

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
	"time"
)

// TestOneStringDischarges: the strings of one BMS need not share a load.
// One string of two discharges for half an hour (a capacity test, or
// strings behind separate UPS modules) while the other rests at float:
// its modules' voltages fall together and warm 7 °C with their Joule
// heat (a high-rate UPS discharge), which is no runaway, whichever
// string's points the BMS lists first.
func TestOneStringDischarges(t *testing.T) {
	for _, c := range []struct {
		name    string
		loaded  int  // the string that discharges
		firstUp bool // the loaded string's current listed first
	}{
		{"string 2 discharges, string 1 listed first", 2, false},
		{"string 1 discharges, string 1 listed first", 1, true},
		{"string 1 discharges, string 2 listed first", 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(5))
			start, end := 60*time.Minute, 90*time.Minute
			loaded := func(at time.Duration) bool { return at > start && at <= end }
			evs := feed(DefaultConfig(), 3*time.Hour, 2*time.Second, func(at time.Duration) []Sample {
				var out []Sample
				order := []int{1, 2}
				if (c.loaded == 1) != c.firstUp {
					order = []int{2, 1}
				}
				for _, s := range order {
					cur, mv, heat := 0.0, 54.0, 0.0
					if s == c.loaded {
						switch {
						case loaded(at):
							m := (at - start).Minutes()
							cur, mv, heat = -80, 52.5-0.04*m, 8*(1-math.Exp(-m/15))
						case at > end:
							m := (at - end).Minutes()
							heat = 8 * (1 - math.Exp(-30.0/15)) * math.Exp(-m/20)
							cur, mv = 20*math.Exp(-m/30), 53.5+0.5*(1-math.Exp(-m/30))
						}
					}
					sum := 0.0
					for m := 1; m <= 8; m++ {
						tm := 25 + heat + rng.NormFloat64()*0.05
						out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.string.%d.module.%d.temperature", s, m), math.Round(tm*10) / 10})
						v := mv + rng.NormFloat64()*0.02
						sum += v
						if at%(10*time.Second) == 0 {
							out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.string.%d.module.%d.voltage", s, m), math.Round(v*100) / 100})
						}
					}
					out = append(out,
						Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.string.%d.current", s), math.Round(cur*10) / 10},
						Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.string.%d.voltage", s), math.Round(sum*100) / 100})
				}
				return append(out, Sample{t0.Add(at), "env-1", "ambient.temperature", 24})
			})
			for _, e := range evs {
				if e.Kind == KindThermalRunaway && (e.Level == LevelWarning || e.Level == LevelCritical) {
					t.Fatalf("%v %s %s: %s %v", e.Time.Sub(t0), e.Level, e.Subject, e.Message, e.Evidence)
				}
			}
		})
	}
}

// TestFloatStepOtherString: a float-current step on a device's second
// string, with its first string listed first and at rest, is that
// string's advisory, not the first's.
func TestFloatStepOtherString(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	onset := time.Hour
	evs := feed(DefaultConfig(), 90*time.Minute, 10*time.Second, func(at time.Duration) []Sample {
		var out []Sample
		for s := 1; s <= 2; s++ {
			I := rng.NormFloat64() * 0.05
			if s == 2 && at > onset {
				I += 0.8
			}
			for m := 1; m <= 8; m++ {
				out = append(out,
					Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.string.%d.module.%d.temperature", s, m), 25},
					Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.string.%d.module.%d.voltage", s, m), math.Round((54+rng.NormFloat64()*0.02)*100) / 100})
			}
			out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.string.%d.current", s), math.Round(I*10) / 10})
		}
		return out
	})
	got, subj, _ := levelOn(evs)
	if got != LevelAdvisory || !holds("battery.string.2", subj) {
		t.Fatalf("highest thermal_runaway level %q on %q, want an advisory on string 2", got, subj)
	}
}
