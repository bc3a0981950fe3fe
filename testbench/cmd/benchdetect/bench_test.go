package main

import (
	"bytes"
	"context"
	"github.com/emberwatch/emberwatch/testbench/scenario"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/detect"
)

func TestBaselines(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	type pt struct {
		s float64 // seconds
		v float64
	}
	tests := []struct {
		name         string
		series       []pt
		over, rise   int // alarms raised
		firstRiseAtS float64
	}{
		{"steady", []pt{{0, 25}, {60, 25}, {120, 25.5}, {600, 25}}, 0, 0, -1},
		{"one spike", []pt{{0, 25}, {300, 25}, {310, 85}, {320, 25}, {330, 25}}, 1, 0, -1},
		{"open sensor", []pt{{0, 25}, {300, math.NaN()}, {310, 25}}, 0, 0, -1},
		{"fast rise", func() []pt {
			var p []pt
			for s := 0.0; s <= 1200; s += 10 {
				p = append(p, pt{s, 25 + max(0, s-300)/60*3}) // 3 °C/min from 300 s
			}
			return p
		}(), 1, 1, 410},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := newOverTemp(60, 58)
			r := newRateOfRise(1, 5*time.Minute)
			var vo, vr verdict
			for _, p := range tc.series {
				s := detect.Sample{Time: t0.Add(time.Duration(p.s * float64(time.Second))), Device: "bms-1", Point: "battery.module.2.temperature", Value: p.v}
				o.observe(s, &vo)
				r.observe(s, &vr)
				// other points are not battery temperatures
				r.observe(detect.Sample{Time: s.Time, Device: "env-1", Point: "ambient.temperature", Value: p.v}, &vr)
			}
			if vo.raised != tc.over || vr.raised != tc.rise {
				t.Errorf("60C raised %d, rate of rise raised %d; want %d, %d", vo.raised, vr.raised, tc.over, tc.rise)
			}
			if tc.firstRiseAtS >= 0 {
				if got := vr.first.Sub(t0).Seconds(); got != tc.firstRiseAtS {
					t.Errorf("rate of rise first at %vs, want %vs", got, tc.firstRiseAtS)
				}
			}
		})
	}
}

// A small run prints the table with every family.
func TestRunSmall(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates every family")
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"-seeds", "1", "-years", "0.003", "-q30=false"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	s := out.String()
	for _, want := range []string{"hard_short", "vrla_float", "normal_float", "all nuisances", "lead over the 60 C alarm"} {
		if !strings.Contains(s, want) {
			t.Errorf("table lacks %q:\n%s", want, s)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{"-seeds", "0"},
		{"-variant", "gas-spike,no-such"},
		{"-resolution", "-1", "-years", "0"},
		{"-air", "2", "-years", "0"},
		{"-modules", "-3"},
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), args, &out, &errb)
		if _, ok := err.(usageError); !ok {
			t.Errorf("%q: %v, want a usage error", args, err)
		}
	}
}

// A varied run says how it is varied, and -variant list names them all.
func TestVaried(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"-variant", "list"}, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "gas-spike ") || !strings.Contains(out.String(), "drop:SUFFIX") {
		t.Errorf("list:\n%s", out.String())
	}
	if testing.Short() {
		t.Skip("simulates every runaway family")
	}
	out.Reset()
	args := []string{"-seeds", "1", "-years", "0", "-q30=false", "-modules", "4", "-sample", "5", "-noise", "2", "-variant", "room-nan,drop:.charge"}
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	want := "Varied from the fixed set: modules per string 4, sample s 5, noise × 2, variants room-nan,drop:.charge"
	if !strings.Contains(out.String(), want) {
		t.Errorf("table lacks %q:\n%s", want, out.String())
	}
}

func TestPointIndex(t *testing.T) {
	var p pointIndex[int]
	seq := []string{"a", "b", "c", "a", "b", "c", "a", "c", "d", "a", "b"}
	for i, name := range seq {
		*p.get("bms-1", name) += i
	}
	*p.get("bms-2", "a") += 100
	want := map[string]int{"a": 0 + 3 + 6 + 9, "b": 1 + 4 + 10, "c": 2 + 5 + 7, "d": 8}
	for name, w := range want {
		if got := *p.get("bms-1", name); got != w {
			t.Errorf("%s: %d, want %d", name, got, w)
		}
	}
	if got := *p.get("bms-2", "a"); got != 100 {
		t.Errorf("bms-2 a: %d, want 100", got)
	}
}

// Racks smaller than the draw makes: nuisances that once fooled the
// detector there stay quiet.
func TestSmallRacks(t *testing.T) {
	for _, c := range []struct {
		family  string
		seed    uint64
		modules int
	}{
		{"hot_aisle", 907, 2},       // cell probes of two modules: two clusters
		{"module_replaced", 705, 3}, // a warm module fitted among three
	} {
		sc, err := scenario.New(c.family, c.seed, scenario.Options{Modules: c.modules})
		if err != nil {
			t.Fatal(err)
		}
		res, err := job{sc: sc, name: c.family}.run(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n := res.judges[jDetector].raised; n != 0 {
			t.Errorf("%s seed %d with %d modules: %d thermal_runaway warnings", c.family, c.seed, c.modules, n)
		}
	}
}
