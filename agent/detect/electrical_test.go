package detect

import (
	"cmp"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"testing"
	"time"
)

// levelOn returns the highest thermal_runaway level raised (not cleared)
// and the subject of the first event at that level.
func levelOn(evs []Event) (level, subject string, ev *Event) {
	for _, l := range []string{LevelAdvisory, LevelWarning, LevelCritical} {
		if e := first(evs, KindThermalRunaway, l); e != nil {
			level, subject, ev = l, e.Subject, e
		}
	}
	return level, subject, ev
}

// TestFloatStep checks the internal-short rule on the string current: a
// Li-ion string at float draws almost nothing; a cell drained by a short
// makes the charger feed it while its module's voltage steps down.
func TestFloatStep(t *testing.T) {
	for _, c := range []struct {
		name      string
		step      float64 // current step after the hour, A
		fall      float64 // relative step down of module 5
		discharge bool    // a discharge 30 minutes before the hour
		glitch    int     // samples of a -60 A misreading 30 minutes before the hour
		want      string
	}{
		{"current and voltage step together: warning", 0.8, 0.005, false, 0, LevelWarning},
		{"a current step alone is an advisory", 0.8, 0, false, 0, LevelAdvisory},
		{"after a discharge the current step does not count", 0.8, 0.005, true, 0, LevelAdvisory},
		{"quantised noise is nothing", 0, 0, false, 0, ""},
		{"one sample misread as a discharge is no discharge", 0.8, 0.005, false, 1, LevelWarning},
		{"nor are two", 0.8, 0.005, false, 2, LevelWarning},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(5))
			onset := time.Hour
			evs := feed(DefaultConfig(), 90*time.Minute, 10*time.Second, func(at time.Duration) []Sample {
				out := modules(at, 8, func(int) float64 { return 25 })
				I := rng.NormFloat64() * 0.05
				if at > onset {
					I += c.step
				}
				if c.discharge && at > 25*time.Minute && at < 30*time.Minute {
					I = -40
				}
				if g := at - 30*time.Minute; g >= 0 && g < time.Duration(c.glitch)*10*time.Second {
					I = -60
				}
				for m := 1; m <= 8; m++ {
					v := 54.0
					if m == 5 && at > onset {
						v *= 1 - c.fall
					}
					v += rng.NormFloat64() * 0.02
					out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.module.%d.voltage", m), math.Round(v*100) / 100})
				}
				return append(out, Sample{t0.Add(at), "bms-1", "battery.current", math.Round(I*10) / 10})
			})
			got, subj, e := levelOn(evs)
			if got != c.want {
				t.Fatalf("highest thermal_runaway level %q, want %q", got, c.want)
			}
			if got == LevelWarning {
				if subj != "battery.module.5" {
					t.Errorf("warning on %s, want battery.module.5", subj)
				}
				if lag := e.Time.Sub(t0.Add(onset)); lag < 0 || lag > 4*time.Minute {
					t.Errorf("warning %v after the step, want within 4 minutes", lag)
				}
				if e.Evidence["float_current_step_a"] == nil {
					t.Errorf("evidence %v lacks the current step", e.Evidence)
				}
			}
		})
	}
}

// TestShortAtCurrentJump checks the internal-short rule when a short
// escalates fast: the float current jumps (five times float_step) while
// the voltage of the drained module has stood low for minutes. That is a
// warning at once, without waiting two minutes for the step to hold.
// Without the jump the same sag is no more than an advisory, and a module
// voltage misread low in one sample is no sag.
func TestShortAtCurrentJump(t *testing.T) {
	for _, c := range []struct {
		name    string
		jump    float64 // current jump at the hour, A
		sag     float64 // relative sag of module 5 from 20 minutes before
		misread int     // samples of module 5 read 10 % low a minute after the jump
		want    string
	}{
		{"jump with the module sagging: warning at once", 2, 0.003, 0, LevelWarning},
		{"the sag alone is an advisory", 0, 0.003, 0, LevelAdvisory},
		{"the jump alone is an advisory", 2, 0, 0, LevelAdvisory},
		{"one misread sample is no short", 2, 0, 1, LevelAdvisory},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(11))
			onset := 2 * time.Hour
			evs := feed(DefaultConfig(), onset+5*time.Minute, 10*time.Second, func(at time.Duration) []Sample {
				out := modules(at, 8, func(int) float64 { return 25 })
				I := math.Abs(rng.NormFloat64() * 0.03)
				if at >= onset {
					I += c.jump
				}
				out = append(out, Sample{t0.Add(at), "bms-1", "battery.current", math.Round(I*10) / 10})
				if at%(30*time.Second) != 0 {
					return out // module voltages every 30 s
				}
				for m := 1; m <= 8; m++ {
					v := 54.0
					if m == 5 && at > onset-20*time.Minute {
						v *= 1 - c.sag*min(1, float64(at-onset+20*time.Minute)/float64(5*time.Minute))
					}
					v += rng.NormFloat64() * 0.02
					if g := at - onset - time.Minute; m == 5 && g >= 0 && g < time.Duration(c.misread)*30*time.Second {
						v *= 0.9
					}
					out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.module.%d.voltage", m), math.Round(v*100) / 100})
				}
				return out
			})
			got, subj, e := levelOn(evs)
			if got != c.want {
				t.Fatalf("highest thermal_runaway level %q, want %q", got, c.want)
			}
			if got != LevelWarning {
				return
			}
			if subj != "battery.module.5" {
				t.Errorf("warning on %s, want battery.module.5", subj)
			}
			if lag := e.Time.Sub(t0.Add(onset)); lag < 0 || lag > time.Minute {
				t.Errorf("warning %v after the jump, want within a minute", lag)
			}
			if !strings.Contains(e.Message, "internal short") {
				t.Errorf("message %q does not name an internal short", e.Message)
			}
		})
	}
}

// TestFloatStepLoneModule checks the internal-short rule on strings of
// one module: the charger holds that module's voltage and it has no group
// to step against, so a large float-current step at rest is a warning on
// it alone. Where the string has other modules the voltage must show
// which one is fed, unless no voltage of the string is compared with a
// group (two modules, or no module voltages reported). A step that comes
// with the string's terminal voltage raised is the charger's own doing,
// and no runaway evidence at all.
func TestFloatStepLoneModule(t *testing.T) {
	for _, c := range []struct {
		name      string
		strings   int     // strings of the bank; the step is on the last
		modules   int     // modules per string
		step      float64 // current step after the hour, A
		discharge bool    // a discharge 30 minutes before the hour
		noVolts   bool    // no module voltages reported
		swap      bool    // module readings absent from minute 40 to 50
		terminal  int     // the string's voltage: 0 not reported, 1 held, 2 raised 3 % with the step
		want      string
		subject   string
	}{
		{"one module, 2 A: warning", 1, 1, 2, false, false, false, 0, LevelWarning, "battery.module.1"},
		{"one module per string, 2 A on string 2: warning there", 2, 1, 2, false, false, false, 0, LevelWarning, "battery.string.2.module.1"},
		{"one module, 0.6 A: advisory", 1, 1, 0.6, false, false, false, 0, LevelAdvisory, ""},
		{"one module, 2 A after a discharge: recharge", 1, 1, 2, true, false, false, 0, "", ""},
		{"eight modules, 2 A and no voltage step: advisory", 1, 8, 2, false, false, false, 0, LevelAdvisory, ""},
		{"two modules, 2 A: warning on the string", 1, 2, 2, false, false, false, 0, LevelWarning, "battery"},
		{"eight modules with no voltages, 2 A: warning on the string", 1, 8, 2, false, true, false, 0, LevelWarning, "battery"},
		{"eight modules with no voltages, 0.6 A: advisory", 1, 8, 0.6, false, true, false, 0, LevelAdvisory, ""},
		{"one module with no voltages, 2 A within the hour of a swap: advisory", 1, 1, 2, false, true, true, 0, LevelAdvisory, ""},
		{"one module, 2 A with its string's voltage held: warning", 1, 1, 2, false, false, false, 1, LevelWarning, "battery.module.1"},
		{"one module, 2 A as the charger raises its string 3 %: none", 1, 1, 2, false, false, false, 2, "", ""},
		{"eight modules with no voltages, 2 A as the charger raises the string 3 %: none", 1, 8, 2, false, true, false, 2, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(11))
			onset := time.Hour
			evs := feed(DefaultConfig(), 90*time.Minute, 10*time.Second, func(at time.Duration) []Sample {
				var out []Sample
				for st := 1; st <= c.strings; st++ {
					prefix := "battery."
					if c.strings > 1 {
						prefix = fmt.Sprintf("battery.string.%d.", st)
					}
					I := rng.NormFloat64() * 0.05
					if st == c.strings && at > onset {
						I += c.step
					}
					if c.discharge && at > 25*time.Minute && at < 30*time.Minute {
						I = -40
					}
					for m := 1; m <= c.modules; m++ {
						if c.swap && at > 40*time.Minute && at < 50*time.Minute {
							continue
						}
						v := 54.0 + rng.NormFloat64()*0.02
						out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("%smodule.%d.temperature", prefix, m), 25})
						if !c.noVolts {
							out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("%smodule.%d.voltage", prefix, m), math.Round(v*100) / 100})
						}
					}
					out = append(out, Sample{t0.Add(at), "bms-1", prefix + "current", math.Round(I*10) / 10})
					if c.terminal > 0 {
						V := 54.0 * float64(c.modules)
						if c.terminal == 2 && st == c.strings && at > onset {
							V *= 1.03
						}
						out = append(out, Sample{t0.Add(at), "bms-1", prefix + "voltage", math.Round(V*10) / 10})
					}
				}
				return out
			})
			got, subj, e := levelOn(evs)
			if got != c.want {
				t.Fatalf("highest thermal_runaway level %q, want %q", got, c.want)
			}
			if got == LevelWarning {
				if subj != c.subject {
					t.Errorf("warning on %s, want %s", subj, c.subject)
				}
				if lag := e.Time.Sub(t0.Add(onset)); lag < 0 || lag > 4*time.Minute {
					t.Errorf("warning %v after the step, want within 4 minutes", lag)
				}
				if e.Evidence["float_current_step_a"] == nil {
					t.Errorf("evidence %v lacks the current step", e.Evidence)
				}
			}
		})
	}
}

// TestDischargeHeat checks the rule for a module far below its group
// under discharge: the missing voltage times the current is heat in it.
func TestDischargeHeat(t *testing.T) {
	for _, c := range []struct {
		name   string
		dev    float64 // module 3 below its group under discharge
		amps   float64
		charge float64 // string state of charge, %; negative: not reported
		fall   float64 // the group's fall over the discharge, relative
		want   string
	}{
		{"5 % at 100 A (260 W) is a warning", 0.05, 100, 60, 0, LevelWarning},
		{"1 % at 100 A is nothing", 0.01, 100, 60, 0, ""},
		{"5 % with the string nearly empty is nothing", 0.05, 100, 10, 0, ""},
		{"5 % at 5 A (13 W) is nothing", 0.05, 5, 60, 0, ""},
		{"with no charge reading, 5 % at 100 A is a warning", 0.05, 100, -1, 0, LevelWarning},
		{"with no charge reading, 5 % as the group falls off its knee is nothing", 0.05, 100, -1, 0.12, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(7))
			start := 30 * time.Minute
			evs := feed(DefaultConfig(), time.Hour, 10*time.Second, func(at time.Duration) []Sample {
				out := modules(at, 8, func(int) float64 { return 25 })
				I := 0.0
				if at > start {
					I = -c.amps
				}
				for m := 1; m <= 8; m++ {
					v := 52.0
					if at > start {
						// the group falls over the discharge, module 3 with it
						// only once the group has fallen 6 %
						v = 50 * (1 - c.fall*(at-start).Minutes()/30)
						if m == 3 && (c.fall == 0 || (at-start).Minutes() > 15) {
							v *= 1 - c.dev
						}
					}
					v += rng.NormFloat64() * 0.02
					out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.module.%d.voltage", m), math.Round(v*100) / 100})
				}
				out = append(out, Sample{t0.Add(at), "bms-1", "battery.current", I})
				if c.charge >= 0 {
					out = append(out, Sample{t0.Add(at), "bms-1", "battery.charge", c.charge})
				}
				return out
			})
			got, subj, e := levelOn(evs)
			if (got == LevelWarning || got == LevelCritical) != (c.want == LevelWarning) {
				t.Fatalf("highest thermal_runaway level %q, want %q", got, c.want)
			}
			if c.want == LevelWarning {
				if subj != "battery.module.3" {
					t.Errorf("warning on %s, want battery.module.3", subj)
				}
				w, _ := e.Evidence["discharge_heat_w"].(float64)
				if want := c.dev * 50 * c.amps; math.Abs(w-want) > 0.2*want {
					t.Errorf("heat %v W, want about %.0f", e.Evidence["discharge_heat_w"], want)
				}
				if lag := e.Time.Sub(t0.Add(start)); lag > 5*time.Minute {
					t.Errorf("warning %v into the discharge, want within 5 minutes", lag)
				}
			}
		})
	}
}

// TestDischargeHeatCells checks the discharge-heat rule where the BMS
// reports cells, or each module's mean cell voltage, instead of modules:
// 8 modules of 16 cells at 100 A. A cell driven below zero by its string
// (a weak cell in reversal) is heat, a cell reading zero (a sense wire
// off) is no reading, and a mean cell voltage stands for the module it is
// the mean of, when the string voltage tells how many cells that is.
func TestDischargeHeatCells(t *testing.T) {
	const cellV, amps = 3.125, 100.0
	for _, c := range []struct {
		name    string
		avg     bool    // battery.module.N.cell.avg.voltage instead of every cell
		v       float64 // cell 2 of module 3 (avg: module 3's mean) under discharge
		rest    bool    // v also at rest, with no discharge at all
		before  bool    // v from ten minutes before the discharge on (a channel misreading)
		want    string
		message string
	}{
		{"a cell 5 % below its group (16 W) is nothing", false, 0.95 * cellV, false, false, "", ""},
		{"a cell driven to -1.5 V (460 W) is a warning", false, -1.5, false, false, LevelWarning, "driven into reversal"},
		{"a cell reading zero (a sense wire off) is nothing", false, 0, false, false, "", ""},
		{"a negative reading at rest is no reading", false, -1.5, true, false, "", ""},
		{"a channel reading -1.5 V at rest before the discharge is no cell in reversal", false, -1.5, false, true, "", ""},
		{"a module's mean cell voltage 5 % below (250 W) is a warning", true, 0.95 * cellV, false, false, LevelWarning, "below its group under discharge"},
		{"a mean cell voltage 1 % below (50 W) is nothing", true, 0.99 * cellV, false, false, "", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(3))
			start := 30 * time.Minute
			evs := feed(DefaultConfig(), time.Hour, 10*time.Second, func(at time.Duration) []Sample {
				out := modules(at, 8, func(int) float64 { return 25 })
				I, v0 := 0.0, 3.25
				load := at > start && !c.rest
				if load {
					I, v0 = -amps, cellV
				}
				sum := 0.0
				for m := 1; m <= 8; m++ {
					for k := 1; k <= 16; k++ {
						v := v0 + rng.NormFloat64()*0.002
						if m == 3 && (k == 2 || c.avg) && (load || c.rest && at > start || c.before && at > start-10*time.Minute) {
							v = c.v + rng.NormFloat64()*0.002
						}
						sum += v
						if !c.avg {
							out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.module.%d.cell.%d.voltage", m, k), math.Round(v*1000) / 1000})
						} else if k == 1 {
							// as SunSpec 804 gives them: the mean, the highest and the lowest
							for _, x := range []struct {
								name string
								v    float64
							}{{"avg", v}, {"max", v + 0.01}, {"min", v - 0.01}} {
								out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.module.%d.cell.%s.voltage", m, x.name), math.Round(x.v*1000) / 1000})
							}
						}
					}
				}
				return append(out, Sample{t0.Add(at), "bms-1", "battery.current", I},
					Sample{t0.Add(at), "bms-1", "battery.voltage", math.Round(sum*10) / 10},
					Sample{t0.Add(at), "bms-1", "battery.charge", 70})
			})
			got, subj, e := levelOn(evs)
			if (got == LevelWarning || got == LevelCritical) != (c.want == LevelWarning) {
				t.Fatalf("highest thermal_runaway level %q, want %q", got, c.want)
			}
			if c.want != LevelWarning {
				return
			}
			if subj != "battery.module.3" {
				t.Errorf("warning on %s, want battery.module.3", subj)
			}
			want := (cellV - c.v) * amps
			if c.avg {
				want *= 16
			}
			if w, _ := e.Evidence["discharge_heat_w"].(float64); math.Abs(w-want) > 0.2*want {
				t.Errorf("heat %v W, want about %.0f", e.Evidence["discharge_heat_w"], want)
			}
			if !strings.Contains(e.Message, c.message) {
				t.Errorf("message %q, want it to say %q", e.Message, c.message)
			}
			if lag := e.Time.Sub(t0.Add(start)); lag > 5*time.Minute {
				t.Errorf("warning %v into the discharge, want within 5 minutes", lag)
			}
		})
	}
}

// TestJointHeat checks the wiring rule: module voltages polled every
// minute, the string voltage and current every second; under a 20-minute
// discharge the string loses what its wiring drops.
func TestJointHeat(t *testing.T) {
	for _, c := range []struct {
		name  string
		joint func(min float64) float64 // joint resistance, Ω, minutes into the discharge
		slope float64                   // module voltage fall under discharge, V/min
		names string                    // "cell": battery.cell.N.voltage instead of modules; "modcell": 4 cells of each module; "avg": each module's mean cell voltage
		every time.Duration             // module poll interval (0: a minute)
		mods  int                       // modules in the string (0: 8)
		shown int                       // of them reported (0: all)
		want  bool
		zero  bool // module 2 misread as 0 V for a minute in each ten of the discharge
		lose  bool // one module's sample lost in every poll, a different one each time
		// stagger: module m's voltage read m times this after its poll
		// (rounded down to the second), as a poller reading one at a time
		// reads and stamps them, and the string's voltage and current
		// sampled every 10 s half way between
		stagger time.Duration
	}{
		{"a joint growing to 50 mΩ at 80 A (320 W) is a warning", func(m float64) float64 { return 0.002 + 0.048*math.Min(1, m/10) }, 0.05, "", 0, 0, 0, true, false, false, 0},
		{"the same seen through cell voltages", func(m float64) float64 { return 0.002 + 0.048*math.Min(1, m/10) }, 0.05, "cell", 0, 0, 0, true, false, false, 0},
		{"the same seen through each module's cells", func(m float64) float64 { return 0.002 + 0.048*math.Min(1, m/10) }, 0.05, "modcell", 0, 0, 0, true, false, false, 0},
		{"the same seen through each module's mean cell voltage", func(m float64) float64 { return 0.002 + 0.048*math.Min(1, m/10) }, 0.05, "avg", 0, 0, 0, true, false, false, 0},
		{"sound wiring seen through mean cell voltages is nothing", func(float64) float64 { return 0.02 }, 0.05, "avg", 0, 0, 0, false, false, false, 0},
		{"the same with modules polled every two minutes", func(m float64) float64 { return 0.002 + 0.048*math.Min(1, m/10) }, 0.05, "", 2 * time.Minute, 0, 0, true, false, false, 0},
		{"sound wiring of 20 mΩ is nothing", func(float64) float64 { return 0.02 }, 0.05, "", 0, 0, 0, false, false, false, 0},
		{"a steep end of discharge polled at two rates is nothing", func(float64) float64 { return 0.01 }, 1.5, "", 0, 0, 0, false, false, false, 0},
		{"a string of one module: the joint at its terminal", func(m float64) float64 { return 0.002 + 0.048*math.Min(1, m/10) }, 0.05, "", 0, 1, 0, true, false, false, 0},
		{"sound wiring with a module misread as 0 V now and then is nothing", func(float64) float64 { return 0.02 }, 0.05, "", 0, 0, 0, false, true, false, 0},
		{"the same in a string of one module", func(float64) float64 { return 0.02 }, 0.05, "", 0, 1, 0, false, true, false, 0},
		{"two of eight modules reported: a steep end of discharge is nothing", func(float64) float64 { return 0.01 }, 1.5, "", 0, 8, 2, false, false, false, 0},
		{"the growing joint with a module's sample lost in every poll", func(m float64) float64 { return 0.002 + 0.048*math.Min(1, m/10) }, 0.05, "", 0, 0, 0, true, false, true, 0},
		{"sound wiring with a module's sample lost in every poll is nothing", func(float64) float64 { return 0.02 }, 0.05, "", 0, 0, 0, false, false, true, 0},
		{"a steep end of discharge with samples lost is nothing", func(float64) float64 { return 0.01 }, 1.5, "", 0, 0, 0, false, false, true, 0},
		{"the growing joint with module voltages stamped one by one over 6 s", func(m float64) float64 { return 0.002 + 0.048*math.Min(1, m/10) }, 0.05, "", 0, 0, 0, true, false, false, 750 * time.Millisecond},
		{"the same with a module's sample lost in every poll", func(m float64) float64 { return 0.002 + 0.048*math.Min(1, m/10) }, 0.05, "", 0, 0, 0, true, false, true, 750 * time.Millisecond},
		{"sound wiring stamped one by one is nothing", func(float64) float64 { return 0.02 }, 0.05, "", 0, 0, 0, false, false, false, 750 * time.Millisecond},
		{"a steep end of discharge stamped one by one is nothing", func(float64) float64 { return 0.01 }, 1.5, "", 0, 0, 0, false, false, false, 750 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(9))
			start := 40 * time.Minute
			if c.stagger > 0 {
				// the load starts during a poll: its first modules are
				// read at rest, the rest under load
				start += 3 * time.Second
			}
			const I = -80.0
			// the string's current, module voltage and the sum of its
			// modules' voltages, at
			state := func(at time.Duration) (cur, mv, sum, rj float64) {
				cur, mv = 0.0, 52.0
				if at > start {
					m := (at - start).Minutes()
					cur, mv = I, 50-c.slope*m
					rj = c.joint(m)
				}
				return cur, mv, float64(cmp.Or(c.mods, 8)) * mv, rj
			}
			evs := feed(DefaultConfig(), time.Hour, time.Second, func(at time.Duration) []Sample {
				var out []Sample
				mods, shown := cmp.Or(c.mods, 8), cmp.Or(c.shown, c.mods, 8)
				every := c.every
				if every == 0 {
					every = time.Minute
				}
				if at%every == 0 {
					out = append(out, modules(at, mods, func(int) float64 { return 25 })...)
				}
				for m := 1; m <= shown; m++ {
					lag := (time.Duration(m) * c.stagger).Truncate(time.Second)
					poll := at - lag
					if poll < 0 || poll%every != 0 {
						continue
					}
					_, mv, _, _ := state(at)
					v := mv + rng.NormFloat64()*0.02
					if c.lose && m == 1+int(poll/every)%shown {
						continue
					}
					if c.zero && m == min(2, shown) && poll > start && (poll-start)%(10*time.Minute) < time.Minute {
						v = 0
					}
					switch c.names {
					case "cell":
						out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.cell.%d.voltage", m), math.Round(v*100) / 100})
					case "modcell":
						for k := 1; k <= 4; k++ {
							out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.module.%d.cell.%d.voltage", m, k), math.Round(v/4*1000) / 1000})
						}
					case "avg":
						// as SunSpec 804 gives them: the mean, the highest and the lowest
						for _, k := range []struct {
							name string
							v    float64
						}{{"avg", v / 16}, {"max", v/16 + 0.01}, {"min", v/16 - 0.01}} {
							out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.module.%d.cell.%s.voltage", m, k.name), math.Round(k.v*1000) / 1000})
						}
					default:
						out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.module.%d.voltage", m), math.Round(v*100) / 100})
					}
				}
				if c.stagger > 0 && at%(10*time.Second) != 5*time.Second {
					return out
				}
				cur, _, sum, rj := state(at)
				sv := sum + cur*rj + rng.NormFloat64()*0.02
				return append(out, Sample{t0.Add(at), "bms-1", "battery.current", cur},
					Sample{t0.Add(at), "bms-1", "battery.voltage", math.Round(sv*100) / 100})
			})
			got, _, e := levelOn(evs)
			warned := got == LevelWarning || got == LevelCritical
			if warned != c.want {
				t.Fatalf("highest thermal_runaway level %q, want a warning: %v", got, c.want)
			}
			if c.want {
				if e.Evidence["joint_heat_w"] == nil {
					t.Errorf("evidence %v lacks the joint's heat", e.Evidence)
				}
				// a slower poll holds over more time
				if limit := 12*time.Minute + 3*max(0, c.every-time.Minute); e.Time.Sub(t0.Add(start)) > limit {
					t.Errorf("warning %v into the discharge", e.Time.Sub(t0.Add(start)))
				}
			}
		})
	}
}

// TestFloatClimbPastLoadCurrent: a float current that climbs from float
// past LoadCurrent (a large VRLA string in thermal runaway), or a large
// bank's float above it, is still followed by the IEEE 1491 trend, while
// a recharge after a discharge is not a climb, nor is an equalising
// charge, for which the charger raises the string's voltage.
func TestFloatClimbPastLoadCurrent(t *testing.T) {
	const h = time.Hour
	for _, c := range []struct {
		name     string
		current  func(t time.Duration) float64
		warm     func(t time.Duration) float64 // every module, on top of 26 °C
		raise    float64                       // the string's voltage reported, raised by this share from 6 h (-1: not reported)
		wantWarn bool
	}{
		{"a climb from float past load_current while the string warms", func(t time.Duration) float64 {
			return between(t, 6*h, 10*h, 0.3, 8)
		}, func(t time.Duration) float64 {
			return between(t, 6*h, 10*h, 0, 5)
		}, -1, true},
		{"the same climb at the float voltage the charger holds", func(t time.Duration) float64 {
			return between(t, 6*h, 10*h, 0.3, 8)
		}, func(t time.Duration) float64 {
			return between(t, 6*h, 10*h, 0, 5)
		}, 0, true},
		{"an equalising charge: the charger raises the string 4 %", func(t time.Duration) float64 {
			return between(t, 6*h, 10*h, 0.3, 8)
		}, func(t time.Duration) float64 {
			return between(t, 6*h, 10*h, 0, 5)
		}, 0.04, false},
		{"a large bank floating above load_current from the start", func(t time.Duration) float64 {
			return between(t, 6*h, 10*h, 2.5, 20)
		}, func(t time.Duration) float64 {
			return between(t, 6*h, 10*h, 0, 5)
		}, -1, true},
		{"a recharge after a discharge", func(t time.Duration) float64 {
			switch {
			case t >= 6*h && t < 6*h+30*time.Minute:
				return -50
			case t >= 6*h+30*time.Minute:
				return between(t, 6*h+30*time.Minute, 10*h, 10, 0.3)
			}
			return 0.3
		}, func(t time.Duration) float64 {
			return between(t, 6*h, 6*h+30*time.Minute, 0, 3) - between(t, 6*h+30*time.Minute, 10*h, 0, 3)
		}, -1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			evs := feed(Config{}, 10*h, 10*time.Second, func(tt time.Duration) []Sample {
				out := modules(tt, 8, func(m int) float64 {
					return math.Round((26+c.warm(tt)+0.05*float64(m%3))*10) / 10
				})
				if c.raise >= 0 {
					V := 8 * 13.5 * (1 + between(tt, 6*h, 6*h+10*time.Minute, 0, c.raise))
					out = append(out, Sample{t0.Add(tt), "bms-1", "battery.voltage", math.Round(V*10) / 10})
				}
				return append(out,
					Sample{t0.Add(tt), "bms-1", "ambient.temperature", 25},
					Sample{t0.Add(tt), "bms-1", "battery.current", math.Round(c.current(tt)*100) / 100})
			})
			expectRunaway(t, evs, c.wantWarn, "a warning on the float current climbing", func(e *Event) bool {
				return e.Level != LevelAdvisory &&
					strings.Contains(fmt.Sprint(e.Evidence["trigger"], e.Evidence["corroborated_by"]), "float current climbing")
			})
		})
	}
}

// TestStringWarming: a string warming on its own above a steady room is
// an advisory; a string catching up with a room that stepped up and
// stayed, or left warmer than a room that fell back, is not.
func TestStringWarming(t *testing.T) {
	const h = time.Hour
	// follow is a string with time constant tau following a room that
	// moved from a to b at step (°C at t).
	follow := func(t, step, tau time.Duration, a, b float64) float64 {
		if t <= step {
			return a
		}
		return b - (b-a)*math.Exp(-float64(t-step)/float64(tau))
	}
	for _, c := range []struct {
		name     string
		room     func(t time.Duration) float64
		modules  func(t time.Duration) float64
		wantWarm bool
		gaps     bool // the room probe reads nan ten minutes in every two hours
	}{
		{"warming on its own above a steady room", func(time.Duration) float64 { return 25 }, func(t time.Duration) float64 {
			return 26 + math.Max(0, (t-6*h).Hours()*0.8)
		}, true, false},
		{"the same with the room probe reading nan ten minutes every two hours", func(time.Duration) float64 { return 25 }, func(t time.Duration) float64 {
			return 26 + math.Max(0, (t-6*h).Hours()*0.8)
		}, true, true},
		{"catching up with a room that stepped up and stayed", func(t time.Duration) float64 {
			return follow(t, 6*h, 10*time.Minute, 22, 34)
		}, func(t time.Duration) float64 {
			return 0.6 + follow(t, 6*h, 3*h, 22, 34)
		}, false, false},
		{"the same with the room probe reading nan ten minutes every two hours", func(t time.Duration) float64 {
			return follow(t, 6*h, 10*time.Minute, 22, 34)
		}, func(t time.Duration) float64 {
			return 0.6 + follow(t, 6*h, 3*h, 22, 34)
		}, false, true},
		{"left warmer than a room that fell back", func(t time.Duration) float64 {
			return follow(t, 4*h, 10*time.Minute, 22, 34) - follow(t, 10*h, 10*time.Minute, 0, 12)
		}, func(t time.Duration) float64 {
			return 0.6 + follow(t, 4*h, 3*h, 22, 34) - follow(t, 10*h, 3*h, 0, 12)
		}, false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			evs := feed(Config{}, 14*h, 30*time.Second, func(tt time.Duration) []Sample {
				out := modules(tt, 8, func(m int) float64 {
					return math.Round((c.modules(tt)+0.05*float64(m%3))*10) / 10
				})
				room := math.Round(c.room(tt)*10) / 10
				if c.gaps && tt > h && tt%(2*h) < 10*time.Minute {
					room = math.NaN()
				}
				return append(out,
					Sample{t0.Add(tt), "bms-1", "ambient.temperature", room},
					Sample{t0.Add(tt), "bms-1", "battery.current", 0.05})
			})
			expectRunaway(t, evs, c.wantWarm, "an event on the string warming", func(e *Event) bool {
				return strings.HasPrefix(fmt.Sprint(e.Evidence["trigger"]), "string warming")
			})
		})
	}
}

// expectRunaway checks that a thermal_runaway event matching match was
// raised (want) or that none was; what names it in the error.
func expectRunaway(t *testing.T, evs []Event, want bool, what string, match func(e *Event) bool) {
	t.Helper()
	var got *Event
	for i := range evs {
		if e := &evs[i]; e.Kind == KindThermalRunaway && e.State != StateCleared && match(e) {
			got = e
			break
		}
	}
	switch {
	case want && got == nil:
		t.Errorf("no thermal_runaway: want %s", what)
	case !want && got != nil:
		t.Errorf("thermal_runaway %s at %v: %v", got.Level, got.Time.Sub(t0), got.Evidence)
	}
}

// TestLoneModuleDischarge checks the acceleration rule on a module judged
// against the room (a string of one module): under a steady discharge its
// Joule heat reaches the thermistor through two lags and the rate climbs
// for minutes, which is no self-heating; a load that steps up mid-way
// restarts that climb. Heat that doubles every few minutes under a steady
// current is still a warning.
func TestLoneModuleDischarge(t *testing.T) {
	for _, c := range []struct {
		name     string
		amps     []float64 // current from minute 30, one value per ten minutes
		selfHeat bool      // self-heating from minute 55
		warn     bool
	}{
		{"steady 300 A", []float64{300, 300, 300, 300}, false, false},
		{"100 A stepping to 300 A", []float64{100, 300, 300, 300}, false, false},
		{"steady 100 A and self-heating", []float64{100, 100, 100, 100}, true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			core, mid, probe := 20.0, 20.0, 20.0
			const tau = 1.0 // minutes, each lag
			start := 30 * time.Minute
			evs := feed(DefaultConfig(), 75*time.Minute, 5*time.Second, func(at time.Duration) []Sample {
				I := 0.0
				if k := int((at - start) / (10 * time.Minute)); at > start && k < len(c.amps) {
					I = -c.amps[k]
				}
				dt := 5.0 / 60
				// Joule heat 1.5 °C/min at 300 A, scaling with I²
				core += 1.5 * (I / 300) * (I / 300) * dt
				if c.selfHeat && at > 55*time.Minute {
					// doubling every four minutes from 0.3 °C/min
					core += 0.3 * math.Exp2((at-55*time.Minute).Minutes()/4) * dt
				}
				mid += (core - mid) / tau * dt
				probe += (mid - probe) / tau * dt
				return []Sample{
					{t0.Add(at), "bms-1", "battery.module.1.temperature", math.Round(probe*10) / 10},
					{t0.Add(at), "bms-1", "battery.current", I},
					{t0.Add(at), "env-1", "ambient.temperature", 20},
				}
			})
			got, _, e := levelOn(evs)
			if e != nil {
				t.Logf("%s at minute %.1f: %s", got, e.Time.Sub(t0).Minutes(), e.Message)
			}
			if warned := got == LevelWarning || got == LevelCritical; warned != c.warn {
				if warned {
					t.Errorf("thermal_runaway %s under discharge: %s %v", got, e.Message, e.Evidence)
				} else {
					t.Errorf("no thermal_runaway warning (highest %q)", got)
				}
			}
		})
	}
}

// TestFloatClimbOneOfSeveralStrings: in a bank of three strings in
// parallel, the one whose float current climbs as its modules warm (a
// VRLA runaway) is warned, by its own current and its own modules; the
// others, steady, are not.
func TestFloatClimbOneOfSeveralStrings(t *testing.T) {
	const h = time.Hour
	ramp := func(t time.Duration, a, b float64) float64 {
		return a + (b-a)*math.Max(0, math.Min(1, float64(t-6*h)/float64(4*h)))
	}
	for _, hot := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("string %d", hot), func(t *testing.T) {
			evs := feed(Config{}, 10*h, 10*time.Second, func(tt time.Duration) []Sample {
				out := []Sample{{t0.Add(tt), "bms-1", "ambient.temperature", 25}}
				for s := 1; s <= 3; s++ {
					warm, cur := 0.0, 0.3
					if s == hot {
						warm, cur = ramp(tt, 0, 5), ramp(tt, 0.3, 8)
					}
					for m := 1; m <= 6; m++ {
						v := math.Round((26+warm+0.05*float64((m+s)%3))*10) / 10
						out = append(out, Sample{t0.Add(tt), "bms-1", fmt.Sprintf("battery.string.%d.module.%d.temperature", s, m), v})
					}
					out = append(out, Sample{t0.Add(tt), "bms-1", fmt.Sprintf("battery.string.%d.current", s), math.Round(cur*100) / 100})
				}
				return out
			})
			in := fmt.Sprintf("battery.string.%d", hot)
			var warned *Event
			for i := range evs {
				e := &evs[i]
				if e.Kind != KindThermalRunaway || e.Level == LevelAdvisory || e.State == StateCleared {
					continue
				}
				if e.Subject != in && !strings.HasPrefix(e.Subject, in+".") {
					t.Errorf("%s on %s, not in %s: %s", e.Level, e.Subject, in, e.Message)
				} else if warned == nil {
					warned = e
				}
			}
			if warned == nil {
				t.Fatalf("no warning on %s", in)
			}
			if !strings.Contains(fmt.Sprint(warned.Evidence["trigger"], warned.Evidence["corroborated_by"]), "float current climbing") {
				t.Errorf("warned for %v, want the float current climbing: %s", warned.Evidence["trigger"], warned.Message)
			}
		})
	}
}

// TestLostCellSamples: cell voltages polled every two minutes, a few of
// whose samples are lost on the bus, are not modules swapped out and back
// in (whose charging explains a float-current step), so the internal-short
// rule still warns. A cell gone for a quarter of an hour is such a swap.
func TestLostCellSamples(t *testing.T) {
	for _, c := range []struct {
		name string
		lost func(at time.Duration, m, k int) bool // cell k of module m lost at at
		want string
	}{
		{"none lost", func(time.Duration, int, int) bool { return false }, LevelWarning},
		{"one sample lost", func(at time.Duration, m, k int) bool {
			return m == 2 && k == 3 && at == 44*time.Minute
		}, LevelWarning},
		{"two in a row lost", func(at time.Duration, m, k int) bool {
			return m == 2 && k == 3 && (at == 44*time.Minute || at == 46*time.Minute)
		}, LevelWarning},
		{"samples of several cells lost", func(at time.Duration, m, k int) bool {
			return (m+k+int(at/time.Minute))%17 == 0
		}, LevelWarning},
		{"a module's cells gone for 16 minutes: a swap", func(at time.Duration, m, _ int) bool {
			return m == 2 && at >= 40*time.Minute && at < 56*time.Minute
		}, LevelAdvisory},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(5))
			onset := time.Hour
			evs := feed(DefaultConfig(), 90*time.Minute, 10*time.Second, func(at time.Duration) []Sample {
				out := modules(at, 8, func(int) float64 { return 25 })
				I := rng.NormFloat64() * 0.05
				if at > onset {
					I += 0.8
				}
				for m := 1; m <= 8; m++ {
					v := 54.0
					if m == 5 && at > onset {
						v *= 0.995
					}
					out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.module.%d.voltage", m), math.Round((v+rng.NormFloat64()*0.02)*100) / 100})
					if at%(2*time.Minute) != 0 {
						continue
					}
					for k := 1; k <= 4; k++ {
						if !c.lost(at, m, k) {
							out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.module.%d.cell.%d.voltage", m, k), math.Round((v/16+rng.NormFloat64()*0.002)*1000) / 1000})
						}
					}
				}
				return append(out, Sample{t0.Add(at), "bms-1", "battery.current", math.Round(I*10) / 10})
			})
			got, subj, _ := levelOn(evs)
			if got != c.want {
				t.Fatalf("highest thermal_runaway level %q on %s, want %q", got, subj, c.want)
			}
		})
	}
}

// between is a from t <= from, b from t >= to, and the straight line
// between them.
func between(t, from, to time.Duration, a, b float64) float64 {
	switch {
	case t <= from:
		return a
	case t >= to:
		return b
	}
	return a + (b-a)*float64(t-from)/float64(to-from)
}

// TestLongEqualisingCharge: a charger that raises a VRLA string's voltage
// for eight hours (longer than the five hours of the float-current
// trend) drives the current up itself, at once and then creeping up as
// the string warms a little at the higher voltage. That is no internal
// short and no thermal runaway: no warning, and no advisory of a float
// current step (the string's own warming may be one). The same creep at
// the float voltage, with no raise reported, is still the IEEE 1491
// climb.
func TestLongEqualisingCharge(t *testing.T) {
	const h = time.Hour
	// from 6 h to 14 h: the limit of 3 A for twenty minutes, falling to
	// 0.45 A by the hour and creeping to 1.2 A, the modules 3 °C warmer
	current := func(t time.Duration) float64 {
		switch {
		case t < 6*h || t >= 14*h:
			return 0.1
		case t < 6*h+20*time.Minute:
			return 3
		case t < 7*h:
			return between(t, 6*h+20*time.Minute, 7*h, 3, 0.45)
		}
		return between(t, 7*h, 14*h, 0.45, 1.2)
	}
	warm := func(t time.Duration) float64 {
		return between(t, 7*h, 14*h, 0, 3) - between(t, 14*h, 16*h, 0, 3)
	}
	for _, c := range []struct {
		name     string
		raise    bool
		wantWarn bool
	}{
		{"the charger raises the string 3 % for eight hours", true, false},
		{"the same current at the float voltage", false, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			evs := feed(Config{}, 18*h, 10*time.Second, func(tt time.Duration) []Sample {
				out := modules(tt, 8, func(m int) float64 {
					return math.Round((26+warm(tt)+0.05*float64(m%3))*10) / 10
				})
				V := 8 * 13.62
				if c.raise && tt >= 6*h && tt < 14*h {
					V *= 1.03
				}
				return append(out,
					Sample{t0.Add(tt), "bms-1", "battery.voltage", math.Round(V*10) / 10},
					Sample{t0.Add(tt), "bms-1", "ambient.temperature", 25},
					Sample{t0.Add(tt), "bms-1", "battery.current", math.Round(current(tt)*100) / 100})
			})
			if c.wantWarn {
				expectRunaway(t, evs, true, "a warning on the float current climbing", func(e *Event) bool {
					return e.Level != LevelAdvisory
				})
				return
			}
			expectRunaway(t, evs, false, "", func(e *Event) bool {
				return e.Level != LevelAdvisory || e.Evidence["trigger"] == "float current stepped up at rest"
			})
		})
	}
}
