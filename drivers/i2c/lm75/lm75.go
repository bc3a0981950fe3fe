package lm75

import (
	"context"
	"fmt"
	"time"

	"github.com/emberwatch/emberwatch/drivers/i2c/chip"
	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/i2c"
)

// Register pointers (LM75A datasheet table 5).
const (
	regTemp = 0x00
	regConf = 0x01
)

// Configuration register bits (LM75A table 6).
const (
	confShutdown = 0x01 // B0: shutdown
	confReserved = 0xE0 // B7:B5: reserved, read as 0
)

// ConversionTime is the conversion period: the temperature register
// changes every 100 ms (LM75A 7.4.2; LM75 "tCONV").
const ConversionTime = 100 * time.Millisecond

// Physical range of the sensor (both datasheets: -55 °C to +125 °C).
const (
	MinTemp = -55.0
	MaxTemp = 125.0
)

// Opts are the conversion settings. The zero value means defaults.
type Opts struct {
	// Resolution is 9 (LM75, 0.5 °C) or 11 (LM75A, 0.125 °C) bits. Zero
	// means 9, which is correct for every part of the family: an LM75A
	// read at 9 bits only loses its two lowest bits.
	Resolution int
}

// DefaultOpts are the settings used when New gets nil: 9 bits.
var DefaultOpts = Opts{Resolution: 9}

// Dev is an LM75 or LM75A on an I²C bus.
type Dev struct {
	d      i2c.Dev
	bits   int
	sleep  chip.SleepFunc
	settle time.Duration // owed to the first conversion after a wake-up
}

// New probes the LM75 at addr (0x48-0x4F). The family has no identity
// register: the probe reads the configuration register and checks that the
// reserved bits B7:B5 read 0. A chip found in shutdown is woken up, and
// the first Sense waits one conversion period for a fresh value.
func New(b i2c.Bus, addr uint16, opts *Opts) (*Dev, error) {
	if opts == nil {
		opts = &DefaultOpts
	}
	d := &Dev{d: i2c.Dev{Bus: b, Addr: addr}, bits: opts.Resolution, sleep: chip.Sleep}
	switch d.bits {
	case 0:
		d.bits = 9
	case 9, 11:
	default:
		return nil, fmt.Errorf("lm75: resolution %d bits, want 9 or 11", opts.Resolution)
	}
	var conf [1]byte
	if err := d.d.Tx([]byte{regConf}, conf[:]); err != nil {
		return nil, fmt.Errorf("lm75: 0x%02X: read config: %w", addr, err)
	}
	if conf[0]&confReserved != 0 {
		return nil, fmt.Errorf("lm75: 0x%02X: config 0x%02X has reserved bits set, not an LM75: %w", addr, conf[0], chip.ErrID)
	}
	if conf[0]&confShutdown != 0 {
		if err := d.d.Tx([]byte{regConf, conf[0] &^ confShutdown}, nil); err != nil {
			return nil, fmt.Errorf("lm75: 0x%02X: leave shutdown: %w", addr, err)
		}
		d.settle = ConversionTime
	}
	return d, nil
}

// Sense reads the temperature register and returns °C. A bus error or a
// value outside -55..125 °C is an error, never a temperature.
func (d *Dev) Sense(ctx context.Context) (float64, error) {
	if err := d.sleep(ctx, d.settle); err != nil {
		return 0, err
	}
	d.settle = 0
	var raw [2]byte
	if err := d.d.Tx([]byte{regTemp}, raw[:]); err != nil {
		return 0, fmt.Errorf("lm75: 0x%02X: read temperature: %w", d.d.Addr, err)
	}
	t, err := Decode(raw, d.bits)
	if err != nil {
		return 0, fmt.Errorf("lm75: 0x%02X: %w", d.d.Addr, err)
	}
	return t, nil
}

// Decode converts the temperature register to °C: a two's complement value
// left-aligned in 16 bits, of which the top bits (9 or 11) are significant
// (LM75A 7.4.3, LM75 table 1). A value outside -55..125 °C is an error
// wrapping chip.ErrRange.
func Decode(b [2]byte, bits int) (float64, error) {
	if bits != 9 && bits != 11 {
		return 0, fmt.Errorf("resolution %d bits, want 9 or 11", bits)
	}
	v := int16(uint16(b[0])<<8|uint16(b[1])) >> (16 - bits)
	t := float64(v) / float64(int(1)<<(bits-8))
	if t < MinTemp || t > MaxTemp {
		return 0, fmt.Errorf("temperature 0x%02X%02X = %g °C: %w", b[0], b[1], t, chip.ErrRange)
	}
	return t, nil
}

// String names the chip and its address.
func (d *Dev) String() string {
	return fmt.Sprintf("lm75{%s}", &d.d)
}

// Halt does nothing: the chip keeps converting, which the next New or
// Sense relies on.
func (d *Dev) Halt() error {
	return nil
}

var _ conn.Resource = &Dev{}
