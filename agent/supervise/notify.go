package supervise

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emberwatch/emberwatch/agent/poll"
)

// Environment variables systemd sets for a service.
const (
	EnvNotifySocket = "NOTIFY_SOCKET"
	EnvWatchdogUSec = "WATCHDOG_USEC"
	EnvWatchdogPID  = "WATCHDOG_PID"
)

// States sent by the Notifier's methods; see sd_notify(3).
const (
	StateReady     = "READY=1"
	StateStopping  = "STOPPING=1"
	StateReloading = "RELOADING=1"
	StateWatchdog  = "WATCHDOG=1"
)

// Options configures a Notifier. The zero value means defaults.
type Options struct {
	// Getenv reads the environment; os.Getenv is what the agent passes.
	// If nil, the environment is treated as empty (every method a no-op).
	Getenv func(string) string
	// PID is this process's id, compared with $WATCHDOG_PID when that is
	// set; 0 skips the comparison.
	PID int
	// Logger receives failed notifications at debug level; slog.Default()
	// if nil.
	Logger *slog.Logger
}

// Notifier sends state notifications to the service manager. Its methods are
// safe for concurrent use and are no-ops returning nil when the process does
// not run under systemd's notify protocol.
type Notifier struct {
	addr     string
	watchdog time.Duration
	log      *slog.Logger

	mu   sync.Mutex
	conn *net.UnixConn
}

// New returns a Notifier for the socket named in the environment. It does not
// connect yet. A malformed $WATCHDOG_USEC is reported as an error (the
// Notifier is still usable, with the watchdog off).
func New(opts Options) (*Notifier, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	n := &Notifier{addr: getenv(EnvNotifySocket), log: log}
	wd, err := watchdogPeriod(getenv(EnvWatchdogUSec), getenv(EnvWatchdogPID), opts.PID)
	n.watchdog = wd
	return n, err
}

// watchdogPeriod parses $WATCHDOG_USEC; a $WATCHDOG_PID naming another
// process means the watchdog is not ours.
func watchdogPeriod(usec, pid string, self int) (time.Duration, error) {
	if usec == "" {
		return 0, nil
	}
	if pid != "" && self != 0 {
		p, err := strconv.Atoi(pid)
		if err != nil {
			return 0, fmt.Errorf("supervise: %s=%q: %w", EnvWatchdogPID, pid, err)
		}
		if p != self {
			return 0, nil
		}
	}
	u, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || u == 0 {
		return 0, fmt.Errorf("supervise: %s=%q: want a positive number of microseconds", EnvWatchdogUSec, usec)
	}
	return time.Duration(u) * time.Microsecond, nil
}

// Enabled reports whether the process runs under the notify protocol.
func (n *Notifier) Enabled() bool { return n != nil && n.addr != "" }

// WatchdogPeriod returns the service watchdog's timeout ($WATCHDOG_USEC), or
// 0 when there is no watchdog for this process.
func (n *Notifier) WatchdogPeriod() time.Duration {
	if !n.Enabled() {
		return 0
	}
	return n.watchdog
}

// Notify sends the given assignments ("READY=1", "STATUS=polling 3
// devices") as one datagram, newline separated.
func (n *Notifier) Notify(states ...string) error {
	if !n.Enabled() || len(states) == 0 {
		return nil
	}
	msg := []byte(strings.Join(states, "\n"))
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn == nil {
		name := n.addr
		if name[0] == '@' {
			name = "\x00" + name[1:] // abstract namespace
		}
		c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
		if err != nil {
			return fmt.Errorf("supervise: notify socket %s: %w", n.addr, err)
		}
		n.conn = c
	}
	if _, err := n.conn.Write(msg); err != nil {
		// The manager may have been re-executed: dial again next time.
		n.conn.Close()
		n.conn = nil
		return fmt.Errorf("supervise: notify socket %s: %w", n.addr, err)
	}
	return nil
}

// Ready tells systemd that start-up is finished (Type=notify), with a status
// line if status is not empty.
func (n *Notifier) Ready(status string) error { return n.Notify(withStatus(StateReady, status)...) }

// Status sets the free-form status line systemctl status shows.
func (n *Notifier) Status(status string) error { return n.Notify(statusLine(status)) }

// Stopping tells systemd that the service is shutting down.
func (n *Notifier) Stopping(status string) error {
	return n.Notify(withStatus(StateStopping, status)...)
}

// Ping feeds the watchdog once.
func (n *Notifier) Ping() error { return n.Notify(StateWatchdog) }

// Close releases the socket. The Notifier dials again if used afterwards.
func (n *Notifier) Close() error {
	if n == nil {
		return nil
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn == nil {
		return nil
	}
	err := n.conn.Close()
	n.conn = nil
	return err
}

func withStatus(state, status string) []string {
	if status == "" {
		return []string{state}
	}
	return []string{state, statusLine(status)}
}

// statusLine keeps a status on one line: the protocol is newline separated.
func statusLine(s string) string {
	return "STATUS=" + strings.NewReplacer("\n", " ", "\r", " ").Replace(s)
}

// HealthFunc reports whether the agent is healthy now; a non-nil error says
// why not. It is called from the watchdog's goroutine.
type HealthFunc func() error

// Watchdog feeds the service watchdog every half of its period while healthy
// returns nil, and stops feeding it (setting a status line with the reason)
// while it returns an error, so that systemd restarts a wedged agent. It
// returns when ctx is done, at once (nil) if there is no watchdog.
func (n *Notifier) Watchdog(ctx context.Context, healthy HealthFunc) error {
	period := n.WatchdogPeriod()
	if period <= 0 {
		return nil
	}
	return n.watch(ctx, period/2, healthy)
}

func (n *Notifier) watch(ctx context.Context, every time.Duration, healthy HealthFunc) error {
	t := time.NewTicker(every)
	defer t.Stop()
	var lastBad string
	check := func() {
		if err := healthy(); err != nil {
			if msg := err.Error(); msg != lastBad {
				lastBad = msg
				n.log.Warn("watchdog not fed: agent unhealthy", "err", err)
				_ = n.Status("unhealthy: " + msg)
			}
			return
		}
		if lastBad != "" {
			lastBad = ""
			n.log.Info("watchdog fed again: agent healthy")
			_ = n.Status("healthy")
		}
		if err := n.Ping(); err != nil {
			n.log.Debug("watchdog ping", "err", err)
		}
	}
	check()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			check()
		}
	}
}

// ErrNoProgress is wrapped by the error of a Recent health check whose
// clock has not advanced within its limit.
var ErrNoProgress = errors.New("no progress")

// Recent returns a HealthFunc that is healthy while last() is within maxAge
// of now(): last is typically the time the poll scheduler last completed a
// poll of any device. A zero last time counts from the moment Recent was
// called, so a just-started agent has maxAge to complete its first poll.
// now defaults to time.Now when nil.
func Recent(last func() time.Time, maxAge time.Duration, now func() time.Time) HealthFunc {
	if now == nil {
		now = time.Now
	}
	start := now()
	return func() error {
		t := last()
		if t.IsZero() {
			t = start
		}
		if age := now().Sub(t); age > maxAge {
			return fmt.Errorf("%w: last poll %s ago (limit %s)", ErrNoProgress, age.Round(time.Second), maxAge)
		}
		return nil
	}
}

// LastPoll returns when the most recent poll of any device finished, failed
// or not, from the scheduler's stats: the clock Recent wants for "the poll
// loop is turning". Failing devices still count as progress; a device that
// never answers is the detector's concern (comms_lost), not a reason to
// restart the agent.
func LastPoll(stats []poll.Stats) time.Time {
	var last time.Time
	for _, s := range stats {
		if s.LastStart.IsZero() {
			continue
		}
		if end := s.LastStart.Add(s.LastDuration); end.After(last) {
			last = end
		}
	}
	return last
}
