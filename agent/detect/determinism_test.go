package detect

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/determinism.golden")

// replayAll runs every simulated scenario through a fresh detector and
// returns the events as JSON lines.
func replayAll(t testing.TB) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, c := range simCases() {
		r := newSimRack(12, 7)
		if c.setup != nil {
			c.setup(r)
		}
		d := New(DefaultConfig())
		r.run(c.dur, c.change, func(s Sample) {
			for _, e := range d.Observe(s) {
				if err := enc.Encode(e); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	// and the electrical rules: a float step with a voltage step, a module
	// far below its group under discharge, a joint heating under load
	for _, c := range electricalCases() {
		d := New(DefaultConfig())
		for at := time.Duration(0); at <= c.dur; at += c.period {
			for _, s := range c.poll(at) {
				for _, e := range d.Observe(s) {
					if err := enc.Encode(e); err != nil {
						t.Fatal(err)
					}
				}
			}
		}
	}
	return buf.Bytes()
}

// jitter is a reproducible noise in [-0.5, 0.5) from integer arithmetic
// only, the same on every platform.
func jitter(i, k int) float64 {
	h := uint32(i)*2654435761 ^ uint32(k)*40503
	h ^= h >> 13
	h *= 1274126177
	return float64(h%1000)/1000 - 0.5
}

type electricalCase struct {
	dur, period time.Duration
	poll        func(at time.Duration) []Sample
}

// electricalCases are streams that drive the float-step, discharge-heat
// and wiring rules.
func electricalCases() []electricalCase {
	volts := func(at time.Duration, n int, v func(m int) float64) []Sample {
		out := modules(at, n, func(m int) float64 { return 25 + 0.2*jitter(int(at/time.Second), m) })
		for m := 1; m <= n; m++ {
			x := v(m) + 0.04*jitter(int(at/time.Second), 100+m)
			out = append(out, Sample{t0.Add(at), "bms-1", fmt.Sprintf("battery.module.%d.voltage", m), math.Round(x*100) / 100})
		}
		return out
	}
	return []electricalCase{
		{90 * time.Minute, 10 * time.Second, func(at time.Duration) []Sample {
			step := at > time.Hour
			out := volts(at, 8, func(m int) float64 {
				if m == 5 && step {
					return 54 * 0.995
				}
				return 54
			})
			I := 0.1 * jitter(int(at/time.Second), 7)
			if step {
				I += 0.8
			}
			return append(out, Sample{t0.Add(at), "bms-1", "battery.current", math.Round(I*10) / 10})
		}},
		{time.Hour, 10 * time.Second, func(at time.Duration) []Sample {
			load := at > 30*time.Minute
			out := volts(at, 8, func(m int) float64 {
				switch {
				case !load:
					return 52
				case m == 3:
					return 50 * 0.95
				}
				return 50
			})
			I := 0.0
			if load {
				I = -100
			}
			return append(out, Sample{t0.Add(at), "bms-1", "battery.current", I},
				Sample{t0.Add(at), "bms-1", "battery.charge", 60})
		}},
		{time.Hour, time.Second, func(at time.Duration) []Sample {
			var out []Sample
			cur, mv, rj := 0.0, 52.0, 0.0
			if at > 40*time.Minute {
				m := (at - 40*time.Minute).Minutes()
				cur, mv, rj = -80, 50-0.05*m, 0.002+0.048*math.Min(1, m/10)
			}
			if at%time.Minute == 0 {
				out = volts(at, 8, func(int) float64 { return mv })
			}
			sv := 8*mv + cur*rj + 0.04*jitter(int(at/time.Second), 999)
			return append(out, Sample{t0.Add(at), "bms-1", "battery.current", cur},
				Sample{t0.Add(at), "bms-1", "battery.voltage", math.Round(sv*100) / 100})
		}},
	}
}

// TestDeterminism checks that the same input gives byte-identical events,
// run to run and platform to platform: the digest of every scenario's
// events is kept in testdata/determinism.golden (written on amd64 with
// -update) and checked under qemu for arm and arm64 by make cross-check.
func TestDeterminism(t *testing.T) {
	a, b := replayAll(t), replayAll(t)
	if !bytes.Equal(a, b) {
		t.Fatal("two runs over the same input differ")
	}
	sum := sha256.Sum256(a)
	got := hex.EncodeToString(sum[:])
	path := filepath.Join("testdata", "determinism.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestDeterminism -update once)", err)
	}
	if strings.TrimSpace(string(want)) != got {
		t.Errorf("events digest %s, golden %s: the detector's output changed or differs on this platform (%d lines)",
			got, strings.TrimSpace(string(want)), bytes.Count(a, []byte("\n")))
	}
}
