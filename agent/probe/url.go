package probe

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/emberwatch/emberwatch/drivers/modbus"
)

// ErrNotSupported is returned (wrapped) for snmp:// and i2c:// URLs: they
// name no Modbus device. (The probe verb reads i2c:// URLs with
// drivers/i2c; snmp:// is not supported yet.)
var ErrNotSupported = errors.New("not supported yet")

// Target is a parsed probe URL.
type Target struct {
	// Scheme is the URL's scheme in lower case (modbus+tcp, ...).
	Scheme string
	// Modbus is the device's address, in the grammar of site configs
	// (modbus.ParseAddress): modbus+tcp://host[:502], modbus+rtu:///dev/tty...
	// with baud, parity, data and stop, modbus+rtutcp://host:port; unit
	// (default 1), profile and timeout in the query.
	Modbus modbus.Address
}

// ParseURL parses a probe URL: a Modbus device address that names its
// profile (profile=sunspec, or the name of a Modbus profile).
func ParseURL(raw string) (*Target, error) {
	scheme, _, ok := strings.Cut(raw, "://")
	if !ok || scheme == "" {
		return nil, fmt.Errorf("%q: want a URL such as modbus+tcp://HOST:502?unit=1&profile=NAME", raw)
	}
	scheme = strings.ToLower(scheme)
	switch scheme {
	case "snmp", "i2c":
		return nil, fmt.Errorf("%s:// URLs: %w", scheme, ErrNotSupported)
	}
	a, err := modbus.ParseAddress(raw)
	if err != nil {
		return nil, err
	}
	if u, err := url.Parse(raw); err == nil {
		for k, vs := range u.Query() {
			if len(vs) > 1 {
				return nil, fmt.Errorf("%q: %s given %d times", raw, k, len(vs))
			}
		}
	}
	switch {
	case a.Profile == "":
		return nil, fmt.Errorf("%q names no profile: add profile=sunspec or profile=NAME", raw)
	case strings.ContainsAny(a.Profile, `/\`) || strings.HasPrefix(a.Profile, "."):
		return nil, fmt.Errorf("profile %q: want a profile name such as sunspec", a.Profile)
	}
	return &Target{Scheme: scheme, Modbus: a}, nil
}
