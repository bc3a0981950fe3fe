//go:build interop

package snmp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/testbench/peers"
)

// Test credentials of the snmpd the tests configure.
const (
	v3AuthPass = "emberwatch-auth"
	v3PrivPass = "emberwatch-priv"
)

// relayScript is a net-snmp "pass" handler playing an APC rPDU2 outlet
// bank: rPDU2OutletSwitchedControlCommand (.4.1.5.N, 1 on, 2 off) is
// writable and switches rPDU2OutletSwitchedStatusState (.3.1.5.N, 2 on,
// 1 off). Every SET is appended to sets.log, so a test can prove that a
// refused SET never reached the agent.
const relayScript = `#!/bin/sh
D='%s'
BASE=.1.3.6.1.4.1.318.1.1.26.9.2
case "$1" in
-g)
  case "$2" in
  $BASE.3.1.5.[1-8])
    n=${2##*.}
    s=2; [ -f "$D/outlet.$n" ] && s=$(cat "$D/outlet.$n")
    printf '%%s\ninteger\n%%s\n' "$2" "$s" ;;
  $BASE.4.1.5.[1-8])
    printf '%%s\ninteger\n1\n' "$2" ;;
  esac ;;
-s)
  echo "$2 $3 $4" >> "$D/sets.log"
  case "$2" in
  $BASE.4.1.5.[1-8])
    n=${2##*.}
    case "$4" in
    1) echo 2 > "$D/outlet.$n" ;;
    2) echo 1 > "$D/outlet.$n" ;;
    *) echo wrong-value; exit 0 ;;
    esac ;;
  *) echo not-writable ;;
  esac ;;
esac
`

// snmpd is a net-snmp agent configured by a test.
type snmpd struct {
	Addr string
	dir  string
	log  *strings.Builder
}

// startSnmpd runs snmpd -f on a free 127.0.0.1 UDP port with two USM users
// (SHA/AES and MD5/DES, authPriv, read-write) and the relay script.
func startSnmpd(t *testing.T) *snmpd {
	t.Helper()
	bin := peers.Require(t, "snmpd", "snmpd")
	dir, err := os.MkdirTemp("", "emberwatch-snmpd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	script := filepath.Join(dir, "relay.sh")
	if err := os.WriteFile(script, []byte(fmt.Sprintf(relayScript, dir)), 0o755); err != nil {
		t.Fatal(err)
	}
	port := peers.FreeUDPPort(t)
	s := &snmpd{Addr: fmt.Sprintf("127.0.0.1:%d", port), dir: dir, log: &strings.Builder{}}
	conf := strings.Join([]string{
		"agentAddress udp:" + s.Addr,
		fmt.Sprintf("createUser shaaes SHA %q AES %q", v3AuthPass, v3PrivPass),
		fmt.Sprintf("createUser md5des MD5 %q DES %q", v3AuthPass, v3PrivPass),
		"rwuser shaaes priv",
		"rwuser md5des priv",
		"rocommunity public 127.0.0.1",
		"pass .1.3.6.1.4.1.318.1.1.26.9.2 /bin/sh " + script,
		"sysObjectID .1.3.6.1.4.1.318.1.3.4.5",
		"",
	}, "\n")
	confFile := filepath.Join(dir, "snmpd.conf")
	if err := os.WriteFile(confFile, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-f", "-Lo", "-C", "-c", confFile, "-p", filepath.Join(dir, "pid"))
	cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+dir, "MIBS=")
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start snmpd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	c, err := Dial(Config{Target: s.Addr, Community: "public", Timeout: 200 * time.Millisecond, Retries: -1, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		pkt, err := c.Get(context.Background(), []string{OIDSysObjectID})
		if err == nil && len(pkt.Variables) == 1 {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("snmpd not answering on %s: %v\n%s", s.Addr, err, s.log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *snmpd) sets(t *testing.T) []string {
	b, err := os.ReadFile(filepath.Join(s.dir, "sets.log"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func TestSNMPv3AuthPriv(t *testing.T) {
	d := startSnmpd(t)
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"SHA/AES", Config{User: "shaaes", AuthProto: "SHA", AuthPass: v3AuthPass, PrivProto: "AES", PrivPass: v3PrivPass}, ""},
		{"MD5/DES", Config{User: "md5des", AuthProto: "MD5", AuthPass: v3AuthPass, PrivProto: "DES", PrivPass: v3PrivPass}, ""},
		{"wrong auth key", Config{User: "shaaes", AuthProto: "SHA", AuthPass: "not-the-key", PrivProto: "AES", PrivPass: v3PrivPass}, "authentication failed"},
		{"wrong auth protocol", Config{User: "shaaes", AuthProto: "MD5", AuthPass: v3AuthPass, PrivProto: "AES", PrivPass: v3PrivPass}, "authentication failed"},
		{"wrong priv key", Config{User: "shaaes", AuthProto: "SHA", AuthPass: v3AuthPass, PrivProto: "AES", PrivPass: "not-the-key"}, "privacy key"},
		{"unknown user", Config{User: "nobody", AuthProto: "SHA", AuthPass: v3AuthPass, PrivProto: "AES", PrivPass: v3PrivPass}, "authentication failed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Target, cfg.Version, cfg.Timeout, cfg.Retries, cfg.RateLimit = d.Addr, "3", 500*time.Millisecond, -1, -1
			c, err := Dial(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			pkt, err := c.Get(ctx, []string{OIDSysObjectID, "1.3.6.1.2.1.1.3.0"})
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("GET: %v\n%s", err, d.log)
				}
				if len(pkt.Variables) != 2 || pkt.Variables[0].Value != ".1.3.6.1.4.1.318.1.3.4.5" {
					t.Fatalf("GET = %+v", pkt.Variables)
				}
				return
			}
			if err == nil {
				t.Fatalf("GET with a bad credential succeeded: %+v", pkt)
			}
			t.Logf("error: %v", err)
			if !strings.Contains(strings.ToLower(err.Error()), tc.wantErr) {
				t.Errorf("error %q does not say %q", err, tc.wantErr)
			}
		})
	}
	// The agent still serves good clients after the bad ones.
	c, err := Dial(Config{Target: d.Addr, Version: "3", User: "shaaes", AuthPass: v3AuthPass, PrivPass: v3PrivPass, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Get(context.Background(), []string{OIDSysObjectID}); err != nil {
		t.Fatalf("after bad keys: %v", err)
	}
}

func TestOutletSetV3(t *testing.T) {
	d := startSnmpd(t)
	ps, err := DefaultProfiles()
	if err != nil {
		t.Fatal(err)
	}
	p, ok := ps.Get("apc-rpdu")
	if !ok {
		t.Fatal("no apc-rpdu profile")
	}
	c, err := Dial(Config{Target: d.Addr, Version: "3", User: "shaaes", AuthPass: v3AuthPass, PrivPass: v3PrivPass, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dev := NewDevice("pdu-1", p, c, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	if err := dev.Switch(ctx, "outlet", 3, "off"); err != nil {
		t.Fatalf("switch outlet 3 off: %v\n%s", err, d.log)
	}
	if err := dev.Switch(ctx, "outlet", 3, "on"); err != nil {
		t.Fatalf("switch outlet 3 on: %v", err)
	}
	if got := d.sets(t); len(got) != 2 {
		t.Fatalf("agent saw SETs %q, want 2", got)
	}
	// Refused before anything is sent: a writable OID that is not listed,
	// a value that is not listed, an outlet out of range.
	for _, f := range []func() error{
		func() error { return dev.Set(ctx, "1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.3", 3) },
		func() error { return dev.Set(ctx, "1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.3", 1) },
		func() error { return dev.Switch(ctx, "outlet", 200, "off") },
	} {
		if err := f(); !errors.Is(err, ErrNotAllowed) {
			t.Errorf("err = %v, want ErrNotAllowed", err)
		}
	}
	if got := d.sets(t); len(got) != 2 {
		t.Fatalf("refused SETs reached the agent: %q", got)
	}
}
