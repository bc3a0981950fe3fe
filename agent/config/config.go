package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/emberwatch/emberwatch/agent/command"
	"github.com/emberwatch/emberwatch/agent/nutd"
)

// Config is one site file: who this gateway is, where it publishes, and
// what it polls. Load fills every default, so a loaded Config is complete.
type Config struct {
	// Site names the site (data hall, building); part of every MQTT topic.
	Site string `yaml:"site"`
	// Gateway names this gateway within the site; part of every topic.
	Gateway string `yaml:"gateway"`
	// MQTT is the broker connection.
	MQTT MQTT `yaml:"mqtt"`
	// ProfilesDir is a folder holding profiles/<protocol>/*.yaml (or the
	// <protocol> folders directly); empty means the profiles embedded in
	// the binary. Relative paths are taken from the site file's folder.
	ProfilesDir string `yaml:"profiles_dir"`
	// Devices are the devices this gateway polls.
	Devices []Device `yaml:"devices"`
	// Detect holds the detector's settings, left to the detector to decode
	// (see DecodeDetect). Its keys are not checked here.
	Detect yaml.Node `yaml:"detect"`
	// Shed is the shed plan (groups, tiers, rules), left to the shed
	// package to decode and validate (see agent/shed.DecodePlan); its
	// lines are lines of the site file.
	Shed yaml.Node `yaml:"shed"`
	// Commands is how the gateway signs its shed commands and whom it
	// trusts for operator commands. Relative paths are taken from the site
	// file's folder (see CommandsResolved).
	Commands command.Config `yaml:"commands"`
	// NUT is the read-only upsd-protocol endpoint, off by default.
	NUT nutd.Config `yaml:"nut"`
	// Metrics is the Prometheus endpoint of the agent's own health, off
	// by default.
	Metrics Metrics `yaml:"metrics"`
	// Traps is the SNMP trap and inform receiver, off by default.
	Traps Traps `yaml:"traps"`

	// File is the path the config was loaded from.
	File string `yaml:"-"`
	// lines maps field paths (devices[1].interval) to their lines.
	lines map[string]int
}

// MQTT is the broker connection of a gateway.
type MQTT struct {
	// Broker is the broker URL: tcp:// or mqtt:// (plain), ssl://, tls://
	// or mqtts:// (TLS), ws:// or wss:// (websocket). Required.
	Broker string `yaml:"broker"`
	// ClientID is the MQTT client id; default emberwatch-<site>-<gateway>.
	ClientID string `yaml:"client_id"`
	// Username is the MQTT user name, if the broker wants one.
	Username string `yaml:"username"`
	// PasswordFile is a file whose first line is the password.
	PasswordFile string `yaml:"password_file"`
	// PasswordEnv names an environment variable holding the password.
	// At most one of PasswordFile and PasswordEnv may be set.
	PasswordEnv string `yaml:"password_env"`
	// TLS configures the TLS connection for ssl://, tls://, mqtts://, wss://.
	TLS TLS `yaml:"tls"`
	// TelemetryQoS is the QoS of telemetry messages, 0 (default) to 2.
	// Alerts are always QoS 1.
	TelemetryQoS int `yaml:"telemetry_qos"`
	// Keepalive is the MQTT keepalive; default 30s.
	Keepalive Duration `yaml:"keepalive"`
	// Queue is how many telemetry messages may wait for the broker before
	// the oldest is dropped; default 1000.
	Queue int `yaml:"queue"`
	// SpoolDir is a folder where alert events wait on disk until the
	// broker acknowledges them; empty keeps them in memory only.
	SpoolDir string `yaml:"spool_dir"`
}

// TLS is the client side of a TLS connection to the broker.
type TLS struct {
	// CAFile is a PEM bundle of the CAs that sign the broker's
	// certificate; empty means the system roots.
	CAFile string `yaml:"ca_file"`
	// CertFile and KeyFile are the client certificate and key, PEM, for
	// brokers that authenticate clients by certificate. Both or neither.
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// ServerName overrides the name checked in the broker's certificate.
	ServerName string `yaml:"server_name"`
	// InsecureSkipVerify turns off certificate checking. Off by default;
	// for commissioning only.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Metrics is the agent's Prometheus /metrics endpoint.
type Metrics struct {
	// Listen is host:port to serve /metrics on (127.0.0.1:9464 is the
	// usual one); empty turns the endpoint off. It has no
	// authentication: keep it on the loopback interface.
	Listen string `yaml:"listen"`
}

// Device is one device to poll.
type Device struct {
	// Name identifies the device in topics, traces and alerts.
	Name string `yaml:"name"`
	// Driver is the protocol driver: modbus, snmp or i2c.
	Driver string `yaml:"driver"`
	// Address is where the device is, as a URL (see ParseAddress).
	Address string `yaml:"address"`
	// Unit is the Modbus unit (slave) id; default 1. Modbus only.
	Unit int `yaml:"unit"`
	// Profile names the device's profile (the name: of a profile file of
	// its driver). Modbus: required; sunspec for a device that describes
	// itself. SNMP: empty or auto to choose by sysObjectID. I2C: the
	// sensors of a profile, or empty when the address names one sensor.
	Profile string `yaml:"profile"`
	// Interval is the poll period; default 5s.
	Interval Duration `yaml:"interval"`
	// Timeout bounds one request to the device; default 1s.
	Timeout Duration `yaml:"timeout"`
	// Retries is how many times a failed request is repeated within one
	// poll; default 1.
	Retries *int `yaml:"retries"`
}

// Duration is a time.Duration written as a Go duration string ("5s",
// "250ms", "1m30s") in YAML.
type Duration time.Duration

// UnmarshalYAML parses a duration string; a bare number is rejected, since
// its unit would be a guess.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("want a duration such as 5s, got %s", describe(n))
	}
	if n.ShortTag() == "!!int" || n.ShortTag() == "!!float" {
		return fmt.Errorf("%q has no unit (write %ss or %sms)", n.Value, n.Value, n.Value)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("%q is not a duration (write 5s, 250ms, 1m)", n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes the duration as a string.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).String(), nil }

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Defaults filled by Load.
const (
	DefaultInterval  = 5 * time.Second
	DefaultTimeout   = time.Second
	DefaultRetries   = 1
	DefaultKeepalive = 30 * time.Second
	DefaultQueue     = 1000
	DefaultUnit      = 1
)

// Load reads, decodes and validates the site file at path. On any problem
// it returns an Errors listing every problem found (and, as Parse, the
// config as far as it was read, or nil when it could not be read).
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: describeOpenError(err)}}
	}
	return Parse(path, data)
}

func describeOpenError(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "no such file"
	case errors.Is(err, os.ErrPermission):
		return "permission denied"
	}
	return err.Error()
}

// Parse decodes and validates a site file's contents; file names it in
// errors and anchors relative paths. When the file decodes but fails
// validation, Parse returns the config as far as it was read together with
// the Errors, so that a checker can go on to report further problems (in
// the profiles it names); such a config must not be run.
func Parse(file string, data []byte) (*Config, error) {
	d := &decoder{file: file, lines: map[string]int{}}
	c := &Config{File: file}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Errors{{File: file, Msg: "empty file"}}
		}
		return nil, Errors{{File: file, Line: yamlErrorLine(err, data), Msg: cleanYAMLError(err)}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, Errors{{File: file, Msg: "empty file"}}
	}
	d.decode(doc.Content[0], reflect.ValueOf(c).Elem(), "")
	c.lines = d.lines
	c.validate(d)
	c.fillDefaults()
	if err := d.errs.err(); err != nil {
		return c, err
	}
	return c, nil
}

// syntaxLine finds the line in a yaml.v3 syntax error ("yaml: line 3: ...").
func syntaxLine(err error) int {
	var line int
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	if _, e := fmt.Sscanf(s, "line %d:", &line); e == nil {
		return line
	}
	return 0
}

// Line returns the line of a field path such as devices[1].interval, or
// of its nearest parent present in the file, or 0.
func (c *Config) Line(path string) int {
	for path != "" {
		if l, ok := c.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// Errorf returns a FieldError for a field of this config, located at the
// field's line.
func (c *Config) Errorf(path, format string, a ...any) *FieldError {
	return &FieldError{File: c.File, Line: c.Line(path), Field: path, Msg: fmt.Sprintf(format, a...)}
}

// Resolve returns p relative to the site file's folder, unless absolute.
func (c *Config) Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(c.File), p)
}

// DecodeDetect decodes the detect: section strictly into v, a pointer to
// the detector's settings: unknown keys and values of the wrong type are
// errors, reported as Errors located in the site file (detect.rate...).
// Fields not in the section keep their values in v; an absent section
// leaves v unchanged.
func (c *Config) DecodeDetect(v any) error {
	n := c.Detect
	if n.Kind == 0 {
		return nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("config: DecodeDetect wants a non-nil pointer, got %T", v)
	}
	d := &decoder{file: c.File, lines: map[string]int{}}
	d.decode(&n, rv.Elem(), "detect")
	return d.errs.err()
}

// HasShed reports whether the site file has a shed: section.
func (c *Config) HasShed() bool { return c.Shed.Kind != 0 && c.Shed.ShortTag() != "!!null" }

// CommandsResolved returns the commands: section with its file paths
// taken from the site file's folder.
func (c *Config) CommandsResolved() command.Config {
	cc := c.Commands
	cc.Key, cc.SeqFile, cc.OperatorSeqFile = c.Resolve(cc.Key), c.Resolve(cc.SeqFile), c.Resolve(cc.OperatorSeqFile)
	cc.OperatorKeys = make([]string, len(c.Commands.OperatorKeys))
	for i, k := range c.Commands.OperatorKeys {
		cc.OperatorKeys[i] = c.Resolve(k)
	}
	return cc
}

// Password returns the MQTT password from PasswordFile (first line) or the
// environment variable named by PasswordEnv, read through getenv; empty
// when neither is set. The password is never logged.
func (m *MQTT) Password(c *Config, getenv func(string) string) (string, error) {
	switch {
	case m.PasswordFile != "":
		b, err := os.ReadFile(c.Resolve(m.PasswordFile))
		if err != nil {
			return "", fmt.Errorf("mqtt.password_file %s: %w", m.PasswordFile, err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimRight(line, "\r"), nil
	case m.PasswordEnv != "":
		v := getenv(m.PasswordEnv)
		if v == "" {
			return "", fmt.Errorf("mqtt.password_env: environment variable %s is empty or unset", m.PasswordEnv)
		}
		return v, nil
	}
	return "", nil
}

// UsesTLS reports whether the broker URL asks for TLS.
func (m *MQTT) UsesTLS() bool {
	s, _, _ := strings.Cut(m.Broker, "://")
	switch strings.ToLower(s) {
	case "ssl", "tls", "mqtts", "wss", "tcps":
		return true
	}
	return false
}

func (c *Config) fillDefaults() {
	if c.MQTT.ClientID == "" {
		c.MQTT.ClientID = "emberwatch-" + c.Site + "-" + c.Gateway
	}
	if c.MQTT.Keepalive == 0 {
		c.MQTT.Keepalive = Duration(DefaultKeepalive)
	}
	if c.MQTT.Queue == 0 {
		c.MQTT.Queue = DefaultQueue
	}
	for i := range c.Devices {
		dv := &c.Devices[i]
		if dv.Unit == 0 && !c.isSet(fmt.Sprintf("devices[%d].unit", i)) {
			dv.Unit = DefaultUnit
		}
		if dv.Interval == 0 {
			dv.Interval = Duration(DefaultInterval)
		}
		if dv.Timeout == 0 {
			dv.Timeout = Duration(min(DefaultTimeout, dv.Interval.D()))
		}
		if dv.Retries == nil {
			r := DefaultRetries
			dv.Retries = &r
		}
	}
}

func (c *Config) isSet(path string) bool {
	_, ok := c.lines[path]
	return ok
}
