package shed

import (
	"context"
	"errors"
	"testing"

	"github.com/emberwatch/emberwatch/drivers/snmp"
)

// The SNMP driver's devices switch outlets for PDUs.
var _ OutletControl = (*snmp.Device)(nil)

type fakeControl struct {
	calls []string
	err   error
}

func (f *fakeControl) Switch(_ context.Context, control string, n int, command string) error {
	f.calls = append(f.calls, control+" "+command)
	return f.err
}

func TestPDUs(t *testing.T) {
	ok, stuck := &fakeControl{}, &fakeControl{err: snmp.ErrNotVerified}
	p := PDUs{"pdu-a": ok, "pdu-b": stuck}
	ctx := context.Background()
	if on, err := p.SetOutlet(ctx, "pdu-a", 3, false); on || err != nil || ok.calls[0] != "outlet off" {
		t.Errorf("pdu-a: %v %v %v", on, err, ok.calls)
	}
	if on, err := p.SetOutlet(ctx, "pdu-b", 3, false); !on || !errors.Is(err, snmp.ErrNotVerified) {
		t.Errorf("pdu-b: %v %v", on, err)
	}
	if _, err := p.SetOutlet(ctx, "pdu-z", 1, false); err == nil {
		t.Error("unknown PDU switched")
	}
}
