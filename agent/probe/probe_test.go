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
		url  string
		want probe.Target
	}{
		{"modbus+tcp://10.0.0.5:502?unit=1&profile=sunspec",
			probe.Target{Scheme: probe.ModbusTCP, Address: "10.0.0.5:502", Unit: 1, Profile: "sunspec", Timeout: time.Second}},
		{"modbus+tcp://bms-1?profile=rack-bms&unit=17&timeout=250ms",
			probe.Target{Scheme: probe.ModbusTCP, Address: "bms-1:502", Unit: 17, Profile: "rack-bms", Timeout: 250 * time.Millisecond}},
		{"MODBUS+TCP://[::1]:1502?profile=x",
			probe.Target{Scheme: probe.ModbusTCP, Address: "[::1]:1502", Unit: 1, Profile: "x", Timeout: time.Second}},
		{"modbus+rtu:///dev/ttyUSB0?baud=19200&parity=E&unit=1&profile=sunspec",
			probe.Target{Scheme: probe.ModbusRTU, Device: "/dev/ttyUSB0", Unit: 1, Profile: "sunspec", Timeout: time.Second,
				Baud: 19200, DataBits: 8, Parity: "E", StopBits: 1}},
		{"modbus+rtu:///dev/ttyS1?baud=9600&parity=n&unit=3&profile=gas",
			probe.Target{Scheme: probe.ModbusRTU, Device: "/dev/ttyS1", Unit: 3, Profile: "gas", Timeout: time.Second,
				Baud: 9600, DataBits: 8, Parity: "N", StopBits: 2}},
		{"modbus+rtutcp://192.168.1.20:4001?unit=2&profile=sunspec",
			probe.Target{Scheme: probe.ModbusRTUTCP, Address: "192.168.1.20:4001", Unit: 2, Profile: "sunspec", Timeout: time.Second}},
	} {
		t.Run(tc.url, func(t *testing.T) {
			got, err := probe.ParseURL(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			if *got != tc.want {
				t.Errorf("got  %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

func TestParseURLErrors(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"10.0.0.5:502", "scheme"},
		{"http://10.0.0.5", `scheme "http"`},
		{"modbus+tcp://10.0.0.5", "no profile"},
		{"modbus+tcp://:502?profile=x", "no host"},
		{"modbus+tcp://h:99999?profile=x", "port"},
		{"modbus+tcp://h/foo?profile=x", "path"},
		{"modbus+tcp://h?profile=x&unit=248", "unit"},
		{"modbus+tcp://h?profile=x&unit=one", "unit"},
		{"modbus+tcp://h?profile=x&unit=1&unit=2", "given 2 times"},
		{"modbus+tcp://h?profile=x&baud=9600", "serial settings apply only"},
		{"modbus+tcp://h?profile=x&speed=9600", `unknown query key "speed"`},
		{"modbus+tcp://h?profile=../etc/passwd", "profile"},
		{"modbus+tcp://h?profile=x&timeout=-1s", "timeout"},
		{"modbus+tcp://user@h?profile=x", "no user"},
		{"modbus+rtutcp://h?profile=x", "no port"},
		{"modbus+rtu://dev/ttyUSB0?profile=x", "three slashes"},
		{"modbus+rtu://?profile=x", "no serial port"},
		{"modbus+rtu:///dev/ttyUSB0?profile=x&parity=X", "parity"},
		{"modbus+rtu:///dev/ttyUSB0?profile=x&databits=9", "databits"},
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
