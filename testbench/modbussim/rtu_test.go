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
	// A busy machine may wake either end late; the pacing is wrong only if
	// no attempt of five measures right. Under the race detector only the
	// frame gap is checked (TestPacingNeverAheadOfTheLine checks the rest).
	for attempt := 1; ; attempt++ {
		rate, delay := measureReply(t, tty)
		t.Logf("attempt %d: %.1f bytes/s, line %.1f bytes/s (%.2f %%); first byte %v after the request",
			attempt, rate, want, 100*rate/want, delay)
		// The slave answers only after 3.5 characters of silence, and
		// the first character takes one character time.
		if min := FrameGap(baud) + CharTime(baud); delay < min {
			t.Errorf("first byte %v after the request, want at least %v", delay, min)
		}
		if raceEnabled || (rate >= 0.97*want && rate <= 1.03*want) {
			return
		}
		if attempt == 5 {
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
	t.Parallel()
	const baud = 1200 // 9.2 ms a character: room for a busy machine
	s := newSim(t, blockProfile(4), blockValues(4))
	pty, err := OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pty.Close() })
	go func() { _ = s.ServeRTU(t.Context(), pty.Server, baud) }()
	tty := openTTY(t, pty.Path)
	send := func(pause, wait time.Duration) []byte {
		req := rtuRead(1, 0, 2)
		_, _ = tty.Write(req[:3])
		time.Sleep(pause)
		_, _ = tty.Write(req[3:])
		return readN(t, tty, 9, wait)
	}
	reply := FrameGap(baud) + 9*CharTime(baud)
	// A late wake-up can stretch the short pause past the gap: one
	// attempt of three must get its answer.
	answered := false
	for range 3 {
		if len(send(CharTime(baud), reply+time.Second)) == 9 {
			answered = true
			break
		}
	}
	if !answered {
		t.Error("a one-character pause inside a frame ended it")
	}
	if got := send(3*FrameGap(baud), 2*reply); len(got) != 0 {
		t.Errorf("a frame split by %v of silence was answered: % x", 3*FrameGap(baud), got)
	}
}

// Whatever the load, the RTU server never writes a character before the
// line could have carried it, and a reply takes its full line time.
func TestPacingNeverAheadOfTheLine(t *testing.T) {
	t.Parallel()
	const baud = 19200
	ct := CharTime(baud)
	w := &stampWriter{}
	l := &line{bus: single(newSim(t, blockProfile(1), blockValues(1))), w: w, baud: baud}
	frame := make([]byte, 100)
	start := time.Now()
	if err := l.write(t.Context(), frame); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, wr := range w.writes {
		n += wr.n
		if line := int(wr.at.Sub(start)/ct) + 1; n > line {
			t.Fatalf("%d characters written %v after the start; the line carries %d", n, wr.at.Sub(start), line)
		}
	}
	if took := time.Since(start); n != len(frame) || took < time.Duration(len(frame))*ct {
		t.Errorf("%d characters in %v, want %d in at least %v", n, took, len(frame), time.Duration(len(frame))*ct)
	}
}

type stamp struct {
	at time.Time
	n  int
}

// stampWriter records when each write happened and its size.
type stampWriter struct{ writes []stamp }

func (w *stampWriter) Write(b []byte) (int, error) {
	w.writes = append(w.writes, stamp{time.Now(), len(b)})
	return len(b), nil
}

// On a shared bus a dead slave costs its timeout, and the others answer.
func TestDeadSlaveOnSharedBus(t *testing.T) {
	t.Parallel()
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
			timeout := 2 * time.Second
			if unit == 2 {
				timeout = 200 * time.Millisecond
			}
			var c client
			if line == "pty" {
				c = rtuClient(t, pty.Path, baud, unit, timeout)
			} else {
				c = rtuOverTCPClient(t, tcpAddr.String(), baud, unit, timeout)
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
	limit := 125 / ((8 + 255 + 7) * CharTime(baud)).Seconds()
	// A busy machine slows the master down: one attempt of three must
	// reach 80 % of the limit, and none may pass it.
	for attempt := 1; ; attempt++ {
		got := measureThroughput(t, tty, baud, reads)
		t.Logf("attempt %d: %.0f registers/s, line limit %.0f registers/s (%.1f %%)", attempt, got, limit, 100*got/limit)
		if got > 1.01*limit {
			t.Fatalf("%.0f registers/s, faster than the line's %.0f", got, limit)
		}
		if raceEnabled || got >= 0.8*limit {
			return
		}
		if attempt == 3 {
			t.Fatalf("%.0f registers/s, want at least 80 %% of %.0f", got, limit)
		}
	}
}

// measureThroughput reads 125 registers reads times as a master that
// writes its request at line speed and starts the next one 3.5 characters
// after the reply, and returns the registers read a second.
func measureThroughput(t *testing.T, tty *os.File, baud, reads int) float64 {
	t.Helper()
	buf := make([]byte, 512)
	start := time.Now()
	for range reads {
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
	return float64(125*reads) / time.Since(start).Seconds()
}
