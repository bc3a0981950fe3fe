package main

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/emberwatch/emberwatch/agent/broker"
	"github.com/emberwatch/emberwatch/drivers/modbus"
	"github.com/emberwatch/emberwatch/testbench/modbussim"
	"github.com/emberwatch/emberwatch/testbench/rack"
)

//go:embed footprint-bms.yaml
var profileYAML []byte

// loadProfile returns the benchmark device's register map.
func loadProfile() (*modbus.Profile, error) {
	return modbus.ParseProfile("footprint-bms.yaml", profileYAML)
}

// Shape of the simulated rack behind each device: 4 modules of 7 cells.
const (
	modules     = 4
	cells       = 7
	heatEvery   = 10   // one rack in heatEvery has a module heating
	heaterWatts = 1500 // about 2.8 °C/min on a 32 kJ/K module
	// preheat is how long a heating rack has been heating when the run
	// starts, so that the detector has alerts to raise within minutes.
	preheat = 15 * time.Minute
)

// testbed is the agent's world: the broker and the simulated devices.
type testbed struct {
	BrokerURL string
	Addrs     []string // Modbus TCP host:port of each device
	wait      func()
}

// startTestbed starts the broker and n simulators, each serving a rack
// model stepped every interval, until ctx is done; Wait waits for them.
func startTestbed(ctx context.Context, n int, interval time.Duration) (*testbed, error) {
	quiet := slog.New(slog.DiscardHandler)
	p, err := loadProfile()
	if err != nil {
		return nil, err
	}
	b := broker.New(broker.Options{Logger: quiet})
	if err := b.Start(ctx); err != nil {
		return nil, fmt.Errorf("broker: %w", err)
	}
	tb := &testbed{BrokerURL: b.URL()}
	racks := make([]*rack.Rack, n)
	sims := make([]*modbussim.Sim, n)
	for i := range n {
		racks[i] = rack.New(rack.Config{Modules: modules, Cells: cells, Seed: uint64(i + 1)})
		if i%heatEvery == 0 {
			if err := racks[i].HeatModule(2, heaterWatts); err != nil {
				return nil, err
			}
			racks[i].Step(preheat)
		}
		sims[i], err = modbussim.New(p, racks[i], modbussim.Options{Name: deviceName(i), Logger: quiet})
		if err != nil {
			return nil, fmt.Errorf("simulator %s: %w", deviceName(i), err)
		}
		addr, err := sims[i].ServeTCP(ctx, "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("simulator %s: %w", deviceName(i), err)
		}
		tb.Addrs = append(tb.Addrs, addr.String())
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				for i, r := range racks {
					r.Step(interval)
					_ = sims[i].Refresh()
				}
			}
		}
	})
	wg.Go(func() { <-b.Done() })
	tb.wait = func() {
		<-ctx.Done()
		_ = b.Close()
		wg.Wait()
	}
	return tb, nil
}

func deviceName(i int) string { return fmt.Sprintf("bms-%02d", i+1) }

// serveChild is the child process: it serves the testbed, writes
// "broker URL", one "device ADDR" line per simulator and "ready" on out,
// and runs until in is closed (the parent exited) or ctx is done.
func serveChild(ctx context.Context, o options, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tb, err := startTestbed(ctx, o.Devices, o.Interval)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(out)
	fmt.Fprintln(w, "broker", tb.BrokerURL)
	for _, a := range tb.Addrs {
		fmt.Fprintln(w, "device", a)
	}
	fmt.Fprintln(w, "ready")
	if err := w.Flush(); err != nil {
		return err
	}
	go func() {
		_, _ = io.Copy(io.Discard, in)
		cancel()
	}()
	tb.wait()
	return nil
}

// readTestbed parses the child's announcement.
func readTestbed(r *bufio.Reader) (*testbed, error) {
	tb := &testbed{}
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("testbed child: %w before ready", err)
		}
		kind, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
		switch kind {
		case "broker":
			tb.BrokerURL = arg
		case "device":
			tb.Addrs = append(tb.Addrs, arg)
		case "ready":
			if tb.BrokerURL == "" || len(tb.Addrs) == 0 {
				return nil, fmt.Errorf("testbed child: ready without broker or devices")
			}
			return tb, nil
		default:
			return nil, fmt.Errorf("testbed child: unexpected line %q", line)
		}
	}
}
