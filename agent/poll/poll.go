package poll

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
)

// Device is something that can be polled. Poll reads the device once and
// returns its readings; it must return when ctx is done. Readings together
// with an error mean a partial poll: the readings are delivered and the
// poll counts as failed. The scheduler calls Poll from one goroutine per
// device, never concurrently for the same device.
type Device interface {
	Poll(ctx context.Context) ([]drivers.Reading, error)
}

// Sink receives the readings of every poll that read something. Publish is called
// from the devices' goroutines, concurrently; it must not block for long
// (queue and return). The slice is the sink's to keep.
type Sink interface {
	Publish(device string, t time.Time, rs []drivers.Reading)
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(device string, t time.Time, rs []drivers.Reading)

// Publish calls f.
func (f SinkFunc) Publish(device string, t time.Time, rs []drivers.Reading) { f(device, t, rs) }

// Target is one device to poll and how.
type Target struct {
	// Name identifies the device in logs, stats and the sink.
	Name string
	// Device is polled.
	Device Device
	// Interval is the poll period. Polls start on a fixed grid
	// (start + k*Interval); a poll that overruns skips the slots it missed.
	Interval time.Duration
	// Timeout bounds one Poll call; default Interval.
	Timeout time.Duration
	// StaleAfter marks the device stale when no poll has succeeded for
	// this long; default 3*Interval.
	StaleAfter time.Duration
}

// Options configures a Scheduler. The zero value means defaults.
type Options struct {
	// Logger receives poll errors (rate-limited) and recoveries;
	// slog.Default() if nil.
	Logger *slog.Logger
	// Jitter is the fraction of each interval over which device start
	// times are spread at random, so that devices with the same interval
	// do not all poll at once. 0 means 0.1; negative means none.
	Jitter float64
	// LogEvery is the least time between two error logs of one device;
	// the errors in between are counted and reported with the next.
	// Default one minute.
	LogEvery time.Duration
	// Now returns the time; time.Now if nil.
	Now func() time.Time
}

// Stats is the state of one device's loop.
type Stats struct {
	// Device is the target's name.
	Device string
	// Polls counts finished polls, Errors the failed ones among them.
	Polls, Errors uint64
	// Overruns counts poll slots skipped because a poll outlasted its
	// interval.
	Overruns uint64
	// ConsecutiveFailures counts failed polls since the last success.
	ConsecutiveFailures int
	// LastDuration is how long the last poll took.
	LastDuration time.Duration
	// LastStart is when the last poll started; LastSuccess when the last
	// poll without an error finished; LastData when the last poll that
	// delivered readings (a good or a partial one) finished.
	LastStart, LastSuccess, LastData time.Time
	// Partial counts failed polls that still delivered some readings (a
	// device that answered some requests and not others).
	Partial uint64
	// LastError is the last failure's message, empty after a success.
	LastError string
	// Stale is true when no poll has delivered readings for the target's
	// StaleAfter (counted from the loop's start before any did).
	Stale bool
}

// Scheduler polls its targets, each on its own goroutine. Add targets,
// then Run. Stats is safe to call concurrently with Run.
type Scheduler struct {
	sink Sink
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	loops   []*loop
	running bool
}

// New returns a scheduler delivering readings to sink.
func New(sink Sink, opts Options) *Scheduler {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Jitter == 0 {
		opts.Jitter = 0.1
	}
	if opts.LogEvery == 0 {
		opts.LogEvery = time.Minute
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Scheduler{sink: sink, opts: opts, log: opts.Logger}
}

// ErrRunning is returned by Add after Run has started.
var ErrRunning = errors.New("poll: scheduler already running")

// Add registers a target. It must be called before Run.
func (s *Scheduler) Add(t Target) error {
	if t.Device == nil || t.Interval <= 0 {
		return fmt.Errorf("poll: device %s: a device and a positive interval are required", t.Name)
	}
	if t.Timeout <= 0 {
		t.Timeout = t.Interval
	}
	if t.StaleAfter <= 0 {
		t.StaleAfter = 3 * t.Interval
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return ErrRunning
	}
	for _, l := range s.loops {
		if l.t.Name == t.Name {
			return fmt.Errorf("poll: device %s added twice", t.Name)
		}
	}
	s.loops = append(s.loops, &loop{t: t, s: s, stats: Stats{Device: t.Name}})
	return nil
}

// Run polls every target until ctx is done, then waits for the polls in
// flight to return and returns nil.
func (s *Scheduler) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running {
		s.mu.Unlock()
		return ErrRunning
	}
	s.running = true
	loops := append([]*loop(nil), s.loops...)
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, l := range loops {
		wg.Go(func() { l.run(ctx) })
	}
	wg.Wait()
	return nil
}

// Stats returns the stats of every target, in the order they were added.
func (s *Scheduler) Stats() []Stats {
	s.mu.Lock()
	loops := append([]*loop(nil), s.loops...)
	s.mu.Unlock()
	now := s.opts.Now()
	out := make([]Stats, len(loops))
	for i, l := range loops {
		out[i] = l.snapshot(now)
	}
	return out
}

// loop is one target's goroutine and its stats.
type loop struct {
	t Target
	s *Scheduler

	mu        sync.Mutex
	stats     Stats
	started   time.Time
	lastLog   time.Time
	suppressd int
}

func (l *loop) snapshot(now time.Time) Stats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.stats
	since := st.LastData
	if since.IsZero() {
		since = l.started
	}
	st.Stale = !since.IsZero() && now.Sub(since) > l.t.StaleAfter
	return st
}

func (l *loop) run(ctx context.Context) {
	now := l.s.opts.Now()
	l.mu.Lock()
	l.started = now
	l.mu.Unlock()
	var offset time.Duration
	if j := l.s.opts.Jitter; j > 0 {
		if span := time.Duration(j * float64(l.t.Interval)); span > 0 {
			offset = rand.N(span)
		}
	}
	next := now.Add(offset)
	timer := time.NewTimer(offset)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		l.pollOnce(ctx)
		next = next.Add(l.t.Interval)
		now := l.s.opts.Now()
		if missed := now.Sub(next); missed >= 0 {
			skip := missed/l.t.Interval + 1
			next = next.Add(skip * l.t.Interval)
			l.mu.Lock()
			l.stats.Overruns += uint64(skip)
			l.mu.Unlock()
		}
		timer.Reset(next.Sub(now))
	}
}

func (l *loop) pollOnce(ctx context.Context) {
	start := l.s.opts.Now()
	pctx, cancel := context.WithTimeout(ctx, l.t.Timeout)
	rs, err := l.t.Device.Poll(pctx)
	cancel()
	end := l.s.opts.Now()
	if ctx.Err() != nil && err != nil {
		return // shutting down: not a device failure
	}
	if err != nil && errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("no answer within %s: %w", l.t.Timeout, err)
	}
	l.mu.Lock()
	l.stats.Polls++
	l.stats.LastStart = start
	l.stats.LastDuration = end.Sub(start)
	if len(rs) > 0 {
		l.stats.LastData = end
	}
	if err != nil {
		l.stats.Errors++
		l.stats.ConsecutiveFailures++
		l.stats.LastError = err.Error()
		if len(rs) > 0 {
			l.stats.Partial++
		}
		l.logFailure(end, err)
		l.mu.Unlock()
		if len(rs) > 0 && l.s.sink != nil {
			l.s.sink.Publish(l.t.Name, start, rs) // a partial poll: what was read
		}
		return
	}
	failures := l.stats.ConsecutiveFailures
	l.stats.ConsecutiveFailures = 0
	l.stats.LastError = ""
	l.stats.LastSuccess = end
	suppressed := l.suppressd
	l.suppressd = 0
	l.lastLog = time.Time{}
	l.mu.Unlock()
	if failures > 0 {
		l.s.log.Info("device recovered", "device", l.t.Name, "failed_polls", failures, "unlogged", suppressed)
	}
	if l.s.sink != nil {
		l.s.sink.Publish(l.t.Name, start, rs)
	}
}

// logFailure logs the first failure, then at most one per LogEvery with
// the count of failures not logged. Called with l.mu held.
func (l *loop) logFailure(now time.Time, err error) {
	if !l.lastLog.IsZero() && now.Sub(l.lastLog) < l.s.opts.LogEvery {
		l.suppressd++
		return
	}
	l.s.log.Warn("poll failed", "device", l.t.Name, "err", err,
		"consecutive", l.stats.ConsecutiveFailures, "unlogged", l.suppressd)
	l.lastLog = now
	l.suppressd = 0
}
