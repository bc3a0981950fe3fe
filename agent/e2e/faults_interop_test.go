//go:build interop

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers/modbus"
	"github.com/emberwatch/emberwatch/testbench/modbussim"
	"github.com/emberwatch/emberwatch/testbench/peers"
)

// TestFaults runs the agent against a healthy device and faulty ones: a
// device that never answers, one that answers every read with an
// exception, one that closes the connection mid-reply, one that answers
// late for a while (its stale replies must never be taken for later
// answers), and a dead slave sharing an RTU line with a healthy one. The
// agent must report every failure (log and counter) while the healthy
// devices keep their poll interval.
func TestFaults(t *testing.T) {
	m := peers.StartMosquitto(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	data, err := os.ReadFile("testdata/profiles/modbus/e2e-bms.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := modbus.ParseProfile("e2e-bms.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	newSim := func(name string, base float64) *modbussim.Sim {
		src := modbussim.Map{Values: map[string]float64{"battery.voltage": 50 + base, "battery.current": -base}}
		for i := 1; i <= 4; i++ {
			src.Values[fmt.Sprintf("battery.module.%d.temperature", i)] = 20 + base + float64(i)/10
		}
		s, err := modbussim.New(p, src, modbussim.Options{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	const (
		healthyEvery = 200 * time.Millisecond
		busEvery     = 300 * time.Millisecond
		timeout      = 150 * time.Millisecond
	)
	faults := []struct {
		name  string
		fault modbussim.Fault
	}{
		{"tcp-ok", modbussim.Fault{}},
		{"tcp-timeout", modbussim.Fault{Kind: modbussim.NoReply}},
		{"tcp-exception", modbussim.Fault{Kind: modbussim.Exception, Code: 2}},
		{"tcp-close", modbussim.Fault{Kind: modbussim.CloseMidReply}},
		{"tcp-late", modbussim.Fault{Kind: modbussim.LateReply, Delay: 2 * timeout, Times: 2}},
	}
	sims := map[string]*modbussim.Sim{}
	var devices []deviceLine
	for i, f := range faults {
		s := newSim(f.name, float64(i))
		if err := s.SetFault(f.fault); err != nil {
			t.Fatal(err)
		}
		a, err := s.ServeTCP(ctx, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		sims[f.name] = s
		devices = append(devices, deviceLine{name: f.name, address: "tcp://" + a.String(), unit: 1, profile: "e2e-bms", interval: healthyEvery, timeout: timeout})
	}

	// A shared RS-485 line on a pty: unit 1 healthy, unit 2 dead.
	pty, err := modbussim.OpenPTY()
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	defer pty.Close()
	bus := modbussim.NewBus()
	sims["rtu-ok"] = newSim("rtu-ok", 10)
	sims["rtu-dead"] = newSim("rtu-dead", 11)
	if err := bus.Add(1, sims["rtu-ok"]); err != nil {
		t.Fatal(err)
	}
	if err := bus.Add(2, sims["rtu-dead"]); err != nil {
		t.Fatal(err)
	}
	if err := sims["rtu-dead"].SetFault(modbussim.Fault{Kind: modbussim.Dead}); err != nil {
		t.Fatal(err)
	}
	go func() { _ = bus.ServeRTU(ctx, pty.Server, 115200) }()
	rtu := fmt.Sprintf("rtu://%s?baud=115200", pty.Path)
	devices = append(devices,
		deviceLine{name: "rtu-ok", address: rtu, unit: 1, profile: "e2e-bms", interval: busEvery, timeout: timeout},
		deviceLine{name: "rtu-dead", address: rtu, unit: 2, profile: "e2e-bms", interval: busEvery, timeout: timeout},
	)

	sub := subscribe(t, m.URL)
	a := startAgent(t, m.URL, devices)
	sub.waitMessages(t, 1, 20*time.Second, "tcp-ok", "rtu-ok")
	time.Sleep(4 * time.Second)
	// The state message carries each device's health.
	var state struct {
		Online  bool `json:"online"`
		Devices map[string]struct {
			Polls, Errors uint64
			Stale         bool
		} `json:"devices"`
	}
	if err := json.Unmarshal(sub.lastState(), &state); err != nil || !state.Online {
		t.Errorf("state %s: %v", sub.lastState(), err)
	}
	for dev, h := range state.Devices {
		healthy := dev == "tcp-ok" || dev == "rtu-ok" || dev == "tcp-late"
		if healthy == h.Stale || (!healthy && h.Errors == 0) {
			t.Errorf("state of %s: %+v", dev, h)
		}
	}
	if len(state.Devices) != len(devices) {
		t.Errorf("state names %d devices, want %d: %s", len(state.Devices), len(devices), sub.lastState())
	}
	a.stop(t)
	log := a.log.String()

	// The healthy devices kept their interval.
	assertInterval(t, "tcp-ok", sub.messages("tcp-ok"), healthyEvery)
	assertInterval(t, "rtu-ok", sub.messages("rtu-ok"), busEvery)

	// Every failure is reported: a counter, and a log line naming the device.
	stats := a.deviceStats()
	for _, dev := range []string{"tcp-timeout", "tcp-exception", "tcp-close", "tcp-late", "rtu-dead"} {
		st, ok := stats[dev]
		if !ok || st[1] == 0 {
			t.Errorf("%s: stats %v, want failed polls counted", dev, st)
		}
		if !regexp.MustCompile(`msg="poll failed" device=` + dev + ` `).MatchString(log) {
			t.Errorf("%s: no poll failure logged", dev)
		}
		t.Logf("%s: %d polls, %d failed", dev, st[0], st[1])
	}
	for _, dev := range []string{"tcp-ok", "rtu-ok"} {
		if st := stats[dev]; st[1] != 0 || st[0] == 0 {
			t.Errorf("%s: stats %v, want polls and no failures", dev, st)
		}
	}
	for _, dev := range []string{"tcp-timeout", "tcp-exception", "tcp-close", "rtu-dead"} {
		if n := len(sub.messages(dev)); n != 0 {
			t.Errorf("%s: %d telemetry messages from a device that never answered", dev, n)
		}
	}
	if !strings.Contains(log, "exception") {
		t.Errorf("the exception is not named in the log")
	}

	// The late device recovered, and none of its telemetry carries a stale
	// reply taken for another request's answer.
	late := sub.messages("tcp-late")
	if len(late) == 0 {
		t.Errorf("tcp-late: no telemetry after its late replies stopped")
	}
	want := sims["tcp-late"].Values()
	for _, tm := range late {
		for point, v := range want {
			if got := tm.Points[point].Float(); got != v {
				t.Errorf("tcp-late at %s: %s = %v, served %v", tm.Time.Format(time.RFC3339Nano), point, got, v)
			}
		}
	}
	if c := sims["rtu-dead"].Counters(); c.Requests != 0 {
		t.Errorf("the dead slave heard %d requests", c.Requests)
	}
}
