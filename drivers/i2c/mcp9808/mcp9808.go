package mcp9808

import (
	"context"
	"fmt"
	"time"

	"github.com/emberwatch/emberwatch/drivers/i2c/chip"
	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/i2c"
)

// Register pointers (datasheet table 5-1).
const (
	regConfig     = 0x01
	regTA         = 0x05
	regMfrID      = 0x06
	regDeviceID   = 0x07
	regResolution = 0x08
)

// Identity (datasheet registers 5-6 and 5-7).
const (
	manufacturerID = 0x0054
	deviceID       = 0x04
)

const configSHDN = 0x01 // CONFIG bit 8 (bit 0 of the upper byte): shutdown

// Physical range (datasheet: -40 °C to +125 °C operating and measuring).
const (
	MinTemp = -40.0
	MaxTemp = 125.0
)

// Resolution is the step of the ambient temperature (datasheet register
// 5-8).
type Resolution byte

// Resolutions with their conversion times (datasheet table 1-1, tCONV).
const (
	Res0_5    Resolution = 0 // 0.5 °C, 30 ms
	Res0_25   Resolution = 1 // 0.25 °C, 65 ms
	Res0_125  Resolution = 2 // 0.125 °C, 130 ms
	Res0_0625 Resolution = 3 // 0.0625 °C, 250 ms (power-up default)
)

// ConversionTime returns the typical conversion time at r.
func (r Resolution) ConversionTime() time.Duration {
	return [...]time.Duration{30, 65, 130, 250}[r&3] * time.Millisecond
}

// Opts are the conversion settings. The zero value means 0.5 °C; use
// DefaultOpts for the chip's power-up resolution.
type Opts struct {
	Resolution Resolution
}

// DefaultOpts are the settings used when New gets nil: 0.0625 °C.
var DefaultOpts = Opts{Resolution: Res0_0625}

// Sample is one reading of the ambient temperature register.
type Sample struct {
	// Temperature is in °C.
	Temperature float64
	// Crit, Upper and Lower are the comparator flags: TA >= TCRIT,
	// TA > TUPPER and TA < TLOWER (register 5-4, bits 15:13).
	Crit, Upper, Lower bool
}

// Dev is an MCP9808 on an I²C bus.
type Dev struct {
	d      i2c.Dev
	sleep  chip.SleepFunc
	settle time.Duration // owed to the first conversion after New
}

// New probes the MCP9808 at addr (0x18-0x1F): manufacturer and device IDs,
// then wakes it from shutdown and sets the resolution of opts (nil means
// DefaultOpts). The first Sense waits one conversion time, so that its value
// is a full conversion at that resolution.
func New(b i2c.Bus, addr uint16, opts *Opts) (*Dev, error) {
	if opts == nil {
		opts = &DefaultOpts
	}
	if opts.Resolution > Res0_0625 {
		return nil, fmt.Errorf("mcp9808: resolution %d, want 0-3", opts.Resolution)
	}
	d := &Dev{d: i2c.Dev{Bus: b, Addr: addr}, sleep: chip.Sleep, settle: opts.Resolution.ConversionTime()}
	var r [2]byte
	if err := d.d.Tx([]byte{regMfrID}, r[:]); err != nil {
		return nil, fmt.Errorf("mcp9808: 0x%02X: read manufacturer ID: %w", addr, err)
	}
	if id := uint16(r[0])<<8 | uint16(r[1]); id != manufacturerID {
		return nil, fmt.Errorf("mcp9808: 0x%02X: manufacturer ID 0x%04X, want 0x%04X: %w", addr, id, manufacturerID, chip.ErrID)
	}
	if err := d.d.Tx([]byte{regDeviceID}, r[:]); err != nil {
		return nil, fmt.Errorf("mcp9808: 0x%02X: read device ID: %w", addr, err)
	}
	if r[0] != deviceID {
		return nil, fmt.Errorf("mcp9808: 0x%02X: device ID 0x%02X (revision 0x%02X), want 0x%02X: %w", addr, r[0], r[1], deviceID, chip.ErrID)
	}
	if err := d.d.Tx([]byte{regConfig}, r[:]); err != nil {
		return nil, fmt.Errorf("mcp9808: 0x%02X: read config: %w", addr, err)
	}
	if r[0]&configSHDN != 0 {
		if err := d.d.Tx([]byte{regConfig, r[0] &^ configSHDN, r[1]}, nil); err != nil {
			return nil, fmt.Errorf("mcp9808: 0x%02X: leave shutdown: %w", addr, err)
		}
	}
	if err := d.d.Tx([]byte{regResolution, byte(opts.Resolution)}, nil); err != nil {
		return nil, fmt.Errorf("mcp9808: 0x%02X: write resolution: %w", addr, err)
	}
	return d, nil
}

// Sense reads the ambient temperature register. A bus error or a value
// outside -40..125 °C is an error, never a temperature.
func (d *Dev) Sense(ctx context.Context) (Sample, error) {
	if err := d.sleep(ctx, d.settle); err != nil {
		return Sample{}, err
	}
	d.settle = 0
	var r [2]byte
	if err := d.d.Tx([]byte{regTA}, r[:]); err != nil {
		return Sample{}, fmt.Errorf("mcp9808: 0x%02X: read TA: %w", d.d.Addr, err)
	}
	s, err := Decode(r)
	if err != nil {
		return Sample{}, fmt.Errorf("mcp9808: 0x%02X: %w", d.d.Addr, err)
	}
	return s, nil
}

// Decode converts the ambient temperature register (datasheet register 5-4
// and equation 5-1): bits 15:13 are the alert flags, bit 12 the sign and
// bits 11:0 the magnitude in 1/16 °C, together a 13-bit two's complement
// value. A value outside -40..125 °C is an error wrapping chip.ErrRange.
func Decode(b [2]byte) (Sample, error) {
	v := int16(uint16(b[0]&0x1F)<<8|uint16(b[1])) << 3 >> 3 // sign-extend bit 12
	s := Sample{
		Temperature: float64(v) / 16,
		Crit:        b[0]&0x80 != 0,
		Upper:       b[0]&0x40 != 0,
		Lower:       b[0]&0x20 != 0,
	}
	if s.Temperature < MinTemp || s.Temperature > MaxTemp {
		return Sample{}, fmt.Errorf("TA 0x%02X%02X = %g °C: %w", b[0], b[1], s.Temperature, chip.ErrRange)
	}
	return s, nil
}

// String names the chip and its address.
func (d *Dev) String() string {
	return fmt.Sprintf("mcp9808{%s}", &d.d)
}

// Halt does nothing: the chip keeps converting for the next Sense.
func (d *Dev) Halt() error {
	return nil
}

var _ conn.Resource = &Dev{}
