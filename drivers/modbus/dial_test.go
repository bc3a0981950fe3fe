package modbus

import (
	"fmt"
	"testing"
	"time"
)

func TestParseAddress(t *testing.T) {
	cases := []struct {
		raw  string
		want string // fmt of Address, or "error"
		bus  string
	}{
		{"tcp://10.0.0.5", "tcp 10.0.0.5:502 unit 1", "tcp://10.0.0.5:502"},
		{"modbus+tcp://10.0.0.5:1502?unit=3&profile=sunspec&timeout=300ms", "tcp 10.0.0.5:1502 unit 3 profile sunspec timeout 300ms", "tcp://10.0.0.5:1502"},
		{"rtu:///dev/ttyUSB0?baud=9600&parity=N&unit=2", "rtu /dev/ttyUSB0 9600 8N2 unit 2", "rtu:///dev/ttyUSB0"},
		{"rtu:///dev/ttyS1?data_bits=8&stop_bits=1", "rtu /dev/ttyS1 19200 8E1 unit 1", "rtu:///dev/ttyS1"},
		{"rtutcp://[::1]:4001?unit=7", "rtutcp [::1]:4001 unit 7", "rtutcp://[::1]:4001"},
		{"rtu+tcp://gw:4001", "rtutcp gw:4001 unit 1", "rtutcp://gw:4001"},
		{"snmp://x", "error", ""},
		{"tcp://", "error", ""},
		{"rtu://", "error", ""},
		{"tcp://h?unit=300", "error", ""},
		{"rtu:///dev/x?unit=0", "error", ""},
		{"rtu:///dev/x?parity=Q", "error", ""},
		{"rtu:///dev/x?baud=fast", "error", ""},
		{"tcp://h?timeout=soon", "error", ""},
		{"tcp://h?colour=red", "error", ""},
	}
	for _, tc := range cases {
		a, err := ParseAddress(tc.raw)
		got := "error"
		if err == nil {
			switch a.Scheme {
			case SchemeRTU:
				got = fmt.Sprintf("rtu %s %d %d%s%d unit %d", a.Serial.Device, a.Serial.Baud, a.Serial.DataBits, a.Serial.Parity, a.Serial.StopBits, a.Unit)
			default:
				got = fmt.Sprintf("%s %s unit %d", a.Scheme, a.Host, a.Unit)
			}
			if a.Profile != "" {
				got += " profile " + a.Profile
			}
			if a.Timeout != 0 {
				got += " timeout " + a.Timeout.String()
			}
			if a.Bus() != tc.bus {
				t.Errorf("%s: bus %s, want %s", tc.raw, a.Bus(), tc.bus)
			}
		}
		if got != tc.want {
			t.Errorf("ParseAddress(%q) = %s (%v), want %s", tc.raw, got, err, tc.want)
		}
	}
}

func TestBusesShare(t *testing.T) {
	b := NewBuses(ClientOptions{Timeout: time.Second})
	defer b.Close()
	c1, _, err := b.Dial("rtutcp://127.0.0.1:4001?unit=1")
	if err != nil {
		t.Fatal(err)
	}
	c2, a2, _ := b.Dial("rtutcp://127.0.0.1:4001?unit=2")
	c3, _, _ := b.Dial("tcp://127.0.0.1:4001?unit=2")
	if c1 != c2 || c1 == c3 || a2.Unit != 2 {
		t.Errorf("clients %p %p %p: units on one bus must share a client, other buses not", c1, c2, c3)
	}
	if c1.String() != "rtutcp://127.0.0.1:4001" {
		t.Errorf("client name %s", c1)
	}
}
