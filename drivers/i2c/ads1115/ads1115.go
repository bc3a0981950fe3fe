package ads1115

import (
	"context"
	"fmt"
	"time"

	"github.com/emberwatch/emberwatch/drivers/i2c/chip"
	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/i2c"
)

// Register pointers (datasheet table 9-7).
const (
	regConversion = 0x00
	regConfig     = 0x01
)

// Config register fields (datasheet table 9-8).
const (
	cfgOS         = 0x8000 // write: start a conversion; read: 1 = idle
	cfgModeSingle = 0x0100 // single-shot / power-down
	cfgCompQueOff = 0x0003 // comparator disabled, ALERT/RDY high-Z
)

// Channel is the input multiplexer setting, MUX[2:0].
type Channel uint16

// Inputs: single-ended against GND, or differential pairs.
const (
	AIN0AIN1 Channel = 0 // AINP = AIN0, AINN = AIN1
	AIN0AIN3 Channel = 1
	AIN1AIN3 Channel = 2
	AIN2AIN3 Channel = 3
	AIN0     Channel = 4 // AINP = AIN0, AINN = GND
	AIN1     Channel = 5
	AIN2     Channel = 6
	AIN3     Channel = 7
)

// gains lists the full-scale ranges in volts by PGA[2:0] code.
var gains = []float64{6.144, 4.096, 2.048, 1.024, 0.512, 0.256}

// rates lists the data rates in samples per second by DR[2:0] code.
var rates = []int{8, 16, 32, 64, 128, 250, 475, 860}

// Opts are the conversion settings. Zero fields mean the chip's reset
// values: ±2.048 V and 128 SPS.
type Opts struct {
	// Gain is the full-scale range in volts: 6.144, 4.096, 2.048, 1.024,
	// 0.512 or 0.256. The inputs must stay within GND-0.3 V and VDD+0.3 V
	// whatever the range.
	Gain float64
	// DataRate is in samples per second: 8, 16, 32, 64, 128, 250, 475 or
	// 860. Slower is quieter.
	DataRate int
}

// DefaultOpts are the settings used when New gets nil.
var DefaultOpts = Opts{Gain: 2.048, DataRate: 128}

// Dev is an ADS1115 on an I²C bus.
type Dev struct {
	d     i2c.Dev
	pga   uint16
	dr    uint16
	sleep chip.SleepFunc
}

// New checks opts and probes the ADS1115 at addr (0x48-0x4B). The chip has
// no identity register; the probe reads the config register.
func New(b i2c.Bus, addr uint16, opts *Opts) (*Dev, error) {
	if opts == nil {
		opts = &DefaultOpts
	}
	d := &Dev{d: i2c.Dev{Bus: b, Addr: addr}, pga: 2, dr: 4, sleep: chip.Sleep}
	if opts.Gain != 0 {
		i := indexOf(gains, opts.Gain)
		if i < 0 {
			return nil, fmt.Errorf("ads1115: gain ±%g V, want one of %v", opts.Gain, gains)
		}
		d.pga = uint16(i)
	}
	if opts.DataRate != 0 {
		i := indexOf(rates, opts.DataRate)
		if i < 0 {
			return nil, fmt.Errorf("ads1115: data rate %d SPS, want one of %v", opts.DataRate, rates)
		}
		d.dr = uint16(i)
	}
	var cfg [2]byte
	if err := d.d.Tx([]byte{regConfig}, cfg[:]); err != nil {
		return nil, fmt.Errorf("ads1115: 0x%02X: read config: %w", addr, err)
	}
	return d, nil
}

func indexOf[T comparable](s []T, v T) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// FullScale returns the full-scale range in volts.
func (d *Dev) FullScale() float64 {
	return gains[d.pga]
}

// ConversionTime is the wait after starting a conversion: one period at
// the data rate plus 10 % for the internal oscillator (datasheet 7.5,
// "data rate variation ±10 %") and 100 µs for the wake-up from
// power-down.
func (d *Dev) ConversionTime() time.Duration {
	return time.Second*11/time.Duration(10*rates[d.dr]) + 100*time.Microsecond
}

// Config returns the config register word that starts a single-shot
// conversion of ch.
func (d *Dev) Config(ch Channel) uint16 {
	return cfgOS | uint16(ch&7)<<12 | d.pga<<9 | cfgModeSingle | d.dr<<5 | cfgCompQueOff
}

// Read converts ch once and returns the input in volts. A bus error, a
// conversion that does not finish and a clipped input are errors, never a
// voltage.
func (d *Dev) Read(ctx context.Context, ch Channel) (float64, error) {
	if ch > AIN3 {
		return 0, fmt.Errorf("ads1115: 0x%02X: channel %d, want 0-7", d.d.Addr, ch)
	}
	c := d.Config(ch)
	if err := d.d.Tx([]byte{regConfig, byte(c >> 8), byte(c)}, nil); err != nil {
		return 0, fmt.Errorf("ads1115: 0x%02X: start conversion: %w", d.d.Addr, err)
	}
	if err := d.sleep(ctx, d.ConversionTime()); err != nil {
		return 0, err
	}
	var r [2]byte
	ready := false
	for try := 0; try < 3 && !ready; try++ {
		if try > 0 {
			if err := d.sleep(ctx, d.ConversionTime()/4); err != nil {
				return 0, err
			}
		}
		if err := d.d.Tx([]byte{regConfig}, r[:]); err != nil {
			return 0, fmt.Errorf("ads1115: 0x%02X: read config: %w", d.d.Addr, err)
		}
		ready = r[0]&(cfgOS>>8) != 0
	}
	if !ready {
		return 0, fmt.Errorf("ads1115: 0x%02X: OS still 0 after %v: %w", d.d.Addr, d.ConversionTime()*7/4, chip.ErrNotReady)
	}
	if err := d.d.Tx([]byte{regConversion}, r[:]); err != nil {
		return 0, fmt.Errorf("ads1115: 0x%02X: read conversion: %w", d.d.Addr, err)
	}
	v, err := Decode(r, d.FullScale())
	if err != nil {
		return 0, fmt.Errorf("ads1115: 0x%02X: AIN mux %d: %w", d.d.Addr, ch, err)
	}
	return v, nil
}

// Decode converts the conversion register, two's complement, to volts for
// a full-scale range of fs volts (datasheet 9.3.3, table 9-3). The codes
// 0x7FFF and 0x8000 mean the input is at or beyond full scale: an error
// wrapping chip.ErrRange.
func Decode(b [2]byte, fs float64) (float64, error) {
	v := int16(uint16(b[0])<<8 | uint16(b[1]))
	if v == 0x7FFF || v == -0x8000 {
		return 0, fmt.Errorf("code 0x%02X%02X is clipped at ±%g V: %w", b[0], b[1], fs, chip.ErrRange)
	}
	return float64(v) * fs / 32768, nil
}

// String names the chip and its address.
func (d *Dev) String() string {
	return fmt.Sprintf("ads1115{%s}", &d.d)
}

// Halt does nothing: in single-shot mode the chip powers down after each
// conversion.
func (d *Dev) Halt() error {
	return nil
}

var _ conn.Resource = &Dev{}
