//go:build interop

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/emberwatch/emberwatch/agent/mqtt"
	"github.com/emberwatch/emberwatch/drivers"
	"github.com/emberwatch/emberwatch/testbench/peers"
)

// outageDuration is how long the broker is away in TestStoreForwardOutage:
// EMBERWATCH_OUTAGE (a Go duration; the acceptance runs 60s), 5s by
// default so that make check stays short.
func outageDuration(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv("EMBERWATCH_OUTAGE")
	if v == "" {
		return 5 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("EMBERWATCH_OUTAGE=%q: %v", v, err)
	}
	return d
}

// persistentMosquitto starts mosquitto keeping sessions across a restart
// (so that the test's subscriber misses nothing the broker accepted while
// it was reconnecting) with no limit on queued messages.
func persistentMosquitto(t *testing.T, extra ...string) *peers.Mosquitto {
	t.Helper()
	dir := t.TempDir()
	// "user root": started by root, mosquitto would otherwise become the
	// mosquitto user, who cannot write the test's private folder
	return peers.StartMosquitto(t, append([]string{
		"user root",
		"persistence true",
		"persistence_location " + dir + "/",
		"max_queued_messages 0",
		"queue_qos0_messages true", // telemetry, QoS 0, for a subscriber still reconnecting
		"max_inflight_messages 0",
	}, extra...)...)
}

// alertEvent is the part of an alert event the tests look at.
type alertEvent struct {
	ID     string `json:"id"`
	Device string `json:"device"`
	State  string `json:"state"`
	Level  string `json:"level"`
	Time   string `json:"time"`
}

// key is what identifies one event of an alert: its id and state.
func (e alertEvent) key() string { return e.ID + "/" + e.State + "/" + e.Level }

// alertSink is a subscriber with a persistent session that counts alert
// events by key, duplicates apart, and keeps each device's first
// arrivals in order.
type alertSink struct {
	mu     sync.Mutex
	seen   map[string]int
	order  map[string][]string // device -> keys, first arrivals
	dups   int
	telem  map[string][][]byte // device -> telemetry payloads
	client paho.Client
}

func newAlertSink(t *testing.T, broker string) *alertSink {
	t.Helper()
	s := &alertSink{seen: map[string]int{}, order: map[string][]string{}, telem: map[string][][]byte{}}
	handler := func(_ paho.Client, m paho.Message) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if i := strings.Index(m.Topic(), "/telemetry/"); i >= 0 {
			dev := m.Topic()[i+len("/telemetry/"):]
			s.telem[dev] = append(s.telem[dev], append([]byte(nil), m.Payload()...))
			return
		}
		if !strings.Contains(m.Topic(), "/alert/") {
			return // state, active list
		}
		var e alertEvent
		if err := json.Unmarshal(m.Payload(), &e); err != nil {
			t.Errorf("alert %s: %v", m.Payload(), err)
			return
		}
		k := e.key()
		s.seen[k]++
		if s.seen[k] > 1 {
			s.dups++
			return
		}
		s.order[e.Device] = append(s.order[e.Device], k)
	}
	o := paho.NewClientOptions().AddBroker(broker).SetClientID("sf-sink-" + strings.ReplaceAll(t.Name(), "/", "-")).
		SetCleanSession(false).SetAutoReconnect(true).SetConnectRetry(true).
		SetConnectRetryInterval(100 * time.Millisecond).SetMaxReconnectInterval(500 * time.Millisecond).
		SetOrderMatters(true).SetDefaultPublishHandler(handler)
	subscribed := make(chan struct{}, 1)
	o.SetOnConnectHandler(func(c paho.Client) {
		tok := c.Subscribe("emberwatch/v1/dc1/gw-1/#", 1, handler)
		go func() {
			if tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
				select {
				case subscribed <- struct{}{}:
				default:
				}
			}
		}()
	})
	s.client = paho.NewClient(o)
	if tok := s.client.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("sink connect: %v", tok.Error())
	}
	select {
	case <-subscribed:
	case <-time.After(5 * time.Second):
		t.Fatal("sink: no SUBACK for the connect handler's subscription")
	}
	t.Cleanup(func() { s.client.Disconnect(100) })
	return s
}

// distinct returns how many distinct events arrived.
func (s *alertSink) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.seen)
}

// check compares what arrived with what was published, device by device,
// in order, and returns the number of duplicates.
func (s *alertSink) check(t *testing.T, sent map[string][]string) int {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for dev, want := range sent {
		got := s.order[dev]
		if len(got) != len(want) {
			t.Errorf("%s: %d distinct alert events arrived, %d published", dev, len(got), len(want))
		}
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Errorf("%s: event %d is %s, want %s (out of order or lost)", dev, i, got[i], want[i])
				break
			}
		}
	}
	for k, n := range s.seen {
		if n > 1 {
			t.Logf("duplicate (same id, same bytes): %s x%d", k, n)
			break
		}
	}
	return s.dups
}

// runaway yields the alert events of a developing runaway on a device:
// each alert raised as an advisory, escalated to warning and critical,
// then cleared, alert after alert.
type runaway struct {
	n map[string]int
}

func (r *runaway) next(dev string, now time.Time) (alertEvent, []byte) {
	if r.n == nil {
		r.n = map[string]int{}
	}
	i := r.n[dev]
	r.n[dev]++
	steps := []struct{ state, level string }{{"raised", "advisory"}, {"escalated", "warning"}, {"escalated", "critical"}, {"cleared", "critical"}}
	st := steps[i%len(steps)]
	e := alertEvent{ID: fmt.Sprintf("%s-m%d", dev, i/len(steps)+1), Device: dev, State: st.state, Level: st.level, Time: now.UTC().Format(time.RFC3339Nano)}
	b, _ := json.Marshal(map[string]any{
		"id": e.ID, "time": e.Time, "site": "dc1", "gateway": "gw-1", "device": dev,
		"subject": fmt.Sprintf("battery.module.%d", i/len(steps)%8+1), "kind": "thermal_runaway",
		"level": e.Level, "state": e.State, "message": "module heating faster than its neighbours",
		"evidence": map[string]any{"step": i},
	})
	return e, b
}

func sfPublisher(t *testing.T, broker, spool string, log *slog.Logger, mod func(*mqtt.Options)) *mqtt.Publisher {
	t.Helper()
	o := mqtt.Options{Broker: broker, Site: "dc1", Gateway: "gw-1", SpoolDir: spool, Logger: log,
		ReconnectMax: time.Second, PublishTimeout: 3 * time.Second, Window: 16}
	if mod != nil {
		mod(&o)
	}
	p, err := mqtt.New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() {
		c, cc := context.WithTimeout(context.Background(), 3*time.Second)
		defer cc()
		_ = p.Close(c)
		cancel()
	})
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return p
}

func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStoreForwardOutage stops mosquitto for EMBERWATCH_OUTAGE while a
// runaway on three devices raises alerts (ten events a second, with
// telemetry each second), then restarts it: every alert event arrives,
// once by id (duplicates only with the same id and bytes), in order per
// device; the telemetry of the outage arrives late.
func TestStoreForwardOutage(t *testing.T) {
	outage := outageDuration(t)
	m := persistentMosquitto(t)
	sink := newAlertSink(t, m.URL)
	p := sfPublisher(t, m.URL, t.TempDir(), slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), nil)
	waitUntil(t, 10*time.Second, "publisher connected", func() bool { return p.Stats().Connected })

	devices := []string{"bms-1", "bms-2", "bms-3"}
	sent := map[string][]string{}
	var mu sync.Mutex
	var duringOutage int
	var down bool
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var r runaway
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case now := <-tick.C:
				dev := devices[i%len(devices)]
				e, b := r.next(dev, now)
				if err := p.PublishAlert(dev, b); err != nil {
					t.Errorf("publish alert: %v", err)
					return
				}
				if i%10 == 0 {
					for _, d := range devices {
						p.Publish(d, now, []drivers.Reading{{Point: "battery.module.1.temperature", Value: 30 + float64(i)/100, Unit: "°C"}})
					}
				}
				mu.Lock()
				sent[dev] = append(sent[dev], e.key())
				if down {
					duringOutage++
				}
				mu.Unlock()
			}
		}
	}()

	time.Sleep(2 * time.Second)
	mu.Lock()
	down = true
	mu.Unlock()
	m.Stop()
	t.Logf("broker stopped for %v", outage)
	time.Sleep(outage)
	if s := p.Stats(); s.Connected || s.AlertsQueued == 0 {
		t.Errorf("during the outage: %+v", s)
	}
	m.Restart(t)
	mu.Lock()
	down = false
	mu.Unlock()
	restarted := time.Now()
	var reconnected, drained time.Duration
	for time.Since(restarted) < 2*time.Second || drained == 0 {
		st := p.Stats()
		if reconnected == 0 && st.Connected {
			reconnected = time.Since(restarted)
		}
		if drained == 0 && st.Connected && st.AlertsQueued <= 1 {
			drained = time.Since(restarted)
		}
		if time.Since(restarted) > 30*time.Second {
			t.Fatalf("backlog not drained 30s after the restart: %+v", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	<-done

	mu.Lock()
	total := 0
	for _, ks := range sent {
		total += len(ks)
	}
	mu.Unlock()
	for deadline := time.Now().Add(30 * time.Second); sink.distinct() < total; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			sink.check(t, sent)
			t.Fatalf("30s after the end: %d of %d alert events at the subscriber; publisher %+v", sink.distinct(), total, p.Stats())
		}
	}
	waitUntil(t, 10*time.Second, "spool empty", func() bool { s := p.Stats(); return s.AlertsQueued == 0 && s.TelemetryQueued == 0 })
	dups := sink.check(t, sent)
	s := p.Stats()
	late := 0
	sink.mu.Lock()
	for _, ms := range sink.telem {
		for _, b := range ms {
			if strings.Contains(string(b), `"late":true`) {
				late++
			}
		}
	}
	sink.mu.Unlock()
	if late == 0 {
		t.Errorf("no telemetry marked late after the outage")
	}
	t.Logf("outage %v: %d alert events published (%d while the broker was away), all %d arrived in order per device, %d duplicates (same id); reconnected %v after the restart, backlog delivered %v after the restart; %d late telemetry messages; publisher stats %+v",
		outage, total, duringOutage, sink.distinct(), dups, reconnected.Round(time.Millisecond), drained.Round(time.Millisecond), late, s)
}

// TestStoreForwardDiskFull fills the spool's budget during an outage with
// the telemetry of 20 devices of 40 points and alerts: the spool stays
// within its budget, every alert arrives, and telemetry is thinned (each
// device keeps samples spread over the outage, oldest first, late).
func TestStoreForwardDiskFull(t *testing.T) {
	m := persistentMosquitto(t)
	sink := newAlertSink(t, m.URL)
	spool := t.TempDir()
	const budget = 1 << 20
	p := sfPublisher(t, m.URL, spool, slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), func(o *mqtt.Options) {
		o.SpoolBytes = budget
		o.TelemetryBytes = budget / 2
	})
	waitUntil(t, 10*time.Second, "publisher connected", func() bool { return p.Stats().Connected })
	m.Stop()
	waitUntil(t, 10*time.Second, "outage noticed", func() bool { return !p.Stats().Connected })

	var devices []string
	for i := 1; i <= 20; i++ {
		devices = append(devices, fmt.Sprintf("bms-%d", i))
	}
	rs := make([]drivers.Reading, 40)
	for i := range rs {
		rs[i] = drivers.Reading{Point: fmt.Sprintf("battery.cell.%d.voltage", i+1), Value: 3.3, Unit: "V"}
	}
	sent := map[string][]string{}
	var r runaway
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const polls = 600 // 10 minutes of 1 s polls
	maxSpool := int64(0)
	for i := range polls {
		now := t0.Add(time.Duration(i) * time.Second)
		for _, d := range devices {
			p.Publish(d, now, rs)
		}
		if i%10 == 0 {
			dev := devices[i/10%3]
			e, b := r.next(dev, now)
			if err := p.PublishAlert(dev, b); err != nil {
				t.Fatal(err)
			}
			sent[dev] = append(sent[dev], e.key())
		}
		maxSpool = max(maxSpool, dirBytes(spool))
	}
	s := p.Stats()
	if maxSpool > budget+64<<10 {
		t.Errorf("the spool grew to %d bytes, budget %d", maxSpool, budget)
	}
	if s.TelemetryThinned == 0 || s.AlertsQueued != polls/10 {
		t.Errorf("with the spool full: %+v", s)
	}
	m.Restart(t)
	waitUntil(t, 30*time.Second, "alerts after the outage", func() bool { return sink.distinct() >= polls/10 })
	waitUntil(t, 30*time.Second, "spool drained", func() bool { s := p.Stats(); return s.AlertsQueued == 0 && s.TelemetryQueued == 0 })
	dups := sink.check(t, sent)
	time.Sleep(500 * time.Millisecond)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	kept := 0
	for _, d := range devices {
		ms := sink.telem[d]
		kept += len(ms)
		if len(ms) < 5 {
			t.Errorf("%s: only %d telemetry messages kept of %d", d, len(ms), polls)
			continue
		}
		var first, last struct {
			Time time.Time `json:"time"`
			Late bool      `json:"late"`
		}
		_ = json.Unmarshal(ms[0], &first)
		_ = json.Unmarshal(ms[len(ms)-1], &last)
		if !first.Late || !first.Time.Equal(t0) || last.Time.Sub(first.Time) < polls/2*time.Second {
			t.Errorf("%s: kept %d from %v to %v (late %v): not spread over the outage, oldest first", d, len(ms), first.Time, last.Time, first.Late)
		}
	}
	t.Logf("spool budget %d KiB (telemetry %d KiB): at most %d KiB used; %d alerts all arrived (%d duplicates); telemetry %d of %d messages kept, %d thinned, %d dropped",
		budget>>10, budget>>11, maxSpool>>10, polls/10, dups, kept, polls*len(devices), s.TelemetryThinned, s.TelemetryDropped)
}

func dirBytes(dir string) int64 {
	var n int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}
