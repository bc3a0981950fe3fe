package mqtt

import (
	"encoding/json"
	"math"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
)

// Telemetry is the JSON payload of a telemetry message: one poll of one
// device.
//
//	{"time":"2026-03-01T00:00:00Z","device":"bms-1","points":{
//	  "battery.voltage":{"value":53.12,"unit":"V"},
//	  "battery.module.3.temperature":{"value":null,"unit":"°C"},
//	  "ups.status":{"text":"OL"}}}
//
// A value the device reported as invalid or unavailable is null.
type Telemetry struct {
	// Time is when the poll started (RFC 3339, UTC).
	Time time.Time `json:"time"`
	// Device is the device's name.
	Device string `json:"device"`
	// Points holds the readings by point name.
	Points map[string]Point `json:"points"`
}

// Point is one reading in a Telemetry message.
type Point struct {
	// Value is the number, nil when the device reported no valid value or
	// the point is a text point.
	Value *float64 `json:"value,omitempty"`
	// Text is the value of a text point (ups.status).
	Text string `json:"text,omitempty"`
	// Unit is the SI unit of Value.
	Unit string `json:"unit,omitempty"`
}

// MarshalJSON writes a numeric point's missing value as null rather than
// leaving it out, so that "no valid value" is explicit.
func (p Point) MarshalJSON() ([]byte, error) {
	type plain Point
	if p.Text != "" {
		return json.Marshal(plain(p))
	}
	return json.Marshal(struct {
		Value *float64 `json:"value"`
		Unit  string   `json:"unit,omitempty"`
	}{p.Value, p.Unit})
}

// Float returns the value, NaN when there is none.
func (p Point) Float() float64 {
	if p.Value == nil {
		return math.NaN()
	}
	return *p.Value
}

// NewTelemetry builds the payload of one poll's readings.
func NewTelemetry(device string, t time.Time, rs []drivers.Reading) Telemetry {
	m := Telemetry{Time: t.UTC(), Device: device, Points: make(map[string]Point, len(rs))}
	for _, r := range rs {
		p := Point{Unit: r.Unit, Text: r.Text}
		if r.Text == "" && !math.IsNaN(r.Value) && !math.IsInf(r.Value, 0) {
			v := r.Value
			p.Value = &v
		}
		m.Points[r.Point] = p
	}
	return m
}

// Topics names the topics of one gateway.
type Topics struct {
	// Root is emberwatch/v1/<site>/<gateway>.
	Root string
}

// NewTopics returns the topics of a gateway.
func NewTopics(site, gateway string) Topics {
	return Topics{Root: "emberwatch/v1/" + site + "/" + gateway}
}

// State is the retained online/offline topic.
func (t Topics) State() string { return t.Root + "/state" }

// Telemetry is the topic of a device's readings.
func (t Topics) Telemetry(device string) string { return t.Root + "/telemetry/" + device }

// Alert is the topic of a device's alert events.
func (t Topics) Alert(device string) string { return t.Root + "/alert/" + device }

// Alerts is the retained topic of the active alerts.
func (t Topics) Alerts() string { return t.Root + "/alerts" }
