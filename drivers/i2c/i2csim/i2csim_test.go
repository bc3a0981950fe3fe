package i2csim_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"testing"

	"github.com/emberwatch/emberwatch/drivers"
	ewi2c "github.com/emberwatch/emberwatch/drivers/i2c"
	"github.com/emberwatch/emberwatch/drivers/i2c/bme280"
	"github.com/emberwatch/emberwatch/drivers/i2c/i2csim"
)

const profile = `
name: all
bus: /dev/i2c-1
sensors:
  - {sensor: tmp102, address: 0x48, points: {temperature: ambient.1.temperature}}
  - {sensor: tmp102, address: 0x49, resolution: 12, points: {temperature: ambient.2.temperature}}
  - {sensor: lm75, address: 0x4C, points: {temperature: ambient.3.temperature}}
  - {sensor: lm75a, address: 0x4F, points: {temperature: ambient.4.temperature}}
  - {sensor: mcp9808, address: 0x18, resolution: 9, points: {temperature: ambient.5.temperature}}
  - {sensor: sht3x, address: 0x44, points: {temperature: ambient.6.temperature, humidity: ambient.6.humidity}}
  - {sensor: sht4x, address: 0x45, precision: low, points: {temperature: ambient.7.temperature, humidity: ambient.7.humidity}}
  - {sensor: bme280, address: 0x76, points: {temperature: ambient.8.temperature, humidity: ambient.8.humidity}}
  - {sensor: ads1115, address: 0x4A, channel: AIN0, gain: 4.096, data_rate: 860, scale: 625, offset: -250, min: -25, max: 1062.5, points: {value: gas.h2}}
  - {sensor: ads1115, address: 0x4A, channel: AIN1, gain: 4.096, data_rate: 860, scale: 312.5, offset: -125, points: {value: gas.co}}
`

type rig struct {
	bus    *i2csim.Bus
	sht3   *i2csim.Sensirion
	bme    *i2csim.BME280
	adc    *i2csim.ADS1115
	tmp102 *i2csim.Thermometer
	dev    *ewi2c.Device
}

func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{bus: i2csim.NewBus("/dev/i2c-1")}
	r.tmp102 = i2csim.NewTMP102(24.5)
	r.bus.Add(0x48, r.tmp102)
	r.bus.Add(0x49, i2csim.NewTMP102(-12.25))
	r.bus.Add(0x4C, i2csim.NewLM75(30.5))
	r.bus.Add(0x4F, i2csim.NewLM75(-7.125))
	r.bus.Add(0x18, i2csim.NewMCP9808(-20.5))
	r.sht3 = i2csim.NewSHT3x(26, 45)
	r.bus.Add(0x44, r.sht3)
	r.bus.Add(0x45, i2csim.NewSHT4x(27, 55))
	r.bme = i2csim.NewBME280(22, 40)
	r.bus.Add(0x76, r.bme)
	r.adc = i2csim.NewADS1115()
	r.adc.SetVolts(0, 1.0)
	r.adc.SetVolts(1, 0.4)
	r.bus.Add(0x4A, r.adc)
	p, err := ewi2c.ParseProfile("all.yaml", []byte(profile))
	if err != nil {
		t.Fatal(err)
	}
	r.dev, err = ewi2c.NewDevice(p, ewi2c.BusMap{"/dev/i2c-1": r.bus}, &ewi2c.Opts{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func values(rs []drivers.Reading) map[string]float64 {
	m := map[string]float64{}
	for _, r := range rs {
		m[r.Point] = r.Value
	}
	return m
}

// TestEveryDriver runs every chip driver against its model.
func TestEveryDriver(t *testing.T) {
	r := newRig(t)
	rs, err := r.dev.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		point string
		v     float64
		tol   float64
	}{
		{"ambient.1.temperature", 24.5, 0},
		{"ambient.2.temperature", -12.25, 0},
		{"ambient.3.temperature", 30.5, 0},
		{"ambient.4.temperature", -7.125, 0.5}, // the 9-bit LM75 driver rounds down to 0.5 °C
		{"ambient.5.temperature", -20.5, 0},
		{"ambient.6.temperature", 26, 0.01},
		{"ambient.6.humidity", 45, 0.01},
		{"ambient.7.temperature", 27, 0.01},
		{"ambient.7.humidity", 55, 0.01},
		{"ambient.8.temperature", 22, 0.01},
		{"ambient.8.humidity", 40, 0.01},
		{"gas.h2", 375, 0.1},
		{"gas.co", 0, 0.1},
	}
	got := values(rs)
	if len(rs) != len(want) {
		t.Fatalf("%d readings, want %d", len(rs), len(want))
	}
	for _, w := range want {
		if v, ok := got[w.point]; !ok || math.Abs(v-w.v) > w.tol {
			t.Errorf("%s = %v, want %v ± %v", w.point, v, w.v, w.tol)
		}
	}
}

// TestFaults: an unplugged chip, bad CRCs and a broken 4-20 mA loop give
// NaN and counted errors; values follow the models between polls.
func TestFaults(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if _, err := r.dev.Poll(ctx); err != nil {
		t.Fatal(err)
	}
	r.bus.SetNACK(0x48, true)
	r.sht3.CorruptCRC(true)
	r.adc.SetVolts(1, 0) // below 4 mA: the CO loop is open
	r.bme.SetTemperature(35.5)
	rs, err := r.dev.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := values(rs)
	for _, p := range []string{"ambient.1.temperature", "ambient.6.temperature", "ambient.6.humidity"} {
		if !math.IsNaN(got[p]) {
			t.Errorf("%s = %v, want NaN", p, got[p])
		}
	}
	if got["gas.co"] != -125 {
		t.Errorf("gas.co = %v: the profile sets no min, -125 ppm passes", got["gas.co"])
	}
	if math.Abs(got["ambient.8.temperature"]-35.5) > 0.01 {
		t.Errorf("bme280 %v, want 35.5", got["ambient.8.temperature"])
	}
	r.adc.SetVolts(0, 0)
	rs, _ = r.dev.Poll(ctx)
	if v := values(rs)["gas.h2"]; !math.IsNaN(v) {
		t.Errorf("gas.h2 with the loop open = %v, want NaN (below min -25 ppm)", v)
	}
	r.bus.SetNACK(0x48, false)
	r.tmp102.SetTemperature(31)
	rs, _ = r.dev.Poll(ctx)
	if v := values(rs)["ambient.1.temperature"]; v != 31 {
		t.Errorf("tmp102 back = %v, want 31", v)
	}
	st := r.dev.Stats()
	if st[0].ByClass["bus"] != 2 || st[5].ByClass["crc"] != 3 || st[8].ByClass["range"] != 2 {
		t.Errorf("stats: tmp102 %+v, sht3x %+v, ads1115 %+v", st[0], st[5], st[8])
	}
}

func TestNACK(t *testing.T) {
	b := i2csim.NewBus("/dev/i2c-9")
	if err := b.Tx(0x48, []byte{0}, make([]byte, 2)); !errors.Is(err, i2csim.ErrNACK) {
		t.Fatalf("Tx to an empty address = %v", err)
	}
	if b.Transactions() != 1 || b.String() != "/dev/i2c-9" {
		t.Fatal(b.Transactions(), b.String())
	}
}

// TestBME280Model: the model's inverted compensation round-trips across
// the chip's range.
func TestBME280Model(t *testing.T) {
	for _, c := range []struct{ t, rh, p float64 }{{-39, 5, 30500}, {-10.5, 20, 90000}, {25, 50, 101325}, {60, 80, 105000}, {84.9, 99, 109000}} {
		b := i2csim.NewBus("b")
		m := i2csim.NewBME280(c.t, c.rh)
		m.SetPressure(c.p)
		b.Add(0x77, m)
		d, err := bme280.New(b, 0x77, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := d.Sense(context.Background())
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if math.Abs(s.Temperature-c.t) > 0.011 || math.Abs(s.Humidity-c.rh) > 0.02 || math.Abs(s.Pressure-c.p) > 1 {
			t.Errorf("set %+v, read %+v", c, s)
		}
	}
}
