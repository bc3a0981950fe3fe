package detect

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// feed runs a generated stream of polls through a detector: every period
// until dur, poll(t) returns the samples of that poll.
func feed(cfg Config, dur, period time.Duration, poll func(t time.Duration) []Sample) []Event {
	d := New(cfg)
	var evs []Event
	for t := time.Duration(0); t <= dur; t += period {
		for _, s := range poll(t) {
			evs = append(evs, d.Observe(s)...)
		}
	}
	return evs
}

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func modules(t time.Duration, n int, temp func(m int) float64) []Sample {
	var out []Sample
	for m := 1; m <= n; m++ {
		out = append(out, Sample{t0.Add(t), "bms-1", fmt.Sprintf("battery.module.%d.temperature", m), temp(m)})
	}
	return out
}

// rampAfter is 0 until start, then rises linearly to peak over the
// duration over, and holds.
func rampAfter(start time.Duration, peak float64, over time.Duration) func(time.Duration) float64 {
	return func(t time.Duration) float64 {
		if t <= start {
			return 0
		}
		return math.Min(peak, peak*float64(t-start)/float64(over))
	}
}

func first(evs []Event, kind, level string) *Event {
	for i := range evs {
		if evs[i].Kind == kind && (level == "" || evs[i].Level == level) && evs[i].State != StateCleared {
			return &evs[i]
		}
	}
	return nil
}

func TestRules(t *testing.T) {
	for _, c := range []struct {
		name   string
		dur    time.Duration
		period time.Duration
		poll   func(t time.Duration) []Sample
		check  func(t *testing.T, evs []Event)
	}{
		{"GB 38031 fast rise with a voltage drop is critical within 5 s", 20 * time.Minute, time.Second,
			func(t time.Duration) []Sample {
				start := 15 * time.Minute
				out := modules(t, 6, func(m int) float64 {
					if m == 3 && t > start {
						return 30 + 1.5*(t-start).Seconds()
					}
					return 30
				})
				v := 52.0
				if t > start {
					v = 46
				}
				for m := 1; m <= 6; m++ {
					vv := 52.0
					if m == 3 {
						vv = v
					}
					out = append(out, Sample{t0.Add(t), "bms-1", fmt.Sprintf("battery.module.%d.voltage", m), vv})
				}
				return out
			},
			func(t *testing.T, evs []Event) {
				e := first(evs, KindThermalRunaway, LevelCritical)
				if e == nil {
					t.Fatal("no critical thermal_runaway")
				}
				if lag := e.Time.Sub(t0.Add(15 * time.Minute)); lag > 5*time.Second || e.Subject != "battery.module.3" {
					t.Errorf("critical on %s %v after the rise began, want module 3 within 5 s", e.Subject, lag)
				}
			}},
		{"a dip and a jump of one sample each are no fast rise", time.Hour, 5 * time.Second,
			func(t time.Duration) []Sample {
				// a module reporting the mean of two thermistors 11 °C
				// apart, each missing once: 19.8, 14, 19.8, 25.5, 19.8
				return modules(t, 6, func(m int) float64 {
					if m == 3 && t == 30*time.Minute {
						return 14
					}
					if m == 3 && t == 30*time.Minute+10*time.Second {
						return 25.5
					}
					return 19.8
				})
			},
			func(t *testing.T, evs []Event) {
				if e := first(evs, KindThermalRunaway, ""); e != nil {
					t.Errorf("thermal_runaway on a dip and a jump: %s", e.Message)
				}
			}},
		{"an offset step over two 1 s polls is no heat", 2 * time.Hour, time.Second,
			func(t time.Duration) []Sample {
				// a loosening contact: 20 -> 22.4 -> 23.4 and there it stays
				return modules(t, 6, func(m int) float64 {
					switch {
					case m != 2 || t < 40*time.Minute:
						return 20
					case t == 40*time.Minute:
						return 22.4
					}
					return 23.4
				})
			},
			func(t *testing.T, evs []Event) {
				for _, e := range evs {
					if e.Kind == KindThermalRunaway && e.Level != LevelAdvisory && e.State != StateCleared {
						t.Errorf("thermal_runaway %s on an offset step: %s", e.Level, e.Message)
						break
					}
				}
				if e := first(evs, KindSensorFault, ""); e == nil || e.Subject != "battery.module.2.temperature" {
					t.Errorf("no sensor_fault for the step on module 2: %+v", e)
				}
			}},
		{"a glitch held over ten 1 s polls is no heat", time.Hour, time.Second,
			func(t time.Duration) []Sample {
				// a module mean of three thermistors, one reading 127 for
				// ten seconds: 60.4 instead of 27
				return modules(t, 6, func(m int) float64 {
					if m == 2 && t >= 40*time.Minute && t < 40*time.Minute+10*time.Second {
						return 60.4
					}
					return 27
				})
			},
			func(t *testing.T, evs []Event) {
				if e := first(evs, KindThermalRunaway, ""); e != nil {
					t.Errorf("thermal_runaway on a 10 s glitch: %s", e.Message)
				}
				if e := first(evs, KindSensorFault, ""); e == nil || e.Subject != "battery.module.2.temperature" {
					t.Errorf("no sensor_fault for the glitch on module 2: %+v", e)
				}
			}},
		{"GB 38031 fast rise sampled every 5 s is still seen", 20 * time.Minute, 5 * time.Second,
			func(t time.Duration) []Sample {
				start := 15 * time.Minute
				return modules(t, 6, func(m int) float64 {
					if m == 3 && t > start {
						return 30 + 1.2*(t-start).Seconds()
					}
					return 30
				})
			},
			func(t *testing.T, evs []Event) {
				e := first(evs, KindThermalRunaway, "")
				if e == nil || e.Subject != "battery.module.3" {
					t.Fatalf("no thermal_runaway on module 3: %+v", e)
				}
				if lag := e.Time.Sub(t0.Add(15 * time.Minute)); lag > 15*time.Second {
					t.Errorf("first thermal_runaway %v after the rise began, want within three samples", lag)
				}
			}},
		{"a warm module fitted in a rack of three cools without alarming the others", 4 * time.Hour, 10 * time.Second,
			func(t time.Duration) []Sample {
				// module 2 is swapped for one 15 °C warmer, which cools
				// with a 25 min time constant; the median of the other
				// two is their mean, so it falls with it
				var out []Sample
				for _, s := range modules(t, 3, func(m int) float64 {
					if m == 2 && t >= 50*time.Minute {
						return math.Round((25+15*math.Exp(-(t-50*time.Minute).Minutes()/25))*10) / 10
					}
					return 25 + 0.1*float64((int(t/(10*time.Second))+m)%3-1)
				}) {
					if s.Point == "battery.module.2.temperature" && t >= 20*time.Minute && t < 50*time.Minute {
						continue
					}
					out = append(out, s)
				}
				return out
			},
			func(t *testing.T, evs []Event) {
				if e := first(evs, KindThermalRunaway, LevelWarning); e != nil {
					t.Errorf("thermal_runaway warning as the fitted module cooled: %s", e.Message)
				}
			}},
		{"thermistors catching up after a high-rate discharge are no overcharge", 2 * time.Hour, 10 * time.Second,
			func(t time.Duration) []Sample {
				// a 10 min discharge at 300 A, then rest: the cells heat
				// 1.5 °C/min during it and the lagging thermistors keep
				// rising at 1.3 °C/min for five minutes after it
				start, end := 40*time.Minute, 50*time.Minute
				temp := func(m int) float64 {
					v := 25.0
					switch {
					case t >= end+5*time.Minute:
						v += 0.8*10 + 1.3*5
					case t >= end:
						v += 0.8*10 + 1.3*(t-end).Minutes()
					case t >= start:
						v += 0.8 * (t - start).Minutes()
					}
					return math.Round((v+0.1*float64((int(t/(10*time.Second))+m)%3-1))*10) / 10
				}
				out := modules(t, 8, temp)
				i := 0.1
				if t >= start && t < end {
					i = -300
				}
				return append(out, Sample{t0.Add(t), "bms-1", "battery.current", i},
					Sample{t0.Add(t), "env-1", "ambient.temperature", 23})
			},
			func(t *testing.T, evs []Event) {
				if e := first(evs, KindThermalRunaway, ""); e != nil {
					t.Errorf("thermal_runaway after a discharge: %s", e.Message)
				}
			}},
		{"a thermistor climbing 0.9 °C/s is heat, not an offset step", 40 * time.Minute, 5 * time.Second,
			func(t time.Duration) []Sample {
				start := 30 * time.Minute
				return modules(t, 6, func(m int) float64 {
					v := 27 + 0.1*float64((int(t/(5*time.Second))+m)%3-1)
					if m == 4 && t > start {
						v = 27 + 0.9*(t-start).Seconds()
					}
					return math.Round(v*10) / 10
				})
			},
			func(t *testing.T, evs []Event) {
				if e := first(evs, KindSensorFault, ""); e != nil {
					t.Errorf("sensor_fault on a sensor heating fast: %s", e.Message)
				}
				if e := first(evs, KindThermalRunaway, LevelCritical); e == nil || e.Subject != "battery.module.4" {
					t.Errorf("no critical thermal_runaway on module 4: %+v", e)
				}
			}},
		{"a fast rise polled every 10 s is followed, not taken for spikes", 40 * time.Minute, 10 * time.Second,
			func(t time.Duration) []Sample {
				start := 30 * time.Minute
				return modules(t, 6, func(m int) float64 {
					v := 27 + 0.1*float64((int(t/(10*time.Second))+m)%3-1)
					if m == 5 && t > start {
						v = min(400, 27+1.5*(t-start).Seconds())
					}
					return math.Round(v*10) / 10
				})
			},
			func(t *testing.T, evs []Event) {
				if e := first(evs, KindSensorFault, ""); e != nil {
					t.Errorf("sensor_fault on a sensor heating fast: %s", e.Message)
				}
				e := first(evs, KindOverTemperature, LevelCritical)
				if e == nil || e.Subject != "battery.module.5" {
					t.Fatalf("no critical over_temperature on module 5: %+v", e)
				}
				if lag := e.Time.Sub(t0.Add(30 * time.Minute)); lag > 90*time.Second {
					t.Errorf("over_temperature critical %v after the rise began", lag)
				}
			}},
		{"an offset step names the value before it", time.Hour, 10 * time.Second,
			func(t time.Duration) []Sample {
				return modules(t, 6, func(m int) float64 {
					v := 25 + 0.1*float64((int(t/(10*time.Second))+m)%3-1)
					if m == 2 && t >= 30*time.Minute {
						v += 4
					}
					return math.Round(v*10) / 10
				})
			},
			func(t *testing.T, evs []Event) {
				e := first(evs, KindSensorFault, "")
				if e == nil || !strings.Contains(e.Message, "step") {
					t.Fatalf("no sensor_fault step: %+v", e)
				}
				if g, ok := e.Evidence["last_good"].(float64); !ok || g > 26 {
					t.Errorf("last_good %v, want the value before the step (about 25): %s", e.Evidence["last_good"], e.Message)
				}
				if e := first(evs, KindThermalRunaway, LevelWarning); e != nil {
					t.Errorf("thermal_runaway on an offset step: %s", e.Message)
				}
			}},
		{"comms lost and back", 30 * time.Minute, 10 * time.Second,
			func(t time.Duration) []Sample {
				if t > 10*time.Minute && t < 15*time.Minute {
					return []Sample{{t0.Add(t), "env-1", "ambient.temperature", 23}}
				}
				return append(modules(t, 4, func(int) float64 { return 25 }), Sample{t0.Add(t), "env-1", "ambient.temperature", 23})
			},
			func(t *testing.T, evs []Event) {
				var raised, cleared bool
				for _, e := range evs {
					if e.Kind == KindCommsLost && e.Device == "bms-1" {
						raised = raised || e.State == StateRaised
						cleared = cleared || e.State == StateCleared
					}
					if e.Kind == KindThermalRunaway {
						t.Errorf("thermal_runaway on comms loss: %s", e.Message)
					}
				}
				if !raised || !cleared {
					t.Errorf("comms_lost raised %v, cleared %v; want both", raised, cleared)
				}
			}},
		{"slow polling is not comms loss", 3 * time.Hour, time.Minute,
			func(t time.Duration) []Sample {
				return append(modules(t, 4, func(int) float64 { return 25 }), Sample{t0.Add(t), "env-1", "ambient.temperature", 23})
			},
			func(t *testing.T, evs []Event) {
				if e := first(evs, KindCommsLost, ""); e != nil {
					t.Errorf("comms_lost with a 60 s poll: %s", e.Message)
				}
			}},
		{"stuck sensor while its neighbours warm", 3 * time.Hour, 10 * time.Second,
			func(t time.Duration) []Sample {
				return modules(t, 6, func(m int) float64 {
					if m == 4 {
						return 24
					}
					return math.Round((24+3*t.Hours())*10) / 10
				})
			},
			func(t *testing.T, evs []Event) {
				if e := first(evs, KindSensorFault, ""); e == nil || e.Subject != "battery.module.4.temperature" {
					t.Errorf("no sensor_fault for the stuck module 4: %+v", e)
				}
				if e := first(evs, KindThermalRunaway, LevelWarning); e != nil {
					t.Errorf("thermal_runaway on a stuck sensor: %s", e.Message)
				}
			}},
		{"off-gas rise", time.Hour, 10 * time.Second,
			func(t time.Duration) []Sample {
				h2 := 1.0
				if t > 30*time.Minute {
					h2 = 1 + 10*(t-30*time.Minute).Minutes()
				}
				return append(modules(t, 4, func(int) float64 { return 25 }), Sample{t0.Add(t), "gas-1", "gas.h2", h2})
			},
			func(t *testing.T, evs []Event) {
				if e := first(evs, KindOffgas, LevelWarning); e == nil || e.Subject != "gas.h2" {
					t.Errorf("no offgas warning on gas.h2: %+v", e)
				}
			}},
		{"open circuit", 10 * time.Minute, 5 * time.Second,
			func(t time.Duration) []Sample {
				return modules(t, 4, func(m int) float64 {
					if m == 2 && t > 5*time.Minute {
						return math.NaN()
					}
					return 25
				})
			},
			func(t *testing.T, evs []Event) {
				if e := first(evs, KindSensorFault, LevelWarning); e == nil || e.Subject != "battery.module.2.temperature" {
					t.Errorf("no sensor_fault warning for the open module 2 sensor: %+v", e)
				}
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			evs := feed(DefaultConfig(), c.dur, c.period, c.poll)
			for _, e := range evs {
				t.Logf("%s %s %s %s %s %s", e.Time.Format(time.TimeOnly), e.Subject, e.Kind, e.Level, e.State, e.Message)
			}
			c.check(t, evs)
		})
	}
}

func TestEventJSON(t *testing.T) {
	evs := feed(DefaultConfig(), 10*time.Minute, 500*time.Millisecond, func(t time.Duration) []Sample {
		return modules(t, 4, func(m int) float64 {
			if m == 2 && t > 5*time.Minute {
				return math.NaN()
			}
			return 25
		})
	})
	if len(evs) == 0 {
		t.Fatal("no event")
	}
	b, err := evs[0].Time.MarshalJSON()
	if err != nil || string(b) != `"2026-03-01T00:05:01Z"` {
		t.Errorf("time = %s (%v)", b, err)
	}
	if evs[0].ID == "" || len(evs[0].ID) != 16 {
		t.Errorf("id = %q", evs[0].ID)
	}
}

// TestQuietRise checks the rule for a slow rise of one module while its
// string is at rest: a cell heating far from the module's thermistor.
func TestQuietRise(t *testing.T) {
	const start = 150 * time.Minute
	// slow is module 4 rising 1.6 °C over 25 minutes from start.
	slow := rampAfter(start, 1.6, 25*time.Minute)
	type rack struct {
		current   func(t time.Duration) (float64, bool)
		room      func(t time.Duration) float64
		module4   func(t time.Duration) float64 // on top of the others
		others    func(t time.Duration) float64
		wantWarn  bool
		wantAfter time.Duration
	}
	atRest := func(time.Duration) (float64, bool) { return 0.05, true }
	steady := func(time.Duration) float64 { return 22 }
	none := func(time.Duration) float64 { return 0 }
	for _, c := range []struct {
		name string
		r    rack
	}{
		{"a slow rise at rest is a warning", rack{atRest, steady, slow, none, true, start + 25*time.Minute}},
		{"an air conditioner cycling every 20 minutes is a steady room", rack{atRest, func(t time.Duration) float64 {
			return 22 + 0.4*math.Sin(2*math.Pi*t.Minutes()/20)
		}, slow, none, true, start + 25*time.Minute}},
		{"not within two hours of a discharge", rack{func(t time.Duration) (float64, bool) {
			if t > start-80*time.Minute && t < start-70*time.Minute {
				return -40, true
			}
			return 0.05, true
		}, steady, slow, none, false, 0}},
		{"not without a current to tell rest", rack{func(time.Duration) (float64, bool) { return 0, false }, steady, slow, none, false, 0}},
		{"not while the room moves", rack{atRest, func(t time.Duration) float64 {
			return 22 + math.Max(0, math.Min(3, 3*(t-start+10*time.Minute).Minutes()/40))
		}, slow, func(t time.Duration) float64 {
			return math.Max(0, math.Min(1.5, 1.5*(t-start+10*time.Minute).Minutes()/40))
		}, false, 0}},
		{"a small step is an offset, not heat", rack{atRest, steady, func(t time.Duration) float64 {
			if t > start {
				return 1.6
			}
			return 0
		}, none, false, 0}},
		{"a rise accelerating as self-heating does is a warning within 22 minutes", rack{atRest, steady, func(t time.Duration) float64 {
			// doubling every four minutes: 1.2 °C at 18.6 minutes, 2.2 at
			// 22, most of it in the last ten (a quarter of the rise before
			// them is never there)
			if t <= start {
				return 0
			}
			return 0.05 * (math.Exp2((t-start).Minutes()/4) - 1)
		}, none, true, start + 22*time.Minute}},
		{"an offset step of 1.8 °C through a five-minute lag is no heat", rack{atRest, steady, func(t time.Duration) float64 {
			if t <= start {
				return 0
			}
			return 1.8 * (1 - math.Exp(-(t-start).Minutes()/5))
		}, none, false, 0}},
		{"two offset steps in the mean of two thermistors are no heat", rack{atRest, steady, func(t time.Duration) float64 {
			switch {
			case t > start+20*time.Minute:
				return 2.6
			case t > start:
				return 1
			}
			return 0
		}, none, false, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			evs := feed(Config{}, start+40*time.Minute, 5*time.Second, func(tt time.Duration) []Sample {
				out := modules(tt, 8, func(m int) float64 {
					// a tenth of a degree of dither, as a real thermistor has
					v := 25 + c.r.others(tt) + 0.1*float64((int(tt/(5*time.Second))*7+m*3)%3-1)
					if m == 4 {
						v += c.r.module4(tt)
					}
					return math.Round(v*10) / 10
				})
				out = append(out, Sample{t0.Add(tt), "bms-1", "ambient.temperature", c.r.room(tt)})
				if i, ok := c.r.current(tt); ok {
					out = append(out, Sample{t0.Add(tt), "bms-1", "battery.current", i})
				}
				return out
			})
			var warn *Event
			for i := range evs {
				e := &evs[i]
				if e.Kind == KindThermalRunaway && e.State != StateCleared && e.Level != LevelAdvisory {
					warn = e
					break
				}
			}
			switch {
			case !c.r.wantWarn && warn != nil && warn.Evidence["trigger"] == "rising at rest":
				t.Errorf("thermal_runaway %s on %s: %s (%v)", warn.Level, warn.Subject, warn.Message, warn.Evidence)
				t.Logf("at %v", warn.Time.Sub(t0))
			case c.r.wantWarn && warn == nil:
				t.Errorf("no thermal_runaway warning")
			case c.r.wantWarn && (warn.Subject != "battery.module.4" || warn.Evidence["trigger"] != "rising at rest" || warn.Time.After(t0.Add(c.r.wantAfter))):
				t.Errorf("warning on %s at %v by %v, want module 4 by rising at rest within %v",
					warn.Subject, warn.Time.Sub(t0), warn.Evidence["trigger"], c.r.wantAfter)
			}
		})
	}
}

// TestSettleWhileConverging checks a module swapped in warmer than the
// one it replaced: its probe comes back from the gap reading the old
// air around it and climbs to the module's temperature through its lag,
// its rate of rise falling minute by minute. That is settling, not heat;
// a probe whose rate keeps climbing after the gap is still warned.
func TestSettleWhileConverging(t *testing.T) {
	for _, c := range []struct {
		name string
		heat bool // the module self-heats, doubling every four minutes
		warn bool
	}{
		{"warm module swapped in", false, false},
		{"self-heating module back from a gap", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			back := time.Hour
			mod, mid, probe := 35.0, 22.5, 22.5
			evs := feed(DefaultConfig(), 2*time.Hour, 10*time.Second, func(at time.Duration) []Sample {
				out := []Sample{{t0.Add(at), "env-1", "ambient.temperature", 22}}
				for m := 1; m <= 8; m++ {
					if m == 3 && at < back && at > back-10*time.Minute {
						continue
					}
					v := 25.0
					if m == 3 && at >= back {
						dt := 10.0 / 60
						if c.heat {
							mod += 0.3 * math.Exp2((at-back).Minutes()/4) * dt
						}
						mid += (mod - mid) / 3 * dt
						probe += (mid - probe) / 3 * dt
						v = probe
					}
					out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.module.%d.temperature", m), math.Round(v*10) / 10})
				}
				return append(out, Sample{t0.Add(at), "bms-1", "battery.current", 0})
			})
			got, _, e := levelOn(evs)
			if warned := got == LevelWarning || got == LevelCritical; warned != c.warn {
				if warned {
					t.Errorf("thermal_runaway %s: %s %v", got, e.Message, e.Evidence)
				} else {
					t.Errorf("no thermal_runaway warning (highest %q)", got)
				}
			}
		})
	}
}

// TestQuietRiseLoneModule checks the rise-at-rest rule on a module with
// no neighbours, judged against the room: heat against it while its
// string rests in a steady room is a warning; a module swapped in cold,
// and one catching up with a room that stepped up, warm towards their
// usual place and are not; nor is a pack temperature, which the UPS's
// electronics heat with their load.
func TestQuietRiseLoneModule(t *testing.T) {
	const start = 180 * time.Minute
	type story struct {
		room  func(t time.Duration) float64
		heat  func(t time.Duration) float64 // °C the module would settle above its usual place
		gap   bool                          // no module reading from start-40 to start-30 min, then 10 °C colder
		load  bool                          // a discharge and its recharge, ending an hour before start
		tau   float64                       // the module's time constant, minutes
		point string                        // the temperature point; a module's when empty
	}
	steady := func(time.Duration) float64 { return 22 }
	heater := rampAfter(start, 12, 30*time.Minute)
	none := func(time.Duration) float64 { return 0 }
	for _, c := range []struct {
		name string
		s    story
		warn bool
	}{
		{"heat against it at rest in a steady room", story{steady, heater, false, false, 40, ""}, true},
		{"swapped in cold, warming towards the room", story{steady, none, true, false, 40, ""}, false},
		{"swapped in cold, a large module warming slowly", story{steady, none, true, false, 120, ""}, false},
		{"catching up with a room that stepped up 8 °C", story{func(t time.Duration) float64 {
			if t > start-60*time.Minute {
				return 30
			}
			return 22
		}, none, false, false, 40, ""}, false},
		{"a pack temperature rising with its UPS's load", story{steady, heater, false, false, 40, "battery.temperature"}, false},
		{"heat against it within two hours of a recharge", story{steady, heater, false, true, 40, ""}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			mod := 25.0
			evs := feed(DefaultConfig(), start+50*time.Minute, 5*time.Second, func(at time.Duration) []Sample {
				room := c.s.room(at)
				// the module settles 3 °C above the room
				mod += (room + 3 + c.s.heat(at) - mod) / (c.s.tau * 12)
				I := 0.05
				switch {
				case !c.s.load:
				case at > start-90*time.Minute && at < start-80*time.Minute:
					I = -40
				case at >= start-80*time.Minute && at < start-60*time.Minute:
					I = 20
				}
				out := []Sample{
					{t0.Add(at), "bms-1", "battery.current", I},
					{t0.Add(at), "env-1", "ambient.temperature", room},
				}
				if c.s.gap && at >= start-40*time.Minute && at < start-30*time.Minute {
					mod = room - 10
					return out
				}
				v := mod + 0.1*float64((int(at/(5*time.Second))*7)%3-1)
				point := c.s.point
				if point == "" {
					point = "battery.module.1.temperature"
				}
				return append(out, Sample{t0.Add(at), "bms-1", point, math.Round(v*10) / 10})
			})
			got, _, e := levelOn(evs)
			warned := got == LevelWarning || got == LevelCritical
			switch {
			case warned && !c.warn:
				t.Errorf("thermal_runaway %s at minute %.1f: %s %v", got, e.Time.Sub(t0).Minutes(), e.Message, e.Evidence)
			case !warned && c.warn:
				t.Errorf("no thermal_runaway warning (highest %q)", got)
			case warned && (e.Evidence["trigger"] != "rising at rest" || e.Time.After(t0.Add(start+30*time.Minute))):
				t.Errorf("warning at minute %.1f by %v, want rising at rest within 30 minutes", e.Time.Sub(t0).Minutes(), e.Evidence["trigger"])
			}
		})
	}
}

// TestQuietRiseTwoModules checks the rise-at-rest rule on a string of two
// modules: one module heating moves the string's median by half its rise,
// so the string is not steady, but its neighbour (its reference) is, and
// the rise is a warning; both modules warming together is not, nor is a
// rise against a neighbour that does not hold steady.
func TestQuietRiseTwoModules(t *testing.T) {
	const start = 150 * time.Minute
	rise := rampAfter(start, 1.6, 25*time.Minute)
	none := func(time.Duration) float64 { return 0 }
	for _, c := range []struct {
		name     string
		mod1     func(t time.Duration) float64 // on top of 25 °C
		mod2     func(t time.Duration) float64
		wantWarn bool
	}{
		{"module 2 heating at rest", none, rise, true},
		{"both warming together", rise, rise, false},
		{"its neighbour warming 0.8 °C meanwhile: no steady reference", func(t time.Duration) float64 { return rise(t) / 2 },
			func(t time.Duration) float64 { return 1.5 * rise(t) }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			evs := feed(Config{}, start+40*time.Minute, 5*time.Second, func(tt time.Duration) []Sample {
				out := modules(tt, 2, func(m int) float64 {
					v := 25 + 0.1*float64((int(tt/(5*time.Second))*7+m*3)%3-1)
					if m == 1 {
						v += c.mod1(tt)
					} else {
						v += c.mod2(tt)
					}
					return math.Round(v*10) / 10
				})
				return append(out,
					Sample{t0.Add(tt), "bms-1", "ambient.temperature", 22},
					Sample{t0.Add(tt), "bms-1", "battery.current", 0.05})
			})
			expectRunaway(t, evs, c.wantWarn, "a warning on module 2 rising at rest", func(e *Event) bool {
				return e.Level != LevelAdvisory && e.Subject == "battery.module.2" && e.Evidence["trigger"] == "rising at rest"
			})
		})
	}
}

// TestQuietNoiseZConfig: a negative quiet_noise_z is refused, naming its
// key; an omitted one takes the default.
func TestQuietNoiseZConfig(t *testing.T) {
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{QuietNoiseZ: -1}, "quiet_noise_z"},
		{Config{QuietNoiseZ: 5}, ""},
		{Config{}, ""},
	} {
		err := c.cfg.Validate()
		switch {
		case c.want == "" && err != nil:
			t.Errorf("quiet_noise_z %g: %v", c.cfg.QuietNoiseZ, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("quiet_noise_z %g: error %v, want one naming %s", c.cfg.QuietNoiseZ, err, c.want)
		}
	}
	if got := (Config{}).withDefaults().QuietNoiseZ; got != DefaultConfig().QuietNoiseZ {
		t.Errorf("omitted quiet_noise_z = %g, want the default %g", got, DefaultConfig().QuietNoiseZ)
	}
}
