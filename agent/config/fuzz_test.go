package config

import (
	"bytes"
	"errors"
	"net"
	"os"
	"strconv"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the site file parser: it must never
// panic; every problem it reports is an Errors entry naming the file, at a
// line the file has, and one that names neither a line nor a field is the
// empty file; a file it accepts is complete (every default filled, every
// limit kept).
func FuzzParse(f *testing.F) {
	head := "site: s\ngateway: g\nmqtt: {broker: \"tcp://h:1883\"}\n"
	seeds := []string{
		head,
		head + "devices:\n  - {name: bms-1, driver: modbus, address: \"tcp://127.0.0.1\", profile: sunspec}\n" +
			"  - {name: bms-2, driver: modbus, address: \"tcp://127.0.0.1:1502\", unit: 0, profile: sunspec, interval: 200ms}\n",
		head + "devices:\n  - {name: a, driver: modbus, address: \"rtu:///dev/ttyS0?baud=19200&parity=E\", profile: p, interval: 1s, timeout: 300ms, retries: 2}\n",
		head + "devices:\n  - {name: p, driver: snmp, address: \"snmp://public@h:161?version=2c\", profile: apc-rpdu}\n",
		head + "devices:\n  - {name: i, driver: i2c, address: \"i2c:///dev/i2c-1?addr=0x48&sensor=tmp102\"}\n",
		head + "nut: {enabled: true, listen: \"127.0.0.1:3493\", max_clients: 8}\nmetrics: {listen: \"localhost:9\"}\n",
		head + "commands: {max_age: 60s, operator_seq_file: seq.json}\nshed: {groups: []}\ndetect: {rate: 0.5}\n",
		head + "traps: {enabled: true, listen: \"127.0.0.1:1162\", communities: [public],\n" +
			"  users: [{user: ops, auth_protocol: SHA, auth_password_env: A, priv_protocol: AES, priv_password_file: p}]}\n",
		head + "site: t\n",
		"site: a/b\nmqtt: {broker: \"http://h\", telemetry_qos: 3}\n",
		"site: [\n",
		"x: &a [*a]\n",
		"",
	}
	if b, err := os.ReadFile("../../firmware-config/site.example.yaml"); err == nil {
		seeds = append(seeds, string(b))
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "site.yaml"
		c, err := Parse(file, data)
		// at most: YAML ends a line at CR, LF, NEL, LS and PS too
		lines := 1 + bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) +
			bytes.Count(data, []byte("\u0085")) + bytes.Count(data, []byte("\u2028")) + bytes.Count(data, []byte("\u2029"))
		if err != nil {
			var es Errors
			if !errors.As(err, &es) || len(es) == 0 {
				t.Fatalf("error %T %q is not a non-empty Errors", err, err)
			}
			for _, e := range es {
				if e.File != file {
					t.Fatalf("error %q names file %q", e, e.File)
				}
				if e.Line < 0 || e.Line > lines {
					t.Fatalf("error %q at line %d of a %d-line file", e, e.Line, lines)
				}
				if e.Line == 0 && e.Field == "" && e.Msg != "empty file" {
					t.Fatalf("error %q names neither a line nor a field", e)
				}
			}
			return
		}
		if c == nil {
			t.Fatal("no config and no error")
		}
		if c.MQTT.ClientID == "" || c.MQTT.Keepalive <= 0 || c.MQTT.Queue <= 0 {
			t.Fatalf("mqtt defaults not filled: %+v", c.MQTT)
		}
		names := map[string]bool{}
		for i, d := range c.Devices {
			if names[d.Name] {
				t.Fatalf("devices[%d]: name %q accepted twice", i, d.Name)
			}
			names[d.Name] = true
			if d.Interval.D() < MinInterval || d.Interval.D() > MaxInterval {
				t.Fatalf("devices[%d]: interval %v accepted", i, d.Interval.D())
			}
			if d.Timeout <= 0 || d.Timeout > d.Interval {
				t.Fatalf("devices[%d]: timeout %v with interval %v accepted", i, d.Timeout.D(), d.Interval.D())
			}
			if d.Retries == nil || *d.Retries < 0 || *d.Retries > MaxRetries {
				t.Fatalf("devices[%d]: retries %v accepted", i, d.Retries)
			}
		}
	})
}

// TestSyntaxErrorLine checks the syntax errors yaml.v3 gives no line for:
// each is located at the line of its problem.
func TestSyntaxErrorLine(t *testing.T) {
	tests := []struct {
		name, yaml string
		line       int
	}{
		{"first line", "\"", 1},
		{"control character", "a: 1\n\x01", 2},
		{"invalid UTF-8", "a: 1\nb: 2\nc: \xff\n", 3},
		{"unknown anchor", "a: 1\nb: *x\n", 2},
		{"lines ended by CR", "a: 1\r\nb: 2\rc: *x\r", 3},
		{"named by yaml", "site: [\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("site.yaml", []byte(tt.yaml))
			var es Errors
			if !errors.As(err, &es) || len(es) != 1 {
				t.Fatalf("err = %v, want one error", err)
			}
			if es[0].Line != tt.line {
				t.Errorf("%q at line %d, want %d", es[0], es[0].Line, tt.line)
			}
		})
	}
}

// FuzzParseAddress feeds arbitrary strings to the device address parser:
// it must never panic, and an address it accepts is one a driver can use:
// a host and a port 1-65535 that split apart again for the network
// schemes, a path and line settings in range for rtu, a bus for i2c.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"tcp://10.0.0.5", "tcp://10.0.0.5:1502", "tcp://[::1]:502", "rtutcp://h:4001",
		"rtu:///dev/ttyUSB0?baud=9600&parity=n&stop_bits=2&data_bits=7", "rtu:///dev/ttyUSB0",
		"snmp://public@10.0.0.9:161?version=2c", "i2c:///dev/i2c-1?addr=0x48&sensor=tmp102",
		"10.0.0.5:502", "rtu://dev/tty", "tcp://h:99999", "tcp://h?unit=1", "ftp://h",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		switch a.Scheme {
		case "tcp", "rtutcp", "snmp":
			host, port, err := net.SplitHostPort(a.Host)
			if err != nil {
				t.Fatalf("%q: host %q does not split: %v", s, a.Host, err)
			}
			if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
				t.Fatalf("%q: port %q", s, port)
			}
			if net.JoinHostPort(host, port) != a.Host {
				t.Fatalf("%q: host %q is not host %q port %q", s, a.Host, host, port)
			}
		case "rtu":
			if a.Path == "" || a.Baud < 300 || a.Baud > 4000000 || a.DataBits < 7 || a.DataBits > 8 ||
				(a.Parity != "N" && a.Parity != "E" && a.Parity != "O") || a.StopBits < 1 || a.StopBits > 2 {
				t.Fatalf("%q: serial line %+v", s, a)
			}
			if b := a.CharBits(); b < 9 || b > 12 {
				t.Fatalf("%q: %d bits a character", s, b)
			}
		case "i2c":
			if a.Path == "" {
				t.Fatalf("%q: no bus", s)
			}
		default:
			t.Fatalf("%q: scheme %q accepted", s, a.Scheme)
		}
	})
}

// TestParseAddressHost checks the host cases the fuzz target found: an
// IPv6 literal without a port, and hosts that are not hosts.
func TestParseAddressHost(t *testing.T) {
	if a, err := ParseAddress("tcp://[::1]"); err != nil || a.Host != "[::1]:502" {
		t.Errorf("tcp://[::1] = %q, %v; want [::1]:502", a.Host, err)
	}
	for _, bad := range []string{"tcp://]", "tcp://:502", "snmp://public@:161"} {
		if a, err := ParseAddress(bad); err == nil {
			t.Errorf("%s accepted as %q", bad, a.Host)
		}
	}
}
