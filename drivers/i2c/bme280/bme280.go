package bme280

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/emberwatch/emberwatch/drivers/i2c/chip"
	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/i2c"
)

// Registers (datasheet table 18).
const (
	regCalib1   = 0x88 // 26 bytes, dig_T1 ... dig_H1
	regChipID   = 0xD0
	regCalib2   = 0xE1 // 7 bytes, dig_H2 ... dig_H6
	regCtrlHum  = 0xF2
	regStatus   = 0xF3
	regCtrlMeas = 0xF4
	regConfig   = 0xF5
	regData     = 0xF7 // 8 bytes, press_msb ... hum_lsb
)

const (
	chipID       = 0x60
	chipIDBMP280 = 0x58

	statusMeasuring = 0x08
	statusImUpdate  = 0x01

	modeForced = 0x01

	skippedTP = 0x80000 // an ADC value of a skipped temperature or pressure
	skippedH  = 0x8000
)

// Physical range (datasheet table 1: operating range -40..85 °C, 300 to
// 1100 hPa, 0 to 100 %RH).
const (
	MinTemp     = -40.0
	MaxTemp     = 85.0
	MinPressure = 30000.0  // Pa
	MaxPressure = 110000.0 // Pa
)

// Oversampling is an osrs_x setting (datasheet tables 20, 23, 24).
type Oversampling uint8

// Oversampling settings; Skip turns the measurement off.
const (
	Skip Oversampling = iota
	O1x
	O2x
	O4x
	O8x
	O16x
)

// factor is the number of samples, 0 for Skip.
func (o Oversampling) factor() float64 {
	if o == Skip {
		return 0
	}
	return float64(int(1) << (o - 1))
}

// Filter is the IIR filter coefficient (datasheet 3.4.4, table 28).
type Filter uint8

// Filter coefficients.
const (
	FilterOff Filter = iota
	Filter2
	Filter4
	Filter8
	Filter16
)

// Opts are the conversion settings.
type Opts struct {
	// Temperature, Pressure and Humidity oversampling. Temperature cannot
	// be skipped: the other compensations need it.
	Temperature, Pressure, Humidity Oversampling
	// Filter is the IIR coefficient applied to temperature and pressure.
	Filter Filter
}

// DefaultOpts are the settings used when New gets nil: the datasheet's
// "weather monitoring" case (3.5.1), 1x oversampling, filter off.
var DefaultOpts = Opts{Temperature: O1x, Pressure: O1x, Humidity: O1x}

// MeasurementTime is the longest forced-mode measurement with o (datasheet
// 9.1): 1.25 ms + 2.3 ms per temperature sample + 2.3 ms per pressure and
// humidity sample plus 0.575 ms for each of those two when measured.
func (o *Opts) MeasurementTime() time.Duration {
	ms := 1.25 + 2.3*o.Temperature.factor()
	if o.Pressure != Skip {
		ms += 2.3*o.Pressure.factor() + 0.575
	}
	if o.Humidity != Skip {
		ms += 2.3*o.Humidity.factor() + 0.575
	}
	return time.Duration(math.Round(ms*1000)) * time.Microsecond
}

// Calibration holds the trimming parameters (datasheet table 16).
type Calibration struct {
	T1                             uint16
	T2, T3                         int16
	P1                             uint16
	P2, P3, P4, P5, P6, P7, P8, P9 int16
	H1                             uint8
	H2                             int16
	H3                             uint8
	H4, H5                         int16
	H6                             int8
}

// ParseCalibration decodes the 26 bytes at 0x88 and the 7 bytes at 0xE1.
// Words are little-endian; dig_H4 and dig_H5 are 12-bit values sharing
// 0xE5.
func ParseCalibration(c1 [26]byte, c2 [7]byte) Calibration {
	le := binary.LittleEndian
	return Calibration{
		T1: le.Uint16(c1[0:]),
		T2: int16(le.Uint16(c1[2:])),
		T3: int16(le.Uint16(c1[4:])),
		P1: le.Uint16(c1[6:]),
		P2: int16(le.Uint16(c1[8:])),
		P3: int16(le.Uint16(c1[10:])),
		P4: int16(le.Uint16(c1[12:])),
		P5: int16(le.Uint16(c1[14:])),
		P6: int16(le.Uint16(c1[16:])),
		P7: int16(le.Uint16(c1[18:])),
		P8: int16(le.Uint16(c1[20:])),
		P9: int16(le.Uint16(c1[22:])),
		H1: c1[25],
		H2: int16(le.Uint16(c2[0:])),
		H3: c2[2],
		H4: int16(int8(c2[3]))<<4 | int16(c2[4]&0x0F),
		H5: int16(int8(c2[5]))<<4 | int16(c2[4]>>4),
		H6: int8(c2[6]),
	}
}

// Sample is one compensated measurement. A skipped measurement is NaN.
type Sample struct {
	// Temperature is in °C, resolution 0.01 °C.
	Temperature float64
	// Pressure is in Pa.
	Pressure float64
	// Humidity is relative humidity in %.
	Humidity float64
}

// Compensate converts raw ADC values with the datasheet's integer formulas
// (4.2.3: BME280_compensate_T_int32, BME280_compensate_P_int64,
// bme280_compensate_H_int32). A skipped temperature, or a value outside
// the sensor's range, is an error wrapping chip.ErrRange; a skipped
// pressure or humidity is NaN.
func (c *Calibration) Compensate(adcT, adcP, adcH int32) (Sample, error) {
	if adcT == skippedTP {
		return Sample{}, fmt.Errorf("temperature not measured: %w", chip.ErrRange)
	}
	var1 := ((adcT>>3 - int32(c.T1)<<1) * int32(c.T2)) >> 11
	d := adcT>>4 - int32(c.T1)
	var2 := (((d * d) >> 12) * int32(c.T3)) >> 14
	tFine := var1 + var2
	s := Sample{
		Temperature: float64((tFine*5+128)>>8) / 100,
		Pressure:    math.NaN(),
		Humidity:    math.NaN(),
	}
	if s.Temperature < MinTemp || s.Temperature > MaxTemp {
		return Sample{}, fmt.Errorf("temperature %g °C (adc 0x%05X): %w", s.Temperature, adcT, chip.ErrRange)
	}
	if adcP != skippedTP {
		p := c.pressure(tFine, adcP)
		if p < MinPressure || p > MaxPressure {
			return Sample{}, fmt.Errorf("pressure %g Pa (adc 0x%05X): %w", p, adcP, chip.ErrRange)
		}
		s.Pressure = p
	}
	if adcH != skippedH {
		s.Humidity = c.humidity(tFine, adcH)
	}
	return s, nil
}

// pressure is BME280_compensate_P_int64: Pa as Q24.8.
func (c *Calibration) pressure(tFine, adcP int32) float64 {
	var1 := int64(tFine) - 128000
	var2 := var1 * var1 * int64(c.P6)
	var2 += (var1 * int64(c.P5)) << 17
	var2 += int64(c.P4) << 35
	var1 = (var1*var1*int64(c.P3))>>8 + (var1*int64(c.P2))<<12
	var1 = ((int64(1)<<47 + var1) * int64(c.P1)) >> 33
	if var1 == 0 {
		return 0 // avoid a division by zero; 0 Pa is out of range
	}
	p := 1048576 - int64(adcP)
	p = ((p<<31 - var2) * 3125) / var1
	var1 = (int64(c.P9) * (p >> 13) * (p >> 13)) >> 25
	var2 = (int64(c.P8) * p) >> 19
	p = (p+var1+var2)>>8 + int64(c.P7)<<4
	return float64(uint32(p)) / 256
}

// humidity is bme280_compensate_H_int32: %RH as Q22.10, clamped by the
// formula itself to 0-100 %RH.
func (c *Calibration) humidity(tFine, adcH int32) float64 {
	v := tFine - 76800
	a := (adcH<<14 - int32(c.H4)<<20 - int32(c.H5)*v + 16384) >> 15
	b := ((v*int32(c.H6))>>10)*((v*int32(c.H3))>>11+32768)>>10 + 2097152
	v = a * ((b*int32(c.H2) + 8192) >> 14)
	v -= ((((v >> 15) * (v >> 15)) >> 7) * int32(c.H1)) >> 4
	v = min(max(v, 0), 419430400)
	return float64(uint32(v)>>12) / 1024
}

// Dev is a BME280 on an I²C bus.
type Dev struct {
	d     i2c.Dev
	opts  Opts
	cal   Calibration
	sleep chip.SleepFunc
}

// New probes the BME280 at addr (0x76 or 0x77), reads its calibration and
// configures it (nil opts means DefaultOpts). The chip stays in sleep mode
// until Sense.
func New(b i2c.Bus, addr uint16, opts *Opts) (*Dev, error) {
	return newDev(b, addr, opts, chip.Sleep)
}

func newDev(b i2c.Bus, addr uint16, opts *Opts, sleep chip.SleepFunc) (*Dev, error) {
	if opts == nil {
		opts = &DefaultOpts
	}
	if opts.Temperature == Skip || opts.Temperature > O16x || opts.Pressure > O16x || opts.Humidity > O16x || opts.Filter > Filter16 {
		return nil, fmt.Errorf("bme280: invalid settings %+v", *opts)
	}
	d := &Dev{d: i2c.Dev{Bus: b, Addr: addr}, opts: *opts, sleep: sleep}
	var id [1]byte
	if err := d.d.Tx([]byte{regChipID}, id[:]); err != nil {
		return nil, fmt.Errorf("bme280: 0x%02X: read chip id: %w", addr, err)
	}
	switch id[0] {
	case chipID:
	case chipIDBMP280:
		return nil, fmt.Errorf("bme280: 0x%02X: chip id 0x58 is a BMP280, which has no humidity sensor: %w", addr, chip.ErrID)
	default:
		return nil, fmt.Errorf("bme280: 0x%02X: chip id 0x%02X, want 0x60: %w", addr, id[0], chip.ErrID)
	}
	// im_update is 1 while the NVM is copied to the image registers after
	// power-on (5.4.4); the copy takes about 2 ms.
	ready := false
	for try := 0; try < 3 && !ready; try++ {
		if try > 0 {
			if err := d.sleep(context.Background(), 2*time.Millisecond); err != nil {
				return nil, err
			}
		}
		var st [1]byte
		if err := d.d.Tx([]byte{regStatus}, st[:]); err != nil {
			return nil, fmt.Errorf("bme280: 0x%02X: read status: %w", addr, err)
		}
		ready = st[0]&statusImUpdate == 0
	}
	if !ready {
		return nil, fmt.Errorf("bme280: 0x%02X: NVM copy (im_update) not finished: %w", addr, chip.ErrNotReady)
	}
	var c1 [26]byte
	var c2 [7]byte
	if err := d.d.Tx([]byte{regCalib1}, c1[:]); err != nil {
		return nil, fmt.Errorf("bme280: 0x%02X: read calibration 0x88: %w", addr, err)
	}
	if err := d.d.Tx([]byte{regCalib2}, c2[:]); err != nil {
		return nil, fmt.Errorf("bme280: 0x%02X: read calibration 0xE1: %w", addr, err)
	}
	d.cal = ParseCalibration(c1, c2)
	if d.cal.T1 == 0 || d.cal.P1 == 0 {
		return nil, fmt.Errorf("bme280: 0x%02X: calibration dig_T1=%d dig_P1=%d is blank: %w", addr, d.cal.T1, d.cal.P1, chip.ErrID)
	}
	// In sleep mode every register accepts writes (5.4); ctrl_hum takes
	// effect with the next ctrl_meas write (5.4.3).
	w := []byte{regCtrlHum, byte(opts.Humidity), regConfig, byte(opts.Filter) << 2, regCtrlMeas, d.ctrlMeas(0)}
	if err := d.d.Tx(w, nil); err != nil {
		return nil, fmt.Errorf("bme280: 0x%02X: configure: %w", addr, err)
	}
	return d, nil
}

func (d *Dev) ctrlMeas(mode byte) byte {
	return byte(d.opts.Temperature)<<5 | byte(d.opts.Pressure)<<2 | mode
}

// Calibration returns the trimming parameters read by New.
func (d *Dev) Calibration() Calibration {
	return d.cal
}

// Sense runs one forced-mode measurement. Bus errors, a measurement that
// does not finish and values outside the sensor's range are errors, never
// a sample.
func (d *Dev) Sense(ctx context.Context) (Sample, error) {
	w := []byte{regCtrlHum, byte(d.opts.Humidity), regCtrlMeas, d.ctrlMeas(modeForced)}
	if err := d.d.Tx(w, nil); err != nil {
		return Sample{}, fmt.Errorf("bme280: 0x%02X: start forced measurement: %w", d.d.Addr, err)
	}
	if err := d.sleep(ctx, d.opts.MeasurementTime()); err != nil {
		return Sample{}, err
	}
	ready := false
	for try := 0; try < 3 && !ready; try++ {
		if try > 0 {
			if err := d.sleep(ctx, time.Millisecond); err != nil {
				return Sample{}, err
			}
		}
		var st [1]byte
		if err := d.d.Tx([]byte{regStatus}, st[:]); err != nil {
			return Sample{}, fmt.Errorf("bme280: 0x%02X: read status: %w", d.d.Addr, err)
		}
		ready = st[0]&statusMeasuring == 0
	}
	if !ready {
		return Sample{}, fmt.Errorf("bme280: 0x%02X: still measuring after %v: %w", d.d.Addr, d.opts.MeasurementTime()+2*time.Millisecond, chip.ErrNotReady)
	}
	var r [8]byte
	if err := d.d.Tx([]byte{regData}, r[:]); err != nil {
		return Sample{}, fmt.Errorf("bme280: 0x%02X: read data: %w", d.d.Addr, err)
	}
	s, err := d.cal.Compensate(ParseData(r))
	if err != nil {
		return Sample{}, fmt.Errorf("bme280: 0x%02X: %w", d.d.Addr, err)
	}
	return s, nil
}

// ParseData splits the burst read of 0xF7-0xFE into the 20-bit
// temperature and pressure and the 16-bit humidity ADC values (datasheet
// tables 29-32).
func ParseData(r [8]byte) (adcT, adcP, adcH int32) {
	adcP = int32(r[0])<<12 | int32(r[1])<<4 | int32(r[2])>>4
	adcT = int32(r[3])<<12 | int32(r[4])<<4 | int32(r[5])>>4
	adcH = int32(r[6])<<8 | int32(r[7])
	return adcT, adcP, adcH
}

// String names the chip and its address.
func (d *Dev) String() string {
	return fmt.Sprintf("bme280{%s}", &d.d)
}

// Halt does nothing: after a forced measurement the chip is back in sleep
// mode.
func (d *Dev) Halt() error {
	return nil
}

var _ conn.Resource = &Dev{}
