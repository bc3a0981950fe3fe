package shed

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/alert"
	"github.com/emberwatch/emberwatch/agent/broker"
	"github.com/emberwatch/emberwatch/agent/command"
	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/agent/host"
	"github.com/emberwatch/emberwatch/agent/nutd"
	"github.com/emberwatch/emberwatch/agent/trace"
	"github.com/emberwatch/emberwatch/testbench/scenario"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func startBroker(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b := broker.New(broker.Options{Logger: quiet()})
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-b.Done() })
	return b.URL()
}

// fakePDU is an OutletSwitch that records each switch with what the
// hosts had said by then and the controller's clock.
type fakePDU struct {
	mu     sync.Mutex
	on     map[Outlet]bool
	events []switchEvent
	seen   func() map[string][]string // host -> statuses so far
	clock  *lastNow
}

type switchEvent struct {
	at     time.Time
	outlet Outlet
	acks   map[string][]string
	// now is the controller's time of the step that switched the
	// outlet: the engine's own "now", against which it judged the
	// deadline (nothing reads the clock between the engine's step and
	// the first switch of it).
	now time.Time
}

// lastNow is a controller clock that remembers the last time it gave.
type lastNow struct {
	mu   sync.Mutex
	last time.Time
}

func (c *lastNow) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = time.Now()
	return c.last
}

func (c *lastNow) Last() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last
}

func (p *fakePDU) SetOutlet(_ context.Context, pdu string, n int, on bool) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	o := Outlet{PDU: pdu, Outlet: n}
	p.on[o] = on
	p.events = append(p.events, switchEvent{at: time.Now(), outlet: o, acks: p.seen(), now: p.clock.Last()})
	return p.on[o], nil
}

// firstCritical runs a runaway scenario of the testbench through the
// detector and the alert lifecycle and returns the updates up to the
// first critical thermal_runaway.
func firstCritical(t testing.TB) []alert.Update {
	t.Helper()
	s, err := scenario.New("soft_short", 1, scenario.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := detect.New(detect.DefaultConfig())
	tr := alert.New(alert.Options{})
	var ups []alert.Update
	stop := errors.New("critical")
	_, err = s.Run(context.Background(), func(r trace.Row) error {
		start := time.Now()
		for _, ev := range d.Observe(detect.Sample{Time: r.Time, Device: r.Device, Point: r.Point, Value: r.Value}) {
			for _, u := range tr.Observe(ev) {
				ups = append(ups, u)
				if u.Event.Kind == detect.KindThermalRunaway && u.Event.Level == detect.LevelCritical {
					t.Logf("the reading %s %s=%g at %s made the critical alert in %v (detector and lifecycle)",
						r.Device, r.Point, r.Value, r.Time.Format(time.RFC3339), time.Since(start))
					return stop
				}
			}
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("scenario ended without a critical runaway (%v); updates %+v", err, ups)
	}
	return ups
}

// runChain is acceptance test 1 of the shed issue: a runaway from the
// testbench -> thermal_runaway critical -> signed shed commands -> three
// dry-run host listeners acknowledge -> the PDU's outlets go off in tier
// order, none before its hosts are down or its tier's deadline passed.
// web-1 and web-2 stop quickly; db-1 takes longer than its tier's
// deadline, so both ways of ending a tier are exercised.
func runChain(t *testing.T, url string) *nutd.Server {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	plan, err := ParsePlan("plan.yaml", []byte(`
groups:
  - {name: rack-a-web, hosts: [web-1, web-2], outlets: [{pdu: pdu-a, outlets: [1, 2]}], fed_by: [bms-1]}
  - {name: rack-a-db, hosts: [db-1], outlets: [{pdu: pdu-a, outlets: [3]}], fed_by: [bms-1]}
tiers:
  - {name: web, groups: [rack-a-web], deadline: 20s}
  - {name: db, groups: [rack-a-db], deadline: 1s}
rules:
  - {kind: thermal_runaway, level: critical, device: bms-1, tiers: [web, db]}
`))
	if err != nil {
		t.Fatal(err)
	}
	eng, err := NewEngine(plan)
	if err != nil {
		t.Fatal(err)
	}
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	signer, _ := command.NewSigner(key, "dc-1", "gw-1", "")

	var mu sync.Mutex
	acks := map[string][]string{}
	seen := func() map[string][]string {
		mu.Lock()
		defer mu.Unlock()
		cp := map[string][]string{}
		for h, s := range acks {
			cp[h] = append([]string(nil), s...)
		}
		return cp
	}
	clock := &lastNow{}
	pdu := &fakePDU{on: map[Outlet]bool{}, seen: seen, clock: clock}
	nut := nutd.New(nutd.Options{Logger: quiet()})
	nut.Update("bms-1", "Rack A battery string", map[string]string{"ups.status": "OL", "battery.charge": "100"})
	var sent sync.Map // tier -> time the commands went out
	fwd := make(chan command.Ack, 64)
	link, err := Dial(ctx, LinkOptions{Broker: url, Site: "dc-1", Gateway: "gw-1", Logger: quiet(), OnAck: func(a command.Ack) {
		mu.Lock()
		acks[a.Host] = append(acks[a.Host], a.Status)
		mu.Unlock()
		fwd <- a
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	ctl, err := NewController(eng, ControllerOptions{Site: "dc-1", Signer: signer, Publisher: link, Switch: pdu, Logger: quiet(),
		StatusTopic: "emberwatch/v1/dc-1/gw-1/shed", Now: clock.Now,
		OnFSD: nut.SetFSD,
		OnOutcome: func(o Outcome) {
			if o.Error != "" {
				t.Errorf("outcome %+v", o)
			}
			if o.Kind == "send" {
				sent.LoadOrStore(o.Tier, o.Time)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			select {
			case a := <-fwd:
				ctl.Enqueue(a)
			case <-ctx.Done():
				return
			}
		}
	}()
	go ctl.Run(ctx, 20*time.Millisecond)

	var wg sync.WaitGroup
	for _, h := range []struct {
		name, group string
		stop        time.Duration
	}{{"web-1", "rack-a-web", 100 * time.Millisecond}, {"web-2", "rack-a-web", 300 * time.Millisecond}, {"db-1", "rack-a-db", 3 * time.Second}} {
		l, err := host.New(host.Config{Broker: url, Site: "dc-1", Group: h.group, Host: h.name, DryRun: true, DryRunOfflineAfter: h.stop},
			host.Options{Keys: []ed25519.PublicKey{signer.PublicKey()}, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() { defer wg.Done(); _ = l.Run(ctx) }()
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(seen()) < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(seen()) < 3 {
		t.Fatalf("hosts not online: %v", seen())
	}

	ups := firstCritical(t)
	start := time.Now()
	for _, u := range ups {
		ctl.Alert(ctx, u.Event)
	}
	for {
		pdu.mu.Lock()
		n := len(pdu.events)
		pdu.mu.Unlock()
		if n == 3 {
			break
		}
		if time.Since(start) > 20*time.Second {
			t.Fatalf("outlets switched: %d of 3; acks %v; status %+v", n, seen(), ctl.Status())
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed := time.Since(start)
	cancel()
	wg.Wait()

	pdu.mu.Lock()
	defer pdu.mu.Unlock()
	want := []Outlet{{"pdu-a", 1}, {"pdu-a", 2}, {"pdu-a", 3}}
	tierOf := map[int]int{1: 1, 2: 1, 3: 2}
	hostsOf := map[int][]string{1: {"web-1", "web-2"}, 2: {"db-1"}}
	deadlines := map[int]time.Duration{1: 20 * time.Second, 2: time.Second}
	// Tier 2 began in the controller's step that ended tier 1 and switched
	// its outlets; its deadline is judged on the controller's clock, not
	// on when its command was acknowledged by the broker (a publish on a
	// loaded machine takes a while, and a wall-clock margin flakes).
	began := map[int]time.Time{}
	if v, ok := sent.Load(1); ok {
		began[1] = v.(time.Time)
	}
	if len(pdu.events) > 0 {
		began[2] = pdu.events[0].now
	}
	for i, ev := range pdu.events {
		if ev.outlet != want[i] {
			t.Fatalf("switch %d: %v, want %v (order %v)", i, ev.outlet, want[i], pdu.events)
		}
		if pdu.on[ev.outlet] {
			t.Errorf("%v still on", ev.outlet)
		}
		tier := tierOf[ev.outlet.Outlet]
		sentAt := began[tier]
		allDown := true
		for _, h := range hostsOf[tier] {
			st := ev.acks[h]
			if !contains(st, command.AckShuttingDown) || len(st) == 0 || st[len(st)-1] != command.AckOffline {
				allDown = false
			}
		}
		pastDeadline := ev.now.Sub(sentAt) >= deadlines[tier]
		if !allDown && !pastDeadline {
			t.Errorf("outlet %v off %v after tier %d's commands, before its hosts were down (%v) or its deadline", ev.outlet, ev.at.Sub(sentAt), tier, ev.acks)
		}
		t.Logf("outlet %v off %v after tier %d began; hosts down %v", ev.outlet, ev.at.Sub(sentAt).Round(time.Millisecond), tier, allDown)
	}
	if st := ctl.Status(); st[0].Why != "hosts down" || st[1].Why != "deadline" {
		t.Errorf("tiers ended %q, %q; want hosts down, deadline", st[0].Why, st[1].Why)
	}
	t.Logf("critical alert to last outlet off: %v", elapsed.Round(time.Millisecond))
	return nut
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func TestChainEmbeddedBroker(t *testing.T) {
	nut := runChain(t, startBroker(t))
	addr := serveNUT(t, nut)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(c, "GET VAR bms-1 ups.status\nGET VAR rack-a-db ups.status\n")
	r := bufio.NewReader(c)
	for _, want := range []string{`VAR bms-1 ups.status "FSD OL"`, "ERR UNKNOWN-UPS"} {
		if l, _ := r.ReadString('\n'); strings.TrimSpace(l) != want {
			t.Errorf("NUT after the shed: %q, want %q", l, want)
		}
	}
}

// serveNUT serves nut on 127.0.0.1:0 until the test ends.
func serveNUT(t *testing.T, nut *nutd.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go func() { _ = nut.Serve(ctx, ln) }()
	return ln.Addr().String()
}
