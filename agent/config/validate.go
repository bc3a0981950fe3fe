package config

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// Limits checked by Load.
const (
	MinInterval = 100 * time.Millisecond
	MaxInterval = 24 * time.Hour
	MaxRetries  = 10
)

// Drivers lists the driver names a device may use.
var Drivers = []string{"modbus", "snmp", "i2c"}

// namePattern is what site, gateway and device names may hold: they become
// MQTT topic levels and trace fields, so no '/', '+', '#', ',' or spaces.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func (c *Config) validate(d *decoder) {
	decodeFailed := map[string]bool{}
	for _, e := range d.errs {
		decodeFailed[e.Field] = true
	}
	bad := func(path, format string, a ...any) {
		if decodeFailed[path] {
			return // the value did not decode; that error says enough
		}
		d.errs = append(d.errs, c.Errorf(path, format, a...))
	}
	checkName := func(path, v string) {
		switch {
		case v == "":
			bad(path, "required")
		case !namePattern.MatchString(v):
			bad(path, "%q: use letters, digits, '.', '_' and '-' (at most 64), it becomes an MQTT topic level", v)
		}
	}
	if !c.isSet("site") {
		bad("site", "required")
	} else {
		checkName("site", c.Site)
	}
	if !c.isSet("gateway") {
		bad("gateway", "required")
	} else {
		checkName("gateway", c.Gateway)
	}
	c.validateMQTT(bad)
	if c.ProfilesDir != "" {
		if st, err := os.Stat(c.Resolve(c.ProfilesDir)); err != nil || !st.IsDir() {
			bad("profiles_dir", "%s is not a folder", c.ProfilesDir)
		}
	}
	if len(c.Devices) == 0 && c.isSet("devices") {
		bad("devices", "empty: list at least one device")
	}
	names := map[string]int{}
	for i := range c.Devices {
		c.validateDevice(i, names, bad)
	}
	c.validateBuses(bad)
	c.validateCommands(bad)
	c.validateNUT(bad)
	c.validateMetrics(bad)
	c.validateTraps(bad)
}

// validateBuses checks devices that share a transport: units of one RTU
// line must agree on its serial settings (the line is opened once), and no
// two devices may be the same unit at the same address.
func (c *Config) validateBuses(bad func(path, format string, a ...any)) {
	type line struct {
		idx  int
		addr Address
	}
	lines := map[string]line{}
	units := map[string]int{}
	for i, d := range c.Devices {
		if d.Driver != "modbus" {
			continue
		}
		a, err := ParseAddress(d.Address)
		if err != nil {
			continue
		}
		bus := a.Scheme + "://" + a.Host + a.Path
		if a.Scheme == "rtu" {
			if l, ok := lines[a.Path]; ok {
				if l.addr.Baud != a.Baud || l.addr.Parity != a.Parity || l.addr.DataBits != a.DataBits || l.addr.StopBits != a.StopBits {
					bad(fmt.Sprintf("devices[%d].address", i), "serial line %s is set %d %d%s%d by devices[%d] (line %d): every unit of a line uses the same settings",
						a.Path, l.addr.Baud, l.addr.DataBits, l.addr.Parity, l.addr.StopBits, l.idx, c.Line(fmt.Sprintf("devices[%d].address", l.idx)))
				}
			} else {
				lines[a.Path] = line{i, a}
			}
		}
		key := fmt.Sprintf("%s#%d", bus, d.Unit)
		if j, dup := units[key]; dup {
			bad(fmt.Sprintf("devices[%d].unit", i), "unit %d at %s is also devices[%d] (line %d)", d.Unit, d.Address, j, c.Line(fmt.Sprintf("devices[%d].name", j)))
		} else {
			units[key] = i
		}
	}
}

func (c *Config) validateMQTT(bad func(path, format string, a ...any)) {
	m := &c.MQTT
	if m.Broker == "" {
		bad("mqtt.broker", "required (e.g. tcp://127.0.0.1:1883)")
	} else if u, err := url.Parse(m.Broker); err != nil {
		bad("mqtt.broker", "%q is not a URL", m.Broker)
	} else {
		switch strings.ToLower(u.Scheme) {
		case "tcp", "mqtt", "ssl", "tls", "mqtts", "tcps", "ws", "wss":
		default:
			bad("mqtt.broker", "%q: scheme must be tcp, mqtt, ssl, tls, mqtts, ws or wss", m.Broker)
		}
		if u.Host == "" {
			bad("mqtt.broker", "%q has no host", m.Broker)
		}
	}
	if m.ClientID != "" && len(m.ClientID) > 128 {
		bad("mqtt.client_id", "longer than 128 characters")
	}
	if m.PasswordFile != "" && m.PasswordEnv != "" {
		bad("mqtt.password_env", "set only one of password_file and password_env")
	}
	if m.PasswordFile != "" {
		if _, err := os.Stat(c.Resolve(m.PasswordFile)); err != nil {
			bad("mqtt.password_file", "%s: %s", m.PasswordFile, describeOpenError(err))
		}
	}
	if m.PasswordEnv != "" && !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(m.PasswordEnv) {
		bad("mqtt.password_env", "%q is not an environment variable name", m.PasswordEnv)
	}
	if (m.PasswordFile != "" || m.PasswordEnv != "") && m.Username == "" {
		bad("mqtt.username", "required when a password is set")
	}
	t := &m.TLS
	if t.CAFile != "" || t.CertFile != "" || t.KeyFile != "" || t.ServerName != "" || t.InsecureSkipVerify {
		if m.Broker != "" && !m.UsesTLS() {
			bad("mqtt.tls", "set, but broker %s does not use TLS (use ssl://, mqtts:// or wss://)", m.Broker)
		}
	}
	for _, f := range []struct{ path, v string }{
		{"mqtt.tls.ca_file", t.CAFile}, {"mqtt.tls.cert_file", t.CertFile}, {"mqtt.tls.key_file", t.KeyFile},
	} {
		if f.v == "" {
			continue
		}
		if _, err := os.Stat(c.Resolve(f.v)); err != nil {
			bad(f.path, "%s: %s", f.v, describeOpenError(err))
		}
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		if t.CertFile == "" {
			bad("mqtt.tls.cert_file", "required with key_file")
		} else {
			bad("mqtt.tls.key_file", "required with cert_file")
		}
	}
	if m.TelemetryQoS < 0 || m.TelemetryQoS > 2 {
		bad("mqtt.telemetry_qos", "%d: QoS is 0, 1 or 2", m.TelemetryQoS)
	}
	if c.isSet("mqtt.keepalive") && (m.Keepalive.D() < time.Second || m.Keepalive.D() > 18*time.Hour) {
		bad("mqtt.keepalive", "%s: must be between 1s and 18h", m.Keepalive.D())
	}
	if m.Queue < 0 || m.Queue > 1000000 {
		bad("mqtt.queue", "%d: must be between 1 and 1000000", m.Queue)
	}
}

func (c *Config) validateDevice(i int, names map[string]int, bad func(path, format string, a ...any)) {
	dv := &c.Devices[i]
	p := func(f string) string { return fmt.Sprintf("devices[%d].%s", i, f) }
	switch {
	case dv.Name == "":
		bad(p("name"), "required")
	case !namePattern.MatchString(dv.Name):
		bad(p("name"), "%q: use letters, digits, '.', '_' and '-' (at most 64), it becomes an MQTT topic level", dv.Name)
	default:
		if first, dup := names[dv.Name]; dup {
			bad(p("name"), "%q is also the name of devices[%d] (line %d)", dv.Name, first, c.Line(fmt.Sprintf("devices[%d].name", first)))
		} else {
			names[dv.Name] = i
		}
	}
	switch dv.Driver {
	case "":
		bad(p("driver"), "required (%s)", strings.Join(Drivers, ", "))
	case "modbus", "snmp", "i2c":
	default:
		bad(p("driver"), "unknown driver %q (%s)", dv.Driver, strings.Join(Drivers, ", "))
	}
	if dv.Address == "" {
		bad(p("address"), "required")
	} else if a, err := ParseAddress(dv.Address); err != nil {
		bad(p("address"), "%v", err)
	} else {
		want := map[string][]string{"modbus": {"tcp", "rtu", "rtutcp"}, "snmp": {"snmp"}, "i2c": {"i2c"}}[dv.Driver]
		ok := want == nil
		for _, s := range want {
			ok = ok || s == a.Scheme
		}
		if !ok {
			bad(p("address"), "%s:// does not fit driver %s (use %s://)", a.Scheme, dv.Driver, strings.Join(want, "://, "))
		}
		if dv.Driver == "modbus" && c.isSet(p("unit")) {
			lo, hi := 1, 247
			if a.Scheme == "tcp" {
				lo, hi = 0, 255
			}
			if dv.Unit < lo || dv.Unit > hi {
				bad(p("unit"), "%d: a Modbus unit id over %s is %d-%d", dv.Unit, a.Scheme, lo, hi)
			}
		}
	}
	if dv.Driver != "modbus" && dv.Driver != "" && c.isSet(p("unit")) {
		bad(p("unit"), "only for driver modbus")
	}
	if dv.Driver == "modbus" && dv.Profile == "" {
		bad(p("profile"), "required for driver modbus (a profile name, or sunspec)")
	}
	if c.isSet(p("interval")) && (dv.Interval.D() < MinInterval || dv.Interval.D() > MaxInterval) {
		bad(p("interval"), "%s: must be between %s and %s", dv.Interval.D(), MinInterval, MaxInterval)
	}
	if c.isSet(p("timeout")) {
		iv := dv.Interval.D()
		if iv == 0 {
			iv = DefaultInterval
		}
		switch {
		case dv.Timeout.D() <= 0:
			bad(p("timeout"), "%s: must be positive", dv.Timeout.D())
		case dv.Timeout.D() > iv:
			bad(p("timeout"), "%s is longer than the poll interval %s", dv.Timeout.D(), iv)
		}
	}
	if dv.Retries != nil && (*dv.Retries < 0 || *dv.Retries > MaxRetries) {
		bad(p("retries"), "%d: must be between 0 and %d", *dv.Retries, MaxRetries)
	}
}
