package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emberwatch/emberwatch/agent/alert"
	"github.com/emberwatch/emberwatch/agent/broker"
	"github.com/emberwatch/emberwatch/agent/console"
	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/agent/poll"
	"github.com/emberwatch/emberwatch/agent/shed"
	"github.com/emberwatch/emberwatch/drivers"
)

// The demo gateway's identity: its topics are emberwatch/v1/demo/gw-1/...
const (
	Site    = "demo"
	Gateway = "gw-1"
	Device  = "bms-1"
)

// DefaultLength is the longest scenario time a run lasts unless told
// otherwise: enough for the warning, the critical alert, the hosts' 60 s
// shutdown and the outlets. A run with shedding ends DarkTail after the
// room has gone dark.
const DefaultLength = 180 * time.Second

// DarkTail is how long, in scenario time, a run goes on after every host
// is down and every outlet off, to show it.
const DarkTail = 5 * time.Second

// HostStop is how long, in scenario time, a simulated host takes to stop
// after it acknowledged a shutdown: a server's clean shutdown with its
// services and databases, about a minute.
const HostStop = 60 * time.Second

// AlertClearHold is how long a cleared alert stays clear before the clear
// is published, in the demo (the agent's default is a minute).
const AlertClearHold = 10 * time.Second

// DetectorConfig is the detector's configuration in the demo: the
// defaults, with the filter, settling, confirmation and clearing times
// shortened so that a fault developing over a minute is raised within that
// minute of a fresh start. A site keeps the defaults, which trade that
// speed for fewer false alarms.
func DetectorConfig() detect.Config {
	return detect.Config{
		Site:      Site,
		Gateway:   Gateway,
		Tick:      time.Second,
		Smoothing: 5 * time.Second,
		Settle:    2 * time.Second,
		Confirm:   5 * time.Second,
		Clear:     20 * time.Second,
	}
}

// Options configures a run. The zero value runs the default scenario at
// real speed for DefaultLength, writing a line log to io.Discard.
type Options struct {
	// Speed runs the scenario that many times faster than the wall clock
	// (default 1). The agent polls every second of scenario time.
	Speed float64
	// Duration is the wall time of the run; default DefaultLength/Speed.
	// Unless Forever or NoShed, the run also ends DarkTail (scenario
	// time) after the room has gone dark.
	Duration time.Duration
	// Listen is host:port of the embedded broker; default 127.0.0.1 on a
	// port chosen by the system.
	Listen string
	// Forever runs until ctx is done; the scenario goes on past its end
	// (the isolated module cooling).
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
	// Version is reported in the gateway's state message.
	Version string
	// NoShed leaves load shedding out: no shed controller, hosts or PDU.
	NoShed bool
	// NewPoller returns the agent's poller of the rack; when nil, a
	// ModbusPoller: the rack served over Modbus TCP and read with the
	// Modbus driver. It may start a simulator that stops with ctx.
	NewPoller func(ctx context.Context, sim *Sim) (Poller, error)
	// NewPublisher returns the agent's publisher to the broker at url;
	// NewAgentPublisher when nil.
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
	// Shed is the state of every shed tier at the end, Outlets the
	// simulated PDU's switched outlets (nil with NoShed).
	Shed    []shed.TierStatus
	Outlets map[shed.Outlet]bool
	// Timeline is the measured course of shedding, in scenario time
	// (nil with NoShed).
	Timeline *Timeline
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
		opts.NewPoller = func(ctx context.Context, sim *Sim) (Poller, error) {
			return NewModbusPoller(ctx, sim, 50*time.Millisecond, log)
		}
	}
	if opts.NewPublisher == nil {
		opts.NewPublisher = func(ctx context.Context, url, site, gw string) (Publisher, error) {
			return NewAgentPublisher(ctx, url, site, gw, opts.Version, log)
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
	b := broker.New(broker.Options{Address: opts.Listen, Logger: log})
	if err := b.Start(brokerCtx); err != nil {
		return nil, err
	}
	defer b.Close()
	res := &Result{Broker: b.URL()}

	// Readings, alerts and the console's clock show scenario time from
	// epoch. scenario is the scenario clock at the wall clock's resolution
	// (the rack itself steps every 50 ms of wall time); zero until the
	// rack starts.
	epoch := time.Now().UTC()
	var simStart atomic.Int64
	scenario := func() time.Duration {
		start := simStart.Load()
		if start == 0 {
			return 0
		}
		return time.Duration(float64(time.Since(time.Unix(0, start))) * opts.Speed)
	}

	// The console subscribes before the agent publishes, so it sees the
	// first poll.
	view := console.NewView(opts.Out, console.Options{
		Now:      func() time.Time { return epoch.Add(scenario()) },
		Terminal: opts.Terminal,
		Title:    "emberwatch demo",
		Site:     Site,
		Gateway:  Gateway,
		Broker:   b.URL(),
		Logger:   log,
	})
	viewCtx, stopView := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	stopConsole := sync.OnceFunc(func() { stopView(); wg.Wait() })
	defer stopConsole()
	watchErr := make(chan error, 1)
	wg.Add(2)
	go func() { defer wg.Done(); watchErr <- console.Watch(viewCtx, b.URL(), "emberwatch-console", view) }()
	go func() { defer wg.Done(); view.Run(viewCtx) }()
	if err := waitConnected(runCtx, view, watchErr); err != nil {
		return nil, err
	}

	sim := NewSim(opts.Scenario, opts.Seed)
	simCtx, stopSim := context.WithCancel(runCtx)
	defer stopSim()
	simStart.Store(time.Now().UnixNano())
	go sim.Run(simCtx, opts.Speed, 50*time.Millisecond)

	poller, err := opts.NewPoller(runCtx, sim)
	if err != nil {
		return nil, fmt.Errorf("demo: simulator: %w", err)
	}
	pub, err := opts.NewPublisher(runCtx, b.URL(), Site, Gateway)
	if err != nil {
		return nil, err
	}
	interval := time.Duration(float64(time.Second) / opts.Speed)
	log.Info("demo running", "broker", b.URL(), "speed", opts.Speed, "duration", opts.Duration, "forever", opts.Forever, "poll", interval)
	det := detect.New(DetectorConfig())
	clock := func() time.Time { return epoch.Add(sim.Now()) }
	onAlert := func(context.Context, detect.Event) {}
	var shedder *Shedder
	if !opts.NoShed {
		shedder, err = StartShedder(runCtx, ShedderOptions{Broker: b.URL(), Speed: opts.Speed, Scenario: scenario, Logger: log})
		if err != nil {
			pub.Close()
			return nil, err
		}
		onAlert = shedder.Alert
		if !opts.Forever {
			go func() {
				select {
				case <-shedder.Dark():
				case <-runCtx.Done():
					return
				}
				select {
				case <-time.After(time.Duration(float64(DarkTail) / opts.Speed)):
					cancel()
				case <-runCtx.Done():
				}
			}()
		}
	}
	res.Polls, res.Errors, err = runAgent(runCtx, log, poller, pub, det, clock, interval, onAlert)
	pub.Close()
	if shedder != nil {
		shedder.Close()
		res.Shed, res.Outlets, res.Timeline = shedder.Status(), shedder.Outlets(), shedder.Timeline()
	}
	if err != nil {
		return nil, err
	}

	// Let the last messages through the broker before the view stops.
	settle(view, 300*time.Millisecond)
	stopConsole()
	if !opts.Terminal {
		view.Draw()
	}
	res.ScenarioTime = sim.Now()
	res.State = view.Snapshot()
	return res, nil
}

// batch is one poll handed from the scheduler to the publishing goroutine.
type batch struct {
	device string
	rs     []drivers.Reading
}

// runAgent is the demo's agent: the poll scheduler (agent/poll) polls the
// rack every interval; each poll is stamped with the scenario's time,
// published, and fed to the detector, whose events are published too. It
// returns when ctx is done and everything polled has been published, with
// the counts of good and failed polls.
func runAgent(ctx context.Context, log *slog.Logger, p Poller, pub Publisher, det *detect.Detector, clock func() time.Time, interval time.Duration, onAlert func(context.Context, detect.Event)) (polls, errs int, err error) {
	queue := make(chan batch, 64)
	var dropped int
	sched := poll.New(poll.SinkFunc(func(device string, _ time.Time, rs []drivers.Reading) {
		select {
		case queue <- batch{device, rs}:
		default:
			dropped++ // the publisher is behind; the next poll is newer anyway
		}
	}), poll.Options{Logger: log, Jitter: -1})
	// the timeout does not shrink with the speed: a poll is a few Modbus
	// round trips in wall time, slower on a loaded or emulated CPU (the
	// armv7 binary under qemu), and a slow answer is no device failure
	if err := sched.Add(poll.Target{Name: Device, Device: p, Interval: interval, Timeout: max(interval, 2*time.Second)}); err != nil {
		return 0, 0, fmt.Errorf("demo: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		publish(ctx, log, queue, pub, det, clock, onAlert)
	}()
	_ = sched.Run(ctx) // returns nil once ctx is done and polls have returned
	close(queue)
	<-done
	if dropped > 0 {
		log.Warn("demo: polls dropped while the publisher was behind", "count", dropped)
	}
	for _, st := range sched.Stats() {
		polls += int(st.Polls - st.Errors)
		errs += int(st.Errors)
	}
	return polls, errs, nil
}

// publish stamps, publishes and feeds to the detector every batch of the
// queue until it is closed; the detector's events go through an alert
// tracker (agent/alert) as in the agent, and what it publishes goes out
// with the list of active alerts.
func publish(ctx context.Context, log *slog.Logger, queue <-chan batch, pub Publisher, det *detect.Detector, clock func() time.Time, onAlert func(context.Context, detect.Event)) {
	tr := alert.New(alert.Options{ClearHold: AlertClearHold})
	for b := range queue {
		at := clock()
		for i := range b.rs {
			b.rs[i].Time = at
		}
		if err := pub.Telemetry(ctx, b.device, at, b.rs); err != nil && ctx.Err() == nil {
			log.Warn("demo: publish failed", "device", b.device, "err", err)
		}
		var ups []alert.Update
		for _, ev := range observe(det, b.device, b.rs) {
			ups = append(ups, tr.Observe(ev)...)
		}
		ups = append(ups, tr.Tick(at)...)
		for _, u := range ups {
			if err := pub.Alert(ctx, u.Event); err != nil && ctx.Err() == nil {
				log.Warn("demo: alert publish failed", "device", u.Event.Device, "id", u.Event.ID, "err", err)
			}
			onAlert(ctx, u.Event)
		}
		if len(ups) == 0 {
			continue
		}
		list, err := tr.ActiveJSON()
		if err == nil {
			err = pub.ActiveAlerts(ctx, list)
		}
		if err != nil && ctx.Err() == nil {
			log.Warn("demo: active alerts not published", "err", err)
		}
	}
}

// observe feeds one poll to the detector and returns the events it caused.
func observe(det *detect.Detector, device string, rs []drivers.Reading) []detect.Event {
	var out []detect.Event
	for _, r := range rs {
		if r.Text != "" {
			continue
		}
		out = append(out, det.Observe(detect.Sample{Time: r.Time, Device: device, Point: r.Point, Value: r.Value})...)
	}
	return out
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
