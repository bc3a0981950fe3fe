package config

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Address is a parsed device address.
//
//	tcp://10.0.0.5:502                       Modbus TCP (port 502 by default)
//	rtu:///dev/ttyUSB0?baud=19200&parity=E   Modbus RTU on a serial line
//	rtutcp://10.0.0.6:4001                   RTU framing over TCP (a serial device server)
//	snmp://public@10.0.0.9:161?version=2c    SNMP (the query is the driver's)
//	i2c:///dev/i2c-1?addr=0x48&sensor=tmp102 I2C (the query is the driver's)
type Address struct {
	// Scheme is tcp, rtu, rtutcp, snmp or i2c.
	Scheme string
	// Host is host:port for the network schemes.
	Host string
	// Path is the serial device or I2C bus for rtu and i2c.
	Path string
	// Baud, DataBits, Parity (N, E or O) and StopBits are the serial line
	// settings of rtu; defaults 19200, 8, E, 1 (the Modbus norm).
	Baud     int
	DataBits int
	Parity   string
	StopBits int
	// Query holds the remaining query parameters.
	Query url.Values
}

// Serial line defaults (Modbus over serial line, section 2.5.1: 8E1).
const (
	DefaultBaud     = 19200
	DefaultDataBits = 8
	DefaultParity   = "E"
	DefaultStopBits = 1
	// DefaultModbusPort is the Modbus TCP port.
	DefaultModbusPort = 502
)

// ParseAddress parses a device address URL.
func ParseAddress(s string) (Address, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Address{}, fmt.Errorf("%q is not a URL", s)
	}
	a := Address{Scheme: strings.ToLower(u.Scheme), Query: u.Query()}
	switch a.Scheme {
	case "tcp", "rtutcp", "snmp":
		if u.Host == "" {
			return a, fmt.Errorf("%q has no host (write %s://HOST:PORT)", s, a.Scheme)
		}
		host, port, err := net.SplitHostPort(u.Host)
		if err != nil {
			host, port = u.Hostname(), "" // an IPv6 literal loses its brackets
			if a.Scheme == "rtutcp" {
				return a, fmt.Errorf("%q has no port (a serial device server's port, e.g. rtutcp://%s:4001)", s, u.Host)
			}
			port = strconv.Itoa(DefaultModbusPort)
			if a.Scheme == "snmp" {
				port = "161"
			}
		}
		if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
			return a, fmt.Errorf("%q: port %q is not 1-65535", s, port)
		}
		if host == "" {
			return a, fmt.Errorf("%q has no host (write %s://HOST:PORT)", s, a.Scheme)
		}
		a.Host = net.JoinHostPort(host, port)
		if _, _, err := net.SplitHostPort(a.Host); err != nil {
			return a, fmt.Errorf("%q: %q is not a host name or address", s, host)
		}
		if a.Scheme != "snmp" && len(a.Query) > 0 {
			return a, fmt.Errorf("%q: unknown parameter %s", s, firstKey(a.Query))
		}
	case "rtu":
		if u.Host != "" || u.Path == "" {
			return a, fmt.Errorf("%q has no serial device (write rtu:///dev/ttyUSB0?baud=19200)", s)
		}
		a.Path = u.Path
		a.Baud, a.DataBits, a.Parity, a.StopBits = DefaultBaud, DefaultDataBits, DefaultParity, DefaultStopBits
		for k, vs := range a.Query {
			v := vs[len(vs)-1]
			switch k {
			case "baud":
				n, err := strconv.Atoi(v)
				if err != nil || n < 300 || n > 4000000 {
					return a, fmt.Errorf("%q: baud %q is not 300-4000000", s, v)
				}
				a.Baud = n
			case "data_bits", "databits":
				n, err := strconv.Atoi(v)
				if err != nil || n < 7 || n > 8 {
					return a, fmt.Errorf("%q: data_bits %q is not 7 or 8", s, v)
				}
				a.DataBits = n
			case "parity":
				p := strings.ToUpper(v)
				if p != "N" && p != "E" && p != "O" {
					return a, fmt.Errorf("%q: parity %q is not N, E or O", s, v)
				}
				a.Parity = p
			case "stop_bits", "stopbits":
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 2 {
					return a, fmt.Errorf("%q: stop_bits %q is not 1 or 2", s, v)
				}
				a.StopBits = n
			default:
				return a, fmt.Errorf("%q: unknown parameter %s (known: baud, data_bits, parity, stop_bits)", s, k)
			}
		}
	case "i2c":
		if u.Path == "" {
			return a, fmt.Errorf("%q has no bus (write i2c:///dev/i2c-1?addr=0x48)", s)
		}
		a.Path = u.Path
	case "":
		return a, fmt.Errorf("%q has no scheme (tcp://, rtu://, rtutcp://)", s)
	default:
		return a, fmt.Errorf("%q: unknown scheme %s (tcp, rtu, rtutcp, snmp, i2c)", s, a.Scheme)
	}
	return a, nil
}

func firstKey(v url.Values) string {
	for k := range v {
		return k
	}
	return ""
}

// CharBits is the number of bits one character takes on the line: start bit, data
// bits, parity bit and stop bits.
func (a Address) CharBits() int {
	bits := 1 + a.DataBits + a.StopBits
	if a.Parity != "N" {
		bits++
	}
	return bits
}
