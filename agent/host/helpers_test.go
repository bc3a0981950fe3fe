package host

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/emberwatch/emberwatch/agent/broker"
	"github.com/emberwatch/emberwatch/agent/command"
)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

// startBroker starts the embedded broker for one test.
func startBroker(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := broker.New(broker.Options{Logger: quietLog()})
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-b.Done() })
	return b.URL()
}

// client is a test MQTT client that records acknowledgements.
type client struct {
	t    testing.TB
	c    paho.Client
	mu   sync.Mutex
	acks []command.Ack
	wake chan struct{}
}

func newClient(t testing.TB, url, site string) *client {
	t.Helper()
	cl := &client{t: t, wake: make(chan struct{}, 1)}
	co := paho.NewClientOptions().AddBroker(url).SetClientID("test-" + strings.ReplaceAll(t.Name(), "/", "-")).SetOrderMatters(true)
	cl.c = paho.NewClient(co)
	if tok := cl.c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("test client connect: %v", tok.Error())
	}
	tok := cl.c.Subscribe(command.AckWildcard(site), 1, func(_ paho.Client, m paho.Message) {
		var a command.Ack
		if err := json.Unmarshal(m.Payload(), &a); err != nil {
			t.Errorf("ack %s: %v", m.Payload(), err)
			return
		}
		cl.mu.Lock()
		cl.acks = append(cl.acks, a)
		cl.mu.Unlock()
		select {
		case cl.wake <- struct{}{}:
		default:
		}
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("test client subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { cl.c.Disconnect(50) })
	return cl
}

func (cl *client) publish(topic string, payload []byte) {
	cl.t.Helper()
	if tok := cl.c.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		cl.t.Fatalf("publish: %v", tok.Error())
	}
}

// waitAck waits until an ack matching ok has arrived and returns it.
func (cl *client) waitAck(what string, ok func(command.Ack) bool) command.Ack {
	cl.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		cl.mu.Lock()
		for _, a := range cl.acks {
			if ok(a) {
				cl.mu.Unlock()
				return a
			}
		}
		cl.mu.Unlock()
		select {
		case <-cl.wake:
		case <-deadline:
			cl.mu.Lock()
			defer cl.mu.Unlock()
			cl.t.Fatalf("no %s ack in 10s; got %+v", what, cl.acks)
		}
	}
}

func (cl *client) all() []command.Ack {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	return append([]command.Ack(nil), cl.acks...)
}

// writePub writes a public key file and returns its path.
func writePub(t testing.TB, pub ed25519.PublicKey) string {
	t.Helper()
	dir := t.TempDir()
	prefix := filepath.Join(dir, "gw")
	p := prefix + ".pub"
	if err := os.WriteFile(p, []byte(base64.StdEncoding.EncodeToString(pub)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// logBuffer is a concurrency-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
