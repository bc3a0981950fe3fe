package variant

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/trace"
)

func TestApply(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	tests := []struct {
		name     string
		variants []string
		seed     uint64
		in       trace.Row
		keep     bool
		want     trace.Row // when kept
	}{
		{"none", nil, 1,
			trace.Row{Time: at(5), Device: "bms-1", Point: "battery.module.1.voltage", Value: 52},
			true, trace.Row{Time: at(5), Device: "bms-1", Point: "battery.module.1.voltage", Value: 52}},
		{"drop", []string{"drop:.current"}, 1,
			trace.Row{Time: at(5), Device: "bms-1", Point: "battery.current", Value: 1}, false, trace.Row{}},
		{"split strings", []string{"split-strings"}, 1,
			trace.Row{Time: at(5), Device: "bms-1", Point: "battery.string.2.module.3.temperature", Value: 25},
			true, trace.Row{Time: at(5), Device: "bms-2", Point: "battery.module.3.temperature", Value: 25}},
		{"cell temps", []string{"cell-temps"}, 1,
			trace.Row{Time: at(5), Device: "bms-1", Point: "battery.module.3.temperature", Value: 25},
			true, trace.Row{Time: at(5), Device: "bms-1", Point: "battery.module.3.cell.1.temperature", Value: 25}},
		{"cell temps leave the pack alone", []string{"cell-temps"}, 1,
			trace.Row{Time: at(5), Device: "bms-1", Point: "battery.temperature", Value: 25},
			true, trace.Row{Time: at(5), Device: "bms-1", Point: "battery.temperature", Value: 25}},
		{"mean cell volts", []string{"cell-avg-volts"}, 1,
			trace.Row{Time: at(5), Device: "bms-1", Point: "battery.module.3.voltage", Value: 52},
			true, trace.Row{Time: at(5), Device: "bms-1", Point: "battery.module.3.cell.avg.voltage", Value: 3.25}},
		{"no module volts", []string{"no-module-volts"}, 1,
			trace.Row{Time: at(5), Device: "bms-1", Point: "battery.string.1.module.3.voltage", Value: 52}, false, trace.Row{}},
		{"no module volts keeps cells", []string{"no-module-volts"}, 1,
			trace.Row{Time: at(5), Device: "bms-1", Point: "battery.module.3.cell.2.voltage", Value: 3.3},
			true, trace.Row{Time: at(5), Device: "bms-1", Point: "battery.module.3.cell.2.voltage", Value: 3.3}},
		{"room indexed", []string{"room-indexed"}, 1,
			trace.Row{Time: at(5), Device: "env-1", Point: "ambient.temperature", Value: 22},
			true, trace.Row{Time: at(5), Device: "env-1", Point: "ambient.1.temperature", Value: 22}},
		// seed 0: gas.h2 misreads in the first two hours, from minute 37
		{"gas spike", []string{"gas-spike"}, 0,
			trace.Row{Time: at(37*60 + 10), Device: "gas-1", Point: "gas.h2", Value: 1},
			true, trace.Row{Time: at(37*60 + 10), Device: "gas-1", Point: "gas.h2", Value: 1000}},
		{"gas spike over", []string{"gas-spike"}, 0,
			trace.Row{Time: at(37*60 + 30), Device: "gas-1", Point: "gas.h2", Value: 1},
			true, trace.Row{Time: at(37*60 + 30), Device: "gas-1", Point: "gas.h2", Value: 1}},
		{"gas spike other point", []string{"gas-spike"}, 0,
			trace.Row{Time: at(37*60 + 10), Device: "gas-1", Point: "gas.co", Value: 1},
			true, trace.Row{Time: at(37*60 + 10), Device: "gas-1", Point: "gas.co", Value: 1}},
		{"gas sentinel", []string{"gas-sentinel"}, 0,
			trace.Row{Time: at(37 * 60), Device: "gas-1", Point: "gas.h2", Value: 1},
			true, trace.Row{Time: at(37 * 60), Device: "gas-1", Point: "gas.h2", Value: 65535}},
		{"gas step", []string{"gas-step"}, 1,
			trace.Row{Time: at(7200), Device: "gas-1", Point: "gas.co", Value: 1},
			true, trace.Row{Time: at(7200), Device: "gas-1", Point: "gas.co", Value: 61}},
		{"gas drift", []string{"gas-drift"}, 2,
			trace.Row{Time: at(43200), Device: "gas-1", Point: "gas.voc", Value: 1},
			true, trace.Row{Time: at(43200), Device: "gas-1", Point: "gas.voc", Value: 21}},
		{"room spike", []string{"room-spike"}, 1,
			trace.Row{Time: at(5400 + 10), Device: "env-1", Point: "ambient.temperature", Value: 22},
			true, trace.Row{Time: at(5400 + 10), Device: "env-1", Point: "ambient.temperature", Value: 34}},
		{"room drift", []string{"room-drift"}, 1,
			trace.Row{Time: at(86400), Device: "env-1", Point: "ambient.temperature", Value: 22},
			true, trace.Row{Time: at(86400), Device: "env-1", Point: "ambient.temperature", Value: 25}},
		// seed 0: the current and voltage misreadings start each two hours
		{"current negative", []string{"current-negative"}, 0,
			trace.Row{Time: at(7200), Device: "bms-1", Point: "battery.string.1.current", Value: 0.5},
			true, trace.Row{Time: at(7200), Device: "bms-1", Point: "battery.string.1.current", Value: -59.5}},
		{"current spike", []string{"current-spike"}, 0,
			trace.Row{Time: at(7201), Device: "bms-1", Point: "battery.current", Value: 0.5},
			true, trace.Row{Time: at(7201), Device: "bms-1", Point: "battery.current", Value: 40.5}},
		{"volt low, module 2 in the second two hours", []string{"volt-low"}, 0,
			trace.Row{Time: at(7230), Device: "bms-1", Point: "battery.module.2.voltage", Value: 50},
			true, trace.Row{Time: at(7230), Device: "bms-1", Point: "battery.module.2.voltage", Value: 45}},
		{"volt low, not module 12", []string{"volt-low"}, 0,
			trace.Row{Time: at(7230), Device: "bms-1", Point: "battery.module.12.voltage", Value: 50},
			true, trace.Row{Time: at(7230), Device: "bms-1", Point: "battery.module.12.voltage", Value: 50}},
		{"volt zero", []string{"volt-zero"}, 0,
			trace.Row{Time: at(30), Device: "bms-1", Point: "battery.string.2.module.1.voltage", Value: 50},
			true, trace.Row{Time: at(30), Device: "bms-1", Point: "battery.string.2.module.1.voltage", Value: 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := New(tc.variants, t0, tc.seed, 16)
			if err != nil {
				t.Fatal(err)
			}
			row := tc.in
			keep := f.Apply(&row)
			if keep != tc.keep {
				t.Fatalf("kept %v, want %v", keep, tc.keep)
			}
			if keep && (row.Time != tc.want.Time || row.Device != tc.want.Device || row.Point != tc.want.Point || math.Abs(row.Value-tc.want.Value) > 1e-9) {
				t.Errorf("got %+v, want %+v", row, tc.want)
			}
		})
	}
}

// NaN misreadings and a stuck probe need more than one row.
func TestApplySequences(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	f, err := New([]string{"room-stuck", "current-nan", "volt-nan", "room-nan"}, t0, 0, 16)
	if err != nil {
		t.Fatal(err)
	}
	var got []float64
	for _, s := range []float64{3000, 3601, 3700, 5000, 7300} {
		r := trace.Row{Time: t0.Add(time.Duration(s) * time.Second), Device: "env-1", Point: "ambient.temperature", Value: s}
		f.Apply(&r)
		got = append(got, r.Value)
	}
	// stuck at the first reading after the first hour; nan from 7200 s
	want := []float64{3000, 3601, 3601, 3601, math.NaN()}
	for i := range want {
		if got[i] != want[i] && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			t.Errorf("room reading %d: %v, want %v", i, got[i], want[i])
		}
	}
	c := trace.Row{Time: t0.Add(7500 * time.Second), Device: "bms-1", Point: "battery.current", Value: 1}
	v := trace.Row{Time: t0.Add(7500 * time.Second), Device: "bms-1", Point: "battery.module.2.voltage", Value: 50}
	f.Apply(&c)
	f.Apply(&v)
	if !math.IsNaN(c.Value) || !math.IsNaN(v.Value) {
		t.Errorf("current %v, voltage %v within the ten minutes: want nan", c.Value, v.Value)
	}
}

func TestNewErrors(t *testing.T) {
	for _, names := range [][]string{{"no-such"}, {"drop:"}} {
		if _, err := New(names, time.Time{}, 0, 0); err == nil {
			t.Errorf("%q: no error", names)
		} else if !strings.Contains(err.Error(), names[0]) {
			t.Errorf("%q: error %q does not name it", names, err)
		}
	}
	if len(Names()) != len(variants) {
		t.Errorf("Names lists %d of %d", len(Names()), len(variants))
	}
}

// A lossy bus loses about one battery reading in twenty, the same ones
// every time, and never a room or gas reading.
func TestLossyBus(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	count := func() (lost, gasLost int) {
		f, err := New([]string{"lossy-bus"}, t0, 7, 16)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 20000 {
			at := t0.Add(time.Duration(i) * 2 * time.Second)
			r := trace.Row{Time: at, Device: "bms-1", Point: "battery.module.3.temperature", Value: 25}
			if !f.Apply(&r) {
				lost++
			}
			g := trace.Row{Time: at, Device: "gas-1", Point: "gas.h2", Value: 1}
			if !f.Apply(&g) {
				gasLost++
			}
		}
		return lost, gasLost
	}
	lost, gasLost := count()
	if lost < 800 || lost > 1200 || gasLost != 0 {
		t.Errorf("lost %d of 20000 battery readings (want about 1000) and %d gas readings", lost, gasLost)
	}
	if again, _ := count(); again != lost {
		t.Errorf("lost %d, then %d", lost, again)
	}
}

// Jitter stamps each row up to 6 s late and hands the rows on in time
// order, every one of them, the same way every time; other variants are
// applied before it.
func TestJitter(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	run := func() []trace.Row {
		f, err := New([]string{"jitter", "drop:.current"}, t0, 3, 16)
		if err != nil {
			t.Fatal(err)
		}
		var out []trace.Row
		emit := func(r trace.Row) error { out = append(out, r); return nil }
		for i := range 200 {
			at := t0.Add(time.Duration(i) * 2 * time.Second)
			for m := 1; m <= 8; m++ {
				r := trace.Row{Time: at, Device: "bms-1", Point: "battery.module." + strconv.Itoa(m) + ".voltage", Value: float64(i)}
				if err := f.Pass(r, emit); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.Pass(trace.Row{Time: at, Device: "bms-1", Point: "battery.current", Value: 1}, emit); err != nil {
				t.Fatal(err)
			}
		}
		if err := f.Flush(emit); err != nil {
			t.Fatal(err)
		}
		return out
	}
	out := run()
	if len(out) != 200*8 {
		t.Fatalf("%d rows out, want %d", len(out), 200*8)
	}
	late := 0
	for i, r := range out {
		if i > 0 && r.Time.Before(out[i-1].Time) {
			t.Fatalf("row %d at %v before row %d at %v", i, r.Time, i-1, out[i-1].Time)
		}
		if r.Point == "battery.current" {
			t.Fatalf("dropped row passed: %v", r)
		}
		poll := t0.Add(time.Duration(r.Value) * 2 * time.Second)
		d := r.Time.Sub(poll)
		if d < 0 || d >= jitterMax {
			t.Fatalf("row %v stamped %v after its poll", r, d)
		}
		if d > 2*time.Second {
			late++
		}
	}
	if late < len(out)/2 {
		t.Errorf("%d of %d rows more than 2 s late, want about two thirds", late, len(out))
	}
	if again := run(); !slices.Equal(again, out) {
		t.Error("a second run stamped other times")
	}
}
