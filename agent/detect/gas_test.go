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

// TestGasGlitchesAndVenting checks the off-gas detectors against their
// own faults: a spike or a register's "no value" on one detector is a
// sensor_fault, and one detector reading gas that the others in the room
// do not is at most an advisory for thermal_runaway, while venting, which
// every detector sees, is a warning within a minute or two. A room with
// one detector can only trust it.
func TestGasGlitchesAndVenting(t *testing.T) {
	type gas struct{ dev, point string }
	all := []gas{{"gas-1", "gas.h2"}, {"gas-1", "gas.co"}, {"gas-1", "gas.voc"}}
	vent := func(at time.Duration) float64 { // ppm above the background, an hour in
		return 400 * math.Min(1, math.Max(0, (at-time.Hour).Minutes()))
	}
	for _, c := range []struct {
		name      string
		gases     []gas
		reading   func(g gas, at time.Duration, v float64) float64
		wantTR    bool   // a thermal_runaway warning
		wantFault string // the point of a sensor_fault, "" none
		offgas    bool   // an offgas event may be raised
	}{
		{"a one-sample spike on one detector is a sensor fault", all, func(g gas, at time.Duration, v float64) float64 {
			if g.point == "gas.co" && at == time.Hour {
				return 1000
			}
			return v
		}, false, "gas.co", false},
		{"one garbled poll of the whole detector is a sensor fault", all, func(g gas, at time.Duration, v float64) float64 {
			if at == time.Hour {
				return 1000
			}
			return v
		}, false, "gas.h2", false},
		{"a register's no value on one detector is a sensor fault", all, func(g gas, at time.Duration, v float64) float64 {
			if g.point == "gas.voc" && at >= time.Hour && at < time.Hour+30*time.Second {
				return 65535
			}
			return v
		}, false, "gas.voc", false},
		{"one detector reading 200 ppm for ten minutes, the others clean: no warning", all, func(g gas, at time.Duration, v float64) float64 {
			if g.point == "gas.co" && at >= time.Hour && at < time.Hour+10*time.Minute {
				return 200
			}
			return v
		}, false, "", true},
		{"venting, seen by every detector, is a warning", all, func(g gas, at time.Duration, v float64) float64 {
			return v + vent(at)
		}, true, "", true},
		{"a room with one detector trusts it", []gas{{"gas-1", "gas.voc"}}, func(g gas, at time.Duration, v float64) float64 {
			return v + vent(at)
		}, true, "", true},
		{"two hydrogen detectors rising with no charge is a warning", []gas{{"gas-1", "gas.h2"}, {"gas-2", "gas.h2"}}, func(g gas, at time.Duration, v float64) float64 {
			return v + vent(at)
		}, true, "", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(13))
			evs := feed(DefaultConfig(), 2*time.Hour, 10*time.Second, func(at time.Duration) []Sample {
				out := append(modules(at, 4, func(int) float64 { return 25 }), Sample{t0.Add(at), "bms-1", "battery.current", 0})
				for _, g := range c.gases {
					v := math.Max(0, math.Round(2+rng.NormFloat64()))
					out = append(out, Sample{t0.Add(at), g.dev, g.point, c.reading(g, at, v)})
				}
				return out
			})
			tr := first(evs, KindThermalRunaway, LevelWarning)
			if tr == nil {
				tr = first(evs, KindThermalRunaway, LevelCritical)
			}
			switch {
			case c.wantTR && tr == nil:
				t.Errorf("no thermal_runaway warning")
			case c.wantTR && tr.Time.Sub(t0.Add(time.Hour)) > 2*time.Minute:
				t.Errorf("thermal_runaway warning %v after the vent", tr.Time.Sub(t0.Add(time.Hour)))
			case !c.wantTR && tr != nil:
				t.Errorf("thermal_runaway %s: %s", tr.Level, tr.Message)
			}
			if f := first(evs, KindSensorFault, ""); c.wantFault != "" && (f == nil || f.Subject != c.wantFault) {
				t.Errorf("sensor_fault %+v, want one on %s", f, c.wantFault)
			}
			if o := first(evs, KindOffgas, ""); o != nil && !c.offgas {
				t.Errorf("offgas on a glitch: %s", o.Message)
			}
		})
	}
}
