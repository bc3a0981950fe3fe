package shed

import (
	"context"
	"crypto/ed25519"
	"slices"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/command"
	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/agent/host"
)

// BenchmarkCriticalToHost measures, over loopback with the embedded broker,
// the time from a critical alert reaching the shed controller to the
// signed shutdown command being verified by a host listener: engine, Ed25519
// signature, QoS 1 publish, broker, delivery, parse, verification. Run it
// as
//
//	go test -run '^$' -bench CriticalToHost -benchtime 1000x ./agent/shed
//
// and read p50-ms and p99-ms. The detector's own time for the triggering
// reading is measured by agent/detect's benchmarks (microseconds).
func BenchmarkCriticalToHost(b *testing.B) { benchLatency(b, startBroker(b)) }

func benchLatency(b *testing.B, url string) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	plan, err := ParsePlan("plan.yaml", []byte(`
groups: [{name: rack-a, hosts: [web-1], outlets: [{pdu: pdu-a, outlets: [1]}]}]
tiers: [{name: web, groups: [rack-a], deadline: 60s}]
rules: [{kind: thermal_runaway, level: critical, tiers: [web]}]
`))
	if err != nil {
		b.Fatal(err)
	}
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	signer, _ := command.NewSigner(key, "dc-1", "gw-1", "")
	arrived := make(chan int64, 16)
	l, err := host.New(host.Config{Broker: url, Site: "dc-1", Group: "rack-a", Host: "web-1", DryRun: true},
		host.Options{Keys: []ed25519.PublicKey{signer.PublicKey()}, Logger: quiet(), OnResult: func(r host.Result) {
			if r.Err == nil {
				arrived <- r.Command.Seq
			}
		}})
	if err != nil {
		b.Fatal(err)
	}
	online := make(chan struct{}, 1)
	link, err := Dial(ctx, LinkOptions{Broker: url, Site: "dc-1", Gateway: "gw-1", Logger: quiet(), OnAck: func(a command.Ack) {
		if a.Status == command.AckOnline {
			select {
			case online <- struct{}{}:
			default:
			}
		}
	}})
	if err != nil {
		b.Fatal(err)
	}
	defer link.Close()
	go func() { _ = l.Run(ctx) }()
	select {
	case <-online:
	case <-time.After(10 * time.Second):
		b.Fatal("listener not online")
	}
	ev := detect.Event{ID: "a1", Device: "bms-1", Subject: "battery.module.3", Kind: detect.KindThermalRunaway,
		Level: detect.LevelCritical, State: detect.StateRaised}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		eng, _ := NewEngine(plan)
		var seq int64
		ctl, _ := NewController(eng, ControllerOptions{Site: "dc-1", Signer: signer, Publisher: link, Logger: quiet(),
			OnOutcome: func(o Outcome) { seq = o.Seq }})
		start := time.Now()
		ctl.Alert(ctx, ev)
		for got := int64(-1); got != seq; {
			select {
			case got = <-arrived:
			case <-time.After(5 * time.Second):
				b.Fatalf("run %d: command %d did not arrive", i, seq)
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Millisecond), "max-ms")
}
