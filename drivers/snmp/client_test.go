package snmp

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// TestClientRetriesWithBackoff: an agent that never answers is asked
// 1 + Retries times, with growing waits, and the error says so.
func TestClientRetriesWithBackoff(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	got := make(chan int, 1)
	go func() {
		n := 0
		buf := make([]byte, 2048)
		for {
			// The count ends a second after the last datagram, so
			// that the cancelled request's is read before it ends.
			silent.SetReadDeadline(time.Now().Add(time.Second))
			if _, _, err := silent.ReadFrom(buf); err != nil {
				got <- n
				return
			}
			n++
		}
	}()
	c, err := Dial(Config{Target: silent.LocalAddr().String(), Timeout: 100 * time.Millisecond, Retries: 2,
		Backoff: 50 * time.Millisecond, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, err = c.Get(context.Background(), []string{OIDSysObjectID})
	el := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "no answer after 3 tries") {
		t.Fatalf("err = %v", err)
	}
	// 3 timeouts of 100 ms, waits of 50 and 100 ms.
	if el < 440*time.Millisecond {
		t.Errorf("gave up after %v, want at least 450ms", el)
	}
	if st := c.Stats(); st.Requests != 3 || st.Timeouts != 3 {
		t.Errorf("stats %+v, want 3 requests, 3 timeouts", st)
	}
	// A cancelled context stops at once, retries or not.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = c.Get(ctx, []string{OIDSysObjectID})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 200*time.Millisecond {
		t.Errorf("cancelled: err %v after %v", err, time.Since(start))
	}
	if n := <-got; n != 4 {
		t.Errorf("agent saw %d datagrams, want 3 (and 1 cancelled)", n)
	}

}

func TestDialConfigErrors(t *testing.T) {
	for _, cfg := range []Config{
		{Target: ""},
		{Target: "127.0.0.1:notaport"},
		{Target: "127.0.0.1", Version: "5"},
		{Target: "127.0.0.1", Version: "3"},
		{Target: "127.0.0.1", Version: "3", User: "u", AuthPass: "short"},
		{Target: "127.0.0.1", Version: "3", User: "u", AuthPass: "longenough", PrivProto: "ROT13", PrivPass: "longenough"},
		{Target: "127.0.0.1", Version: "3", User: "u", SecurityLevel: "authPrivPlus"},
	} {
		if _, err := Dial(cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("Dial(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
}
