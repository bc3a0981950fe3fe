package main

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/emberwatch/emberwatch/agent/probe"
	"github.com/emberwatch/emberwatch/drivers/modbus/sunspec"
	"github.com/emberwatch/emberwatch/testbench/sunspecsim"
)

// runProbe runs the probe verb in-process and returns its exit code and
// output.
func runProbe(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code = dispatch(context.Background(), e, append([]string{"probe"}, args...))
	return code, out.String(), errb.String()
}

func startSunSpec(t *testing.T, opts *sunspecsim.Opts) *sunspecsim.Sim {
	t.Helper()
	models, err := sunspec.DefaultModels()
	if err != nil {
		t.Fatal(err)
	}
	sim, err := sunspecsim.New(models, opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sim.Listen(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

// TestProbeSunSpec is acceptance point 2: probe reads every mapped point of
// a SunSpec battery served by simonvetter/modbus's server, with non-trivial
// scale factors and several strings, modules and cells, and prints the
// value served.
func TestProbeSunSpec(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts sunspecsim.Opts
	}{
		{"2 strings x 4 modules x 8 cells", sunspecsim.Opts{}},
		{"1 string x 12 modules x 4 cells at 0, unit 9", sunspecsim.Opts{Strings: 1, Modules: 12, Cells: 4, Base: sunspecsim.Base0, Unit: 9}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := startSunSpec(t, &tc.opts)
			code, out, errs := runProbe(t, sim.URL())
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errs)
			}
			values, texts := sim.Values(), sim.Texts()
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			seen := map[string]bool{}
			var prev string
			for _, l := range lines {
				f := strings.Fields(l)
				if len(f) < 2 {
					t.Errorf("line %q: want point value [unit]", l)
					continue
				}
				point, val := f[0], f[1]
				if prev != "" && probe.Compare(prev, point) >= 0 {
					t.Errorf("%s printed after %s", point, prev)
				}
				prev = point
				seen[point] = true
				if tx, ok := texts[point]; ok {
					if got := strings.TrimPrefix(l, point+" "); got != tx && got != strconv.Quote(tx) {
						t.Errorf("%s = %s, want %q", point, got, tx)
					}
					continue
				}
				want, ok := values[point]
				if !ok {
					t.Errorf("%s printed, not served", point)
					continue
				}
				if len(f) != 3 {
					t.Errorf("line %q: want point value unit", l)
				}
				if math.IsNaN(want) {
					if val != "nan" {
						t.Errorf("%s = %s, want nan", point, val)
					}
					continue
				}
				got, err := strconv.ParseFloat(val, 64)
				if err != nil || got != want {
					t.Errorf("%s = %s, want %v", point, val, want)
				}
			}
			for p := range values {
				if !seen[p] {
					t.Errorf("%s served, not printed", p)
				}
			}
			for p := range texts {
				if !seen[p] {
					t.Errorf("%s served, not printed", p)
				}
			}
			t.Logf("%d points printed, %d served", len(lines), len(values)+len(texts))
		})
	}
}

// TestProbeProfile reads the same simulator through a generic Modbus
// profile that maps a few of its registers by address.
func TestProbeProfile(t *testing.T) {
	sim := startSunSpec(t, &sunspecsim.Opts{Strings: 1, Modules: 2, Cells: 4})
	// Model 802 follows the marker (2) and model 1 (68): its V is at
	// offset 34, A at 44, SoC at 11; V_SF -2, A_SF -1, SoC_SF 0.
	base := 40000 + 2 + 68
	dir := t.TempDir()
	prof := fmt.Sprintf(`name: sunspec-802
description: Model 802 totals read by address
registers:
  - {point: battery.voltage, address: %d, type: UINT16, scale: 0.01, unit: V}
  - {point: battery.current, address: %d, type: INT16, scale: 0.1, unit: A}
  - {point: battery.charge, address: %d, type: UINT16, unit: "%%"}
`, base+34, base+44, base+11)
	if err := os.WriteFile(filepath.Join(dir, "sunspec-802.yaml"), []byte(prof), 0o600); err != nil {
		t.Fatal(err)
	}
	u := strings.Replace(sim.URL(), "profile=sunspec", "profile=sunspec-802", 1)
	code, out, errs := runProbe(t, "-profiles", dir, u)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	v := sim.Values()
	want := fmt.Sprintf("battery.charge %v %%\nbattery.current %v A\nbattery.voltage %v V\n",
		v["battery.charge"], v["battery.current"], v["battery.voltage"])
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}
}

func TestProbeExitCodes(t *testing.T) {
	// A port nothing listens on: bind one and close it again.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := l.Addr().String()
	_ = l.Close()
	u, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadUDP := u.LocalAddr().String()
	_ = u.Close()
	sim := startSunSpec(t, &sunspecsim.Opts{Strings: 1, Modules: 1, Cells: 2})
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"help", []string{"-h"}, 0, "usage: emberwatch probe"},
		{"no URL", nil, 2, "want one URL"},
		{"two URLs", []string{"modbus+tcp://a?profile=x", "modbus+tcp://b?profile=x"}, 2, "want one URL"},
		{"bad URL", []string{"modbus+tcp://127.0.0.1:502?unit=300&profile=sunspec"}, 2, "unit"},
		{"snmp bad version", []string{"snmp://public@127.0.0.1:161?version=7"}, 2, "version"},
		{"snmp nothing listening", []string{"-timeout", "3s", "snmp://public@" + deadUDP + "?timeout=200ms&retries=0"}, 1, deadUDP},
		{"i2c without a sensor", []string{"i2c:///dev/i2c-1"}, 2, "names no sensor"},
		{"i2c unknown sensor", []string{"i2c:///dev/i2c-1?addr=0x48&sensor=nosuchchip"}, 2, "unknown sensor"},
		{"i2c bus missing", []string{"i2c:///dev/i2c-emberwatch-test?addr=0x48&sensor=tmp102"}, 1, "i2c-emberwatch-test"},
		{"no such built-in profile", []string{"modbus+tcp://127.0.0.1:502?profile=rack-bms"}, 2, "no rack-bms.yaml in the built-in profiles"},
		{"missing profile", []string{"-profiles", t.TempDir(), "modbus+tcp://127.0.0.1:502?profile=rack-bms"}, 2, "no rack-bms.yaml"},
		{"nothing listening", []string{"modbus+tcp://" + dead + "?profile=sunspec&timeout=200ms"}, 1, dead},
		{"no unit 5 behind the gateway", []string{strings.Replace(sim.URL(), "unit=1", "unit=5", 1) + "&timeout=2s"}, 1, "gateway target device failed to respond"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runProbe(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tc.code, errs)
			}
			if !strings.Contains(out+errs, tc.want) {
				t.Errorf("output %q does not say %q", out+errs, tc.want)
			}
		})
	}
}

func TestProbeListsModels(t *testing.T) {
	sim := startSunSpec(t, &sunspecsim.Opts{Strings: 1, Modules: 1, Cells: 2, VendorLen: 4})
	code, _, errs := runProbe(t, "-models", sim.URL())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"# SunS marker at 40000\n", "# model 1 at 40002, 66 registers\n",
		fmt.Sprintf("# model %d at 40134, 4 registers, no definition: not read\n", sunspecsim.VendorModel), "# model 805 at "} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr %q does not say %q", errs, want)
		}
	}
}

func TestProbeLoadsBuiltinProfiles(t *testing.T) {
	for _, name := range []string{"generic-rack-bms", "apc-smartups", "offgas-detector"} {
		p, err := loadProbeProfile("", name)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(p.Points) == 0 {
			t.Errorf("%s: no points", name)
		}
	}
}
