package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// MaxAlerts is how many recent alert events a State keeps.
const MaxAlerts = 8

// Value is the latest value of one point of one device.
type Value struct {
	// Value is the number, NaN when the device reported an invalid value.
	Value float64
	// Text is the value of a text point (ups.status), empty otherwise.
	Text string
	// Unit is the point's unit as published, possibly empty.
	Unit string
	// First is the first number seen for the point, to show a trend.
	First float64
}

// Device is what the view knows of one device.
type Device struct {
	// Name is the device id from the topic.
	Name string
	// Points holds the latest value of each point, by contract name.
	Points map[string]Value
	// Updates counts telemetry messages received.
	Updates int
	// Seen is when the last telemetry message arrived.
	Seen time.Time
}

// Alert is an alert event (CONTRACTS section 4), as much of it as the view
// shows.
type Alert struct {
	ID      string    `json:"id"`
	Time    time.Time `json:"time"`
	Device  string    `json:"device"`
	Subject string    `json:"subject"`
	Kind    string    `json:"kind"`
	Level   string    `json:"level"`
	State   string    `json:"state"`
	Message string    `json:"message"`
}

// State is everything the view has received from one gateway's topics. It
// is a plain value: not safe for concurrent use (View serialises access).
type State struct {
	// Title names the view (for example "emberwatch demo").
	Title string
	// Site and Gateway are the topic root's ids.
	Site, Gateway string
	// Broker is the broker URL the view is subscribed through.
	Broker string
	// Connected tells whether the view's MQTT client is connected.
	Connected bool
	// Online is the gateway's state from its retained state topic:
	// "online", "offline", or empty before any state message.
	Online string
	// Devices holds each device seen on a telemetry topic, by name.
	Devices map[string]*Device
	// Alerts are the most recent alert events, oldest first, at most
	// MaxAlerts.
	Alerts []Alert
	// Active holds the alerts that are raised or escalated and not yet
	// cleared, by id.
	Active map[string]Alert
	// Messages counts the MQTT messages applied.
	Messages int
	// Now is the time of the last message applied; the view shows it.
	Now time.Time

	shedState
}

// NewState returns an empty state for the gateway under root
// emberwatch/v1/<site>/<gateway>.
func NewState(site, gateway string) *State {
	return &State{
		Site:    site,
		Gateway: gateway,
		Devices: map[string]*Device{},
		Active:  map[string]Alert{},
	}
}

// Root returns the topic root emberwatch/v1/<site>/<gateway>.
func (s *State) Root() string { return Root(s.Site, s.Gateway) }

// Root returns the topic root of a gateway (CONTRACTS section 5).
func Root(site, gateway string) string { return "emberwatch/v1/" + site + "/" + gateway }

// UpdateKind tells which topic an update came from.
type UpdateKind int

// Update kinds.
const (
	Ignored UpdateKind = iota
	StateUpdate
	TelemetryUpdate
	AlertUpdate
	ActiveAlertsUpdate
	// ShedUpdate is a shed command, a host acknowledgement, an outcome
	// or the shed status.
	ShedUpdate
)

// Update describes what one message changed.
type Update struct {
	Kind   UpdateKind
	Device string
	// Points is the number of readings in a telemetry message.
	Points int
	// Alert is the event of an AlertUpdate.
	Alert Alert
	// Shed is the text of a ShedUpdate's event; empty for a shed status.
	Shed string
}

// Apply folds one message received at now into the state: the gateway's
// topics under its root, and the site's shed commands and host
// acknowledgements. Messages on other topics, or that the view does not
// show, are Ignored. A payload that cannot be decoded returns an error
// naming the topic and leaves the state unchanged.
func (s *State) Apply(topic string, payload []byte, now time.Time) (Update, error) {
	var u Update
	var err error
	rest, ok := strings.CutPrefix(topic, s.Root()+"/")
	if !ok {
		site, ok := s.siteTopic(topic)
		switch {
		case !ok:
			return Update{}, nil
		case strings.HasPrefix(site, "shed/"):
			u, err = s.applyCommand(strings.TrimPrefix(site, "shed/"), payload, now)
		case strings.HasPrefix(site, "ack/"):
			u, err = s.applyAck(strings.TrimPrefix(site, "ack/"), payload, now)
		default:
			return Update{}, nil
		}
		return s.applied(topic, u, err, now)
	}
	switch {
	case rest == "state":
		u, err = s.applyState(payload)
	case strings.HasPrefix(rest, "telemetry/"):
		u, err = s.applyTelemetry(strings.TrimPrefix(rest, "telemetry/"), payload, now)
	case strings.HasPrefix(rest, "alert/"):
		u, err = s.applyAlert(payload)
	case rest == "alerts":
		u, err = s.applyActive(payload)
	case rest == "shed":
		u, err = s.applyShedStatus(payload)
	case rest == "shed/outcome":
		u, err = s.applyOutcome(payload, now)
	default:
		return Update{}, nil
	}
	return s.applied(topic, u, err, now)
}

// applied counts an applied message.
func (s *State) applied(topic string, u Update, err error, now time.Time) (Update, error) {
	if err != nil {
		return Update{}, fmt.Errorf("console: %s: %w", topic, err)
	}
	if u.Kind == Ignored {
		return u, nil
	}
	s.Messages++
	s.Now = now
	return u, nil
}

func (s *State) applyState(payload []byte) (Update, error) {
	var st struct {
		Online *bool `json:"online"`
	}
	if err := json.Unmarshal(payload, &st); err != nil {
		return Update{}, err
	}
	switch {
	case st.Online == nil:
		s.Online = ""
	case *st.Online:
		s.Online = "online"
	default:
		s.Online = "offline"
	}
	return Update{Kind: StateUpdate}, nil
}

func (s *State) applyTelemetry(device string, payload []byte, now time.Time) (Update, error) {
	vals, err := decodeTelemetry(payload)
	if err != nil {
		return Update{}, err
	}
	d := s.Devices[device]
	if d == nil {
		d = &Device{Name: device, Points: map[string]Value{}}
		s.Devices[device] = d
	}
	for name, v := range vals {
		if old, ok := d.Points[name]; ok && !math.IsNaN(old.First) {
			v.First = old.First
		} else {
			v.First = v.Value
		}
		d.Points[name] = v
	}
	d.Updates++
	d.Seen = now
	return Update{Kind: TelemetryUpdate, Device: device, Points: len(vals)}, nil
}

func (s *State) applyAlert(payload []byte) (Update, error) {
	var a Alert
	if err := json.Unmarshal(payload, &a); err != nil {
		return Update{}, err
	}
	s.Alerts = append(s.Alerts, a)
	if len(s.Alerts) > MaxAlerts {
		s.Alerts = append([]Alert(nil), s.Alerts[len(s.Alerts)-MaxAlerts:]...)
	}
	if a.State == "cleared" {
		delete(s.Active, a.ID)
	} else {
		s.Active[a.ID] = a
	}
	return Update{Kind: AlertUpdate, Device: a.Device, Alert: a}, nil
}

// applyActive takes the retained list of active alerts: a JSON array of
// alert events, or an object holding one under "alerts".
func (s *State) applyActive(payload []byte) (Update, error) {
	var list []Alert
	if err := json.Unmarshal(payload, &list); err != nil {
		var wrapped struct {
			Alerts []Alert `json:"alerts"`
		}
		if err2 := json.Unmarshal(payload, &wrapped); err2 != nil {
			return Update{}, err
		}
		list = wrapped.Alerts
	}
	s.Active = map[string]Alert{}
	for _, a := range list {
		s.Active[a.ID] = a
	}
	return Update{Kind: ActiveAlertsUpdate}, nil
}

// ActiveAlerts returns the active alerts, most severe first, then by time.
func (s *State) ActiveAlerts() []Alert {
	out := make([]Alert, 0, len(s.Active))
	for _, a := range s.Active {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if li, lj := levelRank(out[i].Level), levelRank(out[j].Level); li != lj {
			return li > lj
		}
		if !out[i].Time.Equal(out[j].Time) {
			return out[i].Time.Before(out[j].Time)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

func levelRank(l string) int {
	switch l {
	case "advisory":
		return 1
	case "warning":
		return 2
	case "critical":
		return 3
	}
	return 0
}

// decodeTelemetry reads a telemetry payload. It accepts the shapes a poll
// may be published in:
//
//	{"readings":[{"point":"battery.voltage","value":53.1,"unit":"V"},...]}
//	{"points":{"battery.voltage":{"value":53.1,"unit":"V"},...}}
//	{"points":{"battery.voltage":53.1,...}}
//	{"battery.voltage":53.1,...}
//
// A value of null or "nan" is NaN; a string that is not a number is a text
// point.
func decodeTelemetry(payload []byte) (map[string]Value, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(payload, &top); err != nil {
		return nil, err
	}
	out := map[string]Value{}
	if raw, ok := top["readings"]; ok {
		var rs []struct {
			Point string          `json:"point"`
			Value json.RawMessage `json:"value"`
			Text  string          `json:"text"`
			Unit  string          `json:"unit"`
		}
		if err := json.Unmarshal(raw, &rs); err != nil {
			return nil, fmt.Errorf("readings: %w", err)
		}
		for _, r := range rs {
			if r.Point == "" {
				return nil, errors.New("readings: an entry has no point")
			}
			v := scalar(r.Value)
			if r.Text != "" {
				v.Text = r.Text
			}
			v.Unit = r.Unit
			out[r.Point] = v
		}
		return out, nil
	}
	points := top
	if raw, ok := top["points"]; ok {
		points = nil
		if err := json.Unmarshal(raw, &points); err != nil {
			return nil, fmt.Errorf("points: %w", err)
		}
	}
	for name, raw := range points {
		if !strings.Contains(name, ".") {
			continue // metadata such as "device" or "time"
		}
		var obj struct {
			Value json.RawMessage `json:"value"`
			Text  string          `json:"text"`
			Unit  string          `json:"unit"`
		}
		if len(raw) > 0 && raw[0] == '{' {
			if err := json.Unmarshal(raw, &obj); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			v := scalar(obj.Value)
			if obj.Text != "" {
				v.Text = obj.Text
			}
			v.Unit = obj.Unit
			out[name] = v
			continue
		}
		out[name] = scalar(raw)
	}
	return out, nil
}

// scalar decodes a JSON number, null, "nan" or text.
func scalar(raw json.RawMessage) Value {
	v := Value{Value: math.NaN()}
	if len(raw) == 0 || string(raw) == "null" {
		return v
	}
	var f float64
	if err := json.Unmarshal(raw, &f); err == nil {
		v.Value = f
		return v
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			v.Value = f
		} else if !strings.EqualFold(s, "nan") {
			v.Text = s
		}
	}
	return v
}
