package broker

import (
	"log/slog"
	"net"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// takeoverWait bounds how long a client reconnecting under the ID of a
// live connection waits for that connection to be done.
const takeoverWait = 5 * time.Second

// conns tracks the connections whose handler is still running.
type conns struct {
	mu   sync.Mutex
	live map[net.Conn]chan struct{}
}

func (c *conns) open(nc net.Conn) chan struct{} {
	done := make(chan struct{})
	c.mu.Lock()
	c.live[nc] = done
	c.mu.Unlock()
	return done
}

func (c *conns) close(nc net.Conn, done chan struct{}) {
	c.mu.Lock()
	delete(c.live, nc)
	c.mu.Unlock()
	close(done)
}

// done returns the channel closed when nc's handler returns, or nil when
// it is not running.
func (c *conns) done(nc net.Conn) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.live[nc]
}

// trackedTCP is the TCP listener, telling conns when a connection's
// handler starts and when it has returned.
type trackedTCP struct {
	*listeners.TCP
	conns *conns
}

// Serve serves connections as the TCP listener does.
func (l trackedTCP) Serve(establish listeners.EstablishFn) {
	l.TCP.Serve(func(id string, nc net.Conn) error {
		done := l.conns.open(nc)
		defer l.conns.close(nc, done)
		return establish(id, nc)
	})
}

// takeover makes a client that connects under the ID of a live
// connection (a gateway reconnecting after its link dropped, before the
// broker noticed) wait until the old connection's handler has finished.
// Without it, a message the old connection had acknowledged but not yet
// passed on could reach subscribers after the first messages of the new
// connection, out of the order the publisher sent them, and the old
// connection's clean-up could run after the new session started.
type takeover struct {
	mqtt.HookBase
	srv   *mqtt.Server
	conns *conns
	log   *slog.Logger
}

// ID names the hook.
func (h *takeover) ID() string { return "emberwatch-takeover" }

// Provides reports the one event the hook handles.
func (h *takeover) Provides(b byte) bool { return b == mqtt.OnSessionEstablish }

// OnSessionEstablish closes the old connection of the same client ID, if
// any, and waits (at most takeoverWait) for its handler to return. It
// runs after the client authenticated, before the session is taken over.
func (h *takeover) OnSessionEstablish(cl *mqtt.Client, _ packets.Packet) {
	old, ok := h.srv.Clients.Get(cl.ID)
	if !ok || old == cl || old.Net.Conn == nil {
		return
	}
	done := h.conns.done(old.Net.Conn)
	if done == nil {
		return
	}
	old.Stop(packets.ErrSessionTakenOver)
	select {
	case <-done:
	case <-time.After(takeoverWait):
		h.log.Warn("broker: the connection taken over is still being handled; going on", "client", cl.ID, "old_remote", old.Net.Remote, "waited", takeoverWait)
	}
}
