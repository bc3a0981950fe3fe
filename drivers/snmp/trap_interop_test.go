//go:build interop

package snmp

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/testbench/peers"
)

// TestTrapsFromNetSNMP sends v2c and v3 traps and a v2c inform with
// net-snmp's snmptrap/snmpinform and expects each event within 1 s.
func TestTrapsFromNetSNMP(t *testing.T) {
	snmptrap := peers.Require(t, "snmptrap", "snmp")
	ps, err := DefaultProfiles()
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan Event, 16)
	r, err := NewTrapReceiver(TrapConfig{
		Communities: []string{"public"},
		Users:       []Config{{User: "trapper", AuthProto: "SHA", AuthPass: v3AuthPass, PrivProto: "AES", PrivPass: v3PrivPass}},
		Profiles:    ps,
		Devices:     map[string]string{"127.0.0.1": "ups-1"},
	}, func(e Event) { events <- e })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- r.Listen(ctx, "127.0.0.1:0") }()
	<-r.Ready()
	addr := r.Addr().String()

	tests := []struct {
		name     string
		prog     string
		args     []string
		wantOID  string
		wantText string // ups.status reading, "" for none
		drop     bool
	}{
		{"v2c on battery", snmptrap, []string{"-v", "2c", "-c", "public", addr, "", "1.3.6.1.2.1.33.2.1"}, "1.3.6.1.2.1.33.2.1", "OB", false},
		{"v3 authPriv APC on battery", snmptrap, []string{"-v", "3", "-e", "0x80001f8880aabbccdd", "-u", "trapper", "-l", "authPriv",
			"-a", "SHA", "-A", v3AuthPass, "-x", "AES", "-X", v3PrivPass, addr, "", "1.3.6.1.4.1.318.0.5"}, "1.3.6.1.4.1.318.0.5", "OB", false},
		{"v2c inform power restored", "snmpinform", []string{"-v", "2c", "-c", "public", "-t", "5", "-r", "0", addr, "", "1.3.6.1.4.1.318.0.9"}, "1.3.6.1.4.1.318.0.9", "OL", false},
		{"v3 authPriv inform on battery", "snmpinform", []string{"-v", "3", "-u", "trapper", "-l", "authPriv", "-t", "5", "-r", "0",
			"-a", "SHA", "-A", v3AuthPass, "-x", "AES", "-X", v3PrivPass, addr, "", "1.3.6.1.2.1.33.2.1"}, "1.3.6.1.2.1.33.2.1", "OB", false},
		{"v1 trap APC on battery", snmptrap, []string{"-v", "1", "-c", "public", addr, "1.3.6.1.4.1.318", "", "6", "5", ""}, "1.3.6.1.4.1.318.0.5", "OB", false},
		{"v3 wrong key dropped", snmptrap, []string{"-v", "3", "-e", "0x80001f8880aabbccdd", "-u", "trapper", "-l", "authPriv",
			"-a", "SHA", "-A", "wrong-pass-phrase", "-x", "AES", "-X", v3PrivPass, addr, "", "1.3.6.1.4.1.318.0.5"}, "", "", true},
		{"v2c wrong community dropped", snmptrap, []string{"-v", "2c", "-c", "secret", addr, "", "1.3.6.1.2.1.33.2.1"}, "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			cmd := exec.Command(tc.prog, tc.args...)
			cmd.Env = append(os.Environ(), "MIBS=", "SNMP_PERSISTENT_DIR="+t.TempDir())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", tc.prog, err, out)
			}
			select {
			case e := <-events:
				if tc.drop {
					t.Fatalf("event from a refused sender: %+v", e)
				}
				lat := time.Since(start)
				if e.TrapOID != tc.wantOID || !e.Known || e.Device != "ups-1" {
					t.Fatalf("event %+v", e)
				}
				if len(e.Readings) != 1 || e.Readings[0].Point != "ups.status" || e.Readings[0].Text != tc.wantText {
					t.Errorf("readings %+v, want ups.status %s", e.Readings, tc.wantText)
				}
				t.Logf("%s: %s %s %q after %v", e.TrapOID, e.Kind, e.Level, e.Message, lat)
				if lat > time.Second {
					t.Errorf("event after %v, want within 1s", lat)
				}
			case <-time.After(time.Second):
				if !tc.drop {
					t.Fatal("no event within 1s")
				}
			}
		})
	}
	st := r.Stats()
	if st.Received != 5 || st.Dropped != 2 {
		t.Errorf("stats %+v, want 5 received, 2 dropped", st)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
