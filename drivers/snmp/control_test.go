package snmp

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"
)

// pduProfile allow-lists outlet on/off as APC rPDU2 does: command 1 is
// immediateOn, 2 immediateOff; the status column reads 2 for on, 1 for off.
const pduProfile = `
name: test-pdu
scalars:
  - point: input.power
    oid: 1.3.6.1.4.1.318.1.1.26.4.3.1.5.1
controls:
  - name: outlet
    oid: 1.3.6.1.4.1.318.1.1.26.9.2.4.1.5
    values: {"on": 1, "off": 2}
    readback: 1.3.6.1.4.1.318.1.1.26.9.2.3.1.5
    readback_values: {"on": 2, "off": 1}
    max: 8
`

const (
	ctlOID    = "1.3.6.1.4.1.318.1.1.26.9.2.4.1.5"
	statusOID = "1.3.6.1.4.1.318.1.1.26.9.2.3.1.5"
)

// relayAgent switches the status column when the command column is set.
func relayAgent(works bool) *fakeAgent {
	f := newFake(gosnmp.Version2c)
	for i := 1; i <= 8; i++ {
		f.set(statusOID+"."+itoa(i), gosnmp.Integer, 2)
	}
	f.onSet = func(f *fakeAgent, oid string, v any) {
		n, ok := strings.CutPrefix(oid, ctlOID+".")
		if !ok || !works {
			return
		}
		state := 2
		if v.(int) == 2 {
			state = 1
		}
		f.vals[statusOID+"."+n] = gosnmp.SnmpPDU{Name: "." + statusOID + "." + n, Type: gosnmp.Integer, Value: state}
	}
	return f
}

func TestSwitch(t *testing.T) {
	tests := []struct {
		name    string
		do      func(d *Device) error
		works   bool
		wantErr error
		sets    int
	}{
		{"off, verified", func(d *Device) error { return d.Switch(context.Background(), "outlet", 3, "off") }, true, nil, 1},
		{"on by OID, verified", func(d *Device) error { return d.Set(context.Background(), ctlOID+".3", 1) }, true, nil, 1},
		{"relay stuck", func(d *Device) error { return d.Switch(context.Background(), "outlet", 3, "off") }, false, ErrNotVerified, 1},
		{"unknown command", func(d *Device) error { return d.Switch(context.Background(), "outlet", 3, "reboot") }, true, ErrNotAllowed, 0},
		{"outlet beyond max", func(d *Device) error { return d.Switch(context.Background(), "outlet", 9, "off") }, true, ErrNotAllowed, 0},
		{"unknown control", func(d *Device) error { return d.Switch(context.Background(), "breaker", 1, "off") }, true, ErrNotAllowed, 0},
		{"OID not allow-listed", func(d *Device) error { return d.Set(context.Background(), "1.3.6.1.4.1.318.1.1.26.4.1.1.1", 2) }, true, ErrNotAllowed, 0},
		{"value not allow-listed", func(d *Device) error { return d.Set(context.Background(), ctlOID+".3", 3) }, true, ErrNotAllowed, 0},
		{"instance 0", func(d *Device) error { return d.Set(context.Background(), ctlOID+".0", 2) }, true, ErrNotAllowed, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := relayAgent(tc.works)
			d := NewDevice("pdu-1", mustProfile(t, pduProfile), f, Options{})
			err := tc.do(d)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if len(f.sets) != tc.sets {
				t.Errorf("%d SETs sent, want %d", len(f.sets), tc.sets)
			}
			if err != nil && !strings.Contains(err.Error(), "pdu-1") {
				t.Errorf("error %q does not name the device", err)
			}
		})
	}
}
