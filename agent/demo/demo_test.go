package demo_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/console"
	"github.com/emberwatch/emberwatch/agent/demo"
)

// TestRunReachesConsole runs the demo briefly in process and checks that
// the rack's readings went agent -> broker -> console, and that the hot
// module's heating shows.
func TestRunReachesConsole(t *testing.T) {
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	res, err := demo.Run(ctx, demo.Options{Speed: 40, Duration: 1500 * time.Millisecond, Out: &out, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	wall := time.Since(start)
	t.Logf("wall %v, scenario %v, polls %d, errors %d", wall, res.ScenarioTime, res.Polls, res.Errors)
	if wall > 5*time.Second {
		t.Errorf("a 1.5 s run took %v", wall)
	}
	// A poll every 25 ms on a loaded machine (or under -race) may miss
	// its deadline now and then; more than that is a fault.
	if res.Errors*10 > res.Polls {
		t.Errorf("%d failed polls of %d", res.Errors, res.Polls+res.Errors)
	}
	d := res.State.Devices[demo.Device]
	if d == nil {
		t.Fatalf("no telemetry of %s reached the console; output:\n%s", demo.Device, out.String())
	}
	hot := demo.DefaultScenario.HotModule
	tests := []struct {
		name string
		ok   bool
	}{
		{"the console received several polls", d.Updates >= 5 && d.Updates <= res.Polls},
		{"every module temperature arrived", len(d.Points) > 8*16 && has(d.Points, 8)},
		{"the gateway went offline at the end", res.State.Online == "offline"},
		{"the hot module warmed", d.Points[key(hot)].Value-d.Points[key(hot)].First > 0.5},
		{"the hot module is the hottest", d.Points[key(hot)].Value > d.Points[key(1)].Value+0.5},
		{"the line log names the hot module", strings.Contains(out.String(), "hottest module 5")},
		{"the final screen is printed", strings.Contains(out.String(), "  module  temp °C")},
		{"the model name came over Modbus", d.Points["device.model"].Text == "EW-SIM-8x16"},
		{"cell voltages came over Modbus", d.Points["battery.module.8.cell.16.voltage"].Value > 3},
	}
	// The detector raises the hot module at about 35 s of scenario time;
	// on a loaded machine the run may not get that far.
	if res.ScenarioTime >= 50*time.Second {
		tests = append(tests, struct {
			name string
			ok   bool
		}{"a thermal_runaway alert on module 5 reached the console", hasAlert(res.State.Alerts, "thermal_runaway", "battery.module.5")})
	}
	// The warning (at about 40 s) sheds the web tier: commands, the
	// hosts' acknowledgements and the outlets, all through the broker.
	// The hosts' acknowledgements need a few scenario seconds after the
	// command.
	if tl := res.Timeline; tl != nil && tl.Tiers[0].HasCommanded && res.ScenarioTime-tl.Tiers[0].Commanded >= 3*time.Second {
		web := res.Shed[0]
		for _, c := range []struct {
			name string
			ok   bool
		}{
			{"the web tier was commanded", web.State == "commanded" || web.State == "off"},
			{"the console saw the shed command", strings.Contains(out.String(), "shed command shutdown to rack-a-web")},
			{"the console saw web-1 shutting down", strings.Contains(out.String(), "shed host web-1 (rack-a-web) shutting-down")},
		} {
			tests = append(tests, struct {
				name string
				ok   bool
			}{c.name, c.ok})
		}
	}
	for _, tt := range tests {
		if !tt.ok {
			t.Errorf("%s: no", tt.name)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out.String())
	}
}

func hasAlert(as []console.Alert, kind, subject string) bool {
	for _, a := range as {
		if a.Kind == kind && a.Subject == subject {
			return true
		}
	}
	return false
}

func key(n int) string { return "battery.module." + string(rune('0'+n)) + ".temperature" }

func has[V any](m map[string]V, modules int) bool {
	for n := 1; n <= modules; n++ {
		if _, ok := m[key(n)]; !ok {
			return false
		}
	}
	return true
}

func TestFaultWatts(t *testing.T) {
	sc := demo.DefaultScenario
	tests := []struct {
		at       time.Duration
		min, max float64
	}{
		{0, 0, 0},
		{4 * time.Second, 0, 0},
		{5 * time.Second, 3000, 3000},
		{30 * time.Second, 6300, 6400},   // 3000 e^0.75
		{85 * time.Second, 12000, 12000}, // capped
		{90 * time.Second, 0, 0},         // isolated
		{185 * time.Second, 0, 0},        // no repeat
	}
	for _, tt := range tests {
		if got := sc.FaultWatts(tt.at); got < tt.min || got > tt.max {
			t.Errorf("FaultWatts(%v) = %.0f, want %.0f..%.0f", tt.at, got, tt.min, tt.max)
		}
	}
}

func TestSimFollowsScenario(t *testing.T) {
	sim := demo.NewSim(demo.Scenario{}, 1)
	sim.AdvanceTo(60 * time.Second)
	hot, cold := sim.ModuleTemperature(5), sim.ModuleTemperature(1)
	if rise := hot - 24; rise < 6 || rise > 14 {
		t.Errorf("hot module rose %.1f °C by 60 s, want 6..14", rise)
	}
	if hot-cold < 5 {
		t.Errorf("hot module %.1f °C, module 1 %.1f °C", hot, cold)
	}
	if sim.Now() != 60*time.Second {
		t.Errorf("Now() = %v", sim.Now())
	}
}
