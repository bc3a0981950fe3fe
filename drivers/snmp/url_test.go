package snmp

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url     string
		want    Config
		profile string
		err     string
	}{
		{url: "snmp://public@10.0.0.9:161", want: Config{Target: "10.0.0.9:161", Community: "public"}},
		{url: "snmp://ro@10.0.0.9?version=2c&profile=apc-ups&timeout=3s&retries=0&rate=2",
			want: Config{Target: "10.0.0.9", Community: "ro", Version: "2c", Timeout: 3 * time.Second, Retries: -1, RateLimit: 2}, profile: "apc-ups"},
		{url: "snmp://ops@pdu.example:1161?version=3&auth=SHA&auth_pass=aaaaaaaa&priv=AES&priv_pass=bbbbbbbb&profile=auto",
			want: Config{Target: "pdu.example:1161", Version: "3", User: "ops", AuthProto: "SHA", AuthPass: "aaaaaaaa", PrivProto: "AES", PrivPass: "bbbbbbbb"}, profile: "auto"},
		{url: "modbus+tcp://10.0.0.9", err: "scheme"},
		{url: "snmp://public@10.0.0.9?community=x&bogus=1", err: "unknown key"},
		{url: "snmp://public@10.0.0.9?version=4", err: "version must be"},
		{url: "snmp://ops@10.0.0.9?version=3&auth_pass=short", err: "at least 8"},
		{url: "snmp://ops@10.0.0.9?version=3&auth=SHA1024&auth_pass=aaaaaaaa", err: "auth protocol"},
		{url: "snmp://public@10.0.0.9?timeout=-1s", err: "timeout"},
		{url: "snmp:///nohost", err: "no host"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			cfg, profile, err := ParseURL(tc.url)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg != tc.want || profile != tc.profile {
				t.Errorf("got %+v %q, want %+v %q", cfg, profile, tc.want, tc.profile)
			}
		})
	}
}

func TestParseProfileErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"unknown key", "name: x\nscalars:\n  - point: battery.voltage\n    oid: 1.3.6.1.2.1.33.1.2.5.0\n    scael: 0.1\n",
			"test.yaml:5: scalars.scael: unknown field"},
		{"unknown point", "scalars:\n  - point: battery.volts\n    oid: 1.3.6.1.2.1.33.1.2.5.0\n",
			`test.yaml:2: scalars.point: "battery.volts" is not a contract point`},
		{"bad OID", "scalars:\n  - point: battery.voltage\n    oid: 1.3.six\n",
			`test.yaml:2: scalars.oid: "1.3.six" is not a numeric OID`},
		{"table point without N", "tables:\n  - name: t\n    columns:\n      - point: ambient.temperature\n        oid: 1.3.6.1.4.1.1\n",
			`test.yaml:4: tables.columns.point: "ambient.temperature" has no N`},
		{"enum on a number", "scalars:\n  - point: battery.voltage\n    oid: 1.3.6.1.4.1.1.0\n    enum: {1: x}\n",
			"test.yaml:2: scalars.enum: numeric point battery.voltage takes no enum"},
		{"bad trap kind", "scalars:\n  - point: battery.voltage\n    oid: 1.3.6.1.4.1.1.0\ntraps:\n  - oid: 1.3.6.1.4.1.1.0.1\n    kind: fire\n    level: warning\n",
			`test.yaml:5: traps.kind: "fire" is not an alert kind`},
		{"yaml syntax", "scalars: [\n", "test.yaml:1: yaml:"},
		{"unknown where key", "tables:\n  - name: t\n    where: {oid: 1.3.6.1.4.1.1, value: [1]}\n    columns:\n      - point: ambient.N.temperature\n        oid: 1.3.6.1.4.1.2\n",
			"test.yaml:3: tables.where.value: unknown field"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseProfile("test.yaml", []byte(tc.src))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant %q", err, tc.want)
			}
			var pe *ProfileError
			if !errors.As(err, &pe) {
				t.Errorf("not a *ProfileError: %T", err)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	ps, err := DefaultProfiles()
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{
		".1.3.6.1.4.1.318.1.3.27":        "apc-ups",
		"1.3.6.1.4.1.318.1.3.4.6":        "apc-rpdu",
		"1.3.6.1.4.1.534.6.6.7":          "eaton-epdu",
		"1.3.6.1.4.1.534.1":              "eaton-xups",
		"1.3.6.1.4.1.13742.6":            "raritan-px2",
		"1.3.6.1.4.1.1718.3":             "sentry3",
		"1.3.6.1.4.1.21239.42.1.52":      "geist-v5",
		"1.3.6.1.4.1.3808.1.1.3":         "cyberpower",
		"1.3.6.1.4.1.4555.1.1.7":         "socomec-netvision",
		"1.3.6.1.4.1.318.1.3.270":        "",
		"1.3.6.1.4.1.99999.1":            "",
		"1.3.6.1.4.1.2254.2.4":           "ups-mib",
		"1.3.6.1.4.1.674.10902.2":        "ups-mib",
		"1.3.6.1.4.1.2011.6.174.4.1.2.4": "ups-mib",
	} {
		p, ok := ps.Select(id)
		got := ""
		if ok {
			got = p.Name
		}
		if got != want {
			t.Errorf("Select(%s) = %q, want %q", id, got, want)
		}
	}
}
