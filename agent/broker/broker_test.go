package broker_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/emberwatch/emberwatch/agent/broker"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func connect(t *testing.T, url, id string) paho.Client {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(id).SetConnectTimeout(2 * time.Second))
	if tok := c.Connect(); !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", url, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(50) })
	return c
}

func TestBrokerRelaysMessages(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := broker.New(broker.Options{Logger: discard()})
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	host, _, err := net.SplitHostPort(b.Addr())
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("Addr() = %q, want 127.0.0.1:PORT", b.Addr())
	}

	// A retained message published by the broker itself reaches a later
	// subscriber, and a client's message reaches another client.
	if err := b.Publish("emberwatch/v1/s/g/state", []byte(`{"online":true}`), true, 0); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 4)
	sub := connect(t, b.URL(), "sub")
	tok := sub.Subscribe("emberwatch/v1/s/g/#", 1, func(_ paho.Client, m paho.Message) {
		got <- m.Topic() + " " + string(m.Payload())
	})
	if !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	// The retained message is sent on the broker's own schedule after the
	// SUBACK, so it is awaited before the client publishes: the two
	// deliveries have no order between them otherwise.
	wait := func(w string) {
		t.Helper()
		select {
		case g := <-got:
			if g != w {
				t.Errorf("got %q, want %q", g, w)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("timed out waiting for %q", w)
		}
	}
	wait(`emberwatch/v1/s/g/state {"online":true}`)
	pub := connect(t, b.URL(), "pub")
	pub.Publish("emberwatch/v1/s/g/telemetry/bms-1", 1, false, `{"x":1}`).WaitTimeout(3 * time.Second)
	wait(`emberwatch/v1/s/g/telemetry/bms-1 {"x":1}`)
	if n := b.Clients(); n != 2 {
		t.Errorf("Clients() = %d, want 2", n)
	}
}

func TestBrokerStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	b := broker.New(broker.Options{Logger: discard()})
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	addr := b.Addr()
	cancel()
	select {
	case <-b.Done():
	case <-time.After(3 * time.Second):
		t.Fatal("broker did not stop after its context ended")
	}
	if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after stop", addr)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestBrokerStartErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()

	tests := []struct {
		name string
		run  func() error
	}{
		{"address in use", func() error {
			return broker.New(broker.Options{Address: taken.Addr().String(), Logger: discard()}).Start(ctx)
		}},
		{"started twice", func() error {
			b := broker.New(broker.Options{Logger: discard()})
			if err := b.Start(ctx); err != nil {
				return nil
			}
			defer b.Close()
			return b.Start(ctx)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); err == nil {
				t.Error("Start succeeded, want an error")
			}
		})
	}
}
