package modbussim

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers/modbus"
)

// blockProfile is holding-register map of n consecutive registers.
func blockProfile(n int) *modbus.Profile {
	p := &modbus.Profile{Name: "block"}
	for i := range n {
		p.Points = append(p.Points, modbus.Register{
			Point:   "battery.cell." + itoa(i+1) + ".voltage",
			Address: uint16(i), Type: modbus.Uint16, Scale: f64(0.001),
		})
	}
	return p
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

func blockValues(n int) Map {
	m := Map{Values: map[string]float64{}}
	for i := range n {
		m.Values["battery.cell."+itoa(i+1)+".voltage"] = 3.2 + float64(i)/1000
	}
	return m
}

// The reply to a 125-register read (255 bytes) arrives at the line's
// speed: 19200 baud of 11-bit characters is 1745 bytes a second.
func TestPacingAtLineSpeed(t *testing.T) {
	const baud = 19200
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := newSim(t, blockProfile(125), blockValues(125))
	pty, err := OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pty.Close() })
	go func() { _ = s.ServeRTU(ctx, pty.Server, baud) }()
	tty := openTTY(t, pty.Path)
	want := float64(baud) / BitsPerChar
	// A busy machine may wake the test late at the last byte; the pacing
	// is wrong only if no attempt of three measures right.
	for attempt := 1; ; attempt++ {
		rate, delay := measureReply(t, tty)
		t.Logf("attempt %d: %.1f bytes/s, line %.1f bytes/s (%.2f %%); first byte %v after the request",
			attempt, rate, want, 100*rate/want, delay)
		// The slave answers only after 3.5 characters of silence, and
		// the first character takes one character time.
		if min := FrameGap(baud) + CharTime(baud); delay < min {
			t.Errorf("first byte %v after the request, want at least %v", delay, min)
		}
		if rate >= 0.97*want && rate <= 1.03*want {
			return
		}
		if attempt == 3 {
			t.Fatalf("reply paced at %.1f bytes/s, want %.1f ± 3 %%", rate, want)
		}
	}
}

// measureReply asks for 125 registers and measures the 255-byte reply:
// bytes a second from its first byte to its last, and the delay from the
// request to the first byte.
func measureReply(t *testing.T, tty *os.File) (rate float64, delay time.Duration) {
	t.Helper()
	sent := time.Now()
	if _, err := tty.Write(rtuRead(1, 0, 125)); err != nil {
		t.Fatal(err)
	}
	var first, last time.Time
	n := 0
	buf := make([]byte, 512)
	_ = tty.SetReadDeadline(time.Now().Add(2 * time.Second))
	for n < 255 {
		k, err := tty.Read(buf)
		if err != nil {
			t.Fatalf("after %d bytes: %v", n, err)
		}
		now := time.Now()
		if n == 0 {
			first = now
		}
		last = now
		n += k
	}
	return float64(n-1) / last.Sub(first).Seconds(), first.Sub(sent)
}

// A request frame ends at 3.5 characters of silence: a pause of one
// character inside it is no end, a long pause splits it into two bad frames.
func TestFrameEndsAtSilence(t *testing.T) {
	const baud = 9600
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := newSim(t, blockProfile(4), blockValues(4))
	pty, err := OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pty.Close() })
	go func() { _ = s.ServeRTU(ctx, pty.Server, baud) }()
	tty := openTTY(t, pty.Path)
	for _, tc := range []struct {
		pause  time.Duration
		answer bool
	}{
		{CharTime(baud), true},
		{10 * FrameGap(baud), false},
	} {
		req := rtuRead(1, 0, 2)
		_, _ = tty.Write(req[:3])
		time.Sleep(tc.pause)
		_, _ = tty.Write(req[3:])
		got := readFor(t, tty, 100*time.Millisecond)
		if tc.answer != (len(got) == 9) {
			t.Errorf("pause %v: got % x, want an answer: %v", tc.pause, got, tc.answer)
		}
	}
}

// On a shared bus a dead slave costs its timeout, and the others answer.
func TestDeadSlaveOnSharedBus(t *testing.T) {
	const baud = 38400
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	bus := NewBus()
	for unit := uint8(1); unit <= 3; unit++ {
		if err := bus.Add(unit, newSim(t, blockProfile(10), blockValues(10))); err != nil {
			t.Fatal(err)
		}
	}
	if err := bus.Add(2, bus.Sim(1)); err == nil {
		t.Error("duplicate unit id accepted")
	}
	if err := bus.SetFault(2, Fault{Kind: Dead}); err != nil {
		t.Fatal(err)
	}
	pty, err := OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pty.Close() })
	go func() { _ = bus.ServeRTU(ctx, pty.Server, baud) }()
	tcpAddr, err := bus.ServeRTUOverTCP(ctx, "", baud)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{"pty", "rtu-over-tcp"} {
		for _, unit := range bus.Units() {
			var c client
			if line == "pty" {
				c = rtuClient(t, pty.Path, baud, unit, 200*time.Millisecond)
			} else {
				c = rtuOverTCPClient(t, tcpAddr.String(), baud, unit, 200*time.Millisecond)
			}
			w, err := c.read(modbus.Holding, 0, 10)
			if unit == 2 {
				if err == nil {
					t.Errorf("%s: dead unit 2 answered", line)
				}
				continue
			}
			if err != nil || w[9] != 3209 {
				t.Errorf("%s: unit %d: %v %v", line, unit, w, err)
			}
		}
	}
	if c := bus.Sim(2).Counters(); c.Requests != 0 || c.Dropped != 2 {
		t.Errorf("dead slave counters %+v, want no requests heard and 2 dropped", c)
	}
	if c := bus.Sim(3).Counters(); c.Requests != 2 || c.Registers != 20 {
		t.Errorf("unit 3 counters %+v", c)
	}
	// An absent unit id is silent on RTU too.
	tty := openTTY(t, pty.Path)
	_, _ = tty.Write(rtuRead(9, 0, 1))
	if got := readFor(t, tty, 50*time.Millisecond); len(got) != 0 {
		t.Errorf("absent unit 9 answered % x", got)
	}
}

// The line's throughput for 125-register reads at 19200 baud, against its
// theoretical limit: request (8 characters), 3.5 silent, reply (255), 3.5.
func TestRTUThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("a second of line time")
	}
	const baud, reads = 19200, 6
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := newSim(t, blockProfile(125), blockValues(125))
	pty, err := OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pty.Close() })
	go func() { _ = s.ServeRTU(ctx, pty.Server, baud) }()
	tty := openTTY(t, pty.Path)
	buf := make([]byte, 512)
	start := time.Now()
	for range reads {
		// A master that writes its request at line speed and starts the
		// next one 3.5 characters after the reply.
		time.Sleep(8 * CharTime(baud))
		_, _ = tty.Write(rtuRead(1, 0, 125))
		_ = tty.SetReadDeadline(time.Now().Add(time.Second))
		for n := 0; n < 255; {
			k, err := tty.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			n += k
		}
		time.Sleep(FrameGap(baud))
	}
	took := time.Since(start)
	got := float64(125*reads) / took.Seconds()
	limit := 125 / ((8 + 255 + 7) * CharTime(baud)).Seconds()
	t.Logf("%.0f registers/s, line limit %.0f registers/s (%.1f %%)", got, limit, 100*got/limit)
	if got < 0.8*limit || got > 1.01*limit {
		t.Errorf("%.0f registers/s, want 80-100 %% of %.0f", got, limit)
	}
}
