package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseDefaults(t *testing.T) {
	c, err := Parse("site.yaml", []byte(`
site: s1
gateway: g1
mqtt: {broker: "tcp://127.0.0.1:1883"}
devices:
  - {name: bms-1, driver: modbus, address: "tcp://127.0.0.1", profile: sunspec}
  - {name: bms-2, driver: modbus, address: "tcp://127.0.0.1:1502", unit: 0, profile: sunspec, interval: 200ms}
`))
	if err != nil {
		t.Fatal(err)
	}
	if c.MQTT.ClientID != "emberwatch-s1-g1" || c.MQTT.Keepalive.D() != DefaultKeepalive || c.MQTT.Queue != DefaultQueue {
		t.Errorf("mqtt defaults: %+v", c.MQTT)
	}
	d := c.Devices[0]
	if d.Unit != 1 || d.Interval.D() != DefaultInterval || d.Timeout.D() != DefaultTimeout || *d.Retries != DefaultRetries {
		t.Errorf("device defaults: %+v", d)
	}
	if d2 := c.Devices[1]; d2.Unit != 0 || d2.Timeout.D() != 200*time.Millisecond {
		t.Errorf("explicit unit 0 / timeout capped by interval: %+v", d2)
	}
	if l := c.Line("devices[1].interval"); l != 7 {
		t.Errorf("line of devices[1].interval = %d, want 7", l)
	}
}

func TestParseErrors(t *testing.T) {
	head := "site: s\ngateway: g\nmqtt: {broker: \"tcp://h:1883\"}\n"
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown key", head + "devcies: []\n", []string{"site.yaml:4: devcies: unknown field (did you mean devices?)"}},
		{"wrong type", head + "devices:\n  - {name: a, driver: modbus, address: \"tcp://h\", profile: p, unit: one}\n",
			[]string{`site.yaml:5: devices[0].unit: want an integer, got "one"`}},
		{"bare number interval", head + "devices:\n  - {name: a, driver: modbus, address: \"tcp://h\", profile: p, interval: 5}\n",
			[]string{`site.yaml:5: devices[0].interval: "5" has no unit (write 5s or 5ms)`}},
		{"all errors", "site: a/b\nmqtt: {broker: \"http://h\", telemetry_qos: 3}\n",
			[]string{
				`site.yaml:1: site: "a/b": use letters`,
				`site.yaml:2: mqtt.broker: "http://h": scheme`,
				`site.yaml:2: mqtt.telemetry_qos: 3: QoS is 0, 1 or 2`,
				`site.yaml: gateway: required`,
			}},
		{"duplicate", head + "devices:\n  - {name: a, driver: modbus, address: \"tcp://h\", profile: p}\n  - {name: a, driver: modbus, address: \"tcp://h\", profile: p}\n",
			[]string{`site.yaml:6: devices[1].name: "a" is also the name of devices[0] (line 5)`}},
		{"duplicate key", head + "site: t\n", []string{"site.yaml:4: site: defined twice (first at line 1)"}},
		{"syntax", "site: [\n", []string{"site.yaml:1: did not find expected node content"}},
		{"rtu params", head + "devices:\n  - {name: a, driver: modbus, address: \"rtu:///dev/ttyS0?baud=19200&parity=X\", profile: p}\n",
			[]string{`devices[0].address: "rtu:///dev/ttyS0?baud=19200&parity=X": parity "X" is not N, E or O`}},
		{"address scheme for driver", head + "devices:\n  - {name: a, driver: modbus, address: \"snmp://public@h\", profile: p}\n",
			[]string{`devices[0].address: snmp:// does not fit driver modbus`}},
		{"timeout over interval", head + "devices:\n  - {name: a, driver: modbus, address: \"tcp://h\", profile: p, interval: 1s, timeout: 2s}\n",
			[]string{`devices[0].timeout: 2s is longer than the poll interval 1s`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("site.yaml", []byte(tt.yaml))
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("err = %v, want Errors", err)
			}
			got := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("errors:\n%s\nwant a line containing %q", got, w)
				}
			}
		})
	}
}

func TestPassword(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte("s3cret\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	site := filepath.Join(dir, "site.yaml")
	data := "site: s\ngateway: g\nmqtt: {broker: \"tcp://h:1883\", username: u, password_file: pw}\n"
	if err := os.WriteFile(site, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(site)
	if err != nil {
		t.Fatal(err)
	}
	pw, err := c.MQTT.Password(c, func(string) string { return "" })
	if err != nil || pw != "s3cret" {
		t.Fatalf("password = %q, %v", pw, err)
	}
	c.MQTT.PasswordFile, c.MQTT.PasswordEnv = "", "PW"
	pw, err = c.MQTT.Password(c, func(k string) string { return map[string]string{"PW": "env"}[k] })
	if err != nil || pw != "env" {
		t.Fatalf("password from env = %q, %v", pw, err)
	}
}

func TestDecodeDetect(t *testing.T) {
	c, err := Parse("site.yaml", []byte("site: s\ngateway: g\nmqtt: {broker: \"tcp://h:1883\"}\ndetect:\n  rate: 0.5\n"))
	if err != nil {
		t.Fatal(err)
	}
	var ok struct {
		Rate float64 `yaml:"rate"`
	}
	if err := c.DecodeDetect(&ok); err != nil || ok.Rate != 0.5 {
		t.Fatalf("detect = %+v, %v", ok, err)
	}
	var strict struct {
		Other int `yaml:"other"`
	}
	if err := c.DecodeDetect(&strict); err == nil {
		t.Fatal("unknown detect key accepted")
	}
}

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in   string
		want Address
	}{
		{"tcp://10.0.0.5", Address{Scheme: "tcp", Host: "10.0.0.5:502"}},
		{"rtutcp://h:4001", Address{Scheme: "rtutcp", Host: "h:4001"}},
		{"rtu:///dev/ttyUSB0?baud=9600&parity=n&stop_bits=2", Address{Scheme: "rtu", Path: "/dev/ttyUSB0", Baud: 9600, DataBits: 8, Parity: "N", StopBits: 2}},
		{"rtu:///dev/ttyUSB0", Address{Scheme: "rtu", Path: "/dev/ttyUSB0", Baud: 19200, DataBits: 8, Parity: "E", StopBits: 1}},
	}
	for _, tt := range tests {
		got, err := ParseAddress(tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		got.Query = nil
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s = %+v, want %+v", tt.in, got, tt.want)
		}
	}
	for _, bad := range []string{"10.0.0.5:502", "rtutcp://h", "rtu://dev/tty", "tcp://h:99999", "tcp://h?unit=1", "ftp://h"} {
		if _, err := ParseAddress(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}

func TestExampleSiteFile(t *testing.T) {
	c, err := Load("../../firmware-config/site.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Devices) == 0 {
		t.Fatal("no devices in the example")
	}
}

func TestSections(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site.yaml")
	head := "site: s\ngateway: g\nmqtt: {broker: \"tcp://h:1883\"}\n"
	tests := []struct {
		name, yaml string
		want       []string // substrings of the errors; none: valid
	}{
		{"none", head, nil},
		{"nut", head + "nut: {enabled: true, listen: \"127.0.0.1:3493\", max_clients: 8}\n", nil},
		{"nut bad", head + "nut: {enabled: 2, listen: \"h:x\", max_clients: 5000}\n",
			[]string{`site.yaml:4: nut.enabled: want true or false`, `nut.listen: "h:x": port "x"`, `nut.max_clients: 5000`}},
		{"shed needs a key", head + "shed: {groups: []}\n", []string{`site.yaml:4: shed: the plan's commands are signed`}},
		{"metrics", head + "metrics: {listen: \"localhost:9\"}\n", nil},
		{"metrics bad", head + "metrics: {listen: \"0.0.0.0\", port: 9464}\n",
			[]string{`metrics.listen: "0.0.0.0": want host:port (e.g. 127.0.0.1:9464`, `metrics.port: unknown field`}},
		{"max age", head + "commands: {max_age: 60}\n", []string{`commands.max_age: "60" has no unit`}},
		{"operator seq without keys", head + "commands: {operator_seq_file: seq.json}\n", []string{`commands.operator_seq_file: set, but no operator_keys`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(site, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(site)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if c.NUT.Enabled && c.NUT.MaxClients != 8 {
					t.Errorf("nut = %+v", c.NUT)
				}
				return
			}
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("errors:\n%v\nwant one containing %q", err, w)
				}
			}
		})
	}
}

func TestCommandsResolved(t *testing.T) {
	c := &Config{File: "/etc/emberwatch/site.yaml"}
	c.Commands.Key, c.Commands.OperatorKeys = "gw.key", []string{"/k/console.pub", "ops.pub"}
	r := c.CommandsResolved()
	if r.Key != "/etc/emberwatch/gw.key" || r.OperatorKeys[0] != "/k/console.pub" || r.OperatorKeys[1] != "/etc/emberwatch/ops.pub" || r.SeqFile != "" {
		t.Errorf("resolved %+v", r)
	}
	if c.Commands.OperatorKeys[1] != "ops.pub" {
		t.Error("the config was changed")
	}
}
