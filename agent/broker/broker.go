package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// DefaultAddress is where the broker listens when Options.Address is empty:
// the loopback interface, on a port chosen by the system.
const DefaultAddress = "127.0.0.1:0"

// Options configures a Broker. The zero value means defaults.
type Options struct {
	// Address is host:port of the TCP listener; DefaultAddress if empty.
	Address string
	// Logger receives the broker's log; slog.Default() if nil. The
	// broker's own messages are logged at debug level unless they are
	// warnings or errors.
	Logger *slog.Logger
}

// Broker is an embedded MQTT broker with one TCP listener. Start it once;
// Addr and URL are valid after Start returns. Its methods are safe for
// concurrent use.
type Broker struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	srv     *mqtt.Server
	addr    string
	started bool
	closed  bool
	done    chan struct{}
}

// New returns a broker that is not yet listening.
func New(opts Options) *Broker {
	if opts.Address == "" {
		opts.Address = DefaultAddress
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Broker{opts: opts, log: log, done: make(chan struct{})}
}

// ErrStarted is returned by Start on a broker that was already started.
var ErrStarted = errors.New("broker: already started")

// Start binds the listener and serves clients until ctx is done or Close
// is called. It returns once the listener accepts connections; the broker
// stops in the background when ctx ends (Done is closed then).
func (b *Broker) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return ErrStarted
	}
	srv := mqtt.New(&mqtt.Options{
		InlineClient: true,
		Logger:       quiet(b.log),
	})
	if err := srv.AddHook(new(auth.AllowHook), nil); err != nil {
		return fmt.Errorf("broker: auth hook: %w", err)
	}
	cs := &conns{live: map[net.Conn]chan struct{}{}}
	if err := srv.AddHook(&takeover{srv: srv, conns: cs, log: b.log}, nil); err != nil {
		return fmt.Errorf("broker: takeover hook: %w", err)
	}
	tcp := listeners.NewTCP(listeners.Config{Type: listeners.TypeTCP, ID: "tcp", Address: b.opts.Address})
	if err := srv.AddListener(trackedTCP{TCP: tcp, conns: cs}); err != nil {
		return fmt.Errorf("broker: listen on %s: %w", b.opts.Address, err)
	}
	if err := srv.Serve(); err != nil {
		_ = srv.Close()
		return fmt.Errorf("broker: serve on %s: %w", tcp.Address(), err)
	}
	b.srv, b.addr, b.started = srv, tcp.Address(), true
	b.log.Info("broker listening", "addr", b.addr)
	go func() {
		select {
		case <-ctx.Done():
			_ = b.Close()
		case <-b.done:
		}
	}()
	return nil
}

// Addr returns host:port of the listener, empty before Start.
func (b *Broker) Addr() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.addr
}

// URL returns tcp://Addr, the form MQTT client libraries take, empty before
// Start.
func (b *Broker) URL() string {
	a := b.Addr()
	if a == "" {
		return ""
	}
	return "tcp://" + a
}

// Clients returns the number of connected network clients (the inline
// client is not counted).
func (b *Broker) Clients() int {
	b.mu.Lock()
	srv := b.srv
	b.mu.Unlock()
	if srv == nil {
		return 0
	}
	n := 0
	for _, cl := range srv.Clients.GetAll() {
		if !cl.Net.Inline && !cl.Closed() {
			n++
		}
	}
	return n
}

// Publish sends a message from the broker itself, as a client would.
func (b *Broker) Publish(topic string, payload []byte, retain bool, qos byte) error {
	b.mu.Lock()
	srv := b.srv
	b.mu.Unlock()
	if srv == nil {
		return errors.New("broker: not started")
	}
	if err := srv.Publish(topic, payload, retain, qos); err != nil {
		return fmt.Errorf("broker: publish %s: %w", topic, err)
	}
	return nil
}

// Done is closed when the broker has stopped.
func (b *Broker) Done() <-chan struct{} { return b.done }

// Close stops the listener and disconnects every client. It is safe to call
// more than once and on a broker that never started.
func (b *Broker) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	defer close(b.done)
	if b.srv == nil {
		return nil
	}
	if err := b.srv.Close(); err != nil {
		return fmt.Errorf("broker: close %s: %w", b.addr, err)
	}
	b.log.Info("broker stopped", "addr", b.addr)
	return nil
}
