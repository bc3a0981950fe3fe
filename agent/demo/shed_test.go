package demo_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/demo"
)

// TestShedChainMeasured runs the demo fast and checks acceptance 5 of the
// shed chain: with hosts that take 60 s of scenario time to stop, every
// host is down and every outlet off under 150 s of scenario time after
// the first critical thermal_runaway; outlets go off in tier order, never
// before their tier's hosts are down or its deadline has passed.
func TestShedChainMeasured(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	res, err := demo.Run(ctx, demo.Options{Speed: 20, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	tl := res.Timeline
	if tl == nil {
		t.Fatal("no timeline")
	}
	var report strings.Builder
	tl.Report(&report)
	t.Logf("wall %v, scenario %v\n%s", time.Since(start).Round(time.Millisecond), res.ScenarioTime.Round(time.Second), report.String())
	if !tl.HasCritical {
		t.Fatal("no critical thermal_runaway in the run")
	}
	dark, ok := tl.Dark()
	if !ok {
		t.Fatal("the run ended before the room was dark")
	}
	if dark >= 150*time.Second {
		t.Errorf("room dark %v after the critical alert, want under 150 s", dark)
	}
	// The run ends by itself soon after: not at its 180 s cap.
	if end := tl.Critical + dark + demo.DarkTail + 10*time.Second; res.ScenarioTime > end {
		t.Errorf("the run went on to %v of scenario, the room was dark at %v", res.ScenarioTime, tl.Critical+dark)
	}
	if len(tl.Tiers) != 2 {
		t.Fatalf("%d tiers, want 2", len(tl.Tiers))
	}
	// The second tier began before the first's outlets were off: overlap.
	if web, db := tl.Tiers[0], tl.Tiers[1]; db.Commanded >= web.OutletsOff {
		t.Errorf("tier db commanded at %v, after tier web's outlets off at %v: no overlap", db.Commanded, web.OutletsOff)
	}
	var prev time.Duration
	for _, tt := range tl.Tiers {
		down, _ := tt.HostsDown()
		switch {
		case tt.OutletsOff < prev:
			t.Errorf("tier %s: outlets off at %v, before the previous tier's at %v", tt.Name, tt.OutletsOff, prev)
		case tt.Why == "hosts down" && tt.OutletsOff < down:
			t.Errorf("tier %s: outlets off at %v, hosts down only at %v", tt.Name, tt.OutletsOff, down)
		case tt.Why == "deadline" && tt.OutletsOff < tt.Commanded+tt.Deadline:
			t.Errorf("tier %s: outlets off at %v, deadline at %v", tt.Name, tt.OutletsOff, tt.Commanded+tt.Deadline)
		case tt.Why != "hosts down" && tt.Why != "deadline":
			t.Errorf("tier %s: outlets off because %q", tt.Name, tt.Why)
		}
		prev = tt.OutletsOff
		// Every host took its 60 s (a scenario second of slack for the
		// clocks' resolution).
		for _, h := range tt.Hosts {
			if stop := tt.Down[h] - tt.ShuttingDown[h]; stop < demo.HostStop-time.Second {
				t.Errorf("tier %s: host %s stopped in %v, want %v", tt.Name, h, stop, demo.HostStop)
			}
		}
	}
	if len(res.Outlets) != 3 {
		t.Errorf("outlets switched: %v, want 3", res.Outlets)
	}
	for o, on := range res.Outlets {
		if on {
			t.Errorf("outlet %v still on", o)
		}
	}
}

func TestTimelineDark(t *testing.T) {
	s := time.Second
	tier := func(cmd, off time.Duration, down ...time.Duration) demo.TierTimes {
		tt := demo.TierTimes{Commanded: cmd, HasCommanded: true, OutletsOff: off, HasOutletsOff: off > 0,
			Down: map[string]time.Duration{}, Why: "hosts down"}
		for i, d := range down {
			h := string(rune('a' + i))
			tt.Hosts = append(tt.Hosts, h)
			if d > 0 {
				tt.Down[h] = d
			}
		}
		return tt
	}
	tests := []struct {
		name string
		tl   demo.Timeline
		want time.Duration
		ok   bool
	}{
		{"no critical", demo.Timeline{Tiers: []demo.TierTimes{tier(1*s, 70*s, 65*s)}}, 0, false},
		{"no tiers", demo.Timeline{Critical: 10 * s, HasCritical: true}, 0, false},
		{"dark", demo.Timeline{Critical: 10 * s, HasCritical: true,
			Tiers: []demo.TierTimes{tier(1*s, 62*s, 61*s, 62*s), tier(10*s, 71*s, 70*s)}}, 61 * s, true},
		{"a host still up", demo.Timeline{Critical: 10 * s, HasCritical: true,
			Tiers: []demo.TierTimes{tier(1*s, 62*s, 61*s, 0), tier(10*s, 71*s, 70*s)}}, 0, false},
		{"outlets still on", demo.Timeline{Critical: 10 * s, HasCritical: true,
			Tiers: []demo.TierTimes{tier(1*s, 62*s, 61*s), tier(10*s, 0, 70*s)}}, 0, false},
	}
	for _, tt := range tests {
		got, ok := tt.tl.Dark()
		if got != tt.want || ok != tt.ok {
			t.Errorf("%s: Dark() = %v, %v, want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
		tt.tl.Report(io.Discard)
	}
}
