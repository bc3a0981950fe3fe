package modbus_test

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
	"github.com/emberwatch/emberwatch/drivers/modbus"
	firmwareconfig "github.com/emberwatch/emberwatch/firmware-config"
	"github.com/emberwatch/emberwatch/testbench/modbussim"
)

// These tests run the driver against the project's simulator: Modbus TCP
// served by github.com/simonvetter/modbus's server, and RTU paced at the
// line's speed on a pty pair and over TCP.

// simValues gives every point of p a distinct value its type can carry.
func simValues(p *modbus.Profile) modbussim.Map {
	m := modbussim.Map{Values: map[string]float64{}, Text: map[string]string{}}
	for i, pt := range p.Points {
		switch {
		case pt.Type == modbus.String:
			m.Text[pt.Point] = fmt.Sprintf("SIM%d", i)
		case pt.Enum != nil:
			for _, t := range pt.Enum {
				m.Text[pt.Point] = t
				break
			}
		default:
			scale := 1.0
			if pt.Scale != nil {
				scale = *pt.Scale
			}
			m.Values[pt.Point] = float64(i%40+3) * scale
		}
	}
	return m
}

func compareSim(t *testing.T, sim *modbussim.Sim, got []drivers.Reading) {
	t.Helper()
	vals, texts := sim.Values(), sim.Texts()
	served := map[string]bool{}
	for k := range vals {
		served[k] = true
	}
	for k := range texts {
		served[k] = true
	}
	if len(got) != len(served) {
		t.Errorf("%d readings, the simulator serves %d points", len(got), len(served))
	}
	for _, r := range got {
		if text, ok := texts[r.Point]; ok {
			if r.Text != text {
				t.Errorf("%s = %q, served %q", r.Point, r.Text, text)
			}
			continue
		}
		want, ok := vals[r.Point]
		if !ok || !(r.Value == want || math.IsNaN(r.Value) && math.IsNaN(want)) {
			t.Errorf("%s = %v, served %v (%v)", r.Point, r.Value, want, ok)
		}
	}
}

func loadShipped(t testing.TB, name string) *modbus.Profile {
	t.Helper()
	p, err := modbus.LoadProfile(firmwareconfig.Profiles(), "modbus/"+name+".yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestAgainstSimulator(t *testing.T) {
	names, _ := fs.Glob(firmwareconfig.Profiles(), "modbus/*.yaml")
	for _, n := range names {
		p := loadShipped(t, strings.TrimSuffix(strings.TrimPrefix(n, "modbus/"), ".yaml"))
		transports := []struct {
			name string
			open func(ctx context.Context, t *testing.T, b *modbussim.Bus) *modbus.Client
		}{
			{"tcp", func(ctx context.Context, t *testing.T, b *modbussim.Bus) *modbus.Client {
				a, err := b.ServeTCP(ctx, "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				return modbus.NewTCPClient(a.String(), modbus.ClientOptions{})
			}},
			{"rtutcp", func(ctx context.Context, t *testing.T, b *modbussim.Bus) *modbus.Client {
				a, err := b.ServeRTUOverTCP(ctx, "127.0.0.1:0", 115200)
				if err != nil {
					t.Fatal(err)
				}
				return modbus.NewRTUOverTCPClient(a.String(), modbus.ClientOptions{})
			}},
			{"rtu-pty", func(ctx context.Context, t *testing.T, b *modbussim.Bus) *modbus.Client {
				pt, err := modbussim.OpenPTY()
				if err != nil {
					t.Skipf("no pty: %v", err)
				}
				t.Cleanup(func() { pt.Close() })
				go b.ServeRTU(ctx, pt.Server, 115200)
				return modbus.NewRTUClient(modbus.SerialConfig{Device: pt.Path, Baud: 115200}, modbus.ClientOptions{})
			}},
		}
		for _, tr := range transports {
			t.Run(p.Name+"/"+tr.name, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				sim, err := modbussim.New(p, simValues(p), modbussim.Options{})
				if err != nil {
					t.Fatal(err)
				}
				b := modbussim.NewBus()
				if err := b.Add(4, sim); err != nil {
					t.Fatal(err)
				}
				c := tr.open(ctx, t, b)
				defer c.Close()
				d := modbus.NewDevice("sim-4", 4, p, c, modbus.Options{})
				got, err := d.Poll(ctx)
				if err != nil {
					t.Fatal(err)
				}
				compareSim(t, sim, got)
			})
		}
	}
}

// TestSimulatorRTUThroughput polls the rack BMS over RTU at 19200 baud
// against the simulator's paced line and reports registers per second.
func TestSimulatorRTUThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	p := loadShipped(t, "generic-rack-bms")
	sim, err := modbussim.New(p, simValues(p), modbussim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b := modbussim.NewBus()
	_ = b.Add(1, sim)
	pt, err := modbussim.OpenPTY()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer pt.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.ServeRTU(ctx, pt.Server, 19200)
	c := modbus.NewRTUClient(modbus.SerialConfig{Device: pt.Path, Baud: 19200}, modbus.ClientOptions{})
	defer c.Close()
	// Warm up (opens the line), then time whole 125-register reads. The
	// fastest read is judged: it is what the transport can do, while a
	// total over several reads also counts the time other processes held
	// the CPU on a loaded machine.
	if _, err := c.ReadRegisters(ctx, 1, modbus.Holding, 100, 125); err != nil {
		t.Fatal(err)
	}
	const reads = 6
	best := time.Duration(1<<63 - 1)
	for i := 0; i < reads; i++ {
		start := time.Now()
		if _, err := c.ReadRegisters(ctx, 1, modbus.Holding, 100, 125); err != nil {
			t.Fatal(err)
		}
		best = min(best, time.Since(start))
	}
	rate := 125 / best.Seconds()
	char := modbussim.CharTime(19200).Seconds()
	max := 125 / ((8 + 3.5 + 255 + 3.5) * char)
	t.Logf("RTU at 19200 baud against the simulator: %.0f registers/s on the fastest of %d reads, %.1f %% of the line's %.0f", rate, reads, 100*rate/max, max)
	if rate < 0.7*max {
		t.Errorf("%.0f registers/s is under 70 %% of the line's %.0f", rate, max)
	}
	d := modbus.NewDevice("bms-1", 1, p, c, modbus.Options{})
	start := time.Now()
	got, err := d.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	compareSim(t, sim, got)
	t.Logf("a poll of the rack BMS (%d points, %d requests) takes %v at 19200 baud", len(got), len(d.Plan()), time.Since(start).Round(time.Millisecond))
}

// BenchmarkPollSimulatorTCP500 polls the 500-register profile of
// BenchmarkPlan500 from the simulator over Modbus TCP (simonvetter's
// server on the loopback): time and allocations per poll.
func BenchmarkPollSimulatorTCP500(b *testing.B) {
	p := modbus.Profile500()
	sim, err := modbussim.New(p, simValues(p), modbussim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	bus := modbussim.NewBus()
	_ = bus.Add(1, sim)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := bus.ServeTCP(ctx, "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	c := modbus.NewTCPClient(a.String(), modbus.ClientOptions{})
	defer c.Close()
	d := modbus.NewDevice("bms-bench", 1, p, c, modbus.Options{})
	b.ReportAllocs()
	for b.Loop() {
		got, err := d.Poll(ctx)
		if err != nil || len(got) != len(p.Points) {
			b.Fatalf("%d readings, %v", len(got), err)
		}
	}
	b.ReportMetric(float64(len(d.Plan())), "requests/poll")
}
