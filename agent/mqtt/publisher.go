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
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/emberwatch/emberwatch/agent/queue"
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
	// Queue is how many telemetry messages may wait in memory; default
	// 1000. Without a spool folder, this is all the telemetry an outage
	// keeps (the oldest is dropped first).
	Queue int
	// SpoolDir, when set, is the store-and-forward folder: alerts and
	// other reliable messages wait there (fsync'd) until the broker
	// acknowledges them, across restarts and power cuts, and telemetry
	// produced while the broker is away is buffered there and sent later,
	// oldest first, marked "late":true.
	SpoolDir string
	// SpoolBytes is the disk budget of SpoolDir; default 64 MiB. When it
	// is reached the buffered telemetry is thinned (every other sample of
	// each device dropped, again as needed); alerts are never dropped.
	SpoolBytes int64
	// TelemetryBytes is the budget of the telemetry buffered in SpoolDir
	// during an outage; default 16 MiB. Past it, telemetry is thinned.
	TelemetryBytes int64
	// Window is how many QoS 1 alerts may await the broker's
	// acknowledgement at once; default 32. The publisher never relies on
	// the broker's queues: a message leaves the spool only once
	// acknowledged.
	Window int
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
	// (acknowledged, for QoS 1). AlertsSent counts every reliable message
	// (alerts and those of PublishReliable), resends included.
	TelemetrySent, AlertsSent uint64
	// TelemetryDropped counts telemetry messages dropped: queue full, a
	// failed publish, or the spool's budgets reached with nothing left to
	// thin.
	TelemetryDropped uint64
	// TelemetryThinned counts buffered telemetry messages dropped by
	// thinning when a budget of the spool was reached.
	TelemetryThinned uint64
	// TelemetryLate counts telemetry messages sent late, after an outage.
	TelemetryLate uint64
	// TelemetryQueued and AlertsQueued are the messages waiting now
	// (TelemetryQueued includes those buffered in the spool);
	// AlertsInFlight those sent and not yet acknowledged.
	TelemetryQueued, AlertsQueued, AlertsInFlight int
	// SpoolBytes is the size of the spool folder's queues.
	SpoolBytes int64
	// LastError is the last connection error, classified (see
	// ErrUnknownAuthority and the others); empty once connected.
	LastError string
}

// message is one queued publish.
type message struct {
	topic   string
	payload []byte
	qos     byte
	retain  bool
	late    bool   // telemetry queued while the broker was away
	seq     uint64 // of a reliable message
	key     string // device, for thinning
}

// flight is a reliable message handed to paho, awaiting its PUBACK.
type flight struct {
	seq  uint64
	tok  paho.Token
	sent time.Time
}

// Publisher publishes to one broker. Its methods are safe for concurrent
// use. Start it once, Close it once.
type Publisher struct {
	opts   Options
	topics Topics
	log    *slog.Logger
	client paho.Client

	mu        sync.Mutex
	telemetry []message  // oldest first, at most opts.Queue
	rel       reliable   // alerts and other reliable messages, oldest first, never dropped
	tlog      *queue.Log // telemetry buffered during an outage, with a spool folder
	inflight  int
	active    *message // latest retained alerts list, if not yet sent
	status    map[string]json.RawMessage
	restate   bool // the state message must be sent again (status changed)
	since     time.Time
	stats     Stats
	lastErr   error
	lastWarn  time.Time // of a failed connection attempt
	unwarned  int

	wake    chan struct{} // a message was queued
	flush   chan struct{} // closed by Close: drain, then stop
	done    chan struct{} // closed when the sender stops
	started bool
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
	if opts.SpoolBytes <= 0 {
		opts.SpoolBytes = 64 << 20
	}
	if opts.TelemetryBytes <= 0 {
		opts.TelemetryBytes = 16 << 20
	}
	if opts.Window <= 0 {
		opts.Window = 32
	}
	p := &Publisher{
		opts:   opts,
		topics: NewTopics(opts.Site, opts.Gateway),
		log:    opts.Logger.With("broker", redact(opts.Broker)),
		rel:    &memReliable{},
		wake:   make(chan struct{}, 1),
		flush:  make(chan struct{}),
		done:   make(chan struct{}),
	}
	if opts.SpoolDir != "" {
		if err := p.openSpool(); err != nil {
			return nil, err
		}
	}
	p.client = p.newClient()
	return p, nil
}

// newClient returns a paho client for one connection. A new client is
// made for every connection so that nothing paho held for a lost
// connection is sent on the next one ahead of the messages sent again
// (which would break the order of the alerts). Reconnecting, with
// backoff, is the sender's.
func (p *Publisher) newClient() paho.Client {
	opts := p.opts
	co := paho.NewClientOptions().
		AddBroker(opts.Broker).
		SetClientID(opts.ClientID).
		SetKeepAlive(opts.Keepalive).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(10*time.Second).
		SetWriteTimeout(opts.PublishTimeout).
		SetCleanSession(true).
		SetStore(nullStore{}).
		SetOrderMatters(false).
		SetWill(p.topics.State(), `{"online":false}`, 1, true).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			// paho may call this late, after the sender has noticed
			// the loss and connected a new client; the sender counts
			// the loss, this only says why
			p.log.Warn("mqtt connection lost", "err", err)
		})
	if opts.Username != "" {
		co.SetUsername(opts.Username)
		co.SetPassword(opts.Password)
	}
	if opts.TLS != nil {
		co.SetTLSConfig(opts.TLS)
	}
	return paho.NewClient(co)
}

// cl returns the client of the current connection.
func (p *Publisher) cl() paho.Client {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.client
}

// dial makes one connection attempt with a new client.
func (p *Publisher) dial(ctx context.Context) bool {
	c := p.newClient()
	tok := c.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return false
	case <-time.After(15 * time.Second):
	}
	if err := tokenErr(tok); err != nil || !c.IsConnectionOpen() {
		if err == nil {
			err = errors.New("connection closed at once")
		}
		p.connectFailed(err)
		return false
	}
	p.mu.Lock()
	old := p.client
	p.client = c
	p.stats.Connects++
	p.stats.Connected = true
	p.lastWarn, p.unwarned, p.lastErr = time.Time{}, 0, nil
	p.mu.Unlock()
	if old != nil && old != c {
		go old.Disconnect(0) // already lost; releases what paho still holds
	}
	p.log.Info("mqtt connected")
	return true
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
	go p.send(ctx)
	return nil
}

// Publish queues a poll's readings as a telemetry message. It never
// blocks on the broker. While the broker is away, with a spool folder,
// the message is buffered on disk (thinned when a budget is reached) and
// sent later marked "late":true; without one, it waits in memory and the
// oldest is dropped when the queue is full. It implements poll.Sink.
func (p *Publisher) Publish(device string, t time.Time, rs []drivers.Reading) {
	payload := appendTelemetry(make([]byte, 0, 64+48*len(rs)), device, t, rs)
	m := message{topic: p.topics.Telemetry(device), payload: payload, qos: p.opts.TelemetryQoS, key: device}
	p.mu.Lock()
	m.late = !p.connected()
	if p.tlog != nil && (m.late || p.tlog.Len() > 0) {
		p.mu.Unlock()
		p.buffer(m)
		p.poke()
		return
	}
	if len(p.telemetry) >= p.opts.Queue {
		p.telemetry = p.telemetry[1:]
		p.stats.TelemetryDropped++
	}
	p.telemetry = append(p.telemetry, m)
	p.mu.Unlock()
	p.poke()
}

// buffer stores a telemetry message in the spool, thinning the buffered
// telemetry first when a budget is reached.
func (p *Publisher) buffer(m message) {
	over := func() bool {
		t := p.tlog.Size()
		return t+int64(len(m.payload)) > p.opts.TelemetryBytes || t+p.relSize()+int64(len(m.payload)) > p.opts.SpoolBytes
	}
	if over() {
		n, err := p.tlog.Thin(2)
		if err != nil {
			p.log.Warn("mqtt: buffered telemetry not thinned", "err", err)
		}
		p.mu.Lock()
		p.stats.TelemetryThinned += uint64(n)
		p.mu.Unlock()
		if n > 0 {
			p.log.Info("mqtt: spool budget reached; buffered telemetry thinned", "dropped", n, "kept", p.tlog.Len())
		}
		if over() {
			p.mu.Lock()
			p.stats.TelemetryDropped++
			p.mu.Unlock()
			return
		}
	}
	var flags uint8
	if m.late {
		flags = flagLate
	}
	if _, err := p.tlog.Append(queue.Record{Key: m.key, Topic: m.topic, Flags: flags, Payload: m.payload}); err != nil {
		p.log.Warn("mqtt: telemetry not buffered", "device", m.key, "err", err)
		p.mu.Lock()
		p.stats.TelemetryDropped++
		p.mu.Unlock()
	}
}

// relSize is the spool's size taken by reliable messages.
func (p *Publisher) relSize() int64 {
	if d, ok := p.rel.(*diskReliable); ok {
		return d.l.Size()
	}
	return 0
}

// PublishAlert queues an alert event (CONTRACTS section 4 JSON) on the
// device's alert topic at QoS 1. Alerts are never dropped; with a spool
// folder the event is on disk (fsync'd) before PublishAlert returns, and
// an error means it could not be written there. It is delivered at least
// once, byte for byte the same each time, in order.
func (p *Publisher) PublishAlert(device string, event []byte) error {
	return p.PublishReliable(device, p.topics.Alert(device), event, false)
}

// PublishReliable queues a message that must be delivered at least once,
// in order with the alerts, at QoS 1: a shed command, an acknowledgement.
// key names its source (a device, a group) in the spool. Like
// PublishAlert, it never blocks on the broker and the message is on disk
// when it returns (with a spool folder).
func (p *Publisher) PublishReliable(key, topic string, payload []byte, retain bool) error {
	m := message{topic: topic, payload: append([]byte(nil), payload...), qos: 1, retain: retain}
	if err := p.rel.add(key, m); err != nil {
		return err
	}
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

// connected reports whether the current connection is up, with p.mu
// held: paho tells a lost connection (IsConnectionOpen) before its
// connection-lost handler has run.
func (p *Publisher) connected() bool {
	return p.stats.Connected && p.client != nil && p.client.IsConnectionOpen()
}

// Stats returns the counters.
func (p *Publisher) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Connected = p.connected()
	s.TelemetryQueued = len(p.telemetry)
	s.AlertsQueued = p.rel.len()
	s.AlertsInFlight = p.inflight
	if p.tlog != nil {
		s.TelemetryQueued += p.tlog.Len()
		s.SpoolBytes = p.tlog.Size() + p.relSize()
	}
	if p.lastErr != nil && !s.Connected {
		s.LastError = p.lastErr.Error()
	}
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
	c := p.cl()
	if c.IsConnectionOpen() {
		tok := c.Publish(p.topics.State(), 1, true, `{"online":false}`)
		if !waitToken(ctx, tok, p.opts.PublishTimeout) {
			err = fmt.Errorf("mqtt: offline state to %s: %w", redact(p.opts.Broker), tokenErr(tok))
		}
	}
	c.Disconnect(250)
	select {
	case <-p.done: // the sender stopped: the spool may be closed
		err = errors.Join(err, p.rel.close())
		if p.tlog != nil {
			err = errors.Join(err, p.tlog.Close())
		}
	default:
	}
	p.log.Info("mqtt disconnected")
	return err
}

// LastError returns the last connection error, classified (errors.Is
// with ErrUnknownAuthority, ErrNotAuthorized ...), or nil when connected
// or no attempt failed yet.
func (p *Publisher) LastError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.connected() {
		return nil
	}
	return p.lastErr
}

// connectFailed counts a failed connection attempt and logs the first,
// then at most one a minute with the count of the others.
func (p *Publisher) connectFailed(err error) {
	side := tlsSide{on: p.opts.TLS != nil}
	if side.on {
		side.clientCert = len(p.opts.TLS.Certificates) > 0 || p.opts.TLS.GetClientCertificate != nil
	}
	err = classify(p.opts.Broker, side, err)
	p.mu.Lock()
	p.stats.ConnectFailures++
	p.lastErr = err
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

// next takes the next message to send after the reliable ones: the
// active list, then telemetry. ok is false when nothing is queued.
func (p *Publisher) next() (m message, kind int, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
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
	kindActive = iota + 1
	kindTelemetry
)

// send drains the queues while connected. On every (re)connection it first
// publishes the online state. Reliable messages go out in a window of
// opts.Window unacknowledged publishes; acknowledgements are taken in
// order, and on a failure (an error, no acknowledgement in time, the
// connection lost) everything from the oldest unacknowledged message on
// is sent again, in order.
func (p *Publisher) send(ctx context.Context) {
	defer close(p.done)
	backoff := 100 * time.Millisecond
	announced := false
	flushing := false
	var inflight []flight
	var cursor uint64 // the last reliable message handed to paho
	var nextDial time.Time
	redial := min(time.Second, p.opts.ReconnectMax)
	rewind := func() {
		if len(inflight) > 0 {
			cursor = inflight[0].seq - 1
		}
		inflight = nil
		p.mu.Lock()
		p.inflight = 0
		p.mu.Unlock()
	}
	pause := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, p.opts.ReconnectMax)
		return true
	}
	up := false // the current client has been connected
	for {
		if !p.cl().IsConnectionOpen() {
			if up {
				up = false
				p.mu.Lock()
				p.stats.Lost++
				p.stats.Connected = false
				p.mu.Unlock()
			}
			rewind()
			announced = false
			if wait := time.Until(nextDial); wait > 0 && !flushing {
				select {
				case <-ctx.Done():
					return
				case <-p.flush:
					flushing = true // one more attempt, then stop
				case <-time.After(wait):
				}
				continue
			}
			if !p.dial(ctx) {
				if flushing || ctx.Err() != nil {
					return // cannot flush while disconnected
				}
				nextDial = time.Now().Add(redial)
				redial = min(2*redial, p.opts.ReconnectMax)
				continue
			}
			up = true
			redial = min(time.Second, p.opts.ReconnectMax)
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
				if !pause() {
					return
				}
				continue
			}
			announced = true
		}

		// acknowledgements, in order
		progress := false
		var failed error
		for len(inflight) > 0 {
			f := inflight[0]
			select {
			case <-f.tok.Done():
				failed = f.tok.Error()
			default:
				if time.Since(f.sent) > p.opts.PublishTimeout {
					failed = errors.New("no acknowledgement in time")
				}
			}
			if failed != nil || !isDone(f.tok) {
				break
			}
			p.rel.ack(f.seq)
			inflight = inflight[1:]
			progress = true
			p.mu.Lock()
			p.stats.AlertsSent++
			p.mu.Unlock()
		}
		if failed != nil {
			p.log.Warn("mqtt publish failed; sending again from the oldest unacknowledged message", "err", failed, "in_flight", len(inflight))
			rewind()
			if !pause() {
				return
			}
			continue
		}
		// fill the window
		if len(inflight) < p.opts.Window {
			ms, err := p.rel.next(cursor, p.opts.Window-len(inflight))
			if err != nil {
				p.log.Error("mqtt: spool read failed", "err", err)
			}
			for _, m := range ms {
				tok := p.cl().Publish(m.topic, 1, m.retain, m.payload)
				inflight = append(inflight, flight{seq: m.seq, tok: tok, sent: time.Now()})
				cursor = m.seq
				progress = true
			}
		}
		p.mu.Lock()
		p.inflight = len(inflight)
		p.mu.Unlock()

		sent, ok := p.sendOther(ctx)
		if !ok {
			if !pause() {
				return
			}
			continue
		}
		if sent || progress {
			backoff = 100 * time.Millisecond
			continue
		}
		if flushing && len(inflight) == 0 && p.rel.len() == 0 {
			return
		}
		var acked <-chan struct{}
		if len(inflight) > 0 {
			acked = inflight[0].tok.Done()
		}
		select {
		case <-ctx.Done():
			return
		case <-p.flush:
			flushing = true
		case <-p.wake:
		case <-acked:
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func isDone(tok paho.Token) bool {
	select {
	case <-tok.Done():
		return true
	default:
		return false
	}
}

// sendOther sends the active alerts list or one telemetry message, or
// a batch of buffered telemetry. sent is false when there was nothing to
// send; ok is false when a publish failed.
func (p *Publisher) sendOther(ctx context.Context) (sent, ok bool) {
	m, kind, has := p.next()
	if !has {
		if p.tlog == nil || p.tlog.Len() == 0 {
			return false, true
		}
		return true, p.sendBuffered(ctx)
	}
	payload := m.payload
	if m.late {
		payload = markLate(payload)
	}
	tok := p.cl().Publish(m.topic, m.qos, m.retain, payload)
	done := waitToken(ctx, tok, p.opts.PublishTimeout)
	p.mu.Lock()
	switch {
	case done && kind == kindTelemetry:
		p.stats.TelemetrySent++
		if m.late {
			p.stats.TelemetryLate++
		}
	case !done && kind == kindTelemetry:
		p.stats.TelemetryDropped++
	case !done && kind == kindActive && p.active == nil:
		p.active = &m // resend unless a newer list came
	}
	p.mu.Unlock()
	if !done {
		p.log.Warn("mqtt publish failed", "topic", m.topic, "err", tokenErr(tok))
	}
	return true, done
}

// sendBuffered sends up to 64 messages of the telemetry buffered in the
// spool, oldest first.
func (p *Publisher) sendBuffered(ctx context.Context) bool {
	rs, err := p.tlog.Next(0, 64)
	if err != nil {
		p.log.Warn("mqtt: buffered telemetry unreadable; skipped", "err", err)
	}
	var seqs []uint64
	var late uint64
	defer func() {
		if len(seqs) > 0 {
			if err := p.tlog.Ack(seqs...); err != nil {
				p.log.Warn("mqtt: buffered telemetry not marked sent", "err", err)
			}
		}
		p.mu.Lock()
		p.stats.TelemetrySent += uint64(len(seqs))
		p.stats.TelemetryLate += late
		p.mu.Unlock()
	}()
	for _, r := range rs {
		payload := r.Payload
		if r.Flags&flagLate != 0 {
			payload = markLate(payload)
		}
		tok := p.cl().Publish(r.Topic, p.opts.TelemetryQoS, false, payload)
		if !waitToken(ctx, tok, p.opts.PublishTimeout) {
			p.log.Warn("mqtt publish failed", "topic", r.Topic, "err", tokenErr(tok))
			return false
		}
		seqs = append(seqs, r.Seq)
		if r.Flags&flagLate != 0 {
			late++
		}
	}
	if err != nil && len(rs) == 0 {
		return false
	}
	return true
}

// markLate adds "late":true to a JSON object.
func markLate(payload []byte) []byte {
	if len(payload) < 2 || payload[0] != '{' {
		return payload
	}
	out := make([]byte, 0, len(payload)+12)
	out = append(out, `{"late":true`...)
	if payload[1] != '}' {
		out = append(out, ',')
	}
	return append(out, payload[1:]...)
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
	tok := p.cl().Publish(p.topics.State(), 1, true, st)
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

// openSpool opens the queues of the spool folder: reliable messages in
// alerts/, buffered telemetry in telemetry/. Alert files of the older
// spool format are moved into the queue.
func (p *Publisher) openSpool() error {
	dir := p.opts.SpoolDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("mqtt: spool folder: %w", err)
	}
	al, err := queue.Open(filepath.Join(dir, "alerts"), queue.Options{Logger: p.log})
	if err != nil {
		return fmt.Errorf("mqtt: spool: %w", err)
	}
	tl, err := queue.Open(filepath.Join(dir, "telemetry"), queue.Options{NoSync: true, Logger: p.log})
	if err != nil {
		_ = al.Close()
		return fmt.Errorf("mqtt: spool: %w", err)
	}
	p.rel, p.tlog = &diskReliable{l: al, log: p.log}, tl
	if err := migrateSpool(dir, p.rel, p.log); err != nil {
		_ = al.Close()
		_ = tl.Close()
		return err
	}
	if n := al.Len(); n > 0 {
		p.log.Info("mqtt: messages from the spool queued", "count", n, "telemetry", tl.Len())
	}
	return nil
}
