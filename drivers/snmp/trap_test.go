package snmp

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// TestTrapReceiver sends a v2c trap and a v2c inform with gosnmp to the
// receiver on 127.0.0.1 and expects the mapped events.
func TestTrapReceiver(t *testing.T) {
	events := make(chan Event, 4)
	r, err := NewTrapReceiver(TrapConfig{
		Communities: []string{"public"},
		Profiles:    NewProfiles(mustProfile(t, testProfile+trapsYAML)),
	}, func(e Event) { events <- e })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Listen(ctx, "127.0.0.1:0")
	<-r.Ready()
	port := r.Addr().(*net.UDPAddr).Port

	for _, tc := range []struct {
		name      string
		community string
		inform    bool
		want      bool
	}{
		{"trap", "public", false, true},
		{"inform, answered", "public", true, true},
		{"wrong community", "private", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := &gosnmp.GoSNMP{Target: "127.0.0.1", Port: uint16(port), Community: tc.community, Version: gosnmp.Version2c,
				Timeout: 500 * time.Millisecond, Retries: 0, MaxOids: 60}
			if err := g.Connect(); err != nil {
				t.Fatal(err)
			}
			defer g.Conn.Close()
			_, err := g.SendTrap(gosnmp.SnmpTrap{IsInform: tc.inform, Variables: []gosnmp.SnmpPDU{
				{Name: "." + OIDSnmpTrapOID, Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.4.1.318.0.5"},
				{Name: ".1.3.6.1.4.1.318.2.3.3.0", Type: gosnmp.OctetString, Value: "UPS: On battery power in response to an input power problem."},
			}})
			if err != nil {
				t.Fatalf("send: %v", err) // an inform fails here when the receiver does not answer
			}
			select {
			case e := <-events:
				if !tc.want {
					t.Fatalf("event from a refused community: %+v", e)
				}
				if !e.Known || e.Kind != "power" || e.Level != "warning" || len(e.Readings) != 1 ||
					e.Readings[0].Point != "ups.status" || e.Readings[0].Text != "OB" || e.Inform != tc.inform {
					t.Errorf("event %+v", e)
				}
				if len(e.Vars) != 1 {
					t.Errorf("vars %+v, want the one that is not sysUpTime or snmpTrapOID", e.Vars)
				}
			case <-time.After(time.Second):
				if tc.want {
					t.Fatal("no event within 1s")
				}
			}
		})
	}
}

const trapsYAML = `
traps:
  - oid: 1.3.6.1.4.1.318.0.5
    kind: power
    level: warning
    message: UPS on battery
    point: ups.status
    text: OB
`
