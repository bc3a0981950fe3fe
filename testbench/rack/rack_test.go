package rack

import (
	"fmt"
	"math"
	"regexp"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
)

func TestPointsUseTheContractVocabulary(t *testing.T) {
	r := New(Config{Modules: 3, Cells: 4, Seed: 1, Current: -20})
	r.Step(time.Second)
	specs := map[string]drivers.PointSpec{}
	for _, s := range drivers.NewVocabulary().Specs() {
		specs[s.Pattern] = s
	}
	pts := r.Points()
	for name, v := range pts {
		spec, ok := specs[pattern(name)]
		if !ok {
			t.Errorf("point %q is not in the contract vocabulary", name)
		}
		if spec.Kind != drivers.Numeric {
			t.Errorf("point %q is not numeric", name)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("point %q = %v", name, v)
		}
	}
	for _, name := range []string{
		"battery.voltage", "battery.current", "battery.charge", "battery.runtime",
		"battery.module.3.temperature", "battery.module.3.voltage",
		"battery.module.3.cell.4.voltage", "battery.module.1.cell.1.temperature",
		"ambient.temperature", "gas.h2", "gas.co", "gas.voc",
	} {
		if _, ok := pts[name]; !ok {
			t.Errorf("point %q missing", name)
		}
	}
	for name := range r.Texts() {
		if spec, ok := specs[name]; !ok || spec.Kind != drivers.Text {
			t.Errorf("text point %q is not a text point of the vocabulary", name)
		}
	}
	if got, want := len(pts), 12+3*(8+2*4)+1; got != want {
		t.Errorf("%d points, want %d", got, want)
	}
}

var index = regexp.MustCompile(`\.[1-9][0-9]*\.`)

// pattern turns a point name into its vocabulary pattern: the first index
// becomes N and the second M.
func pattern(name string) string {
	n := 0
	return index.ReplaceAllStringFunc(name, func(string) string {
		n++
		if n == 1 {
			return ".N."
		}
		return ".M."
	})
}

func TestDeterministicGivenSeed(t *testing.T) {
	run := func(seed uint64) map[string]float64 {
		r := New(Config{Modules: 4, Cells: 3, Seed: seed, Current: 30})
		_ = r.HeatModule(2, 100)
		for range 50 {
			r.Step(7 * time.Second)
		}
		return r.Points()
	}
	a, b, c := run(7), run(7), run(8)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Error("same seed, different points")
	}
	if fmt.Sprint(a) == fmt.Sprint(c) {
		t.Error("different seeds, same points")
	}
	r := New(Config{Seed: 3})
	r.Step(time.Second)
	first, second := r.Points(), r.Points()
	if fmt.Sprint(first) != fmt.Sprint(second) {
		t.Error("Points changed without a Step")
	}
}

func TestThermalModel(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		hot   int
		watts float64
		step  time.Duration
		check func(t *testing.T, r *Rack)
	}{
		{
			name: "Joule heating settles at I²R over the air conductance",
			cfg:  Config{Modules: 5, Cells: 16, Quiet: true, Current: 100, Ambient: 20},
			step: 30 * time.Hour,
			check: func(t *testing.T, r *Rack) {
				// 100² A² × 16 × 0.5 mΩ = 80 W into 4 W/K: 20 K above the room.
				for n := 1; n <= 5; n++ {
					if got := r.ModuleTemperature(n); math.Abs(got-40) > 0.5 {
						t.Errorf("module %d at %.2f °C, want 40", n, got)
					}
				}
			},
		},
		{
			name:  "a hot module warms faster than its neighbours, which warm faster than the far ones",
			cfg:   Config{Modules: 8, Cells: 16, Quiet: true},
			hot:   4,
			watts: 300,
			step:  10 * time.Minute,
			check: func(t *testing.T, r *Rack) {
				hot, near, far := r.ModuleTemperature(4), r.ModuleTemperature(5), r.ModuleTemperature(8)
				// 300 W × 600 s / 32 kJ/K ≈ 5.6 K less the losses.
				if rise := hot - 24; rise < 4 || rise > 5.7 {
					t.Errorf("hot module rose %.2f K in 10 min, want 4..5.7", rise)
				}
				if !(hot > near && near > far) {
					t.Errorf("temperatures hot %.3f, neighbour %.3f, far %.3f", hot, near, far)
				}
			},
		},
		{
			name:  "a runaway-hot module vents: gas rises",
			cfg:   Config{Modules: 4, Cells: 4, Quiet: true},
			hot:   2,
			watts: 5000,
			step:  20 * time.Minute,
			check: func(t *testing.T, r *Rack) {
				p := r.Points()
				if p["gas.h2"] < 10 || p["gas.voc"] < 10 {
					t.Errorf("h2 %.1f ppm, voc %.1f ppm at %.0f °C", p["gas.h2"], p["gas.voc"], r.ModuleTemperature(2))
				}
			},
		},
		{
			name: "discharging lowers charge and voltage",
			cfg:  Config{Modules: 2, Cells: 16, Quiet: true, Current: -50, Charge: 80},
			step: time.Hour,
			check: func(t *testing.T, r *Rack) {
				p := r.Points()
				if got := p["battery.charge"]; math.Abs(got-30) > 0.01 {
					t.Errorf("charge %.3f %%, want 30", got)
				}
				if v := p["battery.voltage"]; v > 2*16*3.3 || v < 2*16*3.0 {
					t.Errorf("string voltage %.2f V", v)
				}
				if rt := p["battery.runtime"]; math.Abs(rt-2160) > 1 {
					t.Errorf("runtime %.0f s, want 2160", rt)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := New(tc.cfg)
			if tc.hot > 0 {
				if err := r.HeatModule(tc.hot, tc.watts); err != nil {
					t.Fatal(err)
				}
			}
			r.Step(tc.step)
			if r.Elapsed() != tc.step {
				t.Errorf("elapsed %v, want %v", r.Elapsed(), tc.step)
			}
			tc.check(t, r)
		})
	}
}

func TestHeatModuleRange(t *testing.T) {
	r := New(Config{Modules: 3})
	for _, n := range []int{0, 4} {
		if err := r.HeatModule(n, 1); err == nil {
			t.Errorf("HeatModule(%d) accepted", n)
		}
	}
}
