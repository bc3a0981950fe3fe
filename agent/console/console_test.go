package console_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/console"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const (
	site = "emberwatch/v1/demo"
	root = site + "/gw-1"
)

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// msg is one MQTT message of a scripted sequence.
type msg struct {
	topic, payload string
}

// script is a short life of a gateway: it comes online, reports twice
// (module 2 heating), raises and escalates an alert, and sends an
// undecodable and an unrelated message.
var script = []msg{
	{root + "/state", `{"online":true,"version":"dev"}`},
	{root + "/telemetry/bms-1", `{"device":"bms-1","time":"2026-03-01T12:00:01Z","readings":[
		{"point":"battery.voltage","value":107.52,"unit":"V"},
		{"point":"battery.current","value":-3.25,"unit":"A"},
		{"point":"battery.charge","value":87,"unit":"%"},
		{"point":"battery.module.1.temperature","value":24.6,"unit":"°C"},
		{"point":"battery.module.1.voltage","value":53.76,"unit":"V"},
		{"point":"battery.module.1.cell.1.voltage","value":3.36,"unit":"V"},
		{"point":"battery.module.1.cell.2.voltage","value":3.361,"unit":"V"},
		{"point":"battery.module.1.cell.max.temperature","value":25.1,"unit":"°C"},
		{"point":"battery.module.2.temperature","value":24.9,"unit":"°C"},
		{"point":"battery.module.2.voltage","value":53.76,"unit":"V"},
		{"point":"battery.module.2.cell.1.voltage","value":3.359,"unit":"V"},
		{"point":"battery.module.2.cell.2.voltage","value":null,"unit":"V"},
		{"point":"ambient.temperature","value":22.5,"unit":"°C"},
		{"point":"ups.status","text":"OL CHRG"}]}`},
	{root + "/telemetry/gas-1", `{"points":{"gas.h2":{"value":0,"unit":"ppm"},"gas.co":1.5}}`},
	{root + "/telemetry/bms-1", `{"readings":[
		{"point":"battery.module.1.temperature","value":24.7,"unit":"°C"},
		{"point":"battery.module.2.temperature","value":29.3,"unit":"°C"},
		{"point":"battery.module.2.voltage","value":"nan","unit":"V"}]}`},
	{root + "/alert/bms-1", `{"id":"a1","time":"2026-03-01T12:00:04Z","site":"demo","gateway":"gw-1","device":"bms-1","subject":"battery.module.2","kind":"thermal_runaway","level":"advisory","state":"raised","message":"module 2 heating 0.9 C/min faster than its neighbours","evidence":{}}`},
	{root + "/alert/bms-1", `{"id":"a1","time":"2026-03-01T12:00:05Z","device":"bms-1","subject":"battery.module.2","kind":"thermal_runaway","level":"warning","state":"escalated","message":"module 2 at 29.3 C, 4.6 C above its neighbours"}`},
	{root + "/alert/bms-1", `not json`},
	{"emberwatch/v1/demo/other-gw/telemetry/bms-9", `{"readings":[]}`},
	{root + "/alerts", `[{"id":"a1","time":"2026-03-01T12:00:05Z","device":"bms-1","subject":"battery.module.2","kind":"thermal_runaway","level":"warning","state":"escalated"}]`},
	{site + "/ack/web-1", `{"site":"demo","group":"rack-a-web","host":"web-1","status":"online","dry_run":true}`},
	{site + "/shed/rack-a-web", `{"action":"shutdown","gateway":"gw-1","group":"rack-a-web","tier":1,"seq":7,"reason":{"device":"bms-1","subject":"battery.module.2","kind":"thermal_runaway","level":"warning"}}`},
	{root + "/shed/outcome", `{"kind":"send","tier":1,"group":"rack-a-web","seq":7}`},
	{site + "/ack/web-1", `{"site":"demo","group":"rack-a-web","host":"web-1","status":"shutting-down","seq":7,"dry_run":true}`},
	{root + "/shed/outcome", `{"kind":"outlets-off","tier":1,"why":"hosts down","outlets":[{"pdu":"pdu-a","outlet":1,"on":false}]}`},
	{root + "/shed", `{"tiers":[{"tier":1,"name":"web","state":"off","down":1,"hosts":1,"why":"hosts down"},{"tier":2,"name":"db","state":"idle","down":0,"hosts":1}],"fsd":["bms-1","rack-a-web"]}`},
	{"emberwatch/v1/other-site/ack/web-9", `{"status":"online"}`},
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// apply runs the script through a fresh state, a second apart, and returns
// the log lines of the updates.
func apply(t *testing.T) (*console.State, string) {
	t.Helper()
	s := console.NewState("demo", "gw-1")
	s.Title, s.Broker, s.Connected = "emberwatch demo", "tcp://127.0.0.1:1883", true
	var lines strings.Builder
	for i, m := range script {
		u, err := s.Apply(m.topic, []byte(m.payload), t0.Add(time.Duration(i)*time.Second))
		if m.payload == "not json" {
			if err == nil {
				t.Errorf("message %d: undecodable payload accepted", i)
			}
			continue
		}
		if err != nil {
			t.Fatalf("message %d on %s: %v", i, m.topic, err)
		}
		if l := console.Line(s, u); l != "" {
			lines.WriteString(l + "\n")
		}
	}
	return s, lines.String()
}

func TestRenderGolden(t *testing.T) {
	empty := console.NewState("demo", "gw-1")
	empty.Broker = "tcp://127.0.0.1:1883"
	s, lines := apply(t)
	tests := []struct {
		file, got string
	}{
		{"empty.screen", console.Screen(empty)},
		{"script.screen", console.Screen(s)},
		{"script.lines", lines},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) { golden(t, tt.file, tt.got) })
	}
}

func TestApply(t *testing.T) {
	s, _ := apply(t)
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"messages applied", s.Messages, 12},
		{"hosts", s.Hosts["web-1"].Status, "shutting-down"},
		{"tiers", len(s.Tiers), 2},
		{"shed events", len(s.ShedEvents), 4},
		{"devices", len(s.Devices), 2},
		{"bms-1 updates", s.Devices["bms-1"].Updates, 2},
		{"module 2 temperature", s.Devices["bms-1"].Points["battery.module.2.temperature"].Value, 29.3},
		{"module 2 first temperature", s.Devices["bms-1"].Points["battery.module.2.temperature"].First, 24.9},
		{"text point", s.Devices["bms-1"].Points["ups.status"].Text, "OL CHRG"},
		{"flat point", s.Devices["gas-1"].Points["gas.co"].Value, 1.5},
		{"alert events kept", len(s.Alerts), 2},
		{"active alerts", len(s.Active), 1},
		{"online", s.Online, "online"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestClearedAlertLeavesActive(t *testing.T) {
	s := console.NewState("demo", "gw-1")
	for i, p := range []string{
		`{"id":"x","level":"warning","state":"raised"}`,
		`{"id":"x","level":"warning","state":"cleared"}`,
	} {
		if _, err := s.Apply(root+"/alert/bms-1", []byte(p), t0); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if len(s.Active) != 0 || len(s.Alerts) != 2 {
		t.Errorf("active %d, recent %d; want 0 and 2", len(s.Active), len(s.Alerts))
	}
}

func TestViewModes(t *testing.T) {
	now := func() time.Time { return t0 }
	tests := []struct {
		name     string
		terminal bool
		want     []string
		wantNot  []string
	}{
		{"line log", false, []string{"12:00:00 telemetry bms-1: 1 points; hottest module 1 30.0 °C (+0.0 since start)\n"}, []string{console.Clear}},
		{"terminal", true, []string{console.Clear, "  module  temp °C"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			v := console.NewView(&out, console.Options{Terminal: tt.terminal, Site: "demo", Gateway: "gw-1", Interval: time.Millisecond, Now: now})
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { v.Run(ctx); close(done) }()
			changed := v.Changed()
			v.Handle(root+"/telemetry/bms-1", []byte(`{"battery.module.1.temperature":30}`))
			<-changed
			cancel()
			<-done
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.wantNot {
				if strings.Contains(out.String(), w) {
					t.Errorf("output holds %q:\n%s", w, out.String())
				}
			}
			if got := v.Snapshot().Devices["bms-1"].Updates; got != 1 {
				t.Errorf("snapshot updates = %d, want 1", got)
			}
		})
	}
}
