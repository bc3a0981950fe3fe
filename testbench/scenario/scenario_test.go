package scenario

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/trace"
	"github.com/emberwatch/emberwatch/drivers"
)

// runAll runs a scenario and returns its rows and truth.
func runAll(t *testing.T, family string, seed uint64, opt Options) ([]trace.Row, Truth) {
	t.Helper()
	s, err := New(family, seed, opt)
	if err != nil {
		t.Fatal(err)
	}
	var rows []trace.Row
	tr, err := s.Run(context.Background(), func(r trace.Row) error { rows = append(rows, r); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return rows, tr
}

// Every family's trace is in time order, in contract point names, and
// agrees with its ground truth.
func TestGroundTruthConsistent(t *testing.T) {
	voc := drivers.NewVocabulary()
	fams := Families()
	if testing.Short() {
		fams = []string{"hard_short", "vrla_float", "hvac_failure", "sensor_faults"}
	}
	for _, f := range fams {
		t.Run(f, func(t *testing.T) {
			rows, tr := runAll(t, f, 2, Options{Duration: 8 * time.Hour})
			if tr.Rows != len(rows) || len(rows) == 0 {
				t.Fatalf("truth says %d rows, got %d", tr.Rows, len(rows))
			}
			last := rows[0].Time
			temps := map[string]bool{}
			for i, r := range rows {
				if r.Time.Before(last) {
					t.Fatalf("row %d at %v before %v", i, r.Time, last)
				}
				last = r.Time
				if _, ok := voc.Lookup(r.Point); !ok {
					t.Fatalf("row %d: %q is not a contract point", i, r.Point)
				}
				if strings.HasSuffix(r.Point, "module.1.temperature") || strings.Contains(r.Point, ".module.") && strings.HasSuffix(r.Point, ".temperature") {
					temps[r.Point] = true
				}
			}
			if r0 := rows[0].Time; r0.Before(tr.Start) || rows[len(rows)-1].Time.After(tr.End) {
				t.Errorf("rows span %v..%v outside truth %v..%v", r0, rows[len(rows)-1].Time, tr.Start, tr.End)
			}
			if tr.Rack.Modules*tr.Rack.Strings > len(temps) {
				t.Errorf("%d module temperature points for %d modules", len(temps), tr.Rack.Modules*tr.Rack.Strings)
			}
			switch tr.Class {
			case Runaway:
				if tr.FaultTime == nil {
					t.Fatal("runaway without a fault time")
				}
				if tr.FirstVentTime == nil && tr.RunawayTime == nil {
					t.Fatalf("runaway family neither vented nor ran away (peak %.0f °C)", tr.PeakCellTemp)
				}
				for name, x := range map[string]*time.Time{"onset": tr.OnsetTime, "vent": tr.FirstVentTime, "runaway": tr.RunawayTime} {
					if x != nil && x.Before(*tr.FaultTime) {
						t.Errorf("%s %v before the fault %v", name, x, tr.FaultTime)
					}
				}
				if tr.FirstVentTime != nil && tr.RunawayTime != nil && tr.RunawayTime.Before(*tr.FirstVentTime) {
					t.Errorf("runaway %v before the first venting %v", tr.RunawayTime, tr.FirstVentTime)
				}
				if !temps[tr.Subject+".temperature"] {
					t.Errorf("subject %q has no temperature in the trace", tr.Subject)
				}
			case Nuisance:
				if tr.FirstVentTime != nil || tr.RunawayTime != nil || tr.FaultTime != nil {
					t.Errorf("nuisance with vent %v runaway %v fault %v", tr.FirstVentTime, tr.RunawayTime, tr.FaultTime)
				}
				if tr.PeakCellTemp > 60 {
					t.Errorf("nuisance cell reached %.1f °C", tr.PeakCellTemp)
				}
				if len(tr.ForbidKinds) == 0 || tr.ForbidKinds[0] != "thermal_runaway" {
					t.Errorf("forbid kinds %v", tr.ForbidKinds)
				}
			}
		})
	}
}

// Same family and seed: byte-identical trace; another seed: another rack.
func TestDeterministic(t *testing.T) {
	sum := func(seed uint64) [32]byte {
		s, err := New("hvac_failure", seed, Options{Duration: 2 * time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := s.WriteTrace(context.Background(), trace.NewWriter(&b)); err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b.Bytes())
	}
	if a, b := sum(4), sum(4); a != b {
		t.Error("same seed gave different traces")
	}
	if a, b := sum(4), sum(5); a == b {
		t.Error("different seeds gave the same trace")
	}
}

// The written trace reads back with the agent's reader.
func TestTraceReadsBack(t *testing.T) {
	s, err := New("sensor_faults", 3, Options{Duration: 3 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	tr, err := s.WriteTrace(context.Background(), trace.NewWriter(&b))
	if err != nil {
		t.Fatal(err)
	}
	rd := trace.NewReader(&b)
	n, nan := 0, 0
	for {
		r, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
		if math.IsNaN(r.Value) {
			nan++
		}
	}
	if n != tr.Rows {
		t.Errorf("read %d rows, truth says %d", n, tr.Rows)
	}
	t.Logf("%d rows, %d nan", n, nan)
}

func TestUnknownFamily(t *testing.T) {
	if _, err := New("meteor_strike", 1, Options{}); err == nil {
		t.Error("unknown family accepted")
	}
}

// The families vary rack shapes and sampling.
func TestVariety(t *testing.T) {
	shapes := map[[3]int]bool{}
	samples := map[float64]bool{}
	chems := map[string]bool{}
	for seed := uint64(1); seed <= 12; seed++ {
		s, err := New("normal_float", seed, Options{})
		if err != nil {
			t.Fatal(err)
		}
		ri := s.truth.Rack
		shapes[[3]int{ri.Strings, ri.Modules, ri.Cells}] = true
		samples[ri.SampleS] = true
		chems[ri.Chemistry] = true
	}
	if len(shapes) < 8 || len(samples) < 2 || len(chems) < 2 {
		t.Errorf("%d shapes, %d sampling periods, %d chemistries over 12 seeds", len(shapes), len(samples), len(chems))
	}
}

func TestConvertQ30(t *testing.T) {
	in := "\xef\xbb\xbf0,0.005051,4.1481,0.021008,23.118655,0.00011,22.789268\n" +
		"1.001783,-11.942,3.7978,-45.351,23.145861,0.000107,22.771043\n" +
		"2.003286,-11.955,3.7795,-45.182,23.15975,0.000104,22.806709\n"
	var b bytes.Buffer
	tr, err := ConvertQ30(strings.NewReader(in), trace.NewWriter(&b), Q30Options{Name: "fixture"})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Rows != 15 || tr.Duration < 2 || tr.PeakSensorTemp < 23.15 {
		t.Errorf("truth %+v", tr)
	}
	want := "2026-03-01T00:00:01.002Z,cell-1,battery.current,-11.942\n"
	if !strings.Contains(b.String(), want) {
		t.Errorf("trace lacks %q:\n%s", want, b.String())
	}
	if _, err := ConvertQ30(strings.NewReader("1,2,3\n"), trace.NewWriter(io.Discard), Q30Options{}); err == nil {
		t.Error("short row accepted")
	}
}

// Some racks report their probes one by one as cell temperatures, named
// after the cell each sits by, and then no module temperature.
func TestCellProbes(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		s, err := New("soft_short", seed, Options{})
		if err != nil {
			t.Fatal(err)
		}
		ri := s.truth.Rack
		if ri.CellProbes == 0 {
			continue
		}
		seen := map[string]bool{}
		ctx, cancel := context.WithCancel(context.Background())
		_, err = s.Run(ctx, func(r trace.Row) error {
			seen[r.Point] = true
			if r.Time.Sub(s.truth.Start) > 10*time.Minute {
				cancel()
			}
			return nil
		})
		cancel()
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		pre := "battery.module.1."
		if ri.Strings > 1 {
			pre = "battery.string.1.module.1."
		}
		var probes []string
		for p := range seen {
			if strings.HasPrefix(p, pre+"cell.") && strings.HasSuffix(p, ".temperature") {
				probes = append(probes, p)
			}
		}
		if len(probes) != ri.CellProbes || seen[pre+"temperature"] {
			t.Errorf("seed %d: %d probes in module 1, want %d (%v), module temperature reported %v",
				seed, len(probes), ri.CellProbes, probes, seen[pre+"temperature"])
		}
		return
	}
	t.Fatal("no rack with cell probes in 40 seeds")
}

// Options.Modules sets the rack size whatever the draw, down to a string
// of one module, in every family.
func TestModulesOption(t *testing.T) {
	fams := append(RunawayFamilies(), NuisanceFamilies()...)
	for _, mods := range []int{1, 2, 3} {
		for _, fam := range fams {
			for seed := uint64(1); seed <= 6; seed++ {
				s, err := New(fam, seed, Options{Modules: mods})
				if err != nil {
					t.Fatalf("%s seed %d, %d modules: %v", fam, seed, mods, err)
				}
				if got := s.truth.Rack.Modules; got != mods || s.rack.Cfg.Modules != mods {
					t.Errorf("%s seed %d: %d modules (rack %d), want %d", fam, seed, got, s.rack.Cfg.Modules, mods)
				}
			}
		}
	}
}

// Options.Strings sets the number of strings likewise, and every string
// reports its own current.
func TestStringsOption(t *testing.T) {
	for _, fam := range append(RunawayFamilies(), NuisanceFamilies()...) {
		s, err := New(fam, 3, Options{Strings: 3})
		if err != nil {
			t.Fatalf("%s, 3 strings: %v", fam, err)
		}
		if got := s.truth.Rack.Strings; got != 3 || len(s.inst.strs) != 3 {
			t.Errorf("%s: %d strings (%d reported), want 3", fam, got, len(s.inst.strs))
		}
		for i, st := range s.inst.strs {
			if want := fmt.Sprintf("battery.string.%d.current", i+1); st.pCur != want {
				t.Errorf("%s: string %d current %q, want %q", fam, i+1, st.pCur, want)
			}
		}
	}
}

// Options.Sensors overrides the sensor qualities, shows them in the
// ground truth, and keeps each instrument's period in seconds.
func TestSensorsOption(t *testing.T) {
	tests := []struct {
		name  string
		o     Sensors
		check func(t *testing.T, s *Scenario, base RackInfo)
	}{
		{"slower sampling", Sensors{SampleS: 10}, func(t *testing.T, s *Scenario, b RackInfo) {
			if r := s.truth.Rack; r.SampleS != 10 || r.VoltageS < 10 || math.Abs(r.VoltageS-b.VoltageS) > 10 {
				t.Errorf("sample %v s, voltages every %v s; want 10 s and about %v s", r.SampleS, r.VoltageS, b.VoltageS)
			}
		}},
		{"voltage period", Sensors{VoltageS: 300}, func(t *testing.T, s *Scenario, b RackInfo) {
			if r := s.truth.Rack; math.Abs(r.VoltageS-300) > r.SampleS/2 || r.SampleS != b.SampleS {
				t.Errorf("voltages every %v s at %v s sampling, want 300 s at %v s", r.VoltageS, r.SampleS, b.SampleS)
			}
		}},
		{"thermistors", Sensors{NoiseScale: 2, ResolutionC: 1, AirMix: 0.5, TauScale: 2, Dropout: -1}, func(t *testing.T, s *Scenario, b RackInfo) {
			r := s.truth.Rack
			if r.NoiseC != 2*b.NoiseC || r.ResolutionC != 1 || r.ThermistorAirMix != 0.5 || r.ThermistorTauS != 2*b.ThermistorTauS {
				t.Errorf("rack %+v from %+v", r, b)
			}
			for _, m := range s.inst.modules {
				for k, ch := range m.tch {
					if ch.Resolution != 1 || ch.Dropout != 0 || m.th[k].AirWeight != 0.5 {
						t.Fatalf("%s channel %d: %+v, air %v", m.prefix, k, ch, m.th[k].AirWeight)
					}
				}
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base, err := New("soft_short", 4, Options{})
			if err != nil {
				t.Fatal(err)
			}
			s, err := New("soft_short", 4, Options{Sensors: tc.o})
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, s, base.truth.Rack)
			// the story is the same one
			if s.truth.Params["fault_s"] != base.truth.Params["fault_s"] || s.subj != base.subj {
				t.Errorf("overrides changed the draw: %v vs %v", s.truth.Params, base.truth.Params)
			}
		})
	}
	for _, bad := range []Sensors{{SampleS: -1}, {Dropout: 1}, {AirMix: 2}} {
		if _, err := New("soft_short", 4, Options{Sensors: bad}); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
