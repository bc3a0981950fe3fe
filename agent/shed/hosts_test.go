package shed

import (
	"context"
	"crypto/ed25519"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/command"
)

func TestStartSimulatedHosts(t *testing.T) {
	url := startBroker(t)
	p, err := LoadPlan(filepath.Join("testdata", "room.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	online := map[string]bool{}
	link, err := Dial(ctx, LinkOptions{Broker: url, Site: "dc-1", Gateway: "gw-1", Logger: quiet(), OnAck: func(a command.Ack) {
		mu.Lock()
		defer mu.Unlock()
		online[a.Host] = a.Status == command.AckOnline
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	wait, err := StartSimulatedHosts(ctx, p, SimulatedHostsOptions{Broker: url, Site: "dc-1",
		Keys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}, StopAfter: time.Second, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(online)
		mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("online: %v", online)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	wait()
}
