package sht3x

import (
	"context"
	"fmt"
	"time"

	"github.com/emberwatch/emberwatch/drivers/i2c/chip"
	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/i2c"
)

// Repeatability trades measurement time for noise (datasheet table 9).
type Repeatability int

// Repeatabilities of the single-shot mode.
const (
	High Repeatability = iota
	Medium
	Low
)

// command is the single-shot command with clock stretching disabled
// (table 9: 0x2400, 0x240B, 0x2416).
func (r Repeatability) command() []byte {
	return [][]byte{{0x24, 0x00}, {0x24, 0x0B}, {0x24, 0x16}}[r]
}

// MeasurementTime is the longest measurement at r over the whole supply
// range (datasheet table 4: 15.5, 6.5 and 4.5 ms).
func (r Repeatability) MeasurementTime() time.Duration {
	return []time.Duration{15500, 6500, 4500}[r] * time.Microsecond
}

// String returns "high", "medium" or "low".
func (r Repeatability) String() string {
	if r < High || r > Low {
		return fmt.Sprintf("Repeatability(%d)", int(r))
	}
	return []string{"high", "medium", "low"}[r]
}

var cmdReadStatus = []byte{0xF3, 0x2D} // datasheet 4.11, table 17

// Physical range of the temperature sensor (datasheet table 2: -40 to
// 125 °C). The humidity formula cannot leave 0-100 %RH.
const (
	MinTemp = -40.0
	MaxTemp = 125.0
)

// Opts are the conversion settings. The zero value is high repeatability.
type Opts struct {
	Repeatability Repeatability
}

// DefaultOpts are the settings used when New gets nil.
var DefaultOpts = Opts{Repeatability: High}

// Sample is one measurement.
type Sample struct {
	// Temperature is in °C.
	Temperature float64
	// Humidity is relative humidity in %.
	Humidity float64
}

// Dev is an SHT3x on an I²C bus.
type Dev struct {
	d     i2c.Dev
	rep   Repeatability
	sleep chip.SleepFunc
}

// New probes the SHT3x at addr (0x44 or 0x45) by reading its status
// register and checking the CRC.
func New(b i2c.Bus, addr uint16, opts *Opts) (*Dev, error) {
	if opts == nil {
		opts = &DefaultOpts
	}
	if opts.Repeatability < High || opts.Repeatability > Low {
		return nil, fmt.Errorf("sht3x: %v", opts.Repeatability)
	}
	d := &Dev{d: i2c.Dev{Bus: b, Addr: addr}, rep: opts.Repeatability, sleep: chip.Sleep}
	var st [3]byte
	if err := d.d.Tx(cmdReadStatus, st[:]); err != nil {
		return nil, fmt.Errorf("sht3x: 0x%02X: read status: %w", addr, err)
	}
	if _, err := chip.CheckWords("sht3x: status", st[:]); err != nil {
		return nil, fmt.Errorf("0x%02X: %w", addr, err)
	}
	return d, nil
}

// Sense runs one single-shot measurement. Bus errors, CRC failures and a
// temperature outside -40..125 °C are errors, never a sample.
func (d *Dev) Sense(ctx context.Context) (Sample, error) {
	if err := d.d.Tx(d.rep.command(), nil); err != nil {
		return Sample{}, fmt.Errorf("sht3x: 0x%02X: start measurement: %w", d.d.Addr, err)
	}
	if err := d.sleep(ctx, d.rep.MeasurementTime()); err != nil {
		return Sample{}, err
	}
	// With clock stretching disabled the chip NACKs the read header
	// while it still measures (4.3); the wait above is the datasheet
	// maximum, so a NACK here is a fault.
	var raw [6]byte
	if err := d.d.Tx(nil, raw[:]); err != nil {
		return Sample{}, fmt.Errorf("sht3x: 0x%02X: read measurement: %w", d.d.Addr, err)
	}
	s, err := Decode(raw)
	if err != nil {
		return Sample{}, fmt.Errorf("sht3x: 0x%02X: %w", d.d.Addr, err)
	}
	return s, nil
}

// Decode checks and converts a measurement read: temperature MSB, LSB,
// CRC, humidity MSB, LSB, CRC (datasheet 4.13): T = -45 + 175 * S / 65535
// and RH = 100 * S / 65535. A CRC mismatch wraps chip.ErrCRC; a
// temperature outside the sensor's range wraps chip.ErrRange.
func Decode(b [6]byte) (Sample, error) {
	w, err := chip.CheckWords("measurement", b[:])
	if err != nil {
		return Sample{}, err
	}
	s := Sample{
		Temperature: -45 + 175*float64(w[0])/65535,
		Humidity:    100 * float64(w[1]) / 65535,
	}
	if s.Temperature < MinTemp || s.Temperature > MaxTemp {
		return Sample{}, fmt.Errorf("temperature 0x%04X = %.2f °C: %w", w[0], s.Temperature, chip.ErrRange)
	}
	return s, nil
}

// String names the chip and its address.
func (d *Dev) String() string {
	return fmt.Sprintf("sht3x{%s}", &d.d)
}

// Halt does nothing: in single-shot mode the chip idles between Sense
// calls.
func (d *Dev) Halt() error {
	return nil
}

var _ conn.Resource = &Dev{}
