package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emberwatch/emberwatch/agent/alert"
	"github.com/emberwatch/emberwatch/agent/command"
	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/agent/mqtt"
	"github.com/emberwatch/emberwatch/agent/nutd"
	"github.com/emberwatch/emberwatch/agent/poll"
	"github.com/emberwatch/emberwatch/drivers"
)

// ShedWait is how long the stage waits for room in a full shed queue
// before it gives the update up (and logs that it did).
const ShedWait = 5 * time.Second

// Publisher is where a Stage sends telemetry, alert events and the active
// list; *mqtt.Publisher is one.
type Publisher interface {
	// Publish queues the telemetry of one poll.
	Publish(device string, t time.Time, rs []drivers.Reading)
	// PublishAlert queues one encoded alert event of device.
	PublishAlert(device string, event []byte) error
	// SetActiveAlerts sets the encoded list of active alerts.
	SetActiveAlerts(list []byte)
}

// NUT is the NUT endpoint as a Stage feeds it; *nutd.Server is one.
type NUT interface {
	// Update sets the description and variables of one UPS.
	Update(name, desc string, vars map[string]string)
}

var (
	_ Publisher = (*mqtt.Publisher)(nil)
	_ NUT       = (*nutd.Server)(nil)
	_ poll.Sink = (*Stage)(nil)
)

// Stage is the poll sink of the agent: it forwards each poll to the
// publisher as telemetry (and to the NUT endpoint), feeds its numeric
// readings to the detector, passes the detector's events through the
// alert lifecycle, publishes what the lifecycle lets through on the alert
// topics and the active list, and hands it to the shed controller. The
// detector and the lifecycle are not safe for concurrent use; the stage
// serialises them. Its methods are safe for concurrent use, except
// SetNUT and SetShed.
type Stage struct {
	pub Publisher
	log *slog.Logger
	// nut, when set, gets every poll of the battery devices: those named
	// in nutDevices, and those whose readings carry battery or UPS points.
	nut        NUT
	nutDevices map[string]bool
	// shed, when set, gets every update of the lifecycle, in order.
	shed     chan<- detect.Event
	shedWait time.Duration

	readings atomic.Uint64
	events   atomic.Uint64

	mu         sync.Mutex
	det        *detect.Detector
	tracker    *alert.Tracker
	lastActive []byte
}

// New returns a Stage that feeds det and publishes through pub, with an
// alert lifecycle of default options; it logs to log.
func New(det *detect.Detector, pub Publisher, log *slog.Logger) *Stage {
	return &Stage{pub: pub, log: log, det: det, tracker: alert.New(alert.Options{}), shedWait: ShedWait}
}

// SetNUT makes the stage update nut with every poll of the battery
// devices: those named in devices, and those whose readings carry battery
// or UPS points. Call it before the stage is first used.
func (s *Stage) SetNUT(nut NUT, devices map[string]bool) {
	s.nut, s.nutDevices = nut, devices
}

// SetShed makes the stage send every update of the lifecycle, in order, to
// alerts, the shed controller's queue. When the queue is full the stage
// waits up to ShedWait, then logs the update as not handed over. Call it
// before the stage is first used.
func (s *Stage) SetShed(alerts chan<- detect.Event) {
	s.shed = alerts
}

// Readings is how many readings the stage has been given, all polls.
func (s *Stage) Readings() uint64 { return s.readings.Load() }

// Events is how many alert events the stage has passed to the lifecycle:
// the detector's and those given to Alert.
func (s *Stage) Events() uint64 { return s.events.Load() }

// Publish implements poll.Sink.
func (s *Stage) Publish(device string, t time.Time, rs []drivers.Reading) {
	s.pub.Publish(device, t, rs)
	s.readings.Add(uint64(len(rs)))
	if s.nut != nil && len(rs) > 0 && (s.nutDevices[device] || batteryReadings(rs)) {
		s.nut.Update(device, "Emberwatch device "+device, nutd.VarsFromReadings(rs))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := false
	for _, r := range rs {
		if r.Text != "" || math.IsInf(r.Value, 0) {
			continue
		}
		at := r.Time
		if at.IsZero() {
			at = t
		}
		changed = s.handle(s.det.Observe(detect.Sample{Time: at, Device: device, Point: r.Point, Value: r.Value})) || changed
	}
	if changed {
		s.publishActive()
	}
}

// batteryReadings reports whether a poll carries battery or UPS points,
// which make its device a UPS for the NUT endpoint.
func batteryReadings(rs []drivers.Reading) bool {
	for _, r := range rs {
		if strings.HasPrefix(r.Point, "battery.") || strings.HasPrefix(r.Point, "ups.") {
			return true
		}
	}
	return false
}

// Alert passes one event that did not come from the detector (an SNMP
// notification) through the lifecycle, as the detector's events go: to
// the alert topics, the active list and the shed controller.
func (s *Stage) Alert(ev detect.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.handle([]detect.Event{ev}) {
		s.publishActive()
	}
}

// Run calls Tick every interval until ctx ends.
func (s *Stage) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			s.Tick(now)
		}
	}
}

// Tick advances the detector's and the lifecycle's clocks to now, so that
// silent devices are noticed and held clears are published.
func (s *Stage) Tick(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	changed := s.handle(s.det.Advance(now))
	if s.publish(s.tracker.Tick(now)) || changed {
		s.publishActive()
	}
}

// handle passes detector events through the lifecycle; called with s.mu
// held. It reports whether there were any (the active list may have
// changed).
func (s *Stage) handle(evs []detect.Event) bool {
	s.events.Add(uint64(len(evs)))
	for _, ev := range evs {
		s.publish(s.tracker.Observe(ev))
	}
	return len(evs) > 0
}

// publish sends the lifecycle's updates to the alert topic and the shed
// controller; called with s.mu held. It reports whether there were any.
func (s *Stage) publish(ups []alert.Update) bool {
	for _, u := range ups {
		ev := u.Event
		b, err := json.Marshal(ev)
		if err != nil {
			s.log.Error("alert not encodable", "id", ev.ID, "err", err)
			continue
		}
		if err := s.pub.PublishAlert(ev.Device, b); err != nil {
			s.log.Error("alert not queued", "id", ev.ID, "err", err)
		}
		s.log.Warn("alert", "device", ev.Device, "subject", ev.Subject, "kind", ev.Kind, "level", ev.Level, "state", ev.State,
			"notify", u.Notify, "message", ev.Message)
		if s.shed != nil {
			// Buffered; the controller drains it. Full, the stage waits
			// rather than lose an alert, but not for ever (at shutdown the
			// controller is gone).
			select {
			case s.shed <- ev:
			case <-time.After(s.shedWait):
				s.log.Error("alert not handed to the shed controller: its queue is full", "id", ev.ID, "kind", ev.Kind, "level", ev.Level)
			}
		}
	}
	return len(ups) > 0
}

// Operator applies a verified alert command (acknowledge, silence,
// unsilence) and publishes the active list it changed. The lifecycle's
// error is returned as it is: its text goes into the command's result.
func (s *Stage) Operator(c command.Command) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.tracker.Apply(c); err != nil {
		return err
	}
	s.publishActive()
	return nil
}

// publishActive puts the active list on the retained alerts topic when it
// differs from the last one sent; called with s.mu held.
func (s *Stage) publishActive() {
	b, err := s.tracker.ActiveJSON()
	if err != nil {
		s.log.Error("active alerts not encodable", "err", err)
		return
	}
	if bytes.Equal(b, s.lastActive) {
		return
	}
	s.lastActive = b
	s.pub.SetActiveAlerts(b)
}
