//go:build interop

package console_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/emberwatch/emberwatch/agent/console"
	"github.com/emberwatch/emberwatch/testbench/peers"
)

// TestWatchMosquitto feeds the view through a real mosquitto broker, and
// checks that the view subscribes again after the broker restarts.
func TestWatchMosquitto(t *testing.T) {
	m := peers.StartMosquitto(t)
	v := console.NewView(io.Discard, console.Options{Site: "demo", Gateway: "gw-1", Broker: m.URL,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- console.Watch(ctx, m.URL, "console-test", v) }()
	waitFor(t, "the view to connect", func() bool { return v.Snapshot().Connected })

	pub := paho.NewClient(paho.NewClientOptions().AddBroker(m.URL).SetClientID("gw-1").
		SetAutoReconnect(true).SetMaxReconnectInterval(500 * time.Millisecond))
	if tok := pub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	defer pub.Disconnect(50)
	publish := func(topic, payload string, retain bool) {
		t.Helper()
		if tok := pub.Publish(topic, 1, retain, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish %s: %v", topic, tok.Error())
		}
	}

	// The view may report itself connected before its subscription is
	// acknowledged; the messages that are not retained are sent again
	// until they are seen.
	publish(root+"/state", `{"online":true}`, true)
	waitFor(t, "state, telemetry and alert", func() bool {
		publish(root+"/telemetry/bms-1", `{"readings":[{"point":"battery.module.1.temperature","value":25.5,"unit":"°C"}]}`, false)
		publish(root+"/alert/bms-1", `{"id":"a","level":"warning","state":"raised","kind":"thermal_runaway","device":"bms-1","subject":"battery.module.1"}`, false)
		s := v.Snapshot()
		d := s.Devices["bms-1"]
		return s.Online == "online" && d != nil && d.Points["battery.module.1.temperature"].Value == 25.5 && len(s.Active) == 1
	})

	m.Stop()
	waitFor(t, "the view to notice the broker is gone", func() bool { return !v.Snapshot().Connected })
	m.Restart(t)
	waitFor(t, "the view to reconnect", func() bool { return v.Snapshot().Connected })
	waitFor(t, "a telemetry message after the restart", func() bool {
		if tok := pub.Publish(root+"/telemetry/bms-1", 1, false, `{"battery.module.1.temperature":26.5}`); !tok.WaitTimeout(time.Second) {
			return false
		}
		d := v.Snapshot().Devices["bms-1"]
		return d.Points["battery.module.1.temperature"].Value == 26.5
	})

	cancel()
	if err := <-done; err != nil {
		t.Errorf("Watch: %v", err)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
