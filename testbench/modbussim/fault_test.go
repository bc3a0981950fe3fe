package modbussim

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers/modbus"
)

func TestFaultsOnEveryTransport(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		fault    Fault
		addr, n  uint16
		wantExc  byte // 0: a reply; 255: no reply (timeout)
		counters Counters
	}{
		{"healthy", Fault{}, 0, 2, 0, Counters{Requests: 1, Registers: 2}},
		{"no reply", Fault{Kind: NoReply}, 0, 2, 255, Counters{Requests: 1, Dropped: 1}},
		{"dead", Fault{Kind: Dead}, 0, 2, 255, Counters{Dropped: 1}},
		{"exception in range", Fault{Kind: Exception, Code: 6, From: 4, To: 7}, 0, 5, 6, Counters{Requests: 1, Exceptions: 1}},
		{"exception out of range", Fault{Kind: Exception, Code: 6, From: 4, To: 7}, 8, 10, 0, Counters{Requests: 1, Registers: 10}},
		{"exception to the end", Fault{Kind: Exception, Code: 4, From: 30}, 30, 1, 4, Counters{Requests: 1, Exceptions: 1}},
		{"unreadable range", Fault{}, 95, 10, 2, Counters{Requests: 1, Exceptions: 1}},
		{"late but within the timeout", Fault{Kind: LateReply, Delay: 50 * time.Millisecond}, 0, 2, 0, Counters{Requests: 1, Registers: 2}},
	}
	for _, name := range transportNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := newSim(t, everyType(), everyValue())
			c := serve(t, t.Context(), s, name, 1, 600*time.Millisecond)
			for _, tc := range tests {
				if err := s.SetFault(tc.fault); err != nil {
					t.Fatal(err)
				}
				s.ResetCounters()
				start := time.Now()
				_, err := c.read(modbus.Holding, tc.addr, tc.n)
				took := time.Since(start)
				switch {
				case tc.wantExc == 0 && err != nil:
					t.Errorf("%s: %v", tc.name, err)
				case tc.wantExc == 255 && err == nil:
					t.Errorf("%s: answered", tc.name)
				case tc.wantExc != 0 && tc.wantExc != 255 && excCode(err) != tc.wantExc:
					t.Errorf("%s: error %v, want exception %d", tc.name, err, tc.wantExc)
				}
				if tc.fault.Kind == LateReply && took < tc.fault.Delay {
					t.Errorf("%s: answered after %v", tc.name, took)
				}
				if got := s.Counters(); got != tc.counters {
					t.Errorf("%s: counters %+v, want %+v", tc.name, got, tc.counters)
				}
				// Heal and make sure the line is usable again (a client
				// that timed out may still be waiting for a reply).
				_ = s.SetFault(Fault{})
				if tc.wantExc == 255 {
					_, _ = c.read(modbus.Holding, 0, 1)
				}
				if _, err := c.read(modbus.Holding, 0, 1); err != nil {
					t.Errorf("%s: healed slave: %v", tc.name, err)
				}
			}
		})
	}
}

func TestFaultTimes(t *testing.T) {
	s := newSim(t, everyType(), everyValue())
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addr, err := s.ServeTCP(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	c := tcpClient(t, addr.String(), 1, time.Second)
	_ = s.SetFault(Fault{Kind: Exception, Code: 6, Times: 2})
	for i, want := range []byte{6, 6, 0, 0} {
		_, err := c.read(modbus.Holding, 0, 1)
		if excCode(err) != want {
			t.Errorf("request %d: %v, want exception %d", i+1, err, want)
		}
	}
	if f := s.Fault(); f.Kind != NoFault {
		t.Errorf("fault left: %+v", f)
	}
}

func TestSetFaultRejects(t *testing.T) {
	s := newSim(t, everyType(), everyValue())
	for _, f := range []Fault{
		{Kind: Exception, Code: 7},
		{Kind: Exception, Code: 2, From: 10, To: 5},
		{Kind: LateReply},
		{Kind: FaultKind(99)},
	} {
		if err := s.SetFault(f); err == nil {
			t.Errorf("SetFault(%+v) accepted", f)
		}
	}
}

// mbapRead is a raw Modbus TCP read request.
func mbapRead(txn uint16, unit byte, addr, qty uint16) []byte {
	b := []byte{0, 0, 0, 0, 0, 6, unit, 3, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(b, txn)
	binary.BigEndian.PutUint16(b[8:], addr)
	binary.BigEndian.PutUint16(b[10:], qty)
	return b
}

// rtuRead is a raw RTU read-holding-registers request.
func rtuRead(unit byte, addr, qty uint16) []byte {
	b := []byte{unit, 3, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(b[2:], addr)
	binary.BigEndian.PutUint16(b[4:], qty)
	c := crc16(b)
	return append(b, byte(c), byte(c>>8))
}

func TestCloseMidReply(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := newSim(t, everyType(), everyValue())
	tcpAddr, err := s.ServeTCP(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	rtuAddr, err := s.ServeRTUOverTCP(ctx, "", 115200)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		addr net.Addr
		req  []byte
		full int
	}{
		{"tcp", tcpAddr, mbapRead(1, 1, 0, 20), 7 + 2 + 40},
		{"rtu-over-tcp", rtuAddr, rtuRead(1, 0, 20), 3 + 40 + 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_ = s.SetFault(Fault{Kind: CloseMidReply})
			defer func() { _ = s.SetFault(Fault{}) }()
			conn, err := net.Dial("tcp", tc.addr.String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
			if _, err := conn.Write(tc.req); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(conn) // until the simulator closes
			if err != nil {
				t.Fatalf("read: %v (connection not closed?)", err)
			}
			if len(got) != tc.full/2 {
				t.Errorf("got %d bytes before the close, want %d of %d", len(got), tc.full/2, tc.full)
			}
		})
	}
	t.Run("rtu-pty", func(t *testing.T) {
		pty, err := OpenPTY()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pty.Close() })
		go func() { _ = s.ServeRTU(ctx, pty.Server, 115200) }()
		_ = s.SetFault(Fault{Kind: CloseMidReply, Times: 1})
		tty := openTTY(t, pty.Path)
		if _, err := tty.Write(rtuRead(1, 0, 20)); err != nil {
			t.Fatal(err)
		}
		got := readN(t, tty, 45/2, 2*time.Second)
		if more := readFor(t, tty, 50*time.Millisecond); len(got) != 45/2 || len(more) != 0 {
			t.Errorf("got %d bytes, then %d more, want %d and none", len(got), len(more), 45/2)
		}
		// The line is still served.
		if _, err := tty.Write(rtuRead(1, 0, 20)); err != nil {
			t.Fatal(err)
		}
		if got := readN(t, tty, 45, 2*time.Second); len(got) != 45 {
			t.Errorf("after the fault: %d bytes, want 45", len(got))
		}
	})
}

func openTTY(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}

type deadlineReader interface {
	io.Reader
	SetReadDeadline(time.Time) error
}

// readN reads until n bytes have arrived on f or timeout has passed.
func readN(t *testing.T, f deadlineReader, n int, timeout time.Duration) []byte {
	t.Helper()
	if err := f.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		t.Fatal(err)
	}
	out := make([]byte, n)
	k, _ := io.ReadFull(f, out)
	return out[:k]
}

// readFor reads whatever arrives on f during d.
func readFor(t *testing.T, f deadlineReader, d time.Duration) []byte {
	t.Helper()
	deadline := time.Now().Add(d)
	var out []byte
	buf := make([]byte, 512)
	for {
		if err := f.SetReadDeadline(deadline); err != nil {
			t.Fatal(err)
		}
		n, err := f.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out
		}
	}
}

// A client that times out and asks again reads the late reply as the
// answer to its second request: over TCP the transaction id gives it away.
func TestLateReplyIsReadAsTheNextAnswer(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	s := newSim(t, everyType(), everyValue())
	t.Run("tcp", func(t *testing.T) {
		addr, err := s.ServeTCP(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		_ = s.SetFault(Fault{Kind: LateReply, Delay: 300 * time.Millisecond, Times: 1})
		conn, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		_, _ = conn.Write(mbapRead(1, 1, 0, 1))
		_ = conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if n, _ := conn.Read(make([]byte, 64)); n != 0 {
			t.Fatal("answered before the delay")
		}
		_, _ = conn.Write(mbapRead(2, 1, 0, 2))
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		for i, want := range []struct {
			txn  uint16
			regs int
		}{{1, 1}, {2, 2}} {
			f, err := readMBAP(conn)
			if err != nil {
				t.Fatal(err)
			}
			if txn := binary.BigEndian.Uint16(f); txn != want.txn || int(f[8]) != 2*want.regs {
				t.Errorf("reply %d: transaction %d with %d bytes, want %d with %d", i+1, txn, f[8], want.txn, 2*want.regs)
			}
			if i == 0 && time.Since(start) < 300*time.Millisecond {
				t.Errorf("late reply after %v", time.Since(start))
			}
		}
	})
	t.Run("rtu-over-tcp", func(t *testing.T) {
		addr, err := s.ServeRTUOverTCP(ctx, "", 115200)
		if err != nil {
			t.Fatal(err)
		}
		_ = s.SetFault(Fault{Kind: LateReply, Delay: 300 * time.Millisecond, Times: 1})
		conn, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		s.ResetCounters()
		_, _ = conn.Write(rtuRead(1, 0, 1))
		// The client times out and asks again once the slave has heard
		// the first request (its own frame, not run into the second).
		for s.Counters().Requests == 0 {
			time.Sleep(time.Millisecond)
		}
		_, _ = conn.Write(rtuRead(1, 0, 2))
		_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		first := make([]byte, 7) // the answer to the first request: 1 register
		if _, err := io.ReadFull(conn, first); err != nil {
			t.Fatal(err)
		}
		if first[2] != 2 {
			t.Errorf("first reply carries %d bytes, want 2 (the late one)", first[2])
		}
		second := make([]byte, 9)
		if _, err := io.ReadFull(conn, second); err != nil || second[2] != 4 {
			t.Errorf("second reply % x, %v", second, err)
		}
	})
}
