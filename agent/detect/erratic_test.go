package detect

import (
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// TestErraticSensor feeds a module whose maximum of three probes flickers:
// one probe drifts away above the others and drops out of the BMS's
// reading on about one poll in five, so the maximum jumps between it and
// the next probe, by more and more. Its glitches are sensor_fault, and
// its jumps are no thermal_runaway warning. A module that heats, its
// probe having glitched hours before, is still warned.
func TestErraticSensor(t *testing.T) {
	const every = 10 * time.Second
	for _, c := range []struct {
		name     string
		drift    float64 // °C/h of the bad probe, from 1 h on
		dropout  float64
		heat     bool // module 3 heats from 6 h on
		cfg      Config
		wantWarn bool
	}{
		{"a drifting probe in and out of the maximum", 2, 0.2, false, Config{}, false},
		{"a drifting probe dropping out now and then", 1.5, 0.05, false, Config{}, false},
		{"heat hours after the glitches", 0, 0, true, Config{}, true},
		{"the rule turned off: the flickering probe warns", 2, 0.2, false, Config{ErraticGlitches: 1000}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(7))
			evs := feed(c.cfg, 8*time.Hour, every, func(tt time.Duration) []Sample {
				var out []Sample
				for m := 1; m <= 8; m++ {
					base := 30 + 0.05*float64(m) + rng.NormFloat64()*0.1
					hi := base + 0.4
					if m == 3 {
						if tt > time.Hour {
							bad := base + c.drift*(tt-time.Hour).Hours()
							if rng.Float64() >= c.dropout {
								hi = math.Max(hi, bad)
							}
						}
						if !c.heat && tt >= 20*time.Minute && tt < 25*time.Minute && tt%time.Minute == 0 {
							hi = 85 // a few sentinel spikes early on
						}
						if c.heat && tt >= 2*time.Hour && tt < 2*time.Hour+10*time.Minute && tt%(2*time.Minute) == 0 {
							hi = 127
						}
						if c.heat && tt > 6*time.Hour {
							heat := 4 * (tt - 6*time.Hour).Hours() * (tt - 6*time.Hour).Hours()
							base += heat
							hi += heat
						}
					}
					p := fmt.Sprintf("battery.module.%d.", m)
					out = append(out,
						Sample{t0.Add(tt), "bms-1", p + "temperature", math.Round(base*10) / 10},
						Sample{t0.Add(tt), "bms-1", p + "cell.max.temperature", math.Round(hi*10) / 10})
				}
				return out
			})
			warn := first(evs, KindThermalRunaway, LevelWarning)
			if warn == nil {
				warn = first(evs, KindThermalRunaway, LevelCritical)
			}
			switch {
			case c.wantWarn && warn == nil:
				t.Error("no thermal_runaway warning")
			case !c.wantWarn && warn != nil:
				t.Errorf("thermal_runaway %s at %v: %s", warn.Level, warn.Time.Sub(t0), warn.Message)
			}
			if f := first(evs, KindSensorFault, ""); f == nil || f.Subject != "battery.module.3.cell.max.temperature" {
				t.Errorf("no sensor_fault on module 3's maximum: %+v", f)
			}
		})
	}
}

// TestErraticConfig: erratic_glitches below one is refused, naming its key.
func TestErraticConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{ErraticGlitches: -1}, "erratic_glitches"},
		{Config{ErraticFade: -time.Minute}, "durations"},
		{Config{ErraticGlitches: 5, ErraticFade: 2 * time.Hour}, ""},
	} {
		err := c.cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%+v: %v", c.cfg, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: error %v, want one naming %s", c.cfg.ErraticGlitches, err, c.want)
		}
	}
}
