package snmp

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Errors of outlet control.
var (
	// ErrNotAllowed refuses a SET the profile does not allow-list; nothing
	// was sent.
	ErrNotAllowed = errors.New("not allow-listed by the profile")
	// ErrNotVerified means the SET was accepted but the read-back value
	// is not the one asked for.
	ErrNotVerified = errors.New("read-back does not match")
)

// readback pacing: a PDU may take a moment to switch a relay.
const (
	readbackTries = 5
	readbackWait  = 300 * time.Millisecond // between read-backs
)

// Switch sends command ("on", "off", ...) to instance n (outlet n) of the
// profile's control called name, then reads the control's readback object
// until it shows the expected value. Anything the profile does not
// allow-list (control, command, instance out of 1..Max) is refused with
// ErrNotAllowed before a packet is sent.
func (d *Device) Switch(ctx context.Context, name string, n int, command string) error {
	c, err := d.control(name, n, command)
	if err != nil {
		return err
	}
	return d.set(ctx, c, n, command)
}

// Set writes value to oid only when a control of the profile allow-lists
// that object (control OID plus an instance in 1..Max) and that value;
// otherwise it returns ErrNotAllowed without sending anything. The result
// is read back and verified as by Switch.
func (d *Device) Set(ctx context.Context, oid string, value int64) error {
	oid = strings.TrimPrefix(oid, ".")
	for i := range d.p.Controls {
		c := &d.p.Controls[i]
		rest, ok := strings.CutPrefix(oid, c.OID+".")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(rest)
		if err != nil || n < 1 || n > c.Max {
			continue
		}
		for cmd, v := range c.Values {
			if v == value {
				return d.set(ctx, c, n, cmd)
			}
		}
	}
	return fmt.Errorf("snmp %s: SET %s = %d: %w", d.name, oid, value, ErrNotAllowed)
}

// control finds the allow-listing control for a command.
func (d *Device) control(name string, n int, command string) (*Control, error) {
	known := false
	for i := range d.p.Controls {
		c := &d.p.Controls[i]
		if c.Name != name {
			continue
		}
		known = true
		if _, ok := c.Values[command]; !ok {
			continue
		}
		if n < 1 || n > c.Max {
			return nil, fmt.Errorf("snmp %s: %s %d: outside 1..%d: %w", d.name, name, n, c.Max, ErrNotAllowed)
		}
		return c, nil
	}
	if !known {
		return nil, fmt.Errorf("snmp %s: profile %s has no control %q: %w", d.name, d.p.Name, name, ErrNotAllowed)
	}
	return nil, fmt.Errorf("snmp %s: %s %d: command %q: %w", d.name, name, n, command, ErrNotAllowed)
}

// set writes, then verifies.
func (d *Device) set(ctx context.Context, c *Control, n int, command string) error {
	oid := c.OID + "." + strconv.Itoa(n)
	v := c.Values[command]
	d.requests.Add(1)
	pkt, err := d.c.Set(ctx, []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.Integer, Value: int(v)}})
	if err != nil {
		d.errs.Add(1)
		return fmt.Errorf("snmp %s (%s): SET %s = %d: %w", d.name, d.c.String(), oid, v, err)
	}
	if pkt.Error != gosnmp.NoError {
		d.errs.Add(1)
		return fmt.Errorf("snmp %s (%s): SET %s = %d: agent answered %v", d.name, d.c.String(), oid, v, pkt.Error)
	}
	if c.Readback == "" {
		return nil
	}
	want, ok := c.ReadbackValues[command]
	if !ok {
		want = v
	}
	rb := c.Readback + "." + strconv.Itoa(n)
	var got any
	for try := 0; try < readbackTries; try++ {
		if try > 0 {
			if err := sleep(ctx, readbackWait); err != nil {
				return err
			}
		}
		d.requests.Add(1)
		pkt, err := d.c.Get(ctx, []string{rb})
		if err != nil {
			d.errs.Add(1)
			return fmt.Errorf("snmp %s (%s): read-back GET %s: %w", d.name, d.c.String(), rb, err)
		}
		if pkt.Error == gosnmp.NoError && len(pkt.Variables) == 1 {
			got = pkt.Variables[0].Value
			if f, ok := rawNumber(pkt.Variables[0]); ok && f == float64(want) {
				return nil
			}
		}
	}
	d.errs.Add(1)
	return fmt.Errorf("snmp %s: %s %d %s: %s is %v, want %d: %w", d.name, c.Name, n, command, rb, got, want, ErrNotVerified)
}
