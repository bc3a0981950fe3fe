package probe

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// URL schemes.
const (
	ModbusTCP    = "modbus+tcp"    // Modbus TCP: modbus+tcp://host[:502]?unit=1&profile=NAME
	ModbusRTU    = "modbus+rtu"    // RTU on a serial port: modbus+rtu:///dev/ttyUSB0?baud=19200&parity=E&...
	ModbusRTUTCP = "modbus+rtutcp" // RTU framing over TCP: modbus+rtutcp://host:port?...
	SNMP         = "snmp"
	I2C          = "i2c"
)

// Defaults of a Target.
const (
	DefaultPort    = "502"
	DefaultUnit    = 1
	DefaultTimeout = time.Second
	DefaultBaud    = 19200
)

// ErrNotSupported is returned (wrapped) for snmp:// and i2c:// URLs, which
// the grammar knows but the probe cannot read yet.
var ErrNotSupported = errors.New("not supported yet")

// Target is a parsed device URL.
type Target struct {
	// Scheme is one of ModbusTCP, ModbusRTU, ModbusRTUTCP.
	Scheme string
	// Address is host:port, for ModbusTCP and ModbusRTUTCP.
	Address string
	// Device is the serial port, for ModbusRTU.
	Device string
	// Unit is the Modbus unit (slave) id, 0-247; default 1.
	Unit byte
	// Profile names the register map: "sunspec", or a profile under
	// firmware-config/profiles/modbus.
	Profile string
	// Timeout bounds one request; default 1 s.
	Timeout time.Duration
	// Serial line of ModbusRTU: Baud (default 19200), DataBits (7 or 8,
	// default 8), Parity (N, E or O, default E), StopBits (1 or 2;
	// default 1, or 2 without parity).
	Baud     int
	DataBits int
	Parity   string
	StopBits int
}

// ParseURL parses a probe URL. Unknown or repeated query keys are errors,
// and so are serial settings on a TCP URL.
func ParseURL(raw string) (*Target, error) {
	if !strings.Contains(raw, "://") {
		return nil, fmt.Errorf("%q: no scheme; want %s://, %s:// or %s://", raw, ModbusTCP, ModbusRTU, ModbusRTUTCP)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("bad URL: %w", err)
	}
	scheme := strings.ToLower(u.Scheme)
	switch scheme {
	case SNMP, I2C:
		return nil, fmt.Errorf("%s:// URLs: %w", scheme, ErrNotSupported)
	case ModbusTCP, ModbusRTU, ModbusRTUTCP:
	case "":
		return nil, fmt.Errorf("%q: no scheme; want %s://, %s:// or %s://", raw, ModbusTCP, ModbusRTU, ModbusRTUTCP)
	default:
		return nil, fmt.Errorf("scheme %q: want %s, %s or %s", u.Scheme, ModbusTCP, ModbusRTU, ModbusRTUTCP)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%s URLs take no user", scheme)
	}
	t := &Target{Scheme: scheme, Unit: DefaultUnit, Timeout: DefaultTimeout}
	if scheme == ModbusRTU {
		if u.Host != "" {
			return nil, fmt.Errorf("%s URL has host %q: write the serial port after three slashes, %s:///dev/ttyUSB0", scheme, u.Host, scheme)
		}
		if u.Path == "" || u.Path == "/" {
			return nil, fmt.Errorf("%s URL names no serial port, e.g. %s:///dev/ttyUSB0", scheme, scheme)
		}
		t.Device = u.Path
		t.Baud, t.DataBits, t.Parity = DefaultBaud, 8, "E"
	} else {
		if u.Hostname() == "" {
			return nil, fmt.Errorf("%s URL names no host", scheme)
		}
		if u.Path != "" && u.Path != "/" {
			return nil, fmt.Errorf("%s URL has a path %q; want %s://host:port?...", scheme, u.Path, scheme)
		}
		port := u.Port()
		if port == "" {
			if scheme == ModbusRTUTCP {
				return nil, fmt.Errorf("%s URL names no port (serial device servers have no standard one)", scheme)
			}
			port = DefaultPort
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("port %q: want 1-65535", port)
		}
		t.Address = net.JoinHostPort(u.Hostname(), port)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("bad query: %w", err)
	}
	for k, vs := range q {
		if len(vs) != 1 {
			return nil, fmt.Errorf("query key %s given %d times", k, len(vs))
		}
		if err := t.set(k, vs[0]); err != nil {
			return nil, err
		}
	}
	if t.Profile == "" {
		return nil, fmt.Errorf("no profile: add ?profile=sunspec or ?profile=NAME")
	}
	if t.Scheme == ModbusRTU && t.StopBits == 0 {
		t.StopBits = 1
		if t.Parity == "N" {
			t.StopBits = 2
		}
	}
	return t, nil
}

func (t *Target) set(k, v string) error {
	serial := func() error {
		if t.Scheme != ModbusRTU {
			return fmt.Errorf("%s=%s: serial settings apply only to %s URLs", k, v, ModbusRTU)
		}
		return nil
	}
	atoi := func(lo, hi int) (int, error) {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return 0, fmt.Errorf("%s=%q: want a number from %d to %d", k, v, lo, hi)
		}
		return n, nil
	}
	switch k {
	case "unit":
		n, err := atoi(0, 247)
		if err != nil {
			return err
		}
		t.Unit = byte(n)
	case "profile":
		if v == "" || strings.ContainsAny(v, `/\`) || strings.HasPrefix(v, ".") {
			return fmt.Errorf("profile=%q: want a profile name such as sunspec", v)
		}
		t.Profile = v
	case "timeout":
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("timeout=%q: want a duration such as 500ms", v)
		}
		t.Timeout = d
	case "baud":
		if err := serial(); err != nil {
			return err
		}
		n, err := atoi(300, 4000000)
		if err != nil {
			return err
		}
		t.Baud = n
	case "databits":
		if err := serial(); err != nil {
			return err
		}
		n, err := atoi(7, 8)
		if err != nil {
			return err
		}
		t.DataBits = n
	case "stopbits":
		if err := serial(); err != nil {
			return err
		}
		n, err := atoi(1, 2)
		if err != nil {
			return err
		}
		t.StopBits = n
	case "parity":
		if err := serial(); err != nil {
			return err
		}
		p := strings.ToUpper(v)
		switch p {
		case "N", "E", "O":
			t.Parity = p
		default:
			return fmt.Errorf("parity=%q: want N, E or O", v)
		}
	default:
		return fmt.Errorf("unknown query key %q (want unit, profile, timeout, baud, parity, databits, stopbits)", k)
	}
	return nil
}
