package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/agent/mqtt"
	"github.com/emberwatch/emberwatch/drivers"
)

// Publisher sends a gateway's telemetry and alerts to a broker on the
// CONTRACTS section 5 topics.
type Publisher interface {
	// Telemetry publishes one poll of one device, sampled at t.
	Telemetry(ctx context.Context, device string, t time.Time, rs []drivers.Reading) error
	// Alert publishes an alert event on its device's alert topic.
	Alert(ctx context.Context, ev detect.Event) error
	// ActiveAlerts publishes the JSON list of active alerts, retained.
	ActiveAlerts(ctx context.Context, list []byte) error
	// Close sends what is queued, marks the gateway offline and
	// disconnects.
	Close()
}

// AgentPublisher is the agent's own publisher (agent/mqtt): the retained
// state message and its will, telemetry, alerts at QoS 1 and the retained
// list of active alerts, through a queue that never blocks the caller.
type AgentPublisher struct {
	p *mqtt.Publisher
}

// NewAgentPublisher connects the agent's publisher to the broker at url
// as the gateway site/gateway. It connects in the background until ctx is
// done.
func NewAgentPublisher(ctx context.Context, url, site, gateway, version string, log *slog.Logger) (*AgentPublisher, error) {
	p, err := mqtt.New(mqtt.Options{
		Broker:       url,
		Site:         site,
		Gateway:      gateway,
		Version:      version,
		ReconnectMax: 2 * time.Second,
		Logger:       log,
	})
	if err != nil {
		return nil, fmt.Errorf("demo: publisher: %w", err)
	}
	if err := p.Start(ctx); err != nil {
		return nil, fmt.Errorf("demo: publisher: %w", err)
	}
	return &AgentPublisher{p: p}, nil
}

// Telemetry queues the poll; it never blocks.
func (a *AgentPublisher) Telemetry(_ context.Context, device string, t time.Time, rs []drivers.Reading) error {
	a.p.Publish(device, t, rs)
	return nil
}

// Alert queues the event on alert/<device> at QoS 1.
func (a *AgentPublisher) Alert(_ context.Context, ev detect.Event) error {
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("demo: alert %s of %s: %w", ev.ID, ev.Device, err)
	}
	if err := a.p.PublishAlert(ev.Device, body); err != nil {
		return fmt.Errorf("demo: alert %s of %s: %w", ev.ID, ev.Device, err)
	}
	return nil
}

// ActiveAlerts replaces the retained list of active alerts.
func (a *AgentPublisher) ActiveAlerts(_ context.Context, list []byte) error {
	a.p.SetActiveAlerts(list)
	return nil
}

// Stats returns the publisher's counters.
func (a *AgentPublisher) Stats() mqtt.Stats { return a.p.Stats() }

// Close sends what is queued (for at most two seconds), publishes
// {"online":false} and disconnects.
func (a *AgentPublisher) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = a.p.Close(ctx)
}
