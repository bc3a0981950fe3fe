//go:build interop

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/mqtt"
	"github.com/emberwatch/emberwatch/testbench/peers"
)

// TestTrapsReachMQTT runs the built agent with its trap receiver on and
// mosquitto, and sends traps with net-snmp's snmptrap and snmpinform from
// 127.0.0.1, the address of the site's UPS: APC upsOnBattery by v2c raises
// the UPS's power alert and publishes ups.status OB, lowBattery by v3
// authPriv escalates it to critical, and powerRestored by a v3 authPriv
// inform publishes ups.status OL; each within 1 s of starting the sender.
// A trap of another community, and one of a wrong v3 key, publish nothing.
func TestTrapsReachMQTT(t *testing.T) {
	snmptrap := peers.Require(t, "snmptrap", "snmp")
	snmpinform := peers.Require(t, "snmpinform", "snmp")
	m := peers.StartMosquitto(t)
	dir := t.TempDir()
	const authPass, privPass = "e2e-auth-phrase", "e2e-priv-phrase"
	if err := os.WriteFile(filepath.Join(dir, "trap-auth.password"), []byte(authPass+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := peers.FreeUDPPort(t)
	site := filepath.Join(dir, "site.yaml")
	// The UPS is polled where nothing answers (its polls fail); its traps
	// come from 127.0.0.1, its address.
	if err := os.WriteFile(site, []byte(fmt.Sprintf(`site: e2e
gateway: gw
mqtt: {broker: %q, keepalive: 5s}
devices:
  - {name: ups-1, driver: snmp, address: "snmp://public@127.0.0.1:%d", profile: apc-ups, interval: 30s, timeout: 200ms}
traps:
  enabled: true
  listen: 127.0.0.1:%d
  communities: [e2e-traps]
  users:
    - {user: trapper, auth_protocol: SHA, auth_password_file: trap-auth.password, priv_protocol: AES, priv_password_env: E2E_TRAP_PRIV}
`, m.URL, peers.FreeUDPPort(t), port)), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "E2E_TRAP_PRIV="+privPass)
	check := exec.Command(agentBin, "check", "-c", site)
	check.Env = env
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("check: %v\n%s", err, out)
	}
	top := mqtt.NewTopics("e2e", "gw")
	rec := listen(t, m.URL, "emberwatch/v1/e2e/gw/#")

	a := &agent{log: &syncBuffer{}, done: make(chan struct{})}
	a.cmd = exec.Command(agentBin, "run", "-c", site, "-stats", "0")
	a.cmd.Env = env
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	if err := a.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { a.err = a.cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		if !a.closed {
			a.stop(t)
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", a.log.String())
		}
	})
	eventually(t, 10*time.Second, "trap receiver listening", func() bool { return strings.Contains(a.log.String(), "trap receiver listening") })
	eventually(t, 10*time.Second, "agent online", func() bool {
		st := rec.get(top.State())
		return len(st) > 0 && strings.Contains(string(st[len(st)-1].payload), `"online":true`)
	})

	addr := fmt.Sprintf("127.0.0.1:%d", port)
	v3 := func(prog string, auth string, extra ...string) []string {
		args := []string{"-v", "3", "-u", "trapper", "-l", "authPriv", "-a", "SHA", "-A", auth, "-x", "AES", "-X", privPass}
		if prog == snmptrap {
			args = append(args, "-e", "0x80001f8880e2e2e2e2") // the sender's engine ID, as a UPS card has
		}
		return append(append(args, extra...), addr, "")
	}
	tests := []struct {
		name   string
		prog   string
		args   []string
		level  string // alert level and state expected, "" for no alert
		state  string
		status string // ups.status expected in telemetry, "" for none
	}{
		{"v2c wrong community", snmptrap, []string{"-v", "2c", "-c", "public", addr, "", "1.3.6.1.4.1.318.0.5"}, "", "", ""},
		{"v2c on battery", snmptrap, []string{"-v", "2c", "-c", "e2e-traps", addr, "", "1.3.6.1.4.1.318.0.5",
			"1.3.6.1.4.1.318.2.3.3.0", "s", "UPS: On battery power in response to an input power problem."}, "warning", "raised", "OB"},
		{"v3 wrong key", snmptrap, append(v3(snmptrap, "not-the-auth-phrase"), "1.3.6.1.4.1.318.0.7"), "", "", ""},
		{"v3 authPriv battery low", snmptrap, append(v3(snmptrap, authPass), "1.3.6.1.4.1.318.0.7"), "critical", "escalated", ""},
		{"v3 authPriv inform power restored", snmpinform, append(v3(snmpinform, authPass, "-t", "5", "-r", "0"), "1.3.6.1.4.1.318.0.9"), "", "", "OL"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alerts, tel := len(rec.get(top.Alert("ups-1"))), len(rec.get(top.Telemetry("ups-1")))
			cmd := exec.Command(tc.prog, tc.args...)
			cmd.Env = append(os.Environ(), "MIBS=", "SNMP_PERSISTENT_DIR="+t.TempDir())
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", tc.prog, err, out)
			}
			sent := time.Since(start)
			wantAlert, wantTel := tc.level != "", tc.status != ""
			deadline := start.Add(time.Second)
			for (wantAlert && len(rec.get(top.Alert("ups-1"))) == alerts) || (wantTel && len(rec.get(top.Telemetry("ups-1"))) == tel) {
				if time.Now().After(deadline) {
					t.Fatalf("not published within 1s of starting %s", filepath.Base(tc.prog))
				}
				time.Sleep(time.Millisecond)
			}
			if !wantAlert && !wantTel {
				time.Sleep(time.Second)
				if n := len(rec.get(top.Alert("ups-1"))); n != alerts {
					t.Fatalf("alert published for a refused sender: %s", rec.get(top.Alert("ups-1"))[n-1].payload)
				}
				return
			}
			if wantAlert {
				got := rec.get(top.Alert("ups-1"))
				msg := got[len(got)-1]
				var ev struct{ Device, Subject, Kind, Level, State string }
				if err := json.Unmarshal(msg.payload, &ev); err != nil {
					t.Fatal(err)
				}
				if ev.Device != "ups-1" || ev.Subject != "ups" || ev.Kind != "power" || ev.Level != tc.level || ev.State != tc.state {
					t.Errorf("alert %s", msg.payload)
				}
				t.Logf("alert %s %s on MQTT %v after starting %s (which took %v to send)", ev.Level, ev.State,
					msg.at.Sub(start).Round(100*time.Microsecond), filepath.Base(tc.prog), sent.Round(100*time.Microsecond))
			}
			if wantTel {
				got := rec.get(top.Telemetry("ups-1"))
				msg := got[len(got)-1]
				var tm mqtt.Telemetry
				if err := json.Unmarshal(msg.payload, &tm); err != nil {
					t.Fatal(err)
				}
				if p := tm.Points["ups.status"]; p.Text != tc.status {
					t.Errorf("telemetry %s: want ups.status %s", msg.payload, tc.status)
				}
				t.Logf("ups.status %s on MQTT %v after starting %s (which took %v to send)", tc.status,
					msg.at.Sub(start).Round(100*time.Microsecond), filepath.Base(tc.prog), sent.Round(100*time.Microsecond))
			}
		})
	}
	a.stop(t)
	if log := a.log.String(); strings.Contains(log, authPass) || strings.Contains(log, privPass) {
		t.Errorf("a pass phrase is in the agent's log")
	}
}
