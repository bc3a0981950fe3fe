package modbus

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

type clientKind struct {
	name string
	dial func(t testing.TB, s *testServer, opts ClientOptions) *Client
}

var clientKinds = []clientKind{
	{"tcp", func(t testing.TB, s *testServer, opts ClientOptions) *Client {
		return NewTCPClient(listenTCP(t, s), opts)
	}},
	{"rtutcp", func(t testing.TB, s *testServer, opts ClientOptions) *Client {
		return NewRTUOverTCPClient(listenRTUOverTCP(t, s), opts)
	}},
}

func TestClientReads(t *testing.T) {
	for _, k := range clientKinds {
		t.Run(k.name, func(t *testing.T) {
			s := newTestServer()
			s.set(1, 100, 1, 2, 3, 0xFFFF)
			s.setTable(1, Input, 101, 2, 3)
			s.setBit(1, 5, true)
			s.setBit(1, 7, true)
			c := k.dial(t, s, ClientOptions{Timeout: time.Second})
			defer c.Close()
			ctx := context.Background()
			for _, tc := range []struct {
				table       Table
				addr, count uint16
				want        string
			}{
				{Holding, 100, 4, "[1 2 3 65535]"},
				{Input, 101, 2, "[2 3]"},
				{Coil, 4, 5, "[0 1 0 1 0]"},
				{Discrete, 5, 1, "[1]"},
			} {
				got, err := c.ReadRegisters(ctx, 1, tc.table, tc.addr, tc.count)
				if err != nil {
					t.Fatalf("%s %d+%d: %v", tc.table, tc.addr, tc.count, err)
				}
				if fmt.Sprint(got) != tc.want {
					t.Errorf("%s %d+%d = %v, want %s", tc.table, tc.addr, tc.count, got, tc.want)
				}
			}
			if _, err := c.ReadRegisters(ctx, 1, Holding, 0, 126); err == nil {
				t.Error("126 registers accepted")
			}
		})
	}
}

// TestClientFaults scripts one fault on the server's first request and
// checks the error, then that the next request gets its own answer: each
// reply carries the number of the request it answers.
func TestClientFaults(t *testing.T) {
	faults := []struct {
		name    string
		b       behaviour
		tcpOnly bool
		check   func(t *testing.T, err error)
		resets  int64
	}{
		{"exception", behaviour{exception: ExIllegalAddress}, false, func(t *testing.T, err error) {
			var ee *ExceptionError
			if !errors.As(err, &ee) || ee.Code != 2 || ee.Function != 3 || ee.Unit != 7 || ee.Address != 10 || ee.Busy() {
				t.Fatalf("error %v is not exception 2 of function 3 at unit 7 address 10", err)
			}
			if want := "exception 2 (illegal data address)"; !contains(err.Error(), want) {
				t.Errorf("error %q lacks %q", err, want)
			}
		}, 0},
		{"busy", behaviour{exception: ExDeviceBusy}, false, func(t *testing.T, err error) {
			var ee *ExceptionError
			if !errors.As(err, &ee) || !ee.Busy() {
				t.Fatalf("error %v is not busy", err)
			}
		}, 0},
		{"late reply", behaviour{delay: 300 * time.Millisecond}, false, func(t *testing.T, err error) {
			if !errors.Is(err, ErrTimeout) {
				t.Fatalf("error %v is not a timeout", err)
			}
		}, 1},
		{"stale transaction id", behaviour{staleTxID: true}, true, func(t *testing.T, err error) {
			if err == nil || !contains(err.Error(), "transaction id") {
				t.Fatalf("error %v does not name the transaction id", err)
			}
		}, 1},
		{"closed mid-reply", behaviour{closeMid: true}, false, func(t *testing.T, err error) {
			if err == nil {
				t.Fatal("no error")
			}
		}, 1},
	}
	for _, k := range clientKinds {
		for _, f := range faults {
			if f.tcpOnly && k.name != "tcp" {
				continue
			}
			t.Run(k.name+"/"+f.name, func(t *testing.T) {
				s := newTestServer()
				s.set(7, 10, 0)
				s.hook = func(n int, unit, fn byte, addr, count uint16) behaviour {
					s.set(7, 10, uint16(n))
					if n == 2 {
						return f.b
					}
					return behaviour{}
				}
				c := k.dial(t, s, ClientOptions{Timeout: 100 * time.Millisecond})
				defer c.Close()
				ctx := context.Background()
				if w, err := c.ReadRegisters(ctx, 7, Holding, 10, 1); err != nil || w[0] != 1 {
					t.Fatalf("first read = %v, %v", w, err)
				}
				w, err := c.ReadRegisters(ctx, 7, Holding, 10, 1)
				if err == nil {
					t.Fatalf("faulty read returned %v", w)
				}
				if !contains(err.Error(), "unit 7") || !contains(err.Error(), "10") {
					t.Errorf("error %q does not name unit and address", err)
				}
				f.check(t, err)
				if c.Resets() != f.resets {
					t.Errorf("%d connection resets, want %d", c.Resets(), f.resets)
				}
				// Give a late reply time to arrive: it must not be taken
				// for the answer to the next request.
				time.Sleep(250 * time.Millisecond)
				w, err = c.ReadRegisters(ctx, 7, Holding, 10, 1)
				if err != nil {
					t.Fatalf("read after the fault: %v", err)
				}
				if want := uint16(s.reqs.Load()); w[0] != want {
					t.Errorf("read after the fault = %d, want the answer to request %d", w[0], want)
				}
			})
		}
	}
}

func TestClientContext(t *testing.T) {
	s := newTestServer()
	s.set(1, 0, 5)
	s.hook = func(int, byte, byte, uint16, uint16) behaviour { return behaviour{silent: true} }
	c := NewRTUOverTCPClient(listenRTUOverTCP(t, s), ClientOptions{Timeout: 5 * time.Second})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.ReadRegisters(ctx, 1, Holding, 0, 1)
	if err == nil || time.Since(start) > time.Second {
		t.Fatalf("read with a 50 ms context: %v after %v", err, time.Since(start))
	}
	// A device's own timeout overrides the client's.
	start = time.Now()
	_, err = c.ReadRegisters(withRequestTimeout(context.Background(), 40*time.Millisecond), 1, Holding, 0, 1)
	if !errors.Is(err, ErrTimeout) || time.Since(start) > time.Second {
		t.Fatalf("read with a 40 ms request timeout: %v after %v", err, time.Since(start))
	}
	start = time.Now()
	_, err = WithTimeout(c, 40*time.Millisecond).ReadRegisters(context.Background(), 1, Holding, 0, 1)
	if !errors.Is(err, ErrTimeout) || time.Since(start) > time.Second {
		t.Fatalf("read through WithTimeout(40 ms): %v after %v", err, time.Since(start))
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
