package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runawayTrace is a small string of 8 modules where module 3 starts
// heating on its own after 20 minutes, sampled every 10 s.
func runawayTrace() string {
	var b strings.Builder
	b.WriteString("# module 3 heats on its own\ntime,device,point,value\n")
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for s := 0; s <= 3600; s += 10 {
		ts := t0.Add(time.Duration(s) * time.Second).Format(time.RFC3339Nano)
		for m := 1; m <= 8; m++ {
			v := 24.0 + 0.1*float64(m%3)
			if m == 3 && s > 1200 {
				x := float64(s-1200) / 60
				v += 0.02 * x * x
			}
			fmt.Fprintf(&b, "%s,bms-1,battery.module.%d.temperature,%.1f\n", ts, m, v)
		}
		fmt.Fprintf(&b, "%s,env-1,ambient.temperature,23.0\n", ts)
	}
	return b.String()
}

func runVerb(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := dispatch(context.Background(), e, args)
	return stdout.String(), stderr.String(), code
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestReplayMalformed(t *testing.T) {
	const h = "time,device,point,value\n"
	for _, c := range []struct{ name, in, want string }{
		{"bad time", h + "yesterday,bms-1,battery.current,1\n", "line 2: time"},
		{"unknown column", "time,device,point,value,unit\n", "line 1: header"},
		{"non-numeric", h + "2026-03-01T00:00:00Z,bms-1,battery.current,1,5\n", "line 2: too many columns"},
		{"non-numeric value", h + "2026-03-01T00:00:00Z,bms-1,battery.current,one\n", "line 2: value"},
		{"out of order", h + "2026-03-01T00:00:10Z,a,b,1\n2026-03-01T00:00:00Z,a,b,1\n", "line 3: time"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := writeFile(t, "trace.csv", c.in)
			_, stderr, code := runVerb(t, "", "replay", p)
			if code != 2 || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "trace.csv") {
				t.Errorf("exit %d, stderr %q; want exit 2 naming the file and %q", code, stderr, c.want)
			}
		})
	}
	if _, _, code := runVerb(t, "", "replay"); code != 2 {
		t.Errorf("replay without a trace: exit %d, want 2", code)
	}
	if _, _, code := runVerb(t, "", "replay", "/nonexistent/trace.csv"); code != 2 {
		t.Errorf("replay of a missing file: exit %d, want 2", code)
	}
}

func TestReplayRunaway(t *testing.T) {
	p := writeFile(t, "runaway.csv", runawayTrace())
	svg := filepath.Join(t.TempDir(), "runaway.svg")
	stdout, stderr, code := runVerb(t, "", "replay", "--plot", svg, p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	again, _, _ := runVerb(t, "", "replay", p)
	if again != stdout {
		t.Error("two replays of one trace differ")
	}
	var warned bool
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var ev map[string]any
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		for _, k := range []string{"id", "time", "site", "gateway", "device", "subject", "kind", "level", "state", "message", "evidence"} {
			if _, ok := ev[k]; !ok {
				t.Errorf("event without %q: %s", k, line)
			}
		}
		if ev["kind"] == "thermal_runaway" && ev["level"] == "warning" && ev["subject"] == "battery.module.3" {
			warned = true
		}
		if ev["kind"] == "thermal_runaway" && ev["subject"] != "battery.module.3" {
			t.Errorf("runaway on the wrong module: %s", line)
		}
	}
	if !warned {
		t.Errorf("no thermal_runaway warning for module 3:\n%s", stdout)
	}
	b, err := os.ReadFile(svg)
	if err != nil || !bytes.HasPrefix(b, []byte("<svg")) || !bytes.Contains(b, []byte("thermal_runaway")) {
		t.Errorf("plot not written or without the events (%v)", err)
	}
}

func TestReplayConfig(t *testing.T) {
	p := writeFile(t, "runaway.csv", runawayTrace())
	site := "site: dc1\ngateway: gw7\nmqtt:\n  broker: tcp://127.0.0.1:1883\ndetect:\n  rise_warning: 6\n  confirm: 30s\n"
	cfg := writeFile(t, "site.yaml", site)
	stdout, stderr, code := runVerb(t, "", "replay", "-c", cfg, p)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, `"site":"dc1","gateway":"gw7"`) {
		t.Errorf("site and gateway not in the events:\n%s", stdout)
	}
	bad := writeFile(t, "site.yaml", site+"  no_such_threshold: 1\n")
	if _, stderr, code := runVerb(t, "", "replay", "-c", bad, p); code != 2 || !strings.Contains(stderr, "no_such_threshold") {
		t.Errorf("unknown detect key: exit %d, stderr %q; want exit 2 naming the key", code, stderr)
	}
	inverted := writeFile(t, "site.yaml", site+"  rise_advisory: 9\n")
	if _, stderr, code := runVerb(t, "", "replay", "-c", inverted, p); code != 2 || !strings.Contains(stderr, "rise_advisory") {
		t.Errorf("inverted thresholds: exit %d, stderr %q; want exit 2", code, stderr)
	}
}
