package mqtt

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/emberwatch/emberwatch/drivers"
)

// Options configures a Publisher. Broker, Site and Gateway are required;
// the other zero values mean defaults.
type Options struct {
	// Broker is the broker URL (tcp://, ssl://, ws://, ...).
	Broker string
	// ClientID is the MQTT client id; default emberwatch-<site>-<gateway>.
	ClientID string
	// Username and Password authenticate to the broker. The password is
	// never logged.
	Username, Password string
	// TLS configures TLS for ssl://, tls://, mqtts:// and wss:// brokers.
	TLS *tls.Config
	// Site and Gateway name the topic root emberwatch/v1/<site>/<gateway>.
	Site, Gateway string
	// TelemetryQoS is the QoS of telemetry messages (0, 1 or 2).
	TelemetryQoS byte
	// Keepalive is the MQTT keepalive; default 30s.
	Keepalive time.Duration
	// Queue is how many telemetry messages may wait; default 1000.
	Queue int
	// SpoolDir, when set, keeps alert events on disk until the broker
	// acknowledges them, across restarts.
	SpoolDir string
	// ReconnectMax caps the backoff between connection attempts;
	// default 30s.
	ReconnectMax time.Duration
	// PublishTimeout bounds the wait for one QoS 1 acknowledgement;
	// default 10s.
	PublishTimeout time.Duration
	// Version is reported in the state message.
	Version string
	// Logger receives connection changes and publish failures;
	// slog.Default() if nil.
	Logger *slog.Logger
}

// Stats counts what a Publisher did.
type Stats struct {
	// Connected is true while the connection to the broker is up.
	Connected bool
	// Connects counts successful connections, Lost the connections lost,
	// ConnectFailures the connection attempts that failed.
	Connects, Lost, ConnectFailures uint64
	// TelemetrySent and AlertsSent count messages handed to the broker
	// (acknowledged, for QoS 1).
	TelemetrySent, AlertsSent uint64
	// TelemetryDropped counts telemetry messages dropped: queue full, or
	// a failed publish.
	TelemetryDropped uint64
	// TelemetryQueued and AlertsQueued are the messages waiting now.
	TelemetryQueued, AlertsQueued int
}

// message is one queued publish.
type message struct {
	topic   string
	payload []byte
	qos     byte
	retain  bool
	spool   string // file holding the alert, removed on acknowledgement
}

// Publisher publishes to one broker. Its methods are safe for concurrent
// use. Start it once, Close it once.
type Publisher struct {
	opts   Options
	topics Topics
	log    *slog.Logger
	client paho.Client

	mu        sync.Mutex
	telemetry []message // oldest first, at most opts.Queue
	alerts    []message // oldest first, never dropped
	active    *message  // latest retained alerts list, if not yet sent
	status    map[string]json.RawMessage
	restate   bool // the state message must be sent again (status changed)
	since     time.Time
	stats     Stats
	lastWarn  time.Time // of a failed connection attempt
	unwarned  int
	seq       uint64

	wake      chan struct{} // a message was queued
	connected chan struct{} // the connection came up
	flush     chan struct{} // closed by Close: drain, then stop
	done      chan struct{} // closed when the sender stops
	started   bool
}

// New returns a Publisher that is not yet connected.
func New(opts Options) (*Publisher, error) {
	if opts.Broker == "" || opts.Site == "" || opts.Gateway == "" {
		return nil, errors.New("mqtt: broker, site and gateway are required")
	}
	if opts.TelemetryQoS > 2 {
		return nil, fmt.Errorf("mqtt: telemetry QoS %d is not 0, 1 or 2", opts.TelemetryQoS)
	}
	if opts.ClientID == "" {
		opts.ClientID = "emberwatch-" + opts.Site + "-" + opts.Gateway
	}
	if opts.Keepalive == 0 {
		opts.Keepalive = 30 * time.Second
	}
	if opts.Queue <= 0 {
		opts.Queue = 1000
	}
	if opts.ReconnectMax == 0 {
		opts.ReconnectMax = 30 * time.Second
	}
	if opts.PublishTimeout == 0 {
		opts.PublishTimeout = 10 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	p := &Publisher{
		opts:      opts,
		topics:    NewTopics(opts.Site, opts.Gateway),
		log:       opts.Logger.With("broker", opts.Broker),
		wake:      make(chan struct{}, 1),
		connected: make(chan struct{}, 1),
		flush:     make(chan struct{}),
		done:      make(chan struct{}),
	}
	if opts.SpoolDir != "" {
		if err := p.loadSpool(); err != nil {
			return nil, err
		}
	}
	co := paho.NewClientOptions().
		AddBroker(opts.Broker).
		SetClientID(opts.ClientID).
		SetKeepAlive(opts.Keepalive).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(min(time.Second, opts.ReconnectMax)).
		SetMaxReconnectInterval(opts.ReconnectMax).
		SetConnectTimeout(10*time.Second).
		SetWriteTimeout(opts.PublishTimeout).
		SetCleanSession(true).
		SetStore(nullStore{}).
		SetOrderMatters(false).
		SetWill(p.topics.State(), `{"online":false}`, 1, true).
		SetOnConnectHandler(func(paho.Client) {
			p.mu.Lock()
			p.stats.Connects++
			p.stats.Connected = true
			p.lastWarn, p.unwarned = time.Time{}, 0
			p.mu.Unlock()
			p.log.Info("mqtt connected")
			select {
			case p.connected <- struct{}{}:
			default:
			}
		}).
		SetConnectionNotificationHandler(func(_ paho.Client, n paho.ConnectionNotification) {
			if f, ok := n.(paho.ConnectionNotificationFailed); ok { // once per attempt
				p.connectFailed(f.Reason)
			}
		}).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			p.mu.Lock()
			p.stats.Lost++
			p.stats.Connected = false
			p.mu.Unlock()
			p.log.Warn("mqtt connection lost", "err", err)
		})
	if opts.Username != "" {
		co.SetUsername(opts.Username)
		co.SetPassword(opts.Password)
	}
	if opts.TLS != nil {
		co.SetTLSConfig(opts.TLS)
	}
	p.client = paho.NewClient(co)
	return p, nil
}

// Topics returns the publisher's topics.
func (p *Publisher) Topics() Topics { return p.topics }

// Start begins connecting (in the background, retrying with backoff) and
// starts the goroutine that drains the queues. It returns at once; the
// sender runs until Close, or until ctx is done.
func (p *Publisher) Start(ctx context.Context) error {
	p.mu.Lock()
	if p.started {
		p.mu.Unlock()
		return errors.New("mqtt: publisher already started")
	}
	p.started = true
	p.mu.Unlock()
	p.client.Connect() // with ConnectRetry, retries until it connects
	go p.send(ctx)
	return nil
}

// Publish queues a poll's readings as a telemetry message. It never
// blocks: when the queue is full the oldest telemetry message is dropped
// and counted. It implements poll.Sink.
func (p *Publisher) Publish(device string, t time.Time, rs []drivers.Reading) {
	payload := appendTelemetry(make([]byte, 0, 64+48*len(rs)), device, t, rs)
	p.mu.Lock()
	if len(p.telemetry) >= p.opts.Queue {
		p.telemetry = p.telemetry[1:]
		p.stats.TelemetryDropped++
	}
	p.telemetry = append(p.telemetry, message{topic: p.topics.Telemetry(device), payload: payload, qos: p.opts.TelemetryQoS})
	p.mu.Unlock()
	p.poke()
}

// PublishAlert queues an alert event (CONTRACTS section 4 JSON) on the
// device's alert topic at QoS 1. Alerts are never dropped; with a spool
// folder the event is on disk before PublishAlert returns, and an error
// means it could not be written there.
func (p *Publisher) PublishAlert(device string, event []byte) error {
	m := message{topic: p.topics.Alert(device), payload: append([]byte(nil), event...), qos: 1}
	p.mu.Lock()
	p.seq++
	seq := p.seq
	p.mu.Unlock()
	if p.opts.SpoolDir != "" {
		f, err := p.spoolWrite(seq, m)
		if err != nil {
			return err
		}
		m.spool = f
	}
	p.mu.Lock()
	p.alerts = append(p.alerts, m)
	p.mu.Unlock()
	p.poke()
	return nil
}

// SetActiveAlerts publishes the list of active alerts, retained, at QoS 1.
// Only the latest list matters: one not yet sent is replaced.
func (p *Publisher) SetActiveAlerts(list []byte) {
	p.mu.Lock()
	p.active = &message{topic: p.topics.Alerts(), payload: append([]byte(nil), list...), qos: 1, retain: true}
	p.mu.Unlock()
	p.poke()
}

// SetStatus sets fields published in the retained state message beside
// "online" (for example the health of each device) and has the message
// sent again. v must encode to a JSON object; its keys online, site,
// gateway, version and since are ignored.
func (p *Publisher) SetStatus(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("mqtt: status: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("mqtt: status is not a JSON object: %w", err)
	}
	p.mu.Lock()
	p.status, p.restate = m, true
	p.mu.Unlock()
	p.poke()
	return nil
}

// Stats returns the counters.
func (p *Publisher) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Connected = s.Connected && p.client.IsConnectionOpen()
	s.TelemetryQueued = len(p.telemetry)
	s.AlertsQueued = len(p.alerts)
	return s
}

// Close sends what is queued while ctx allows, publishes the offline
// state, and disconnects. Messages still queued when ctx ends are lost,
// except spooled alerts, which wait on disk for the next start.
func (p *Publisher) Close(ctx context.Context) error {
	p.mu.Lock()
	started := p.started
	p.mu.Unlock()
	if !started {
		return nil
	}
	select {
	case <-p.flush:
		return nil // already closed
	default:
	}
	close(p.flush)
	select {
	case <-p.done:
	case <-ctx.Done():
	}
	var err error
	if p.client.IsConnectionOpen() {
		tok := p.client.Publish(p.topics.State(), 1, true, `{"online":false}`)
		if !waitToken(ctx, tok, p.opts.PublishTimeout) {
			err = fmt.Errorf("mqtt: offline state to %s: %w", p.opts.Broker, tokenErr(tok))
		}
	}
	p.client.Disconnect(250)
	p.log.Info("mqtt disconnected")
	return err
}

// connectFailed counts a failed connection attempt and logs the first,
// then at most one a minute with the count of the others.
func (p *Publisher) connectFailed(err error) {
	p.mu.Lock()
	p.stats.ConnectFailures++
	now := time.Now()
	if !p.lastWarn.IsZero() && now.Sub(p.lastWarn) < time.Minute {
		p.unwarned++
		p.mu.Unlock()
		return
	}
	n := p.unwarned
	p.lastWarn, p.unwarned = now, 0
	p.mu.Unlock()
	p.log.Warn("mqtt connection attempt failed; retrying with backoff", "err", err, "unlogged", n)
}

func (p *Publisher) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// next takes the next message to send: alerts first, then the active
// list, then telemetry. ok is false when nothing is queued.
func (p *Publisher) next() (m message, kind int, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case len(p.alerts) > 0:
		return p.alerts[0], kindAlert, true
	case p.active != nil:
		m = *p.active
		p.active = nil
		return m, kindActive, true
	case len(p.telemetry) > 0:
		m = p.telemetry[0]
		p.telemetry = p.telemetry[1:]
		return m, kindTelemetry, true
	}
	return message{}, 0, false
}

const (
	kindAlert = iota + 1
	kindActive
	kindTelemetry
)

// send drains the queues while connected. On every (re)connection it first
// publishes the online state.
func (p *Publisher) send(ctx context.Context) {
	defer close(p.done)
	backoff := 100 * time.Millisecond
	announced := false
	flushing := false
	for {
		if !p.client.IsConnectionOpen() {
			announced = false
			select {
			case <-ctx.Done():
				return
			case <-p.flush:
				if flushing {
					return // cannot flush while disconnected
				}
				flushing = true
				// give a connection in progress a moment
				select {
				case <-p.connected:
				case <-time.After(time.Second):
				case <-ctx.Done():
					return
				}
			case <-p.connected:
			case <-time.After(200 * time.Millisecond):
			}
			continue
		}
		p.mu.Lock()
		restate := p.restate
		p.restate = false
		p.mu.Unlock()
		if !announced || restate {
			if !p.publishState(ctx) {
				p.mu.Lock()
				p.restate = p.restate || restate
				p.mu.Unlock()
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				continue
			}
			announced = true
		}
		m, kind, ok := p.next()
		if !ok {
			if flushing {
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-p.flush:
				flushing = true
			case <-p.wake:
			case <-p.connected:
				announced = false
			}
			continue
		}
		tok := p.client.Publish(m.topic, m.qos, m.retain, m.payload)
		sent := waitToken(ctx, tok, p.opts.PublishTimeout)
		p.mu.Lock()
		switch {
		case sent && kind == kindAlert:
			p.alerts = p.alerts[1:]
			p.stats.AlertsSent++
		case sent && kind == kindTelemetry:
			p.stats.TelemetrySent++
		case !sent && kind == kindTelemetry:
			p.stats.TelemetryDropped++
		case !sent && kind == kindActive && p.active == nil:
			p.active = &m // resend unless a newer list came
		}
		p.mu.Unlock()
		if sent {
			backoff = 100 * time.Millisecond
			if m.spool != "" {
				if err := os.Remove(m.spool); err != nil && !errors.Is(err, os.ErrNotExist) {
					p.log.Warn("mqtt: spooled alert not removed", "file", m.spool, "err", err)
				}
			}
			continue
		}
		p.log.Warn("mqtt publish failed", "topic", m.topic, "err", tokenErr(tok))
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, p.opts.ReconnectMax)
	}
}

func (p *Publisher) publishState(ctx context.Context) bool {
	p.mu.Lock()
	if p.since.IsZero() {
		p.since = time.Now().UTC().Truncate(time.Second)
	}
	m := make(map[string]any, len(p.status)+5)
	for k, v := range p.status {
		m[k] = v
	}
	p.mu.Unlock()
	m["online"], m["site"], m["gateway"], m["since"] = true, p.opts.Site, p.opts.Gateway, p.since
	if p.opts.Version != "" {
		m["version"] = p.opts.Version
	}
	st, err := json.Marshal(m)
	if err != nil {
		p.log.Error("mqtt: state not encodable", "err", err)
		return true
	}
	tok := p.client.Publish(p.topics.State(), 1, true, st)
	if !waitToken(ctx, tok, p.opts.PublishTimeout) {
		p.log.Warn("mqtt: state not published", "err", tokenErr(tok))
		return false
	}
	return true
}

// waitToken waits for a token until timeout or ctx; true when it
// completed without error.
func waitToken(ctx context.Context, tok paho.Token, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-tok.Done():
		return tok.Error() == nil
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func tokenErr(tok paho.Token) error {
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return err
		}
		return nil
	default:
		return errors.New("no acknowledgement in time")
	}
}

// spoolWrite stores an alert in the spool folder and returns its file.
func (p *Publisher) spoolWrite(seq uint64, m message) (string, error) {
	name := fmt.Sprintf("%020d-%06d.alert", time.Now().UnixNano(), seq%1000000)
	data, err := json.Marshal(spooled{Topic: m.topic, Payload: json.RawMessage(m.payload)})
	if err != nil {
		// not JSON: keep it as a string
		data, _ = json.Marshal(spooled{Topic: m.topic, Text: string(m.payload)})
	}
	tmp := filepath.Join(p.opts.SpoolDir, "."+name)
	final := filepath.Join(p.opts.SpoolDir, name)
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return "", fmt.Errorf("mqtt: spool alert: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", fmt.Errorf("mqtt: spool alert: %w", err)
	}
	return final, nil
}

type spooled struct {
	Topic   string          `json:"topic"`
	Payload json.RawMessage `json:"payload,omitempty"`
	Text    string          `json:"text,omitempty"`
}

// loadSpool queues the alerts a previous run left in the spool folder.
func (p *Publisher) loadSpool() error {
	if err := os.MkdirAll(p.opts.SpoolDir, 0o700); err != nil {
		return fmt.Errorf("mqtt: spool folder: %w", err)
	}
	ents, err := os.ReadDir(p.opts.SpoolDir)
	if err != nil {
		return fmt.Errorf("mqtt: spool folder: %w", err)
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".alert") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		f := filepath.Join(p.opts.SpoolDir, n)
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("mqtt: spooled alert %s: %w", f, err)
		}
		var s spooled
		if err := json.Unmarshal(data, &s); err != nil || s.Topic == "" {
			p.log.Warn("mqtt: unreadable spooled alert skipped", "file", f)
			continue
		}
		payload := []byte(s.Payload)
		if s.Text != "" {
			payload = []byte(s.Text)
		}
		p.alerts = append(p.alerts, message{topic: s.Topic, payload: payload, qos: 1, spool: f})
	}
	if len(p.alerts) > 0 {
		p.log.Info("mqtt: alerts from the spool queued", "count", len(p.alerts))
	}
	return nil
}
