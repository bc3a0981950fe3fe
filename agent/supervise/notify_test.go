package supervise

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/poll"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// listen opens a unixgram socket in a temp dir (or in the abstract
// namespace when abstract is true) and returns its $NOTIFY_SOCKET name.
func listen(t *testing.T, abstract bool) (*net.UnixConn, string) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "notify.sock")
	env := name
	if abstract {
		env = "@emberwatch-test-" + strings.ReplaceAll(t.Name(), "/", "-") + "-" + time.Now().Format("150405.000000000")
		name = "\x00" + env[1:]
	}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, env
}

func recv(t *testing.T, c *net.UnixConn, wait time.Duration) (string, bool) {
	t.Helper()
	buf := make([]byte, 4096)
	_ = c.SetReadDeadline(time.Now().Add(wait))
	n, err := c.Read(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "", false
		}
		t.Fatal(err)
	}
	return string(buf[:n]), true
}

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestNotify(t *testing.T) {
	for _, abstract := range []bool{false, true} {
		name := "path"
		if abstract {
			name = "abstract"
		}
		t.Run(name, func(t *testing.T) {
			c, sock := listen(t, abstract)
			n, err := New(Options{Getenv: env(map[string]string{EnvNotifySocket: sock}), Logger: quiet()})
			if err != nil {
				t.Fatal(err)
			}
			defer n.Close()
			if !n.Enabled() {
				t.Fatal("not enabled with NOTIFY_SOCKET set")
			}
			steps := []struct {
				send func() error
				want string
			}{
				{func() error { return n.Ready("polling 3 devices") }, "READY=1\nSTATUS=polling 3 devices"},
				{func() error { return n.Status("broker\nlost") }, "STATUS=broker lost"},
				{n.Ping, "WATCHDOG=1"},
				{func() error { return n.Stopping("") }, "STOPPING=1"},
			}
			for _, s := range steps {
				if err := s.send(); err != nil {
					t.Fatal(err)
				}
				got, ok := recv(t, c, 2*time.Second)
				if !ok || got != s.want {
					t.Fatalf("got %q (received %v), want %q", got, ok, s.want)
				}
			}
		})
	}
}

func TestNoSystemd(t *testing.T) {
	for _, o := range []Options{{}, {Getenv: env(nil)}, {Getenv: env(map[string]string{EnvWatchdogUSec: "30000000"})}} {
		n, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		if n.Enabled() || n.WatchdogPeriod() != 0 {
			t.Fatalf("enabled without NOTIFY_SOCKET: %+v", n)
		}
		for _, f := range []func() error{func() error { return n.Ready("x") }, n.Ping, func() error { return n.Stopping("") }, n.Close} {
			if err := f(); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		start := time.Now()
		if err := n.Watchdog(ctx, func() error { return nil }); err != nil || time.Since(start) > 100*time.Millisecond {
			t.Fatalf("Watchdog without systemd: err %v after %s, want nil at once", err, time.Since(start))
		}
		cancel()
	}
}

func TestNotifySocketGone(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "missing.sock")
	n, _ := New(Options{Getenv: env(map[string]string{EnvNotifySocket: sock}), Logger: quiet()})
	err := n.Ready("")
	if err == nil || !strings.Contains(err.Error(), sock) {
		t.Fatalf("err = %v, want one naming %s", err, sock)
	}
}

func TestWatchdogPeriod(t *testing.T) {
	tests := []struct {
		usec, pid string
		self      int
		want      time.Duration
		err       bool
	}{
		{"", "", 0, 0, false},
		{"30000000", "", 0, 30 * time.Second, false},
		{"30000000", "42", 42, 30 * time.Second, false},
		{"30000000", "41", 42, 0, false}, // another process's watchdog
		{"30000000", "42", 0, 30 * time.Second, false},
		{"0", "", 0, 0, true},
		{"-5", "", 0, 0, true},
		{"30s", "", 0, 0, true},
		{"30000000", "x", 42, 0, true},
	}
	for _, tt := range tests {
		got, err := watchdogPeriod(tt.usec, tt.pid, tt.self)
		if got != tt.want || (err != nil) != tt.err {
			t.Errorf("watchdogPeriod(%q, %q, %d) = %v, %v; want %v, error %v", tt.usec, tt.pid, tt.self, got, err, tt.want, tt.err)
		}
	}
}

// TestWatchdogPingsOnlyWhileHealthy: pings at half the period while the
// health function is happy, none while it is not, and again afterwards.
func TestWatchdogPingsOnlyWhileHealthy(t *testing.T) {
	c, sock := listen(t, false)
	n, err := New(Options{
		Getenv: env(map[string]string{EnvNotifySocket: sock, EnvWatchdogUSec: "80000", EnvWatchdogPID: "7"}),
		PID:    7, Logger: quiet(),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	if n.WatchdogPeriod() != 80*time.Millisecond {
		t.Fatalf("period %v", n.WatchdogPeriod())
	}
	var sick atomic.Bool
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		done <- n.Watchdog(ctx, func() error {
			if sick.Load() {
				return errors.New("scheduler stuck")
			}
			return nil
		})
	}()

	count := func(d time.Duration) (pings int, other []string) {
		deadline := time.Now().Add(d)
		for time.Until(deadline) > 0 {
			m, ok := recv(t, c, time.Until(deadline))
			if !ok {
				break
			}
			if m == StateWatchdog {
				pings++
			} else {
				other = append(other, m)
			}
		}
		return
	}
	if p, _ := count(400 * time.Millisecond); p < 3 { // ~10 expected at 40 ms
		t.Fatalf("healthy: %d pings in 400ms, want several", p)
	}
	sick.Store(true)
	_, other := count(60 * time.Millisecond) // a ping may be in flight
	p, more := count(300 * time.Millisecond)
	other = append(other, more...)
	if p != 0 {
		t.Fatalf("unhealthy: %d pings, want none", p)
	}
	if len(other) != 1 || other[0] != "STATUS=unhealthy: scheduler stuck" {
		t.Fatalf("unhealthy: status messages %q, want one naming the reason", other)
	}
	sick.Store(false)
	if p, _ := count(300 * time.Millisecond); p < 2 {
		t.Fatalf("healthy again: %d pings, want several", p)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Watchdog did not return after cancel")
	}
}

func TestRecent(t *testing.T) {
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	var last time.Time
	h := Recent(func() time.Time { return last }, 10*time.Second, clock)
	if err := h(); err != nil {
		t.Fatalf("fresh start: %v", err)
	}
	now = now.Add(11 * time.Second)
	if err := h(); !errors.Is(err, ErrNoProgress) {
		t.Fatalf("no first poll after 11s: %v, want ErrNoProgress", err)
	}
	last = now.Add(-2 * time.Second)
	if err := h(); err != nil {
		t.Fatalf("poll 2s ago: %v", err)
	}
	now = now.Add(20 * time.Second)
	if err := h(); !errors.Is(err, ErrNoProgress) || !strings.Contains(err.Error(), "22s") {
		t.Fatalf("poll 22s ago: %v", err)
	}
}

func TestLastPoll(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		stats []poll.Stats
		want  time.Time
	}{
		{"none", nil, time.Time{}},
		{"not polled yet", []poll.Stats{{Device: "a"}}, time.Time{}},
		{"latest end wins", []poll.Stats{
			{Device: "a", LastStart: t0, LastDuration: 3 * time.Second},
			{Device: "b", LastStart: t0.Add(time.Second), LastDuration: time.Second, Errors: 1},
			{Device: "c"},
		}, t0.Add(3 * time.Second)},
	}
	for _, tt := range tests {
		if got := LastPoll(tt.stats); !got.Equal(tt.want) {
			t.Errorf("%s: LastPoll = %v, want %v", tt.name, got, tt.want)
		}
	}
}
