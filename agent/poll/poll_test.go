package poll

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
)

// fakeDevice records when it is polled and behaves as told.
type fakeDevice struct {
	mu     sync.Mutex
	starts []time.Time
	do     func(ctx context.Context) error
}

func (f *fakeDevice) Poll(ctx context.Context) ([]drivers.Reading, error) {
	f.mu.Lock()
	f.starts = append(f.starts, time.Now())
	f.mu.Unlock()
	if f.do != nil {
		if err := f.do(ctx); err != nil {
			return nil, err
		}
	}
	return []drivers.Reading{{Point: "battery.voltage", Value: 53.2, Unit: "V"}}, nil
}

func (f *fakeDevice) gaps() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var g []time.Duration
	for i := 1; i < len(f.starts); i++ {
		g = append(g, f.starts[i].Sub(f.starts[i-1]))
	}
	return g
}

type countSink struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *countSink) Publish(device string, _ time.Time, rs []drivers.Reading) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[string]int{}
	}
	s.n[device] += len(rs)
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestHealthyKeepsIntervalWhileOthersHang runs a healthy device beside one
// that hangs until its timeout, one that always fails at once, and one that
// takes longer than its interval: the healthy device's measured interval
// must hold.
func TestHealthyKeepsIntervalWhileOthersHang(t *testing.T) {
	// 100 ms leaves room for the scheduling delays of a loaded machine
	// under the race detector; the judged figures are relative to it.
	const interval = 100 * time.Millisecond
	healthy := &fakeDevice{}
	hang := &fakeDevice{do: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }}
	failing := &fakeDevice{do: func(context.Context) error { return errors.New("exception 2: illegal data address") }}
	slow := &fakeDevice{do: func(ctx context.Context) error {
		select {
		case <-time.After(3 * interval):
		case <-ctx.Done():
		}
		return nil
	}}
	var logs syncBuffer
	sink := &countSink{}
	s := New(sink, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Jitter: -1})
	for _, tg := range []Target{
		{Name: "healthy", Device: healthy, Interval: interval},
		{Name: "hang", Device: hang, Interval: interval, Timeout: 5 * interval},
		{Name: "failing", Device: failing, Interval: interval},
		{Name: "slow", Device: slow, Interval: interval, Timeout: 10 * interval},
	} {
		if err := s.Add(tg); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 25*interval)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}

	gaps := healthy.gaps()
	if len(gaps) < 20 {
		t.Fatalf("healthy device polled %d times in 25 intervals", len(gaps)+1)
	}
	// On a loaded machine the odd wake-up is late; the schedule must hold
	// on average and for nearly every poll.
	var sum time.Duration
	late := 0
	for _, g := range gaps {
		sum += g
		if g > interval*3/2 {
			late++
		}
	}
	if late > len(gaps)/10 {
		t.Errorf("healthy device: %d of %d gaps over 1.5 intervals: %v", late, len(gaps), gaps)
	}
	mean := sum / time.Duration(len(gaps))
	sorted := slices.Clone(gaps)
	slices.Sort(sorted)
	median := sorted[len(sorted)/2]
	if math.Abs(float64(median-interval)) > 0.1*float64(interval) {
		t.Errorf("healthy device median interval %v, want %v ± 10%%", median, interval)
	}
	t.Logf("healthy: %d polls, median interval %v, mean %v", len(gaps)+1, median, mean)

	st := map[string]Stats{}
	for _, x := range s.Stats() {
		st[x.Device] = x
	}
	if x := st["healthy"]; x.Errors != 0 || x.Stale || x.Polls < 20 {
		t.Errorf("healthy stats %+v", x)
	}
	if x := st["hang"]; x.Errors == 0 || x.ConsecutiveFailures == 0 || !x.Stale {
		t.Errorf("hanging device stats %+v: want errors and stale", x)
	}
	if x := st["failing"]; x.Errors != x.Polls || x.Errors < 20 || !strings.Contains(x.LastError, "illegal data address") {
		t.Errorf("failing device stats %+v", x)
	}
	if x := st["slow"]; x.Overruns == 0 || x.Errors != 0 {
		t.Errorf("slow device stats %+v: want overruns and no errors", x)
	}
	if n := strings.Count(logs.String(), "device=failing"); n != 1 {
		t.Errorf("failing device logged %d times, want 1 (rate-limited):\n%s", n, logs.String())
	}
	if sink.n["healthy"] < 20 || sink.n["failing"] != 0 {
		t.Errorf("sink counts %v", sink.n)
	}
}

func TestRecoveryLogged(t *testing.T) {
	var mu sync.Mutex
	fail := true
	dev := &fakeDevice{do: func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return errors.New("timeout")
		}
		return nil
	}}
	var logs syncBuffer
	s := New(nil, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil)), Jitter: -1})
	if err := s.Add(Target{Name: "bms-1", Device: dev, Interval: 10 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	waitStats := func(what string, cond func(Stats) bool) {
		deadline := time.Now().Add(5 * time.Second)
		for !cond(s.Stats()[0]) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: %+v", what, s.Stats()[0])
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitStats("three failures", func(st Stats) bool { return st.Errors >= 3 })
	mu.Lock()
	fail = false
	mu.Unlock()
	waitStats("a good poll", func(st Stats) bool { return st.ConsecutiveFailures == 0 })
	cancel()
	<-done
	out := logs.String()
	if !strings.Contains(out, "poll failed") || !strings.Contains(out, "device recovered") {
		t.Errorf("logs:\n%s", out)
	}
	if st := s.Stats()[0]; st.ConsecutiveFailures != 0 || st.Errors < 3 || st.LastError != "" {
		t.Errorf("stats after recovery %+v", st)
	}
}

func TestAddErrors(t *testing.T) {
	s := New(nil, Options{})
	tests := []struct {
		name string
		t    Target
	}{
		{"no device", Target{Name: "a", Interval: time.Second}},
		{"no interval", Target{Name: "a", Device: &fakeDevice{}}},
	}
	for _, tt := range tests {
		if err := s.Add(tt.t); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	if err := s.Add(Target{Name: "a", Device: &fakeDevice{}, Interval: time.Second}); err != nil {
		t.Fatal(err)
	}
	if err := s.Add(Target{Name: "a", Device: &fakeDevice{}, Interval: time.Second}); err == nil {
		t.Error("duplicate name accepted")
	}
}

// partialDevice answers some points and fails the rest.
type partialDevice struct{}

func (partialDevice) Poll(context.Context) ([]drivers.Reading, error) {
	return []drivers.Reading{{Point: "battery.voltage", Value: 52, Unit: "V"}}, errors.New("holding 100..103: exception 2")
}

func TestPartialPollDelivered(t *testing.T) {
	sink := &countSink{}
	s := New(sink, Options{Logger: slog.New(slog.DiscardHandler), Jitter: -1})
	if err := s.Add(Target{Name: "bms-1", Device: partialDevice{}, Interval: 10 * time.Millisecond, StaleAfter: time.Minute}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 55*time.Millisecond)
	defer cancel()
	_ = s.Run(ctx)
	st := s.Stats()[0]
	if st.Errors == 0 || st.Partial != st.Errors || st.Stale || st.LastData.IsZero() {
		t.Errorf("stats %+v", st)
	}
	if sink.n["bms-1"] == 0 {
		t.Error("partial readings not delivered")
	}
}
