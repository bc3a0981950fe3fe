//go:build interop

package snmp

import (
	"context"
	"errors"
	"math"
	"sort"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
)

// absent and nan are expectations beside numbers and texts.
const (
	absent = "<absent>"
	nan    = "<nan>"
)

// recordingCases: for each real recording in ../shared/data/snmprec, the
// profile that automatic selection must pick and values decoded from it.
// The numbers are the recordings' raw values with the MIBs' scaling, as
// listed in ../shared/data/SOURCES.md (e.g. upsHighPrecBatteryTemperature
// 234 = 23.4 C, RFC 1628 upsBatteryVoltage 412 = 41.2 V).
var recordingCases = []struct {
	recording string
	profile   string
	want      map[string]any
}{
	{"apc_smt750x-nmc2", "apc-ups", map[string]any{
		"battery.temperature": 23.4, "battery.voltage": 54.7, "battery.charge": 100.0,
		"battery.runtime": 109762.0, "input.voltage": 119.1, "ups.status": "OL",
		"ambient.1.temperature": 20.0, "ambient.1.humidity": nan, "ambient.2.temperature": absent,
	}},
	{"apc_smx750i", "apc-ups", map[string]any{
		"battery.temperature": 31.0, "battery.voltage": 54.0, "battery.charge": 100.0,
		"battery.runtime": 5709.0, "ambient.1.temperature": 23.0, "ambient.2.temperature": absent,
	}},
	{"apc_smtl1000-nmc3", "apc-ups", map[string]any{
		"battery.temperature": 28.0, "battery.voltage": 40.8,
		"ambient.1.temperature": 27.0, "ambient.2.temperature": 28.0,
	}},
	{"apc_surt3000xl", "apc-ups", map[string]any{
		"battery.temperature": 21.0, "battery.voltage": 218.0, "battery.runtime": 19526.0,
		"ambient.1.temperature": absent,
	}},
	{"apc_smart1500", "apc-ups", map[string]any{
		"battery.temperature": 30.0, "battery.voltage": 27.0,
		"ambient.1.temperature": 30.0, "ambient.2.temperature": 21.0,
	}},
	{"apc_emu", "apc-ems", map[string]any{
		"ambient.1.temperature": 18.0, "ambient.2.temperature": 26.0, "ambient.3.temperature": 27.0,
		"ambient.1.humidity": 30.0, "ambient.2.humidity": nan, "ambient.4.temperature": absent,
	}},
	{"apc_ap7900b", "apc-rpdu", map[string]any{
		"input.phase.1.current": 2.7, "input.power": nan, "outlet.1.status": "on",
	}},
	{"apc_ap8853", "apc-rpdu", map[string]any{
		"input.phase.1.current": 4.9, "input.phase.1.voltage": 242.0, "input.power": 1140.0,
		"ambient.1.temperature": absent,
	}},
	{"apc_apdu9959eu3", "apc-rpdu", map[string]any{
		"input.phase.1.current": 5.4, "input.phase.1.voltage": 228.0, "input.phase.1.power": 1160.0,
		"ambient.1.temperature": absent,
	}},
	{"eatonups", "eaton-xups", map[string]any{
		"battery.runtime": 8620.0, "battery.voltage": 78.0, "battery.charge": 100.0, "battery.status": "resting",
		"ambient.temperature": 29.0, "ambient.1.temperature": 21.0, "ambient.1.humidity": 26.0,
	}},
	{"eatonupsm2_9px+empg2", "eaton-xups", map[string]any{
		"battery.runtime": 26311.0, "battery.voltage": 53.1, "battery.charge": 100.0,
		"ambient.1.temperature": 27.0, "ambient.1.humidity": 24.0, "battery.temperature": absent,
	}},
	{"eaton-mgeups_9pxle", "eaton-mge", map[string]any{
		"battery.runtime": 1132.0, "battery.voltage": 55.0, "battery.charge": 91.0, "battery.temperature": nan,
	}},
	{"eatonpdu_2", "eaton-epdu", map[string]any{
		"input.phase.1.voltage": 118.45, "input.phase.1.current": 14.108, "input.power": 1589.0,
		"outlet.1.current": 0.79, "outlet.2.current": 2.202, "outlet.5.current": 0.0,
	}},
	{"raritan-pdu_px2-temp", "raritan-px2", map[string]any{
		"input.current": 3.497, "input.voltage": 209.0, "input.power": 673.0,
		"ambient.1.temperature": 22.9, "ambient.2.temperature": 22.6, "ambient.3.temperature": 23.7,
		"ambient.1.humidity": 15.0, "ambient.4.temperature": absent,
	}},
	{"sentry3", "sentry3", map[string]any{
		"input.phase.1.current": 3.62, "input.phase.2.current": 5.02, "input.phase.1.voltage": 209.3,
		"ambient.1.temperature": 20.0, "ambient.2.temperature": (74.5 - 32) * 5 / 9,
		"ambient.1.humidity": 52.0, "ambient.2.humidity": 43.0, "ambient.3.temperature": absent,
	}},
	{"cyberpower", "cyberpower", map[string]any{
		"battery.temperature": 36.0, "battery.charge": 100.0, "battery.runtime": 1740.0,
		"input.voltage": 119.5, "ups.status": "OL", "ambient.temperature": (68.3 - 32) * 5 / 9, "ambient.humidity": 56.0,
	}},
	{"vertiv-pdu_mg02e4w1", "geist-v5", map[string]any{
		"input.phase.1.voltage": 235.0, "input.phase.2.voltage": 234.1, "input.phase.3.voltage": 236.5,
		"input.phase.1.current": 0.95, "input.power": 1017.0,
	}},
	{"liebert", "liebert-gp-pdu", map[string]any{
		"input.phase.1.voltage": 119.6, "input.phase.1.current": 20.45,
		"ambient.1.temperature": 17.5, "ambient.2.temperature": 20.1, "ambient.3.temperature": absent,
	}},
	{"liebert_weblbds", "ups-mib", map[string]any{"battery.runtime": 3120.0, "battery.status": "normal"}},
	{"poweralert_ups", "ups-mib", map[string]any{
		"battery.voltage": 82.1, "battery.charge": 100.0, "battery.temperature": nan, "battery.runtime": 4320.0,
	}},
	{"poweralert_pdu", "tripplite-pdu", map[string]any{
		"input.phase.1.voltage": 207.0, "outlet.1.status": "on", "outlet.2.status": "on",
	}},
	{"socomec-ups", "socomec-netvision", map[string]any{
		"battery.voltage": 54.2, "battery.charge": 100.0, "battery.runtime": nan, "battery.temperature": 21.0,
		"input.voltage": 240.0, "output.voltage": 230.0, "ups.status": "OL",
	}},
	{"deltaups", "ups-mib", map[string]any{
		"battery.temperature": 23.0, "battery.voltage": 41.2, "battery.charge": 100.0,
	}},
	{"deltaups_rfc1628string", "ups-mib", map[string]any{
		"battery.temperature": 14.0, "battery.charge": 29.0,
	}},
	{"dell-ups_tower1000w", "ups-mib", map[string]any{
		"battery.voltage": 38.0, "battery.charge": 98.0, "battery.temperature": nan,
	}},
	{"generex-ups_cs141", "ups-mib", map[string]any{
		"battery.temperature": 25.0, "battery.voltage": 271.6, "battery.charge": 100.0,
	}},
	{"netvision-rfc", "ups-mib", map[string]any{
		"battery.temperature": 27.0, "battery.voltage": 217.0, "battery.current": nan,
	}},
	{"huaweiups_ups2000", "ups-mib", map[string]any{
		"battery.temperature": 21.0, "battery.voltage": 270.7, "battery.current": 0.4,
	}},
}

func TestRecordings(t *testing.T) {
	sim := startSnmpsim(t)
	ps, err := DefaultProfiles()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range recordingCases {
		t.Run(tc.recording, func(t *testing.T) {
			c := sim.dial(t, tc.recording)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			p, id, err := ps.Resolve(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			if p.Name != tc.profile {
				t.Fatalf("sysObjectID %s chose %s, want %s", id, p.Name, tc.profile)
			}
			d := NewDevice(tc.recording, p, c, Options{})
			rs, err := d.Poll(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := byPoint(rs)
			checkWant(t, got, tc.want)
			st := d.Stats()
			t.Logf("%s: %d readings, %d requests, %d packets, max %d OIDs a GET",
				p.Name, len(rs), st.Requests, st.Packets, st.MaxOIDs)
			if testing.Verbose() {
				var names []string
				for n := range got {
					names = append(names, n)
				}
				sort.Strings(names)
				for _, n := range names {
					r := got[n]
					t.Logf("  %s %v %s %s", n, r.Value, r.Text, r.Unit)
				}
			}
		})
	}
}

func checkWant(t *testing.T, got map[string]drivers.Reading, want map[string]any) {
	t.Helper()
	for point, w := range want {
		r, ok := got[point]
		switch w := w.(type) {
		case float64:
			if !ok {
				t.Errorf("%s: missing, want %v", point, w)
			} else if math.Abs(r.Value-w) > 1e-6 {
				t.Errorf("%s = %v, want %v", point, r.Value, w)
			}
		case string:
			switch w {
			case absent:
				if ok && r.Valid() {
					t.Errorf("%s = %v %q, want no reading", point, r.Value, r.Text)
				}
			case nan:
				if !ok || !math.IsNaN(r.Value) || r.Text != "" {
					t.Errorf("%s = %+v (present %v), want NaN", point, r, ok)
				}
			default:
				if !ok || r.Text != w {
					t.Errorf("%s = %q, want %q", point, r.Text, w)
				}
			}
		}
	}
}

// TestProbeURL reads a recording the way "emberwatch probe snmp://..." does.
func TestProbeURL(t *testing.T) {
	sim := startSnmpsim(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, tc := range []struct{ url, point string }{
		{"snmp://apc_smt750x-nmc2@" + sim.Addr, "battery.temperature"},
		{"snmp://eatonpdu_2@" + sim.Addr + "?profile=eaton-epdu&timeout=1s", "outlet.2.current"},
	} {
		rs, err := ProbeURL(ctx, tc.url)
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if _, ok := byPoint(rs)[tc.point]; !ok {
			t.Errorf("%s: no %s in %d readings", tc.url, tc.point, len(rs))
		}
	}
	if _, err := ProbeURL(ctx, "snmp://x@"+sim.Addr+"?profile=nope"); !errors.Is(err, ErrNoProfile) {
		t.Errorf("unknown profile: %v", err)
	}
}
