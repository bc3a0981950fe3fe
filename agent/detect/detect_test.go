package detect

import (
	"math"
	"strconv"
	"testing"
	"time"
)

type simCase struct {
	name   string
	dur    time.Duration
	setup  func(r *simRack)
	change func(t time.Duration, r *simRack)
	// must lists kinds that must be raised; never lists kind/level pairs
	// that must not be.
	must       []string
	noRunaway  bool // no thermal_runaway at warning or above
	runawayBy  time.Duration
	ventModule int // index of the module whose model temperature marks venting
}

func runSim(t *testing.T, c simCase, seed int64) (evs []Event, vent time.Time, sixty time.Time) {
	t.Helper()
	r := newSimRack(12, seed)
	if c.setup != nil {
		c.setup(r)
	}
	d := New(DefaultConfig())
	r.run(c.dur, func(tt time.Duration, r *simRack) {
		if c.change != nil {
			c.change(tt, r)
		}
		if c.ventModule > 0 && vent.IsZero() && r.temp[c.ventModule-1] >= 100 {
			vent = r.start.Add(tt)
		}
	}, func(s Sample) {
		if c.ventModule > 0 && sixty.IsZero() && s.Point == "battery.module."+itoa(c.ventModule)+".temperature" && s.Value >= 60 {
			sixty = s.Time
		}
		for _, e := range d.Observe(s) {
			e.Evidence = nil
			evs = append(evs, e)
		}
	})
	return evs, vent, sixty
}

func itoa(i int) string { return strconv.Itoa(i) }

func simCases() []simCase {
	return []simCase{
		{name: "float with day/night drift", dur: 30 * time.Hour, noRunaway: true,
			change: func(t time.Duration, r *simRack) {
				r.room = 23 + 2*math.Sin(2*math.Pi*t.Hours()/24)
				r.current = 0.3
			}},
		{name: "utility outage then recharge", dur: 6 * time.Hour, noRunaway: true,
			change: func(t time.Duration, r *simRack) {
				switch {
				case t > time.Hour && t < time.Hour+50*time.Minute:
					r.current = -160
				case t >= time.Hour+50*time.Minute && t < 4*time.Hour:
					r.current = 60
				default:
					r.current = 0.3
				}
			}},
		{name: "hvac failure", dur: 4 * time.Hour, noRunaway: true, must: []string{KindEnvironment},
			change: func(t time.Duration, r *simRack) {
				if t > time.Hour && t < time.Hour+30*time.Minute {
					r.room += 13.0 / 1800
				}
				if t > 2*time.Hour+30*time.Minute && r.room > 24 {
					r.room -= 13.0 / 1800
				}
			}},
		{name: "hot aisle end modules", dur: 8 * time.Hour, noRunaway: true,
			setup: func(r *simRack) { r.offset[0], r.offset[11] = 5, 4 }},
		{name: "replaced warm module cools", dur: 6 * time.Hour, noRunaway: true,
			setup: func(r *simRack) { r.temp[5], r.sensor[5] = 36, 36 }},
		{name: "sensor spikes", dur: 2 * time.Hour, noRunaway: true, must: []string{KindSensorFault},
			setup: func(r *simRack) { r.every = 5 * time.Second },
			change: func(t time.Duration, r *simRack) {
				switch t {
				case 30 * time.Minute:
					r.offset[3] = 85 - 24
				case 30*time.Minute + 5*time.Second:
					r.offset[3] = 0
				case 60 * time.Minute:
					r.offset[7] = -64
				case 60*time.Minute + 5*time.Second:
					r.offset[7] = 0
				}
			}},
		{name: "soft short runaway", dur: 10 * time.Hour, runawayBy: 10 * time.Hour, ventModule: 7,
			change: func(t time.Duration, r *simRack) {
				if t > 2*time.Hour && r.temp[6] < 300 {
					r.heat[6] = 3 * math.Exp((t-2*time.Hour).Minutes()/45)
					if r.heat[6] > 3000 {
						r.heat[6] = 3000
					}
				}
			}},
		{name: "hard short", dur: 3 * time.Hour, runawayBy: 3 * time.Hour, ventModule: 4,
			change: func(t time.Duration, r *simRack) {
				if t > time.Hour {
					r.heat[3] = 400
					r.sagV[3] = -1.5
				}
			}},
	}
}

func TestScenarios(t *testing.T) {
	for _, c := range simCases() {
		t.Run(c.name, func(t *testing.T) {
			evs, vent, sixty := runSim(t, c, 1)
			kinds := map[string]bool{}
			var firstWarn time.Time
			for _, e := range evs {
				kinds[e.Kind] = true
				t.Logf("%s %s %s %s %s %s", e.Time.Format("15:04:05"), e.Subject, e.Kind, e.Level, e.State, e.Message)
				if e.Kind == KindThermalRunaway && e.Level != LevelAdvisory && e.State != StateCleared && firstWarn.IsZero() {
					firstWarn = e.Time
				}
			}
			for _, k := range c.must {
				if !kinds[k] {
					t.Errorf("no %s event", k)
				}
			}
			if c.noRunaway && !firstWarn.IsZero() {
				t.Errorf("false thermal_runaway warning at %s", firstWarn.Format(time.RFC3339))
			}
			if c.ventModule > 0 {
				t.Logf("warning %s, sensor 60 °C %s, vent %s", firstWarn.Format("15:04:05"), sixty.Format("15:04:05"), vent.Format("15:04:05"))
				if firstWarn.IsZero() || (!vent.IsZero() && !firstWarn.Before(vent)) {
					t.Errorf("thermal_runaway warning %v not before venting %v", firstWarn, vent)
				}
			}
		})
	}
}
