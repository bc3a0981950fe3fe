package nutd

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
)

// serve starts a server on 127.0.0.1:0 with one UPS and one shed group,
// until the test ends.
func serve(t testing.TB) (*Server, string) {
	t.Helper()
	s := New(Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	s.Update("bms-1", "Rack A battery string", VarsFromReadings([]drivers.Reading{
		{Point: "battery.charge", Value: 97.25},
		{Point: "battery.voltage", Value: 53.1234},
		{Point: "battery.temperature", Value: math.NaN()},
		{Point: "ups.status", Text: "OL CHRG"},
	}))
	s.Update("rack-a-web", "shed group rack-a-web", nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return s, ln.Addr().String()
}

func TestProtocol(t *testing.T) {
	s, addr := serve(t)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	// exchange sends a line and reads n reply lines.
	exchange := func(line string, n int) string {
		t.Helper()
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.WriteString(c, line+"\n"); err != nil {
			t.Fatal(err)
		}
		var out []string
		for range n {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("%s: %v after %q", line, err, out)
			}
			out = append(out, strings.TrimSuffix(l, "\n"))
		}
		return strings.Join(out, "|")
	}
	cases := []struct {
		send string
		n    int
		want string
	}{
		{"VER", 1, Version},
		{"NETVER", 1, "1.3"},
		{"HELP", 1, "Commands: HELP VER GET LIST SET INSTCMD LOGIN LOGOUT USERNAME PASSWORD STARTTLS"},
		{"LIST UPS", 4, `BEGIN LIST UPS|UPS bms-1 "Rack A battery string"|UPS rack-a-web "shed group rack-a-web"|END LIST UPS`},
		{"LIST VAR bms-1", 5, `BEGIN LIST VAR bms-1|VAR bms-1 battery.charge "97.25"|VAR bms-1 battery.voltage "53.123"|VAR bms-1 ups.status "OL CHRG"|END LIST VAR bms-1`},
		{"GET VAR bms-1 ups.status", 1, `VAR bms-1 ups.status "OL CHRG"`},
		{`GET VAR "bms-1" battery.charge`, 1, `VAR bms-1 battery.charge "97.25"`},
		{"GET VAR bms-1 battery.temperature", 1, "ERR VAR-NOT-SUPPORTED"},
		{"GET VAR ups-9 ups.status", 1, "ERR UNKNOWN-UPS"},
		{"GET TYPE bms-1 battery.charge", 1, "TYPE bms-1 battery.charge NUMBER"},
		{"GET UPSDESC bms-1", 1, `UPSDESC bms-1 "Rack A battery string"`},
		{"GET VAR rack-a-web ups.status", 1, `VAR rack-a-web ups.status "OL"`},
		{"LIST CMD bms-1", 2, "BEGIN LIST CMD bms-1|END LIST CMD bms-1"},
		{"LIST RW bms-1", 2, "BEGIN LIST RW bms-1|END LIST RW bms-1"},
		{"USERNAME monuser", 1, "OK"},
		{"USERNAME again", 1, "ERR ALREADY-SET-USERNAME"},
		{"PASSWORD secret", 1, "OK"},
		{"LOGIN ups-9", 1, "ERR UNKNOWN-UPS"},
		{"LOGIN bms-1", 1, "OK"},
		{"GET NUMLOGINS bms-1", 1, "NUMLOGINS bms-1 1"},
		{"PRIMARY bms-1", 1, "ERR ACCESS-DENIED"},
		{"MASTER bms-1", 1, "ERR ACCESS-DENIED"},
		{"SET VAR bms-1 ups.delay.shutdown 10", 1, "ERR ACCESS-DENIED"},
		{"INSTCMD bms-1 load.off", 1, "ERR ACCESS-DENIED"},
		{"FSD bms-1", 1, "ERR ACCESS-DENIED"},
		{"STARTTLS", 1, "ERR FEATURE-NOT-CONFIGURED"},
		{"FROB", 1, "ERR UNKNOWN-COMMAND"},
		{`GET VAR "bms-1`, 1, "ERR INVALID-ARGUMENT"},
		{"LIST", 1, "ERR INVALID-ARGUMENT"},
	}
	for _, tc := range cases {
		if got := exchange(tc.send, tc.n); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.send, got, tc.want)
		}
	}

	s.SetFSD([]string{"bms-1", "rack-a-web"})
	if got := exchange("GET VAR bms-1 ups.status", 1); got != `VAR bms-1 ups.status "FSD OL CHRG"` {
		t.Errorf("after shed: %s", got)
	}
	if got := exchange("GET VAR rack-a-web ups.status", 1); got != `VAR rack-a-web ups.status "FSD OL"` {
		t.Errorf("after shed: %s", got)
	}
	s.SetFSD(nil)
	if got := exchange("GET VAR bms-1 ups.status", 1); got != `VAR bms-1 ups.status "OL CHRG"` {
		t.Errorf("after clear: %s", got)
	}
	if got := exchange("LOGOUT", 1); got != "OK Goodbye" {
		t.Errorf("LOGOUT: %s", got)
	}
	if _, err := r.ReadString('\n'); err != io.EOF {
		t.Errorf("connection still open after LOGOUT: %v", err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		s.mu.RLock()
		n := s.logins["bms-1"]
		s.mu.RUnlock()
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("login count %d after logout", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestSplit(t *testing.T) {
	cases := []struct {
		in   string
		want string
		bad  bool
	}{
		{in: "GET VAR ups x", want: "GET|VAR|ups|x"},
		{in: `SET VAR ups "a b" `, want: `SET|VAR|ups|a b`},
		{in: `X "a\"b\\c"`, want: `X|a"b\c`},
		{in: `X ""`, want: "X|"},
		{in: `X "open`, bad: true},
	}
	for _, tc := range cases {
		got, err := split(tc.in)
		if tc.bad != (err != nil) || !tc.bad && strings.Join(got, "|") != tc.want {
			t.Errorf("split(%q) = %q, %v", tc.in, got, err)
		}
	}
}

func TestMaxClients(t *testing.T) {
	s := New(Options{MaxClients: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = s.Serve(ctx, ln) }()
	c1, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	io.WriteString(c1, "VER\n")
	bufio.NewReader(c1).ReadString('\n') // c1 holds the slot
	c2, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	_ = c2.SetDeadline(time.Now().Add(5 * time.Second))
	l, _ := bufio.NewReader(c2).ReadString('\n')
	if l != "ERR MAX-CLIENTS\n" {
		t.Errorf("second client got %q", l)
	}
}
