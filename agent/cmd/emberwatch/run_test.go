package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/emberwatch/emberwatch/agent/broker"
	"github.com/emberwatch/emberwatch/agent/mqtt"
	"github.com/emberwatch/emberwatch/agent/poll"
	"github.com/emberwatch/emberwatch/drivers"
	"github.com/emberwatch/emberwatch/drivers/modbus"
	"github.com/emberwatch/emberwatch/testbench/modbussim"
)

// lockedBuffer is an io.Writer safe for the agent's concurrent logging.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

const runTestProfile = `name: test-bms
byte_order: ABCD
registers:
  - {point: battery.voltage, address: 0, type: u16, scale: 0.01, unit: V}
  - {point: battery.current, address: 1, type: s16, scale: 0.1, unit: A}
  - {point: battery.charge, address: 2, type: f32, order: CDAB, unit: "%"}
  - point: battery.module.{n}.temperature
    address: 10
    type: s16
    scale: 0.1
    unit: °C
    invalid: [0x7FFF]
    repeat: [{var: n, count: 3, stride: 1}]
`

// TestRunPublishesAndStops runs the agent in-process against a simulated
// BMS and the embedded broker: telemetry carries what the simulator serves,
// and a cancelled context (SIGTERM) stops it with exit 0 and the offline
// state.
func TestRunPublishesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := broker.New(broker.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	p, err := modbus.ParseProfile("test-bms.yaml", []byte(runTestProfile))
	if err != nil {
		t.Fatal(err)
	}
	sim, err := modbussim.New(p, modbussim.Map{Values: map[string]float64{
		"battery.voltage": 53.12, "battery.current": -12.5, "battery.charge": 87.25,
		"battery.module.1.temperature": 24.6, "battery.module.2.temperature": 25.1, "battery.module.3.temperature": 81.7,
	}}, modbussim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := sim.ServeTCP(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "profiles", "modbus"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "profiles", "modbus", "test-bms.yaml"), []byte(runTestProfile), 0o644); err != nil {
		t.Fatal(err)
	}
	site := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(site, []byte(fmt.Sprintf(`site: dc1
gateway: gw-1
mqtt: {broker: %q}
profiles_dir: profiles
devices:
  - {name: bms-1, driver: modbus, address: "tcp://%s", profile: test-bms, interval: 100ms, timeout: 100ms}
detect: {tick: 1s}
`, b.URL(), addr)), 0o644); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	got := map[string][]byte{}
	sub := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("run-test-sub"))
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer sub.Disconnect(0)
	sub.Subscribe("emberwatch/v1/dc1/gw-1/#", 1, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		got[m.Topic()] = append([]byte(nil), m.Payload()...)
		mu.Unlock()
	}).WaitTimeout(5 * time.Second)
	last := func(topic string) []byte {
		mu.Lock()
		defer mu.Unlock()
		return got[topic]
	}

	var stderr lockedBuffer
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}
	runCtx, stop := context.WithCancel(ctx)
	code := make(chan int, 1)
	go func() { code <- dispatch(runCtx, e, []string{"run", "-c", site}) }()

	top := mqtt.NewTopics("dc1", "gw-1")
	deadline := time.Now().Add(10 * time.Second)
	for last(top.Telemetry("bms-1")) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no telemetry; agent log:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var tm mqtt.Telemetry
	if err := json.Unmarshal(last(top.Telemetry("bms-1")), &tm); err != nil {
		t.Fatal(err)
	}
	for point, want := range sim.Values() {
		if got := tm.Points[point].Float(); got != want {
			t.Errorf("%s = %v, simulator served %v", point, got, want)
		}
	}
	if len(tm.Points) != len(sim.Values()) {
		t.Errorf("telemetry has %d points, simulator %d", len(tm.Points), len(sim.Values()))
	}

	// A module at 81.7 °C is over temperature at once: the event goes out
	// on the device's alert topic and into the retained active list.
	deadline = time.Now().Add(10 * time.Second)
	for last(top.Alert("bms-1")) == nil || last(top.Alerts()) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("no alert; agent log:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	var ev struct {
		Site, Gateway, Device, Subject, Kind, Level, State string
	}
	if err := json.Unmarshal(last(top.Alert("bms-1")), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Site != "dc1" || ev.Gateway != "gw-1" || ev.Device != "bms-1" || ev.Kind != "over_temperature" || ev.State != "raised" {
		t.Errorf("alert %s", last(top.Alert("bms-1")))
	}
	var active []struct{ ID, Kind string }
	if err := json.Unmarshal(last(top.Alerts()), &active); err != nil || len(active) == 0 {
		t.Errorf("active alerts %s: %v", last(top.Alerts()), err)
	}

	stop()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d; log:\n%s", c, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not stop")
	}
	deadline = time.Now().Add(5 * time.Second)
	for string(last(top.State())) != `{"online":false}` {
		if time.Now().After(deadline) {
			t.Fatalf("state after stop: %s", last(top.State()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if log := stderr.String(); !strings.Contains(log, `msg="device stats" device=bms-1`) || !strings.Contains(log, "agent stopped") {
		t.Errorf("agent log:\n%s", log)
	}
}

func TestRunUsage(t *testing.T) {
	var stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}
	if c := dispatch(context.Background(), e, []string{"run"}); c != 2 {
		t.Errorf("run without -c: exit %d", c)
	}
	if c := dispatch(context.Background(), e, []string{"run", "-c", "../../config/testdata/broken/testcases/bad-interval/site.yaml"}); c != 2 {
		t.Errorf("run with a broken site file: exit %d", c)
	}
	if !strings.Contains(stderr.String(), `devices[0].interval: "5" has no unit`) {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

func TestReopenDevice(t *testing.T) {
	opens := 0
	r := &reopenDevice{name: "air", every: 20 * time.Millisecond, log: slog.New(slog.DiscardHandler), err: errors.New("no bus"),
		last: time.Now(),
		open: func() (poll.Device, error) {
			opens++
			if opens < 2 {
				return nil, errors.New("still no bus")
			}
			return failingThenOK{}, nil
		}}
	if _, err := r.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), "no bus") || opens != 0 {
		t.Fatalf("first poll: %v, %d opens", err, opens)
	}
	time.Sleep(25 * time.Millisecond)
	if _, err := r.Poll(context.Background()); err == nil || opens != 1 {
		t.Fatalf("second poll: %v, %d opens", err, opens)
	}
	if _, err := r.Poll(context.Background()); err == nil || opens != 1 {
		t.Fatalf("third poll, within the interval: %v, %d opens", err, opens)
	}
	time.Sleep(25 * time.Millisecond)
	if rs, err := r.Poll(context.Background()); err != nil || len(rs) != 1 || opens != 2 {
		t.Fatalf("after the bus came: %v %v, %d opens", rs, err, opens)
	}
}

type failingThenOK struct{}

func (failingThenOK) Poll(context.Context) ([]drivers.Reading, error) {
	return []drivers.Reading{{Point: "ambient.temperature", Value: 21, Unit: "°C"}}, nil
}
