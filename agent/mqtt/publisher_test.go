package mqtt

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/emberwatch/emberwatch/agent/broker"
	"github.com/emberwatch/emberwatch/drivers"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// startBroker starts the embedded broker on 127.0.0.1:0 for one test.
func startBroker(t *testing.T) *broker.Broker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	b := broker.New(broker.Options{Logger: quiet()})
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return b
}

// recorder is a subscriber that keeps every message by topic.
type recorder struct {
	mu   sync.Mutex
	msgs map[string][][]byte
	ret  map[string]bool
	c    paho.Client
}

func subscribe(t *testing.T, url, filter string) *recorder {
	t.Helper()
	r := &recorder{msgs: map[string][][]byte{}, ret: map[string]bool{}}
	o := paho.NewClientOptions().AddBroker(url).SetClientID("test-sub-" + t.Name())
	r.c = paho.NewClient(o)
	if tok := r.c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber connect: %v", tok.Error())
	}
	tok := r.c.Subscribe(filter, 1, func(_ paho.Client, m paho.Message) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.msgs[m.Topic()] = append(r.msgs[m.Topic()], append([]byte(nil), m.Payload()...))
		r.ret[m.Topic()] = m.Retained()
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { r.c.Disconnect(0) })
	return r
}

func (r *recorder) get(topic string) [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.msgs[topic]...)
}

func (r *recorder) last(topic string) string {
	m := r.get(topic)
	if len(m) == 0 {
		return ""
	}
	return string(m[len(m)-1])
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func newPublisher(t *testing.T, url string, mod func(*Options)) *Publisher {
	t.Helper()
	o := Options{Broker: url, Site: "dc1", Gateway: "gw-1", Logger: quiet(), ReconnectMax: 200 * time.Millisecond, PublishTimeout: 2 * time.Second}
	if mod != nil {
		mod(&o)
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := p.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTelemetryStateAndAlerts(t *testing.T) {
	b := startBroker(t)
	rec := subscribe(t, b.URL(), "emberwatch/v1/dc1/gw-1/#")
	p := newPublisher(t, b.URL(), nil)
	top := p.Topics()
	waitFor(t, "online state", func() bool { return rec.last(top.State()) != "" })
	var st struct {
		Online  bool   `json:"online"`
		Gateway string `json:"gateway"`
	}
	if err := json.Unmarshal([]byte(rec.last(top.State())), &st); err != nil || !st.Online || st.Gateway != "gw-1" {
		t.Fatalf("state %s: %v", rec.last(top.State()), err)
	}

	at := time.Date(2026, 3, 1, 0, 0, 1, 500e6, time.UTC)
	p.Publish("bms-1", at, []drivers.Reading{
		{Point: "battery.voltage", Value: 53.12, Unit: "V"},
		{Point: "battery.module.3.temperature", Value: math.NaN(), Unit: "°C"},
		{Point: "ups.status", Text: "OL CHRG", Value: math.NaN()},
	})
	if err := p.PublishAlert("bms-1", []byte(`{"id":"a1","kind":"thermal_runaway","level":"warning","state":"raised"}`)); err != nil {
		t.Fatal(err)
	}
	p.SetActiveAlerts([]byte(`[{"id":"a1"}]`))
	waitFor(t, "telemetry, alert and active list", func() bool {
		return rec.last(top.Telemetry("bms-1")) != "" && rec.last(top.Alert("bms-1")) != "" && rec.last(top.Alerts()) != ""
	})
	want := `{"time":"2026-03-01T00:00:01.5Z","device":"bms-1","points":{"battery.module.3.temperature":{"value":null,"unit":"°C"},"battery.voltage":{"value":53.12,"unit":"V"},"ups.status":{"text":"OL CHRG"}}}`
	if got := rec.last(top.Telemetry("bms-1")); got != want {
		t.Errorf("telemetry\n got %s\nwant %s", got, want)
	}
	var tm Telemetry
	if err := json.Unmarshal([]byte(rec.last(top.Telemetry("bms-1"))), &tm); err != nil {
		t.Fatal(err)
	}
	if tm.Points["battery.voltage"].Float() != 53.12 || !math.IsNaN(tm.Points["battery.module.3.temperature"].Float()) {
		t.Errorf("decoded %+v", tm)
	}

	if err := p.SetStatus(map[string]any{"devices": map[string]any{"bms-1": map[string]any{"polls": 3, "stale": false}}, "online": false}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "state with status", func() bool { return strings.Contains(rec.last(top.State()), `"devices"`) })
	var st2 struct {
		Online  bool `json:"online"`
		Devices map[string]struct {
			Polls int `json:"polls"`
		} `json:"devices"`
	}
	if err := json.Unmarshal([]byte(rec.last(top.State())), &st2); err != nil || !st2.Online || st2.Devices["bms-1"].Polls != 3 {
		t.Errorf("state with status %s: %v", rec.last(top.State()), err)
	}
	if err := p.SetStatus([]int{1}); err == nil {
		t.Error("a status that is not an object accepted")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "offline state", func() bool { return rec.last(top.State()) == `{"online":false}` })
	s := p.Stats()
	if s.TelemetrySent != 1 || s.AlertsSent != 1 || s.TelemetryDropped != 0 || s.Connects != 1 {
		t.Errorf("stats %+v", s)
	}
}

// proxy forwards TCP connections to a target while enabled; Cut closes the
// open ones without an MQTT DISCONNECT, as a failing network would.
type proxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	on     bool
	conns  []net.Conn
}

func newProxy(t *testing.T, target string, on bool) *proxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	px := &proxy{l: l, target: target, on: on}
	t.Cleanup(func() { l.Close(); px.Cut() })
	go px.serve()
	return px
}

func (px *proxy) URL() string { return "tcp://" + px.l.Addr().String() }

func (px *proxy) serve() {
	for {
		c, err := px.l.Accept()
		if err != nil {
			return
		}
		px.mu.Lock()
		on := px.on
		px.mu.Unlock()
		if !on {
			c.Close()
			continue
		}
		u, err := net.Dial("tcp", px.target)
		if err != nil {
			c.Close()
			continue
		}
		px.mu.Lock()
		px.conns = append(px.conns, c, u)
		px.mu.Unlock()
		go func() { _, _ = io.Copy(u, c); u.Close() }()
		go func() { _, _ = io.Copy(c, u); c.Close() }()
	}
}

func (px *proxy) Set(on bool) {
	px.mu.Lock()
	px.on = on
	px.mu.Unlock()
}

func (px *proxy) Cut() {
	px.mu.Lock()
	defer px.mu.Unlock()
	for _, c := range px.conns {
		c.Close()
	}
	px.conns = nil
}

// TestBrokerAwayWillAndReconnect: alerts queued while the broker cannot be
// reached arrive once it can; a cut connection sets the will (offline);
// the publisher reconnects and says it is online again.
func TestBrokerAwayWillAndReconnect(t *testing.T) {
	b := startBroker(t)
	rec := subscribe(t, b.URL(), "emberwatch/v1/dc1/gw-1/#")
	px := newProxy(t, b.Addr(), false)
	p := newPublisher(t, px.URL(), nil)
	top := p.Topics()

	start := time.Now()
	for i := range 5000 {
		p.Publish("bms-1", time.Now(), []drivers.Reading{{Point: "battery.voltage", Value: float64(i), Unit: "V"}})
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("5000 publishes with the broker away took %v", d)
	}
	if err := p.PublishAlert("bms-1", []byte(`{"id":"a1"}`)); err != nil {
		t.Fatal(err)
	}
	if s := p.Stats(); s.TelemetryQueued != 1000 || s.TelemetryDropped != 4000 || s.AlertsQueued != 1 {
		t.Errorf("stats with the broker away: %+v", s)
	}

	waitFor(t, "failed connection attempts counted", func() bool { return p.Stats().ConnectFailures > 0 })
	px.Set(true)
	waitFor(t, "queued alert", func() bool { return rec.last(top.Alert("bms-1")) == `{"id":"a1"}` })
	waitFor(t, "queued telemetry", func() bool { return len(rec.get(top.Telemetry("bms-1"))) == 1000 })

	before := len(rec.get(top.State()))
	px.Cut()
	waitFor(t, "will", func() bool {
		for _, m := range rec.get(top.State())[before:] {
			if string(m) == `{"online":false}` {
				return true
			}
		}
		return false
	})
	waitFor(t, "online again", func() bool {
		s := rec.last(top.State())
		return s != `{"online":false}` && s != "" && p.Stats().Connects >= 2
	})
	p.Publish("bms-1", time.Now(), []drivers.Reading{{Point: "battery.voltage", Value: -1, Unit: "V"}})
	waitFor(t, "telemetry after the reconnect", func() bool { return len(rec.get(top.Telemetry("bms-1"))) == 1001 })
	if s := p.Stats(); s.Lost < 1 {
		t.Errorf("stats after the cut: %+v", s)
	}
}

// TestSpool: an alert spooled while the broker is away survives a restart
// of the publisher and is delivered by the next one.
func TestSpool(t *testing.T) {
	b := startBroker(t)
	rec := subscribe(t, b.URL(), "emberwatch/v1/dc1/gw-1/alert/#")
	dir := t.TempDir()
	px := newProxy(t, b.Addr(), false)
	p1 := newPublisher(t, px.URL(), func(o *Options) { o.SpoolDir = dir })
	if err := p1.PublishAlert("bms-2", []byte(`{"id":"spooled"}`)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = p1.Close(ctx)

	p2 := newPublisher(t, b.URL(), func(o *Options) { o.SpoolDir = dir; o.ClientID = "second" })
	waitFor(t, "spooled alert", func() bool { return rec.last(p2.Topics().Alert("bms-2")) == `{"id":"spooled"}` })
	waitFor(t, "spool emptied", func() bool { return p2.Stats().AlertsQueued == 0 })
}
