package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/gosnmp/gosnmp"

	"github.com/emberwatch/emberwatch/agent/broker"
	"github.com/emberwatch/emberwatch/agent/mqtt"
	"github.com/emberwatch/emberwatch/drivers/snmp"
)

// freeUDPPort returns a UDP port of 127.0.0.1 that was free a moment ago.
func freeUDPPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// TestRunTraps runs the agent in-process with the trap receiver on and
// the embedded broker: an APC upsOnBattery trap by v2c and a lowBattery
// trap by v3 authPriv, from 127.0.0.1 (the address of the site's UPS),
// are on the UPS's alert topic within a second and in the retained active
// list, and the ups.status OB reading in the UPS's telemetry. A trap with
// another community is dropped.
func TestRunTraps(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := broker.New(broker.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "auth.pass"), []byte("ember-auth-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := freeUDPPort(t)
	site := filepath.Join(dir, "site.yaml")
	// The UPS is polled at an address where nothing answers: its polls
	// fail, which does not concern its traps.
	if err := os.WriteFile(site, []byte(fmt.Sprintf(`site: dc1
gateway: gw-1
mqtt: {broker: %q}
devices:
  - {name: ups-1, driver: snmp, address: "snmp://public@127.0.0.1:%d", profile: apc-ups, interval: 30s}
traps:
  enabled: true
  listen: 127.0.0.1:%d
  communities: [trapsecret]
  users:
    - user: ember
      auth_protocol: SHA
      auth_password_file: auth.pass
      priv_protocol: AES
      priv_password_env: EMBER_TRAP_PRIV
`, b.URL(), freeUDPPort(t), port)), 0o644); err != nil {
		t.Fatal(err)
	}

	type msg struct {
		payload []byte
		at      time.Time
	}
	var mu sync.Mutex
	got := map[string][]msg{}
	sub := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("run-trap-test-sub"))
	if tok := sub.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer sub.Disconnect(0)
	sub.Subscribe("emberwatch/v1/dc1/gw-1/#", 1, func(_ paho.Client, m paho.Message) {
		mu.Lock()
		got[m.Topic()] = append(got[m.Topic()], msg{append([]byte(nil), m.Payload()...), time.Now()})
		mu.Unlock()
	}).WaitTimeout(5 * time.Second)
	count := func(topic string) int {
		mu.Lock()
		defer mu.Unlock()
		return len(got[topic])
	}
	last := func(topic string) msg {
		mu.Lock()
		defer mu.Unlock()
		if ms := got[topic]; len(ms) > 0 {
			return ms[len(ms)-1]
		}
		return msg{}
	}

	var stderr lockedBuffer
	getenv := func(k string) string {
		if k == "EMBER_TRAP_PRIV" {
			return "ember-priv-1"
		}
		return ""
	}
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: getenv}
	runCtx, stop := context.WithCancel(ctx)
	code := make(chan int, 1)
	go func() { code <- dispatch(runCtx, e, []string{"run", "-c", site}) }()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "trap receiver listening") {
		if time.Now().After(deadline) {
			t.Fatalf("receiver not listening; agent log:\n%s", stderr.String())
		}
		time.Sleep(10 * time.Millisecond)
	}

	top := mqtt.NewTopics("dc1", "gw-1")
	trap := func(oid, text string) []gosnmp.SnmpPDU {
		return []gosnmp.SnmpPDU{
			{Name: "." + snmp.OIDSnmpTrapOID, Type: gosnmp.ObjectIdentifier, Value: oid},
			{Name: ".1.3.6.1.4.1.318.2.3.3.0", Type: gosnmp.OctetString, Value: text},
		}
	}
	onBattery := trap(".1.3.6.1.4.1.318.0.5", "UPS: On battery power in response to an input power problem.")
	lowBattery := trap(".1.3.6.1.4.1.318.0.7", "UPS: The battery power is too low to support the load.")
	v2c := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(port), Version: gosnmp.Version2c, Timeout: time.Second, MaxOids: 60}
	v3 := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(port), Version: gosnmp.Version3, Timeout: time.Second, MaxOids: 60,
		SecurityModel: gosnmp.UserSecurityModel, MsgFlags: gosnmp.AuthPriv,
		SecurityParameters: &gosnmp.UsmSecurityParameters{UserName: "ember", AuthoritativeEngineID: "\x80\x00\x1f\x88\x04ups-1",
			AuthenticationProtocol: gosnmp.SHA, AuthenticationPassphrase: "ember-auth-1",
			PrivacyProtocol: gosnmp.AES, PrivacyPassphrase: "ember-priv-1"}}
	send := func(t *testing.T, g *gosnmp.GoSNMP, vars []gosnmp.SnmpPDU) time.Time {
		t.Helper()
		if err := g.Connect(); err != nil {
			t.Fatal(err)
		}
		defer g.Conn.Close()
		sent := time.Now()
		if _, err := g.SendTrap(gosnmp.SnmpTrap{Variables: vars}); err != nil {
			t.Fatal(err)
		}
		return sent
	}

	// On battery raises the UPS's power alert, with ups.status OB; battery
	// low escalates it to critical.
	for _, tc := range []struct {
		name             string
		g                *gosnmp.GoSNMP
		community        string
		vars             []gosnmp.SnmpPDU
		want             bool
		level, state, ob string
	}{
		{"v2c, wrong community", v2c, "public", onBattery, false, "", "", ""},
		{"v2c on battery", v2c, "trapsecret", onBattery, true, "warning", "raised", "OB"},
		{"v3 authPriv battery low", v3, "", lowBattery, true, "critical", "escalated", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.g.Community = tc.community
			before := count(top.Alert("ups-1"))
			beforeTel := count(top.Telemetry("ups-1"))
			sent := send(t, tc.g, tc.vars)
			deadline := sent.Add(time.Second)
			for count(top.Alert("ups-1")) == before || (tc.ob != "" && count(top.Telemetry("ups-1")) == beforeTel) {
				if time.Now().After(deadline) {
					if !tc.want {
						return
					}
					t.Fatalf("no alert (or telemetry) within 1s of the trap; agent log:\n%s", stderr.String())
				}
				time.Sleep(2 * time.Millisecond)
			}
			if !tc.want {
				t.Fatalf("published after a trap of a refused community: %s", last(top.Alert("ups-1")).payload)
			}
			m := last(top.Alert("ups-1"))
			t.Logf("%s: alert published %v after the trap was sent", tc.name, m.at.Sub(sent).Round(100*time.Microsecond))
			var ev struct {
				ID, Site, Gateway, Device, Subject, Kind, Level, State, Message string
				Evidence                                                        map[string]any
			}
			if err := json.Unmarshal(m.payload, &ev); err != nil {
				t.Fatal(err)
			}
			if ev.Site != "dc1" || ev.Gateway != "gw-1" || ev.Device != "ups-1" || ev.Subject != "ups" || ev.Kind != "power" ||
				ev.Level != tc.level || ev.State != tc.state || ev.ID == "" || ev.Evidence["agent"] != "127.0.0.1" ||
				ev.Evidence["trap_oid"] != strings.TrimPrefix(tc.vars[0].Value.(string), ".") {
				t.Errorf("alert %s", m.payload)
			}
			if tc.ob != "" {
				var tm mqtt.Telemetry
				if err := json.Unmarshal(last(top.Telemetry("ups-1")).payload, &tm); err != nil {
					t.Fatal(err)
				}
				if p, ok := tm.Points["ups.status"]; !ok || p.Text != tc.ob {
					t.Errorf("telemetry %s: want ups.status %s", last(top.Telemetry("ups-1")).payload, tc.ob)
				}
			}
			deadline = time.Now().Add(time.Second)
			for !strings.Contains(string(last(top.Alerts()).payload), `"level":"`+tc.level+`"`) {
				if time.Now().After(deadline) {
					t.Fatalf("alert %s at %s not in the active list %s", ev.ID, tc.level, last(top.Alerts()).payload)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	if log := stderr.String(); strings.Contains(log, "ember-priv-1") || strings.Contains(log, "ember-auth-1") {
		t.Errorf("a pass phrase is in the log:\n%s", log)
	}

	stop()
	select {
	case c := <-code:
		if c != 0 {
			t.Fatalf("exit %d; log:\n%s", c, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("agent did not stop")
	}
	if log := stderr.String(); !strings.Contains(log, `msg="trap stats" component=traps received=2 dropped=1`) {
		t.Errorf("no trap stats at exit, or not 2 received and 1 dropped:\n%s", log)
	}
}

// TestTrapEvent: the alert event of a mapped notification; none for an
// unmapped one; power restored clears.
func TestTrapEvent(t *testing.T) {
	at := time.Date(2026, 3, 1, 1, 2, 3, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		ev        snmp.Event
		ok        bool
		subject   string
		wantState string
	}{
		{"on battery", snmp.Event{Time: at, Device: "ups-1", Known: true, Kind: "power", Level: "warning", Message: "UPS on battery"}, true, "ups", "raised"},
		{"power restored", snmp.Event{Time: at, Device: "ups-1", Known: true, Kind: "power", Level: "warning", State: "cleared"}, true, "ups", "cleared"},
		{"probe", snmp.Event{Time: at, Device: "pdu-1", Known: true, Kind: "over_temperature", Level: "critical"}, true, "probe", "raised"},
		{"unmapped", snmp.Event{Time: at, Device: "ups-1", TrapOID: "1.3.6.1.4.1.9.9.9"}, false, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, ok := trapEvent("dc1", "gw-1", tc.ev)
			if ok != tc.ok {
				t.Fatalf("ok = %v", ok)
			}
			if !ok {
				return
			}
			if a.Subject != tc.subject || a.State != tc.wantState || a.Site != "dc1" || a.Gateway != "gw-1" ||
				a.Device != tc.ev.Device || a.Kind != tc.ev.Kind || len(a.ID) != 16 || !a.Time.Equal(at) {
				t.Errorf("event %+v", a)
			}
		})
	}
}

// TestRunTrapsStartErrors: a trap receiver that cannot start stops the
// agent at once: a v3 pass phrase missing from the environment is an
// input error (exit 2) naming the field, a listen address in use a
// runtime one (exit 1).
func TestRunTrapsStartErrors(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := broker.New(broker.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err := b.Start(ctx); err != nil {
		t.Fatal(err)
	}
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		name, traps string
		code        int
		want        string
	}{
		{"pass phrase unset", fmt.Sprintf("{enabled: true, listen: \"127.0.0.1:%d\", users: [{user: u, auth_password_env: EMBER_UNSET}]}", freeUDPPort(t)), 2,
			"traps.users[0].auth_password_env: environment variable EMBER_UNSET is empty or unset"},
		{"address in use", "{enabled: true, listen: \"" + busy.LocalAddr().String() + "\", communities: [c]}", 1,
			"snmp trap listener " + busy.LocalAddr().String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site := filepath.Join(t.TempDir(), "site.yaml")
			if err := os.WriteFile(site, []byte(fmt.Sprintf("site: dc1\ngateway: gw-1\nmqtt: {broker: %q}\ntraps: %s\n", b.URL(), tc.traps)), 0o644); err != nil {
				t.Fatal(err)
			}
			var stderr lockedBuffer
			e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, getenv: func(string) string { return "" }}
			done := make(chan int, 1)
			go func() { done <- dispatch(ctx, e, []string{"run", "-c", site}) }()
			select {
			case code := <-done:
				if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
					t.Errorf("exit %d, want %d with %q; log:\n%s", code, tc.code, tc.want, stderr.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("agent did not stop; log:\n%s", stderr.String())
			}
		})
	}
}
