package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/emberwatch/emberwatch/agent/console"
	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/drivers"
)

// Publisher sends a gateway's telemetry to a broker on the CONTRACTS
// section 5 topics.
type Publisher interface {
	// Telemetry publishes one poll of one device.
	Telemetry(ctx context.Context, device string, rs []drivers.Reading) error
	// Alert publishes an alert event and the alerts active after it.
	Alert(ctx context.Context, ev detect.Event, active []detect.Event) error
	// Close marks the gateway offline and disconnects.
	Close()
}

// MQTTPublisher is a minimal telemetry publisher over paho: the retained
// state message with its will, and telemetry at QoS 0. It stands in for
// the agent's publisher where that is not wired.
type MQTTPublisher struct {
	c    paho.Client
	root string
}

// NewMQTTPublisher connects to url as the gateway site/gateway and
// publishes {"online":true}, retained, on its state topic; the will sets
// {"online":false}.
func NewMQTTPublisher(ctx context.Context, url, site, gateway string) (*MQTTPublisher, error) {
	root := console.Root(site, gateway)
	opts := paho.NewClientOptions().
		AddBroker(url).
		SetClientID("emberwatch-"+site+"-"+gateway).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(2*time.Second).
		SetConnectTimeout(5*time.Second).
		SetBinaryWill(root+"/state", []byte(`{"online":false}`), 1, true)
	c := paho.NewClient(opts)
	if err := wait(ctx, c.Connect()); err != nil {
		return nil, fmt.Errorf("demo: publisher connect to %s: %w", url, err)
	}
	p := &MQTTPublisher{c: c, root: root}
	if err := wait(ctx, c.Publish(root+"/state", 1, true, `{"online":true}`)); err != nil {
		c.Disconnect(0)
		return nil, fmt.Errorf("demo: publish %s/state: %w", root, err)
	}
	return p, nil
}

// reading is one reading in a telemetry message.
type reading struct {
	Point string   `json:"point"`
	Value *float64 `json:"value"`
	Text  string   `json:"text,omitempty"`
	Unit  string   `json:"unit,omitempty"`
}

// telemetry is the body of a telemetry message.
type telemetry struct {
	Device   string    `json:"device"`
	Time     time.Time `json:"time"`
	Readings []reading `json:"readings"`
}

// Telemetry publishes rs as {"device","time","readings":[{"point","value","unit"}]};
// an invalid value is null.
func (p *MQTTPublisher) Telemetry(ctx context.Context, device string, rs []drivers.Reading) error {
	msg := telemetry{Device: device, Readings: make([]reading, 0, len(rs))}
	for _, r := range rs {
		if r.Time.After(msg.Time) {
			msg.Time = r.Time.UTC()
		}
		out := reading{Point: r.Point, Text: r.Text, Unit: r.Unit}
		if r.Text == "" && !math.IsNaN(r.Value) && !math.IsInf(r.Value, 0) {
			v := r.Value
			out.Value = &v
		}
		msg.Readings = append(msg.Readings, out)
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("demo: telemetry of %s: %w", device, err)
	}
	topic := p.root + "/telemetry/" + device
	if err := wait(ctx, p.c.Publish(topic, 0, false, body)); err != nil {
		return fmt.Errorf("demo: publish %s: %w", topic, err)
	}
	return nil
}

// Alert publishes ev on alert/<device> at QoS 1 and the active alerts,
// retained, on alerts.
func (p *MQTTPublisher) Alert(ctx context.Context, ev detect.Event, active []detect.Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("demo: alert %s of %s: %w", ev.ID, ev.Device, err)
	}
	topic := p.root + "/alert/" + ev.Device
	if err := wait(ctx, p.c.Publish(topic, 1, false, body)); err != nil {
		return fmt.Errorf("demo: publish %s: %w", topic, err)
	}
	if active == nil {
		active = []detect.Event{}
	}
	list, err := json.Marshal(active)
	if err != nil {
		return fmt.Errorf("demo: active alerts: %w", err)
	}
	if err := wait(ctx, p.c.Publish(p.root+"/alerts", 1, true, list)); err != nil {
		return fmt.Errorf("demo: publish %s/alerts: %w", p.root, err)
	}
	return nil
}

// Close publishes {"online":false} on the state topic and disconnects.
func (p *MQTTPublisher) Close() {
	p.c.Publish(p.root+"/state", 1, true, `{"online":false}`).WaitTimeout(time.Second)
	p.c.Disconnect(250)
}

// wait waits for a paho token or for ctx.
func wait(ctx context.Context, tok paho.Token) error {
	select {
	case <-tok.Done():
		return tok.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}
