package modbus

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Transport kinds of an Address.
const (
	SchemeTCP    = "tcp"    // Modbus TCP
	SchemeRTU    = "rtu"    // RTU on a serial port
	SchemeRTUTCP = "rtutcp" // RTU framing over a TCP socket (serial device server)
)

// Address is a parsed device address:
//
//	tcp://host[:port]?unit=1&profile=NAME&timeout=500ms
//	rtu:///dev/ttyUSB0?baud=19200&parity=E&data_bits=8&stop_bits=1&unit=3
//	rtutcp://host:port?unit=2
//
// The schemes modbus, modbus+tcp, modbus+rtu, modbus+rtutcp and rtu+tcp
// are accepted as aliases. Port 502 is the default for TCP.
type Address struct {
	// Scheme is SchemeTCP, SchemeRTU or SchemeRTUTCP.
	Scheme string
	// Host is host:port for the TCP schemes.
	Host string
	// Serial is the line setting for SchemeRTU.
	Serial SerialConfig
	// Unit is the unit (slave) id; default 1 (0 is broadcast and is
	// accepted only for TCP, where many servers ignore it).
	Unit byte
	// Profile is the profile named by ?profile=, if any.
	Profile string
	// Timeout is the per-request timeout named by ?timeout=, if any.
	Timeout time.Duration
}

// Bus returns the key of the transport the address uses: devices with the
// same Bus share one Client.
func (a Address) Bus() string {
	if a.Scheme == SchemeRTU {
		return a.Scheme + "://" + a.Serial.Device
	}
	return a.Scheme + "://" + a.Host
}

// ParseAddress parses a device address (see Address).
func ParseAddress(raw string) (Address, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Address{}, fmt.Errorf("modbus address %q: %w", raw, err)
	}
	bad := func(format string, a ...any) (Address, error) {
		return Address{}, fmt.Errorf("modbus address %q: %s", raw, fmt.Sprintf(format, a...))
	}
	var a Address
	switch strings.ToLower(u.Scheme) {
	case "tcp", "modbus", "modbus+tcp":
		a.Scheme = SchemeTCP
	case "rtu", "modbus+rtu":
		a.Scheme = SchemeRTU
	case "rtutcp", "rtu+tcp", "modbus+rtutcp", "modbus+rtu+tcp":
		a.Scheme = SchemeRTUTCP
	default:
		return bad("unknown scheme %q (want tcp, rtu or rtutcp)", u.Scheme)
	}
	q := u.Query()
	if a.Scheme == SchemeRTU {
		a.Serial.Device = u.Path
		if u.Host != "" {
			a.Serial.Device = "/" + u.Host + u.Path
		}
		if a.Serial.Device == "" {
			return bad("no serial device")
		}
		if a.Serial.Baud, err = intParam(q, "baud", 0); err != nil {
			return bad("%v", err)
		}
		if a.Serial.Baud < 0 {
			return bad("baud %d", a.Serial.Baud)
		}
		if a.Serial.DataBits, err = intParam(q, "data_bits", 0); err != nil {
			return bad("%v", err)
		}
		if a.Serial.StopBits, err = intParam(q, "stop_bits", 0); err != nil {
			return bad("%v", err)
		}
		switch {
		case a.Serial.DataBits != 0 && a.Serial.DataBits != 7 && a.Serial.DataBits != 8:
			return bad("data_bits %d (want 7 or 8)", a.Serial.DataBits)
		case a.Serial.StopBits != 0 && a.Serial.StopBits != 1 && a.Serial.StopBits != 2:
			return bad("stop_bits %d (want 1 or 2)", a.Serial.StopBits)
		}
		a.Serial.Parity = strings.ToUpper(q.Get("parity"))
		switch a.Serial.Parity {
		case "", "N", "E", "O":
		default:
			return bad("parity %q (want N, E or O)", a.Serial.Parity)
		}
		a.Serial = a.Serial.withDefaults()
	} else {
		if u.Host == "" {
			return bad("no host")
		}
		a.Host = u.Host
		if u.Port() == "" {
			a.Host = net.JoinHostPort(u.Hostname(), "502")
		}
		host, port, err := net.SplitHostPort(a.Host)
		if err != nil || host == "" {
			return bad("host %q (want HOST or HOST:PORT)", u.Host)
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return bad("port %q (want 1..65535)", port)
		}
	}
	unit, err := intParam(q, "unit", 1)
	if err != nil || unit < 0 || unit > 247 || (unit == 0 && a.Scheme != SchemeTCP) {
		return bad("unit %q (want 1..247)", q.Get("unit"))
	}
	a.Unit = byte(unit)
	a.Profile = q.Get("profile")
	if t := q.Get("timeout"); t != "" {
		if a.Timeout, err = time.ParseDuration(t); err != nil || a.Timeout <= 0 {
			return bad("timeout %q", t)
		}
	}
	for k := range q {
		switch k {
		case "unit", "profile", "timeout", "baud", "data_bits", "stop_bits", "parity":
		default:
			return bad("unknown parameter %q", k)
		}
	}
	return a, nil
}

func intParam(q url.Values, key string, def int) (int, error) {
	s := q.Get(key)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%s %q is not a number", key, s)
	}
	return n, nil
}

// Open returns a new Client for the address's transport. The client
// connects on its first request.
func Open(a Address, opts ClientOptions) (*Client, error) {
	switch a.Scheme {
	case SchemeTCP:
		return NewTCPClient(a.Host, opts), nil
	case SchemeRTUTCP:
		return NewRTUOverTCPClient(a.Host, opts), nil
	case SchemeRTU:
		return NewRTUClient(a.Serial, opts), nil
	}
	return nil, fmt.Errorf("modbus: unknown scheme %q", a.Scheme)
}

// Buses opens one Client per bus and shares it between the devices on it,
// so that requests to several units of one RTU line (or one serial device
// server) are serialised. The application owns a Buses and closes it at
// exit; it is safe for concurrent use.
type Buses struct {
	opts ClientOptions

	mu      sync.Mutex
	clients map[string]*Client
}

// NewBuses returns an empty set of buses whose clients use opts.
func NewBuses(opts ClientOptions) *Buses {
	return &Buses{opts: opts, clients: map[string]*Client{}}
}

// Open returns the client of a's bus, opening it on first use. A serial
// bus keeps the line setting of the first address that opened it.
func (b *Buses) Open(a Address) (*Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if c, ok := b.clients[a.Bus()]; ok {
		return c, nil
	}
	c, err := Open(a, b.opts)
	if err != nil {
		return nil, err
	}
	b.clients[a.Bus()] = c
	return c, nil
}

// Dial parses raw and returns the client of its bus with the address.
func (b *Buses) Dial(raw string) (*Client, Address, error) {
	a, err := ParseAddress(raw)
	if err != nil {
		return nil, a, err
	}
	c, err := b.Open(a)
	return c, a, err
}

// Close closes every bus.
func (b *Buses) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var errs []error
	for k, c := range b.clients {
		if err := c.Close(); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", k, err))
		}
		delete(b.clients, k)
	}
	return errors.Join(errs...)
}
