package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"

	"github.com/emberwatch/emberwatch/agent/command"
)

// MaxNUTClients bounds nut.max_clients.
const MaxNUTClients = 1024

// validateCommands checks the commands: section: the key files load, the
// state files' folders exist, and a shed plan has a key to sign with.
func (c *Config) validateCommands(bad func(path, format string, a ...any)) {
	cc := c.Commands
	if cc.Key != "" {
		if _, err := command.LoadPrivateKey(c.Resolve(cc.Key)); err != nil {
			bad("commands.key", "%s: %s (make a key pair with emberwatch keygen)", cc.Key, keyError(err))
		}
	} else if c.HasShed() {
		bad("shed", "the plan's commands are signed: set commands.key (make one with emberwatch keygen)")
	}
	for i, k := range cc.OperatorKeys {
		if _, err := command.LoadPublicKey(c.Resolve(k)); err != nil {
			bad(fmt.Sprintf("commands.operator_keys[%d]", i), "%s: %s", k, keyError(err))
		}
	}
	for _, f := range []struct{ path, file string }{{"commands.seq_file", cc.SeqFile}, {"commands.operator_seq_file", cc.OperatorSeqFile}} {
		if f.file == "" {
			continue
		}
		if st, err := os.Stat(filepath.Dir(c.Resolve(f.file))); err != nil || !st.IsDir() {
			bad(f.path, "%s: its folder %s does not exist", f.file, filepath.Dir(f.file))
		}
	}
	if cc.MaxAge < 0 {
		bad("commands.max_age", "%v is negative", cc.MaxAge)
	}
	if cc.OperatorSeqFile != "" && len(cc.OperatorKeys) == 0 {
		bad("commands.operator_seq_file", "set, but no operator_keys to accept operator commands from")
	}
}

// keyError says briefly why a key file did not load.
func keyError(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return describeOpenError(pe.Err)
	}
	return err.Error()
}

// validateNUT checks the nut: section.
func (c *Config) validateNUT(bad func(path, format string, a ...any)) {
	n := c.NUT
	checkListen(bad, "nut.listen", n.Listen, 3493)
	if n.MaxClients < 0 || n.MaxClients > MaxNUTClients {
		bad("nut.max_clients", "%d: want 0 (default 32) to %d", n.MaxClients, MaxNUTClients)
	}
}

// validateMetrics checks the metrics: section.
func (c *Config) validateMetrics(bad func(path, format string, a ...any)) {
	checkListen(bad, "metrics.listen", c.Metrics.Listen, 9464)
}

// checkListen checks an address to listen on, host:port; empty is fine.
func checkListen(bad func(path, format string, a ...any), path, addr string, port int) {
	if addr == "" {
		return
	}
	host, p, err := net.SplitHostPort(addr)
	n, perr := strconv.Atoi(p)
	switch {
	case err != nil:
		bad(path, "%q: want host:port (e.g. 127.0.0.1:%d, or :%d for every address)", addr, port, port)
	case perr != nil || n < 1 || n > 65535:
		bad(path, "%q: port %q is not 1 to 65535", addr, p)
	case host != "" && net.ParseIP(host) == nil && host != "localhost":
		bad(path, "%q: the host must be an IP address (the address to listen on)", addr)
	}
}
