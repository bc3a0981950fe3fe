package shed

import (
	"context"
	"fmt"
)

// OutletControl is the part of a PDU driver that switches an outlet by an
// allow-listed control and verifies the read-back (drivers/snmp.Device's
// Switch): command is "on" or "off"; a nil error means the read-back
// confirmed it.
type OutletControl interface {
	Switch(ctx context.Context, control string, n int, command string) error
}

// PDUs is an OutletSwitch over PDU drivers by device name; each outlet is
// switched through the control named "outlet" of the device's profile.
type PDUs map[string]OutletControl

// SetOutlet switches outlet n of pdu and returns the verified state. On an
// error the state is unknown and reported as the opposite of the one asked
// for, so a failed off is never taken for off.
func (p PDUs) SetOutlet(ctx context.Context, pdu string, n int, on bool) (bool, error) {
	d, ok := p[pdu]
	if !ok {
		return !on, fmt.Errorf("shed: no PDU device %q", pdu)
	}
	cmd := "off"
	if on {
		cmd = "on"
	}
	if err := d.Switch(ctx, "outlet", n, cmd); err != nil {
		return !on, fmt.Errorf("shed: %s outlet %d %s: %w", pdu, n, cmd, err)
	}
	return on, nil
}

var _ OutletSwitch = PDUs(nil)
