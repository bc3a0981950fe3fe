package broker

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// events records the order of connection events and holds the old
// connection's handler inside one PUBLISH while the new one connects.
type events struct {
	mqtt.HookBase
	mu      sync.Mutex
	seen    []string
	holding chan struct{} // closed when the handler is held
	release chan struct{} // closed to let it go on
	connect chan struct{} // closed when the new connection sent CONNECT
	hold    bool
}

func (h *events) ID() string { return "test-events" }
func (h *events) Provides(b byte) bool {
	return b == mqtt.OnPacketRead || b == mqtt.OnConnect || b == mqtt.OnSessionEstablished || b == mqtt.OnDisconnect
}

func (h *events) add(e string) {
	h.mu.Lock()
	h.seen = append(h.seen, e)
	h.mu.Unlock()
}

func (h *events) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	h.mu.Lock()
	hold := h.hold && pk.FixedHeader.Type == packets.Publish
	h.hold = h.hold && !hold
	h.mu.Unlock()
	if hold {
		close(h.holding)
		<-h.release
		h.add("old handled the publish")
	}
	return pk, nil
}

func (h *events) OnConnect(cl *mqtt.Client, _ packets.Packet) error {
	h.mu.Lock()
	n := len(h.seen)
	h.mu.Unlock()
	if n > 0 {
		close(h.connect)
	}
	return nil
}

func (h *events) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	h.add("established " + cl.Net.Remote)
}

func (h *events) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	h.add("disconnected " + cl.Net.Remote)
}

// order is the events after the old session was established, in short:
// "old" (the held publish handled), "old gone", "new" (established).
func (h *events) order() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var order []string
	for _, e := range h.seen[1:] {
		switch {
		case e == "old handled the publish":
			order = append(order, "old")
		case len(e) > 12 && e[:12] == "established ":
			order = append(order, "new")
		case len(e) > 13 && e[:13] == "disconnected ":
			order = append(order, "old gone")
		}
	}
	return order
}

// TestTakeoverWaitsForTheOldConnection: a client connecting under the ID
// of a connection the broker still handles (a gateway back after its
// link dropped, before the broker noticed) starts its session only once
// the old connection's handler is done, so what the old connection had
// in hand reaches subscribers before anything of the new one.
func TestTakeoverWaitsForTheOldConnection(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h := &events{holding: make(chan struct{}), release: make(chan struct{}), connect: make(chan struct{})}
	if err := b.srv.AddHook(h, nil); err != nil {
		t.Fatal(err)
	}
	dial := func(what string) paho.Client {
		c := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("gw").SetAutoReconnect(false))
		if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("%s connection: %v", what, tok.Error())
		}
		t.Cleanup(func() { c.Disconnect(0) })
		return c
	}
	old := dial("old")
	h.mu.Lock()
	h.hold = true
	h.mu.Unlock()
	old.Publish("emberwatch/v1/s/g/alert/bms-1", 1, false, "x")
	select {
	case <-h.holding:
	case <-time.After(10 * time.Second):
		t.Fatal("the old connection's publish never reached the broker")
	}
	newDone := make(chan struct{})
	go func() { defer close(newDone); dial("new") }()
	select {
	case <-h.connect:
	case <-time.After(10 * time.Second):
		t.Fatal("the new connection never reached the broker")
	}
	time.Sleep(200 * time.Millisecond) // without the wait, the new session starts now
	close(h.release)
	<-newDone

	// mochi runs OnSessionEstablished after it has sent the CONNACK, so
	// the new client may be connected a moment before the hook has run
	var order []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		order = h.order()
		if len(order) >= 3 || time.Now().After(deadline) {
			break
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	want := []string{"old", "old gone", "new"}
	if len(order) < 3 || order[0] != want[0] || order[1] != want[1] || order[2] != want[2] {
		t.Fatalf("events %q (%q): the new session started before the old connection was done", order, h.seen)
	}
}
