package tmp102

import (
	"context"
	"fmt"
	"time"

	"github.com/emberwatch/emberwatch/drivers/i2c/chip"
	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/i2c"
)

// Register pointers (datasheet table 7-6).
const (
	regTemp   = 0x00
	regConfig = 0x01
)

// Configuration register bits (datasheet table 7-10). Byte 1 is the most
// significant byte.
const (
	cfgOS   = 0x80 // byte 1: one-shot; reads 1 when no conversion runs
	cfgR1R0 = 0x60 // byte 1: converter resolution, read-only 11
	cfgSD   = 0x01 // byte 1: shutdown mode
	cfgEM   = 0x10 // byte 2: extended mode (13-bit)
	cfgCR4  = 0x80 // byte 2: CR1:CR0 = 10, 4 Hz (the reset value)
)

// ConversionTime is the longest one-shot conversion (datasheet 6.5,
// conversion time: 26 ms typical, 35 ms maximum).
const ConversionTime = 35 * time.Millisecond

// Physical range of the sensor (datasheet 1 and 7.5.1).
const (
	MinTemp         = -55.0
	MaxTemp         = 128.0
	MaxTempExtended = 150.0
)

// Opts are the conversion settings. The zero value means defaults.
type Opts struct {
	// Extended selects the 13-bit extended mode (EM=1) that reads up to
	// 150 °C; otherwise the 12-bit normal mode.
	Extended bool
}

// DefaultOpts are the settings used when New gets nil: extended mode, so a
// rack on fire reads as such rather than clipping at 128 °C.
var DefaultOpts = Opts{Extended: true}

// Dev is a TMP102 on an I²C bus.
type Dev struct {
	d     i2c.Dev
	opts  Opts
	sleep chip.SleepFunc
}

// New probes the TMP102 at addr (0x48-0x4B) and puts it in shutdown mode
// with the resolution of opts (nil means DefaultOpts).
//
// The TMP102 has no identity register; the probe reads the configuration
// register and checks its read-only resolution bits R1:R0 = 11.
func New(b i2c.Bus, addr uint16, opts *Opts) (*Dev, error) {
	if opts == nil {
		opts = &DefaultOpts
	}
	d := &Dev{d: i2c.Dev{Bus: b, Addr: addr}, opts: *opts, sleep: chip.Sleep}
	var cfg [2]byte
	if err := d.d.Tx([]byte{regConfig}, cfg[:]); err != nil {
		return nil, fmt.Errorf("tmp102: 0x%02X: read config: %w", addr, err)
	}
	if cfg[0]&cfgR1R0 != cfgR1R0 {
		return nil, fmt.Errorf("tmp102: 0x%02X: config 0x%02X%02X has R1:R0 != 11, not a TMP102: %w", addr, cfg[0], cfg[1], chip.ErrID)
	}
	if err := d.d.Tx([]byte{regConfig, cfgR1R0 | cfgSD, d.cfg2()}, nil); err != nil {
		return nil, fmt.Errorf("tmp102: 0x%02X: write config: %w", addr, err)
	}
	return d, nil
}

func (d *Dev) cfg2() byte {
	if d.opts.Extended {
		return cfgCR4 | cfgEM
	}
	return cfgCR4
}

// Sense starts a one-shot conversion, waits for it and returns the
// temperature in °C. Bus errors, a conversion that does not finish and a
// value outside the sensor's range are errors, never a temperature.
func (d *Dev) Sense(ctx context.Context) (float64, error) {
	// 7.5.3.1.5: writing OS=1 while SD=1 starts a single conversion.
	if err := d.d.Tx([]byte{regConfig, cfgOS | cfgR1R0 | cfgSD, d.cfg2()}, nil); err != nil {
		return 0, fmt.Errorf("tmp102: 0x%02X: start conversion: %w", d.d.Addr, err)
	}
	if err := d.sleep(ctx, ConversionTime); err != nil {
		return 0, err
	}
	// OS reads 0 during the conversion and 1 once it is done.
	var cfg [2]byte
	ready := false
	for try := 0; try < 3 && !ready; try++ {
		if try > 0 {
			if err := d.sleep(ctx, ConversionTime/4); err != nil {
				return 0, err
			}
		}
		if err := d.d.Tx([]byte{regConfig}, cfg[:]); err != nil {
			return 0, fmt.Errorf("tmp102: 0x%02X: read config: %w", d.d.Addr, err)
		}
		ready = cfg[0]&cfgOS != 0
	}
	if !ready {
		return 0, fmt.Errorf("tmp102: 0x%02X: OS bit still 0 after %v: %w", d.d.Addr, ConversionTime*7/4, chip.ErrNotReady)
	}
	var raw [2]byte
	if err := d.d.Tx([]byte{regTemp}, raw[:]); err != nil {
		return 0, fmt.Errorf("tmp102: 0x%02X: read temperature: %w", d.d.Addr, err)
	}
	t, err := Decode(raw)
	if err != nil {
		return 0, fmt.Errorf("tmp102: 0x%02X: %w", d.d.Addr, err)
	}
	return t, nil
}

// Decode converts the temperature register to °C (datasheet 7.5.3.2).
// Bit 0 is the EM flag: 0 means a 12-bit value in bits 15:4, 1 a 13-bit
// value in bits 15:3; both are two's complement in 0.0625 °C. A value
// outside -55..128 °C (150 °C in extended mode) is an error wrapping
// chip.ErrRange.
func Decode(b [2]byte) (float64, error) {
	v := int16(uint16(b[0])<<8 | uint16(b[1]))
	max := MaxTemp
	if b[1]&0x01 != 0 {
		v >>= 3
		max = MaxTempExtended
	} else {
		v >>= 4
	}
	t := float64(v) * 0.0625
	if t < MinTemp || t > max {
		return 0, fmt.Errorf("temperature 0x%02X%02X = %g °C: %w", b[0], b[1], t, chip.ErrRange)
	}
	return t, nil
}

// String names the chip and its address.
func (d *Dev) String() string {
	return fmt.Sprintf("tmp102{%s}", &d.d)
}

// Halt puts the chip back in shutdown mode. Nothing converts between
// Sense calls, so it only repeats what New did.
func (d *Dev) Halt() error {
	if err := d.d.Tx([]byte{regConfig, cfgR1R0 | cfgSD, d.cfg2()}, nil); err != nil {
		return fmt.Errorf("tmp102: 0x%02X: shutdown: %w", d.d.Addr, err)
	}
	return nil
}

var _ conn.Resource = &Dev{}
