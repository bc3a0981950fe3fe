package config

import (
	"fmt"
	"net"
	"os"
	"strings"
)

// DefaultTrapListen is traps.listen when the receiver is enabled and the
// site file names no address.
const DefaultTrapListen = "127.0.0.1:162"

// Traps is the SNMP trap and inform receiver, off by default. Each
// notification a profile's traps: list maps becomes an alert event and its
// readings telemetry of the sending device at once.
type Traps struct {
	// Enabled turns the receiver on.
	Enabled bool `yaml:"enabled"`
	// Listen is the UDP host:port to receive on; default 127.0.0.1:162.
	// Devices on the rack network need the gateway's address there (or
	// :162 for every address).
	Listen string `yaml:"listen"`
	// Communities are the SNMPv1/v2c communities accepted; a trap with
	// any other community is dropped.
	Communities []string `yaml:"communities"`
	// Users are the SNMPv3 USM users accepted; v3 traps must be
	// authenticated.
	Users []TrapUser `yaml:"users"`
}

// TrapUser is one SNMPv3 user whose notifications are accepted. The pass
// phrases come from a file (first line) or an environment variable and
// are never logged.
type TrapUser struct {
	// User is the USM user name.
	User string `yaml:"user"`
	// AuthProtocol is MD5, SHA (default), SHA224, SHA256, SHA384 or SHA512.
	AuthProtocol string `yaml:"auth_protocol"`
	// AuthPasswordFile or AuthPasswordEnv holds the authentication pass
	// phrase (at least 8 characters); one of them is required.
	AuthPasswordFile string `yaml:"auth_password_file"`
	AuthPasswordEnv  string `yaml:"auth_password_env"`
	// PrivProtocol is DES, AES (default), AES192, AES256, AES192C or
	// AES256C; used when a privacy pass phrase is set (authPriv).
	PrivProtocol string `yaml:"priv_protocol"`
	// PrivPasswordFile or PrivPasswordEnv holds the privacy pass phrase;
	// neither means authNoPriv.
	PrivPasswordFile string `yaml:"priv_password_file"`
	PrivPasswordEnv  string `yaml:"priv_password_env"`
}

// TrapCredentials are a TrapUser with its pass phrases read.
type TrapCredentials struct {
	User, AuthProtocol, AuthPassword, PrivProtocol, PrivPassword string
}

var (
	trapAuthProtocols = []string{"MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512"}
	trapPrivProtocols = []string{"DES", "AES", "AES192", "AES256", "AES192C", "AES256C"}
)

// Credentials reads the pass phrases of user i of traps.users, from their
// files (relative to the site file's folder) or through getenv. Errors
// name the field, never the pass phrase.
func (c *Config) Credentials(i int, getenv func(string) string) (TrapCredentials, error) {
	u := c.Traps.Users[i]
	p := fmt.Sprintf("traps.users[%d].", i)
	cr := TrapCredentials{User: u.User, AuthProtocol: u.AuthProtocol, PrivProtocol: u.PrivProtocol}
	var err error
	if cr.AuthPassword, err = c.secret(p+"auth_password", u.AuthPasswordFile, u.AuthPasswordEnv, getenv); err != nil {
		return cr, err
	}
	if len(cr.AuthPassword) < 8 {
		return cr, fmt.Errorf("%sauth_password: user %q: the pass phrase must have at least 8 characters", p, u.User)
	}
	if cr.PrivPassword, err = c.secret(p+"priv_password", u.PrivPasswordFile, u.PrivPasswordEnv, getenv); err != nil {
		return cr, err
	}
	if (u.PrivPasswordFile != "" || u.PrivPasswordEnv != "") && len(cr.PrivPassword) < 8 {
		return cr, fmt.Errorf("%spriv_password: user %q: the pass phrase must have at least 8 characters", p, u.User)
	}
	return cr, nil
}

// secret reads a pass phrase from file (first line) or the variable env.
func (c *Config) secret(field, file, env string, getenv func(string) string) (string, error) {
	switch {
	case file != "":
		b, err := os.ReadFile(c.Resolve(file))
		if err != nil {
			return "", fmt.Errorf("%s_file %s: %w", field, file, err)
		}
		line, _, _ := strings.Cut(string(b), "\n")
		return strings.TrimRight(line, "\r"), nil
	case env != "":
		v := getenv(env)
		if v == "" {
			return "", fmt.Errorf("%s_env: environment variable %s is empty or unset", field, env)
		}
		return v, nil
	}
	return "", nil
}

// TrapListen is the address the trap receiver listens on.
func (c *Config) TrapListen() string {
	if c.Traps.Listen != "" {
		return c.Traps.Listen
	}
	return DefaultTrapListen
}

// validateTraps checks the traps: section.
func (c *Config) validateTraps(bad func(path, format string, a ...any)) {
	t := c.Traps
	if !t.Enabled {
		return // the settings of a receiver turned off are kept, not checked
	}
	checkListen(bad, "traps.listen", t.Listen, 162)
	if len(t.Communities) == 0 && len(t.Users) == 0 {
		bad("traps", "enabled, but accepts nothing: list communities (v1/v2c) or users (v3)")
	}
	for i, cm := range t.Communities {
		if cm == "" {
			bad(fmt.Sprintf("traps.communities[%d]", i), "empty community")
		}
	}
	users := map[string]int{}
	for i, u := range t.Users {
		p := func(f string) string { return fmt.Sprintf("traps.users[%d].%s", i, f) }
		if u.User == "" {
			bad(p("user"), "required")
		} else if prev, dup := users[u.User]; dup {
			bad(p("user"), "%q is also the user of traps.users[%d]", u.User, prev)
		} else {
			users[u.User] = i
		}
		if u.AuthProtocol != "" && !oneOf(u.AuthProtocol, trapAuthProtocols) {
			bad(p("auth_protocol"), "%q: want %s", u.AuthProtocol, strings.Join(trapAuthProtocols, ", "))
		}
		if u.PrivProtocol != "" && !oneOf(u.PrivProtocol, trapPrivProtocols) {
			bad(p("priv_protocol"), "%q: want %s", u.PrivProtocol, strings.Join(trapPrivProtocols, ", "))
		}
		c.checkSecret(bad, p("auth_password"), u.AuthPasswordFile, u.AuthPasswordEnv, true)
		c.checkSecret(bad, p("priv_password"), u.PrivPasswordFile, u.PrivPasswordEnv, false)
		if u.PrivProtocol != "" && u.PrivPasswordFile == "" && u.PrivPasswordEnv == "" {
			bad(p("priv_protocol"), "set, but no priv_password_file or priv_password_env")
		}
	}
}

// checkSecret checks a pass phrase given by file or environment variable.
func (c *Config) checkSecret(bad func(path, format string, a ...any), field, file, env string, required bool) {
	switch {
	case file != "" && env != "":
		bad(field+"_env", "set only one of %s_file and %s_env", last(field), last(field))
	case file != "":
		if _, err := os.Stat(c.Resolve(file)); err != nil {
			bad(field+"_file", "%s: %s", file, describeOpenError(err))
		}
	case env == "" && required:
		bad(field[:strings.LastIndex(field, ".")], "set %s_file or %s_env (SNMPv3 notifications must be authenticated)", last(field), last(field))
	}
}

func last(field string) string { return field[strings.LastIndex(field, ".")+1:] }

func oneOf(s string, list []string) bool {
	for _, v := range list {
		if strings.EqualFold(s, v) {
			return true
		}
	}
	return false
}

// TrapListenIsLoopback reports whether the receiver only hears the
// gateway itself (the default), which real devices cannot reach.
func (c *Config) TrapListenIsLoopback() bool {
	host, _, err := net.SplitHostPort(c.TrapListen())
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
