package sht4x

import (
	"context"
	"fmt"
	"time"

	"github.com/emberwatch/emberwatch/drivers/i2c/chip"
	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/i2c"
)

// Precision trades measurement time for noise (datasheet table 7).
type Precision int

// Precisions of the measure commands without heater.
const (
	High Precision = iota
	Medium
	Low
)

// command is the measure command: 0xFD, 0xF6, 0xE0 (table 7).
func (p Precision) command() byte {
	return []byte{0xFD, 0xF6, 0xE0}[p]
}

// MeasurementTime is the longest measurement at p (datasheet table 4:
// 8.3, 4.5 and 1.6 ms).
func (p Precision) MeasurementTime() time.Duration {
	return []time.Duration{8300, 4500, 1600}[p] * time.Microsecond
}

// String returns "high", "medium" or "low".
func (p Precision) String() string {
	if p < High || p > Low {
		return fmt.Sprintf("Precision(%d)", int(p))
	}
	return []string{"high", "medium", "low"}[p]
}

const cmdReadSerial = 0x89 // table 7: read serial number

// Physical range of the temperature sensor (datasheet 1.2: -40 to
// 125 °C).
const (
	MinTemp = -40.0
	MaxTemp = 125.0
)

// Opts are the conversion settings. The zero value is high precision.
type Opts struct {
	Precision Precision
}

// DefaultOpts are the settings used when New gets nil.
var DefaultOpts = Opts{Precision: High}

// Sample is one measurement.
type Sample struct {
	// Temperature is in °C.
	Temperature float64
	// Humidity is relative humidity in %, cropped to 0-100.
	Humidity float64
}

// Dev is an SHT4x on an I²C bus.
type Dev struct {
	d      i2c.Dev
	prec   Precision
	serial uint32
	sleep  chip.SleepFunc
}

// New probes the SHT4x at addr (0x44, 0x45 or 0x46) by reading its serial
// number and checking both CRCs.
func New(b i2c.Bus, addr uint16, opts *Opts) (*Dev, error) {
	if opts == nil {
		opts = &DefaultOpts
	}
	if opts.Precision < High || opts.Precision > Low {
		return nil, fmt.Errorf("sht4x: %v", opts.Precision)
	}
	d := &Dev{d: i2c.Dev{Bus: b, Addr: addr}, prec: opts.Precision, sleep: chip.Sleep}
	// The serial number command also needs a pause before the read (4.5).
	if err := d.d.Tx([]byte{cmdReadSerial}, nil); err != nil {
		return nil, fmt.Errorf("sht4x: 0x%02X: read serial: %w", addr, err)
	}
	if err := d.sleep(context.Background(), time.Millisecond); err != nil {
		return nil, err
	}
	var r [6]byte
	if err := d.d.Tx(nil, r[:]); err != nil {
		return nil, fmt.Errorf("sht4x: 0x%02X: read serial: %w", addr, err)
	}
	w, err := chip.CheckWords("sht4x: serial", r[:])
	if err != nil {
		return nil, fmt.Errorf("0x%02X: %w", addr, err)
	}
	d.serial = uint32(w[0])<<16 | uint32(w[1])
	return d, nil
}

// Serial returns the serial number read by New.
func (d *Dev) Serial() uint32 {
	return d.serial
}

// Sense runs one measurement. Bus errors, CRC failures and a temperature
// outside -40..125 °C are errors, never a sample.
func (d *Dev) Sense(ctx context.Context) (Sample, error) {
	if err := d.d.Tx([]byte{d.prec.command()}, nil); err != nil {
		return Sample{}, fmt.Errorf("sht4x: 0x%02X: start measurement: %w", d.d.Addr, err)
	}
	if err := d.sleep(ctx, d.prec.MeasurementTime()); err != nil {
		return Sample{}, err
	}
	var raw [6]byte
	if err := d.d.Tx(nil, raw[:]); err != nil {
		return Sample{}, fmt.Errorf("sht4x: 0x%02X: read measurement: %w", d.d.Addr, err)
	}
	s, err := Decode(raw)
	if err != nil {
		return Sample{}, fmt.Errorf("sht4x: 0x%02X: %w", d.d.Addr, err)
	}
	return s, nil
}

// Decode checks and converts a measurement read: temperature MSB, LSB,
// CRC, humidity MSB, LSB, CRC (datasheet 4.6): T = -45 + 175 * S / 65535
// and RH = -6 + 125 * S / 65535, cropped to 0-100 %RH. A CRC mismatch
// wraps chip.ErrCRC; a temperature outside the sensor's range wraps
// chip.ErrRange.
func Decode(b [6]byte) (Sample, error) {
	w, err := chip.CheckWords("measurement", b[:])
	if err != nil {
		return Sample{}, err
	}
	s := Sample{
		Temperature: -45 + 175*float64(w[0])/65535,
		Humidity:    min(max(-6+125*float64(w[1])/65535, 0), 100),
	}
	if s.Temperature < MinTemp || s.Temperature > MaxTemp {
		return Sample{}, fmt.Errorf("temperature 0x%04X = %.2f °C: %w", w[0], s.Temperature, chip.ErrRange)
	}
	return s, nil
}

// String names the chip and its address.
func (d *Dev) String() string {
	return fmt.Sprintf("sht4x{%s}", &d.d)
}

// Halt does nothing: the chip idles between measurements.
func (d *Dev) Halt() error {
	return nil
}

var _ conn.Resource = &Dev{}
