package bme280

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers/i2c/chip"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

const addr = 0x76

// Trimming parameters of the datasheet's worked example (BMP280 datasheet
// 3.12: dig_T1 27504, dig_T2 26435, dig_T3 -1000, dig_P1 36477 ... dig_P9
// 6000) and humidity parameters of a production BME280 (dig_H1 75, dig_H2
// 362, dig_H3 0, dig_H4 313, dig_H5 50, dig_H6 30).
var (
	calib1 = []byte{0x70, 0x6B, 0x43, 0x67, 0x18, 0xFC, 0x7D, 0x8E, 0x43, 0xD6, 0xD0, 0x0B, 0x27, 0x0B, 0x8C, 0x00, 0xF9, 0xFF, 0x8C, 0x3C, 0xF8, 0xC6, 0x70, 0x17, 0x00, 0x4B}
	calib2 = []byte{0x6A, 0x01, 0x00, 0x13, 0x29, 0x03, 0x1E}
)

// setup is New's sequence with ctrl_hum h, ctrl_meas m (sleep mode) and
// config c.
func setup(h, m, c byte) []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: addr, W: []byte{0xD0}, R: []byte{0x60}},     // chip id
		{Addr: addr, W: []byte{0xF3}, R: []byte{0x00}},     // status: im_update = 0
		{Addr: addr, W: []byte{0x88}, R: calib1},           // dig_T1 .. dig_H1
		{Addr: addr, W: []byte{0xE1}, R: calib2},           // dig_H2 .. dig_H6
		{Addr: addr, W: []byte{0xF2, h, 0xF5, c, 0xF4, m}}, // ctrl_hum, config, ctrl_meas (sleep)
	}
}

// forced is Sense's sequence up to the data read.
func forced(h, m byte) []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: addr, W: []byte{0xF2, h, 0xF4, m}},      // ctrl_hum, ctrl_meas mode = 01 (forced)
		{Addr: addr, W: []byte{0xF3}, R: []byte{0x00}}, // status: measuring = 0
	}
}

type sleeps []time.Duration

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	*s = append(*s, d)
	return nil
}

func TestCalibration(t *testing.T) {
	c := ParseCalibration([26]byte(calib1), [7]byte(calib2))
	want := Calibration{T1: 27504, T2: 26435, T3: -1000, P1: 36477, P2: -10685, P3: 3024, P4: 2855, P5: 140, P6: -7, P7: 15500, P8: -14600, P9: 6000, H1: 75, H2: 362, H3: 0, H4: 313, H5: 50, H6: 30}
	if c != want {
		t.Fatalf("ParseCalibration = %+v\nwant %+v", c, want)
	}
	// Negative 12-bit dig_H4 and dig_H5 (0xE4/0xE5/0xE6 = 0xF8 0x7A 0xFF).
	c = ParseCalibration([26]byte(calib1), [7]byte{0x6A, 0x01, 0x00, 0xF8, 0x7A, 0xFF, 0xE2})
	if c.H4 != -118 || c.H5 != -9 || c.H6 != -30 {
		t.Fatalf("dig_H4 %d dig_H5 %d dig_H6 %d; want -118 -9 -30", c.H4, c.H5, c.H6)
	}
}

// reference is the datasheet's floating-point compensation (8.1), an
// independent check of the integer formulas.
func reference(c Calibration, adcT, adcP, adcH int32) Sample {
	v1 := (float64(adcT)/16384 - float64(c.T1)/1024) * float64(c.T2)
	v2 := (float64(adcT)/131072 - float64(c.T1)/8192) * (float64(adcT)/131072 - float64(c.T1)/8192) * float64(c.T3)
	tFine := v1 + v2
	s := Sample{Temperature: tFine / 5120}
	v1 = tFine/2 - 64000
	v2 = v1 * v1 * float64(c.P6) / 32768
	v2 += v1 * float64(c.P5) * 2
	v2 = v2/4 + float64(c.P4)*65536
	v1 = (float64(c.P3)*v1*v1/524288 + float64(c.P2)*v1) / 524288
	v1 = (1 + v1/32768) * float64(c.P1)
	p := 1048576 - float64(adcP)
	p = (p - v2/4096) * 6250 / v1
	v1 = float64(c.P9) * p * p / 2147483648
	v2 = p * float64(c.P8) / 32768
	s.Pressure = p + (v1+v2+float64(c.P7))/16
	h := tFine - 76800
	h = (float64(adcH) - (float64(c.H4)*64 + float64(c.H5)/16384*h)) * (float64(c.H2) / 65536 * (1 + float64(c.H6)/67108864*h*(1+float64(c.H3)/67108864*h)))
	h *= 1 - float64(c.H1)*h/524288
	s.Humidity = min(max(h, 0), 100)
	return s
}

func TestSense(t *testing.T) {
	tests := []struct {
		name    string
		data    []byte // 0xF7..0xFE: press, temp, hum
		want    Sample
		wantErr error
	}{
		// adc_T 519888, adc_P 415148 (the datasheet example): 25.08 °C,
		// 100653.25 Pa; adc_H 28000: 43.856 %RH.
		{"datasheet example", []byte{0x65, 0x5A, 0xC0, 0x7E, 0xED, 0x00, 0x6D, 0x60}, Sample{25.08, 100653.25390625, 43.8564453125}, nil},
		// adc_T 400000: -12.64 °C.
		{"below zero", []byte{0x65, 0x5A, 0xC0, 0x61, 0xA8, 0x00, 0x6D, 0x60}, Sample{Temperature: -12.64}, nil},
		{"humidity floor", []byte{0x65, 0x5A, 0xC0, 0x7E, 0xED, 0x00, 0x4E, 0x20}, Sample{25.08, 100653.25390625, 0}, nil},
		{"humidity ceiling", []byte{0x65, 0x5A, 0xC0, 0x7E, 0xED, 0x00, 0xFF, 0xFF}, Sample{25.08, 100653.25390625, 100}, nil},
		// adc_T 716000: 86.09 °C, above the 85 °C operating range.
		{"too hot", []byte{0x65, 0x5A, 0xC0, 0xAE, 0xCE, 0x00, 0x6D, 0x60}, Sample{}, chip.ErrRange},
		// 0x80000 is the value of a skipped measurement.
		{"temperature skipped", []byte{0x65, 0x5A, 0xC0, 0x80, 0x00, 0x00, 0x6D, 0x60}, Sample{}, chip.ErrRange},
		{"pressure too low", []byte{0xF0, 0x00, 0x00, 0x7E, 0xED, 0x00, 0x6D, 0x60}, Sample{}, chip.ErrRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops := append(setup(0x01, 0x24, 0x00), forced(0x01, 0x25)...)
			ops = append(ops, i2ctest.IO{Addr: addr, W: []byte{0xF7}, R: tt.data}) // burst read
			bus := &i2ctest.Playback{Ops: ops, DontPanic: true}
			var s sleeps
			d, err := newDev(bus, addr, nil, s.sleep)
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Sense(context.Background())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Sense = %+v, %v; want %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			adcT, adcP, adcH := ParseData([8]byte(tt.data))
			ref := reference(d.Calibration(), adcT, adcP, adcH)
			if got.Temperature != tt.want.Temperature || math.Abs(got.Temperature-ref.Temperature) > 0.01 {
				t.Errorf("temperature %v, want %v (float formula %v)", got.Temperature, tt.want.Temperature, ref.Temperature)
			}
			if math.Abs(got.Pressure-ref.Pressure) > 1 || (tt.want.Pressure != 0 && got.Pressure != tt.want.Pressure) {
				t.Errorf("pressure %v, want %v (float formula %v)", got.Pressure, tt.want.Pressure, ref.Pressure)
			}
			if math.Abs(got.Humidity-ref.Humidity) > 0.01 || (tt.want.Humidity != 0 && got.Humidity != tt.want.Humidity) {
				t.Errorf("humidity %v, want %v (float formula %v)", got.Humidity, tt.want.Humidity, ref.Humidity)
			}
			if len(s) != 1 || s[0] != 9300*time.Microsecond {
				t.Errorf("slept %v, want [9.3ms]", s)
			}
			if err := bus.Close(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestConversionTiming: the wait follows appendix 9.1 for the chosen
// oversampling, and the status measuring bit is polled until it clears.
func TestConversionTiming(t *testing.T) {
	o := &Opts{Temperature: O2x, Pressure: O16x, Humidity: O1x, Filter: Filter4}
	// osrs_t 010, osrs_p 101: ctrl_meas 0x54 asleep, 0x55 forced; filter 010: config 0x08.
	ops := append(setup(0x01, 0x54, 0x08),
		i2ctest.IO{Addr: addr, W: []byte{0xF2, 0x01, 0xF4, 0x55}},
		i2ctest.IO{Addr: addr, W: []byte{0xF3}, R: []byte{0x08}}, // measuring = 1
		i2ctest.IO{Addr: addr, W: []byte{0xF3}, R: []byte{0x00}}, // done
		i2ctest.IO{Addr: addr, W: []byte{0xF7}, R: []byte{0x65, 0x5A, 0xC0, 0x7E, 0xED, 0x00, 0x6D, 0x60}},
		i2ctest.IO{Addr: addr, W: []byte{0xF2, 0x01, 0xF4, 0x55}},
		i2ctest.IO{Addr: addr, W: []byte{0xF3}, R: []byte{0x08}},
		i2ctest.IO{Addr: addr, W: []byte{0xF3}, R: []byte{0x08}},
		i2ctest.IO{Addr: addr, W: []byte{0xF3}, R: []byte{0x08}},
	)
	bus := &i2ctest.Playback{Ops: ops, DontPanic: true}
	var s sleeps
	d, err := newDev(bus, addr, o, s.sleep)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Sense(context.Background()); err != nil {
		t.Fatal(err)
	}
	// 1.25 + 2.3*2 + (2.3*16 + 0.575) + (2.3*1 + 0.575) = 46.1 ms.
	if len(s) != 2 || s[0] != 46100*time.Microsecond || s[1] != time.Millisecond {
		t.Errorf("slept %v, want [46.1ms 1ms]", s)
	}
	if _, err := d.Sense(context.Background()); !errors.Is(err, chip.ErrNotReady) {
		t.Fatalf("Sense = %v, want ErrNotReady", err)
	}
	if got := (&Opts{Temperature: O1x}).MeasurementTime(); got != 3550*time.Microsecond {
		t.Errorf("temperature only: %v, want 3.55ms", got)
	}
}

func TestProbe(t *testing.T) {
	tests := []struct {
		name string
		ops  []i2ctest.IO
		want error
	}{
		{"BMP280", []i2ctest.IO{{Addr: addr, W: []byte{0xD0}, R: []byte{0x58}}}, chip.ErrID},
		{"other chip", []i2ctest.IO{{Addr: addr, W: []byte{0xD0}, R: []byte{0x61}}}, chip.ErrID},
		{"NVM copy stuck", []i2ctest.IO{
			{Addr: addr, W: []byte{0xD0}, R: []byte{0x60}},
			{Addr: addr, W: []byte{0xF3}, R: []byte{0x01}},
			{Addr: addr, W: []byte{0xF3}, R: []byte{0x01}},
			{Addr: addr, W: []byte{0xF3}, R: []byte{0x01}},
		}, chip.ErrNotReady},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newDev(&i2ctest.Playback{Ops: tt.ops, DontPanic: true}, addr, nil, (&sleeps{}).sleep)
			if !errors.Is(err, tt.want) {
				t.Fatalf("New = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := New(&i2ctest.Playback{DontPanic: true}, addr, &Opts{}); err == nil {
		t.Error("skipped temperature accepted")
	}
}

func TestNACK(t *testing.T) {
	if _, err := New(&i2ctest.Playback{DontPanic: true}, addr, nil); chip.Class(err) != "bus" {
		t.Fatalf("New on a silent bus = %v, want a bus error", err)
	}
	bus := &i2ctest.Playback{Ops: append(setup(0x01, 0x24, 0x00), forced(0x01, 0x25)...), DontPanic: true}
	d, err := newDev(bus, addr, nil, (&sleeps{}).sleep)
	if err != nil {
		t.Fatal(err)
	}
	if s, err := d.Sense(context.Background()); err == nil {
		t.Fatalf("Sense = %+v with the data read NACKed", s)
	}
}

func FuzzCompensate(f *testing.F) {
	f.Add([]byte{0x65, 0x5A, 0xC0, 0x7E, 0xED, 0x00, 0x6D, 0x60})
	c := ParseCalibration([26]byte(calib1), [7]byte(calib2))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) != 8 {
			return
		}
		s, err := c.Compensate(ParseData([8]byte(b)))
		if err != nil {
			if !errors.Is(err, chip.ErrRange) {
				t.Fatal(err)
			}
			return
		}
		if s.Temperature < MinTemp || s.Temperature > MaxTemp || s.Humidity < 0 || s.Humidity > 100 ||
			(!math.IsNaN(s.Pressure) && (s.Pressure < MinPressure || s.Pressure > MaxPressure)) {
			t.Fatalf("Compensate(% X) = %+v", b, s)
		}
	})
}
