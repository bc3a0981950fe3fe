package metrics

import (
	"runtime"
	"time"

	"github.com/emberwatch/emberwatch/agent/mqtt"
	"github.com/emberwatch/emberwatch/agent/poll"
)

// Agent is the agent's own metric families on a registry. Fill it with
// Bind (the usual way: stats are copied at scrape time) or by calling
// UpdatePolls and UpdateMQTT yourself.
type Agent struct {
	Polls        *CounterVec // emberwatch_polls_total{device}
	PollErrors   *CounterVec // emberwatch_poll_errors_total{device}
	Overruns     *CounterVec // emberwatch_poll_overruns_total{device}
	PollDuration *GaugeVec   // emberwatch_poll_duration_seconds{device}
	LastSuccess  *GaugeVec   // emberwatch_poll_last_success_timestamp_seconds{device}
	Failures     *GaugeVec   // emberwatch_poll_consecutive_failures{device}
	Stale        *GaugeVec   // emberwatch_device_stale{device}

	BrokerConnected  *GaugeVec   // emberwatch_mqtt_connected
	Connects         *CounterVec // emberwatch_mqtt_connects_total
	ConnectionsLost  *CounterVec // emberwatch_mqtt_connections_lost_total
	Sent             *CounterVec // emberwatch_mqtt_sent_total{kind}
	TelemetryDropped *CounterVec // emberwatch_mqtt_telemetry_dropped_total
	QueueDepth       *GaugeVec   // emberwatch_mqtt_queue_depth{kind}

	Goroutines *GaugeVec // go_goroutines
	Info       *GaugeVec // emberwatch_build_info{version,goversion}
}

// NewAgent registers the agent's families on r. version is the build's
// version string, exposed as emberwatch_build_info.
func NewAgent(r *Registry, version string) *Agent {
	a := &Agent{
		Polls:        r.Counter("emberwatch_polls_total", "Polls finished, per device, failed or not.", "device"),
		PollErrors:   r.Counter("emberwatch_poll_errors_total", "Failed polls, per device.", "device"),
		Overruns:     r.Counter("emberwatch_poll_overruns_total", "Poll slots skipped because a poll outlasted its interval.", "device"),
		PollDuration: r.Gauge("emberwatch_poll_duration_seconds", "How long the last poll of the device took.", "device"),
		LastSuccess:  r.Gauge("emberwatch_poll_last_success_timestamp_seconds", "Unix time of the device's last good poll (0: none yet).", "device"),
		Failures:     r.Gauge("emberwatch_poll_consecutive_failures", "Failed polls since the device's last good one.", "device"),
		Stale:        r.Gauge("emberwatch_device_stale", "1 while no poll of the device has succeeded for its stale limit.", "device"),

		BrokerConnected:  r.Gauge("emberwatch_mqtt_connected", "1 while the connection to the MQTT broker is up."),
		Connects:         r.Counter("emberwatch_mqtt_connects_total", "Successful connections to the MQTT broker."),
		ConnectionsLost:  r.Counter("emberwatch_mqtt_connections_lost_total", "Connections to the MQTT broker lost."),
		Sent:             r.Counter("emberwatch_mqtt_sent_total", "Messages handed to the broker (acknowledged, for QoS 1).", "kind"),
		TelemetryDropped: r.Counter("emberwatch_mqtt_telemetry_dropped_total", "Telemetry messages dropped: queue full or publish failed."),
		QueueDepth:       r.Gauge("emberwatch_mqtt_queue_depth", "Messages waiting for the broker now.", "kind"),

		Goroutines: r.Gauge("go_goroutines", "Number of goroutines that currently exist."),
		Info:       r.Gauge("emberwatch_build_info", "Always 1; the labels name the build.", "version", "goversion"),
	}
	a.Info.With(version, runtime.Version()).Set(1)
	return a
}

// Bind makes the registry copy the stats returned by polls and broker into
// the families before every scrape. Either function may be nil (that part is
// left out).
func (a *Agent) Bind(r *Registry, polls func() []poll.Stats, broker func() mqtt.Stats) {
	r.OnScrape(func() {
		if polls != nil {
			a.UpdatePolls(polls())
		}
		if broker != nil {
			a.UpdateMQTT(broker())
		}
		a.Goroutines.With().Set(float64(runtime.NumGoroutine()))
	})
}

// UpdatePolls copies the poll scheduler's per-device stats.
func (a *Agent) UpdatePolls(stats []poll.Stats) {
	for _, s := range stats {
		d := s.Device
		a.Polls.With(d).Set(float64(s.Polls))
		a.PollErrors.With(d).Set(float64(s.Errors))
		a.Overruns.With(d).Set(float64(s.Overruns))
		a.PollDuration.With(d).Set(s.LastDuration.Seconds())
		a.LastSuccess.With(d).Set(unixSeconds(s.LastSuccess))
		a.Failures.With(d).Set(float64(s.ConsecutiveFailures))
		a.Stale.With(d).Set(boolValue(s.Stale))
	}
}

// UpdateMQTT copies the MQTT publisher's stats.
func (a *Agent) UpdateMQTT(s mqtt.Stats) {
	a.BrokerConnected.With().Set(boolValue(s.Connected))
	a.Connects.With().Set(float64(s.Connects))
	a.ConnectionsLost.With().Set(float64(s.Lost))
	a.Sent.With("telemetry").Set(float64(s.TelemetrySent))
	a.Sent.With("alert").Set(float64(s.AlertsSent))
	a.TelemetryDropped.With().Set(float64(s.TelemetryDropped))
	a.QueueDepth.With("telemetry").Set(float64(s.TelemetryQueued))
	a.QueueDepth.With("alert").Set(float64(s.AlertsQueued))
}

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
