package probe_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/probe"
	"github.com/emberwatch/emberwatch/drivers"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		url     string
		scheme  string
		bus     string
		unit    byte
		profile string
	}{
		{"modbus+tcp://10.0.0.5:502?unit=1&profile=sunspec", "modbus+tcp", "tcp://10.0.0.5:502", 1, "sunspec"},
		{"modbus+tcp://bms-1?profile=rack-bms&unit=17&timeout=250ms", "modbus+tcp", "tcp://bms-1:502", 17, "rack-bms"},
		{"modbus+rtu:///dev/ttyUSB0?baud=19200&parity=E&unit=1&profile=sunspec", "modbus+rtu", "rtu:///dev/ttyUSB0", 1, "sunspec"},
		{"modbus+rtutcp://192.168.1.20:4001?unit=2&profile=sunspec", "modbus+rtutcp", "rtutcp://192.168.1.20:4001", 2, "sunspec"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			got, err := probe.ParseURL(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if got.Scheme != tc.scheme || got.Modbus.Bus() != tc.bus || got.Modbus.Unit != tc.unit || got.Modbus.Profile != tc.profile {
				t.Errorf("got %s %s unit %d profile %s, want %s %s unit %d profile %s",
					got.Scheme, got.Modbus.Bus(), got.Modbus.Unit, got.Modbus.Profile, tc.scheme, tc.bus, tc.unit, tc.profile)
			}
		})
	}
	got, err := probe.ParseURL("modbus+rtu:///dev/ttyS1?baud=9600&parity=N&unit=3&profile=gas&timeout=250ms")
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Modbus.Serial; s.Baud != 9600 || s.Parity != "N" || got.Modbus.Timeout != 250*time.Millisecond {
		t.Errorf("serial %+v timeout %v", s, got.Modbus.Timeout)
	}
}

func TestParseURLErrors(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"10.0.0.5:502", "want a URL"},
		{"http://10.0.0.5", `scheme "http"`},
		{"modbus+tcp://10.0.0.5", "names no profile"},
		{"modbus+tcp://h?profile=x&unit=248", "unit"},
		{"modbus+tcp://h?profile=x&unit=one", "unit"},
		{"modbus+tcp://h?profile=x&unit=1&unit=2", "given 2 times"},
		{"modbus+tcp://h?profile=x&speed=9600", `unknown parameter "speed"`},
		{"modbus+tcp://h?profile=../etc/passwd", "profile"},
		{"modbus+tcp://h?profile=x&timeout=-1s", "timeout"},
		{"modbus+rtu:///dev/ttyUSB0?profile=x&parity=X", "parity"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			_, err := probe.ParseURL(tc.url)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if errors.Is(err, probe.ErrNotSupported) {
				t.Errorf("%q is not an unsupported-scheme error", err)
			}
		})
	}
	for _, u := range []string{"snmp://public@10.0.0.9:161", "i2c:///dev/i2c-1?addr=0x48&sensor=tmp102"} {
		if _, err := probe.ParseURL(u); !errors.Is(err, probe.ErrNotSupported) {
			t.Errorf("%s: error %v, want ErrNotSupported", u, err)
		}
	}
}

func TestCompareNatural(t *testing.T) {
	got := []string{
		"battery.module.10.voltage", "battery.module.2.voltage", "battery.module.1.cell.10.voltage",
		"battery.module.1.cell.9.voltage", "battery.charge", "battery.string.2.charge", "battery.string.10.charge",
		"battery.module.1.cell.avg.voltage", "battery.module.01.voltage",
	}
	slices.SortFunc(got, probe.Compare)
	want := []string{
		"battery.charge",
		"battery.module.1.cell.9.voltage", "battery.module.1.cell.10.voltage", "battery.module.1.cell.avg.voltage",
		"battery.module.01.voltage", "battery.module.2.voltage", "battery.module.10.voltage",
		"battery.string.2.charge", "battery.string.10.charge",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !probe.Less("a2", "a10") || probe.Less("a10", "a2") || probe.Less("a", "a") {
		t.Error("Less disagrees with Compare")
	}
}

func TestWrite(t *testing.T) {
	var b strings.Builder
	err := probe.Write(&b, []drivers.Reading{
		{Point: "battery.module.10.temperature", Value: 25.5, Unit: "°C"},
		{Point: "battery.module.2.temperature", Value: math.NaN(), Unit: "°C"},
		{Point: "device.model", Value: math.NaN(), Text: "SIM LI"},
		{Point: "battery.status", Value: math.NaN(), Text: "CONNECTED"},
		{Point: "battery.voltage", Value: 105.6, Unit: "V"},
		{Point: "battery.current", Value: -24.6, Unit: "A"},
		{Point: "battery.capacity", Value: 280, Unit: "Ah"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `battery.capacity 280 Ah
battery.current -24.6 A
battery.module.2.temperature nan °C
battery.module.10.temperature 25.5 °C
battery.status CONNECTED
battery.voltage 105.6 V
device.model "SIM LI"
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
