package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/emberwatch/emberwatch/agent/broker"
	"github.com/emberwatch/emberwatch/agent/console"
)

// The demo gateway's identity: its topics are emberwatch/v1/demo/gw-1/...
const (
	Site    = "demo"
	Gateway = "gw-1"
	Device  = "bms-1"
)

// DefaultLength is the scenario time a run lasts unless told otherwise.
const DefaultLength = 60 * time.Second

// Options configures a run. The zero value runs the default scenario at
// real speed for DefaultLength, writing a line log to io.Discard.
type Options struct {
	// Speed runs the scenario that many times faster than the wall clock
	// (default 1). The agent polls every second of scenario time.
	Speed float64
	// Duration is the wall time of the run; default DefaultLength/Speed.
	Duration time.Duration
	// Forever runs until ctx is done, repeating the scenario.
	Forever bool
	// Out receives the console view; io.Discard if nil.
	Out io.Writer
	// Terminal selects full-screen redraws of the view; otherwise one
	// line per update and a final screen.
	Terminal bool
	// Logger receives the components' logs; a discarding logger if nil.
	Logger *slog.Logger
	// Scenario is the script; zero fields take DefaultScenario's values.
	Scenario Scenario
	// Seed makes the rack's noise reproducible.
	Seed uint64
	// NewPoller returns the agent's poller of the rack; NewDirectPoller
	// when nil. It may start a simulator that stops with ctx.
	NewPoller func(ctx context.Context, sim *Sim) (Poller, error)
	// NewPublisher returns the agent's publisher to the broker at url;
	// NewMQTTPublisher when nil.
	NewPublisher func(ctx context.Context, url, site, gateway string) (Publisher, error)
}

// Result is what a finished run saw.
type Result struct {
	// Broker is the URL the embedded broker listened on.
	Broker string
	// Polls counts the agent's successful polls; Errors its failed ones.
	Polls, Errors int
	// ScenarioTime is how far the scenario got.
	ScenarioTime time.Duration
	// State is the console's final state: what reached it through the
	// broker.
	State *console.State
}

// Run runs the demo until its duration has passed (or, with Forever, until
// ctx is done) and returns what the console received. An interrupted run
// (ctx done) is not an error.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Speed <= 0 {
		opts.Speed = 1
	}
	if opts.Duration <= 0 {
		opts.Duration = time.Duration(float64(DefaultLength) / opts.Speed)
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.NewPoller == nil {
		opts.NewPoller = func(_ context.Context, sim *Sim) (Poller, error) { return NewDirectPoller(sim), nil }
	}
	if opts.NewPublisher == nil {
		opts.NewPublisher = func(ctx context.Context, url, site, gw string) (Publisher, error) {
			return NewMQTTPublisher(ctx, url, site, gw)
		}
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if !opts.Forever {
		var stop context.CancelFunc
		runCtx, stop = context.WithTimeout(runCtx, opts.Duration)
		defer stop()
	}

	// The broker outlives the agent and the console: it stops last.
	brokerCtx, stopBroker := context.WithCancel(context.Background())
	defer stopBroker()
	b := broker.New(broker.Options{Logger: log})
	if err := b.Start(brokerCtx); err != nil {
		return nil, err
	}
	defer b.Close()
	res := &Result{Broker: b.URL()}

	// The console subscribes before the agent publishes, so it sees the
	// first poll.
	view := console.NewView(opts.Out, console.Options{
		Terminal: opts.Terminal,
		Title:    "emberwatch demo",
		Site:     Site,
		Gateway:  Gateway,
		Broker:   b.URL(),
		Logger:   log,
	})
	viewCtx, stopView := context.WithCancel(context.Background())
	defer stopView()
	var wg sync.WaitGroup
	watchErr := make(chan error, 1)
	wg.Add(2)
	go func() { defer wg.Done(); watchErr <- console.Watch(viewCtx, b.URL(), "emberwatch-console", view) }()
	go func() { defer wg.Done(); view.Run(viewCtx) }()
	if err := waitConnected(runCtx, view, watchErr); err != nil {
		stopView()
		wg.Wait()
		return nil, err
	}

	sim := NewSim(opts.Scenario, opts.Seed)
	simCtx, stopSim := context.WithCancel(runCtx)
	defer stopSim()
	go sim.Run(simCtx, opts.Speed, 50*time.Millisecond)

	poller, err := opts.NewPoller(runCtx, sim)
	if err != nil {
		stopView()
		wg.Wait()
		return nil, fmt.Errorf("demo: simulator: %w", err)
	}
	pub, err := opts.NewPublisher(runCtx, b.URL(), Site, Gateway)
	if err != nil {
		stopView()
		wg.Wait()
		return nil, err
	}
	interval := time.Duration(float64(time.Second) / opts.Speed)
	log.Info("demo running", "broker", b.URL(), "speed", opts.Speed, "duration", opts.Duration, "forever", opts.Forever, "poll", interval)
	res.Polls, res.Errors = agentLoop(runCtx, log, poller, pub, interval)
	pub.Close()

	// Let the last messages through the broker before the view stops.
	settle(view, 300*time.Millisecond)
	stopView()
	wg.Wait()
	if !opts.Terminal {
		view.Draw()
	}
	res.ScenarioTime = sim.Now()
	res.State = view.Snapshot()
	return res, nil
}

// agentLoop polls every interval until ctx is done and publishes each
// poll; it returns the counts of good and failed polls.
func agentLoop(ctx context.Context, log *slog.Logger, p Poller, pub Publisher, interval time.Duration) (polls, errs int) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		rs, err := p.Poll(ctx)
		switch {
		case ctx.Err() != nil:
			return polls, errs
		case err != nil:
			errs++
			log.Warn("demo: poll failed", "device", Device, "err", err)
		default:
			if err := pub.Telemetry(ctx, Device, rs); err != nil && ctx.Err() == nil {
				errs++
				log.Warn("demo: publish failed", "device", Device, "err", err)
			} else {
				polls++
			}
		}
		select {
		case <-ctx.Done():
			return polls, errs
		case <-t.C:
		}
	}
}

// waitConnected waits until the view's client is connected.
func waitConnected(ctx context.Context, v *console.View, watchErr <-chan error) error {
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !v.Snapshot().Connected {
		select {
		case err := <-watchErr:
			if err == nil {
				err = errors.New("console stopped")
			}
			return fmt.Errorf("demo: console: %w", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return errors.New("demo: console did not connect to the broker within 10s")
		case <-tick.C:
		}
	}
	return nil
}

// settle waits until no message has reached the view for quiet, or twice
// that in all.
func settle(v *console.View, quiet time.Duration) {
	limit := time.After(2 * quiet)
	for {
		select {
		case <-v.Changed():
		case <-time.After(quiet):
			return
		case <-limit:
			return
		}
	}
}
