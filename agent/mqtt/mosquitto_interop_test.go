//go:build interop

package mqtt

import (
	"context"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
	"github.com/emberwatch/emberwatch/testbench/peers"
)

// TestMosquitto publishes to a real mosquitto, survives a broker restart
// (alerts queued meanwhile arrive after it) and leaves the offline state.
func TestMosquitto(t *testing.T) {
	m := peers.StartMosquitto(t)
	// The publisher reaches the broker through a proxy, so that after the
	// restart it is let in only once the second subscriber is listening:
	// the alert is not retained and would otherwise race the subscription.
	px := newProxy(t, m.Addr, true)
	p := newPublisher(t, px.URL(), nil)
	top := p.Topics()
	rec := subscribe(t, m.URL, "emberwatch/v1/dc1/gw-1/#")
	waitFor(t, "retained online state", func() bool { return rec.last(top.State()) != "" })

	p.Publish("bms-1", time.Now(), []drivers.Reading{{Point: "battery.voltage", Value: 52, Unit: "V"}})
	waitFor(t, "telemetry", func() bool { return len(rec.get(top.Telemetry("bms-1"))) == 1 })

	m.Stop()
	waitFor(t, "connection loss noticed", func() bool { return !p.Stats().Connected })
	if err := p.PublishAlert("bms-1", []byte(`{"id":"during-outage"}`)); err != nil {
		t.Fatal(err)
	}
	px.Set(false)
	m.Restart(t)
	rec2 := subscribe(t, m.URL, "emberwatch/v1/dc1/gw-1/#")
	px.Set(true)
	waitFor(t, "alert queued during the outage", func() bool { return rec2.last(top.Alert("bms-1")) == `{"id":"during-outage"}` })
	waitFor(t, "online again", func() bool { return rec2.last(top.State()) != "" && rec2.last(top.State()) != `{"online":false}` })

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline state", func() bool { return rec2.last(top.State()) == `{"online":false}` })
}
