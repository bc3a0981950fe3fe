package i2c_test

import (
	"context"
	"log/slog"
	"math"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
	ewi2c "github.com/emberwatch/emberwatch/drivers/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

// The register sequences of each chip, as in the chip packages' tests.

// tmp102Probe: read config (R1:R0 = 11), then shutdown mode, extended.
func tmp102Probe(a uint16) []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: a, W: []byte{0x01}, R: []byte{0x60, 0xA0}},
		{Addr: a, W: []byte{0x01, 0x61, 0x90}},
	}
}

// tmp102Sense: one-shot, OS reads 1, temperature register (13-bit).
func tmp102Sense(a uint16, reg ...byte) []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: a, W: []byte{0x01, 0xE1, 0x90}},
		{Addr: a, W: []byte{0x01}, R: []byte{0xE1, 0xB0}},
		{Addr: a, W: []byte{0x00}, R: reg},
	}
}

// sht3xProbe reads the status register with its CRC.
func sht3xProbe(a uint16) []i2ctest.IO {
	return []i2ctest.IO{{Addr: a, W: []byte{0xF3, 0x2D}, R: []byte{0x80, 0x10, 0xE1}}}
}

// sht3xSense: single shot, high repeatability, no clock stretching.
func sht3xSense(a uint16, data ...byte) []i2ctest.IO {
	return []i2ctest.IO{{Addr: a, W: []byte{0x24, 0x00}}, {Addr: a, R: data}}
}

func ads1115Probe(a uint16) []i2ctest.IO {
	return []i2ctest.IO{{Addr: a, W: []byte{0x01}, R: []byte{0x85, 0x83}}}
}

// ads1115Sense: start single shot with config cfg, OS reads 1, conversion.
func ads1115Sense(a uint16, cfg uint16, conv ...byte) []i2ctest.IO {
	hi, lo := byte(cfg>>8), byte(cfg)
	return []i2ctest.IO{
		{Addr: a, W: []byte{0x01, hi, lo}},
		{Addr: a, W: []byte{0x01}, R: []byte{hi, lo}},
		{Addr: a, W: []byte{0x00}, R: conv},
	}
}

// quiet drops the sensors' failure logs of the fault tests.
var quiet = slog.New(slog.DiscardHandler)

func seq(parts ...[]i2ctest.IO) []i2ctest.IO {
	var ops []i2ctest.IO
	for _, p := range parts {
		ops = append(ops, p...)
	}
	return ops
}

func loadRack(t *testing.T) *ewi2c.Profile {
	t.Helper()
	p, err := ewi2c.LoadProfile(os.DirFS("../../firmware-config/profiles/i2c"), "gateway-rack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func values(rs []drivers.Reading) map[string]float64 {
	m := map[string]float64{}
	for _, r := range rs {
		m[r.Point] = r.Value
	}
	return m
}

// TestDeviceGatewayRack polls the gateway-rack profile three times over one
// playback bus: all well; the outlet TMP102 NACKed, the SHT31 with a bad
// CRC and the CO loop broken; then the outlet back (probed again).
func TestDeviceGatewayRack(t *testing.T) {
	const (
		ain0 = 0xC383 // OS, AIN0/GND, ±4.096 V, single shot, 128 SPS, comparator off
		ain1 = 0xD383 // the same on AIN1
	)
	good := []byte{0x66, 0x66, 0x93, 0x80, 0x00, 0xA2} // 25 °C, 50 %RH
	bus := &i2ctest.Playback{DontPanic: true, Ops: seq(
		// Poll 1: every chip probed, then read.
		tmp102Probe(0x48), tmp102Sense(0x48, 0x0C, 0x41), // 24.5 °C
		tmp102Probe(0x49), tmp102Sense(0x49, 0x0F, 0x81), // 31 °C
		sht3xProbe(0x44), sht3xSense(0x44, good...),
		ads1115Probe(0x4A), ads1115Sense(0x4A, ain0, 0x1F, 0x40), // 1.0 V: 375 ppm H2
		ads1115Probe(0x4A), ads1115Sense(0x4A, ain1, 0x0C, 0x80), // 0.4 V: 0 ppm CO
		// Poll 2: the outlet NACKs (no answer in the playback), the SHT31's
		// humidity CRC is wrong, the CO loop reads 0 V (broken).
		tmp102Sense(0x48, 0x0C, 0x41),
		sht3xSense(0x44, 0x66, 0x66, 0x93, 0x80, 0x00, 0xA3),
		ads1115Sense(0x4A, ain0, 0x1F, 0x40),
		ads1115Sense(0x4A, ain1, 0x00, 0x00),
		// Poll 3: the outlet answers again and is set up anew.
		tmp102Sense(0x48, 0x0C, 0x41),
		tmp102Probe(0x49), tmp102Sense(0x49, 0x0F, 0x81),
		sht3xSense(0x44, good...),
		ads1115Sense(0x4A, ain0, 0x1F, 0x40),
		ads1115Sense(0x4A, ain1, 0x0C, 0x80),
	)}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	dev, err := ewi2c.NewDevice(loadRack(t), ewi2c.BusMap{"/dev/i2c-1": bus}, &ewi2c.Opts{Now: func() time.Time { return now }, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	rs, err := dev.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]float64{
		"ambient.1.temperature": 24.5, "ambient.2.temperature": 31,
		"ambient.3.temperature": 25, "ambient.3.humidity": 50.00076,
		"gas.h2": 375, "gas.co": 0,
	}
	got := values(rs)
	if len(rs) != len(want) {
		t.Fatalf("poll 1: %d readings, want %d: %v", len(rs), len(want), rs)
	}
	for p, w := range want {
		if math.Abs(got[p]-w) > 1e-4 {
			t.Errorf("poll 1: %s = %v, want %v", p, got[p], w)
		}
	}
	for _, r := range rs {
		if !r.Time.Equal(now) || r.Unit == "" {
			t.Errorf("reading %+v lacks time or unit", r)
		}
	}

	rs, err = dev.Poll(ctx)
	if err != nil {
		t.Fatalf("poll 2: %v (some sensors answered: no device error)", err)
	}
	got = values(rs)
	for _, p := range []string{"ambient.2.temperature", "ambient.3.temperature", "ambient.3.humidity", "gas.co"} {
		if !math.IsNaN(got[p]) {
			t.Errorf("poll 2: %s = %v, want NaN", p, got[p])
		}
	}
	if got["ambient.1.temperature"] != 24.5 || got["gas.h2"] != 375 {
		t.Errorf("poll 2: healthy sensors read %v", got)
	}

	rs, err = dev.Poll(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for p, v := range values(rs) {
		if math.IsNaN(v) {
			t.Errorf("poll 3: %s is NaN", p)
		}
	}
	if err := bus.Close(); err != nil {
		t.Errorf("playback not consumed: %v", err)
	}

	st := dev.Stats()
	wantStats := []struct {
		name    string
		errors  uint64
		byClass string
	}{{"inlet", 0, ""}, {"outlet", 1, "bus"}, {"cabinet-air", 1, "crc"}, {"h2", 0, ""}, {"co", 1, "range"}}
	for i, w := range wantStats {
		s := st[i]
		if s.Sensor != w.name || s.Polls != 3 || s.Errors != w.errors || (w.byClass != "" && s.ByClass[w.byClass] != 1) {
			t.Errorf("stats %d = %+v, want %+v", i, s, w)
		}
		if s.LastError != "" {
			t.Errorf("%s: LastError %q after a good poll", s.Sensor, s.LastError)
		}
	}
}

// TestDeviceNoAnswer: when every sensor NACKs the device has failed as a
// whole: Poll returns an error (the poll loop marks it lost) and the
// readings are NaN.
func TestDeviceNoAnswer(t *testing.T) {
	p, err := ewi2c.ParseProfile("one.yaml", []byte(`
sensors:
  - sensor: tmp102
    address: 0x48
    points: {temperature: ambient.temperature}
`))
	if err != nil {
		t.Fatal(err)
	}
	bus := &i2ctest.Playback{DontPanic: true}
	dev, err := ewi2c.NewDevice(p, ewi2c.BusMap{"/dev/i2c-1": bus}, &ewi2c.Opts{Bus: "/dev/i2c-1", Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := dev.Poll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "tmp102") || !strings.Contains(err.Error(), "0x48") {
		t.Fatalf("Poll error = %v, want one naming tmp102 at 0x48", err)
	}
	if len(rs) != 1 || rs[0].Point != "ambient.temperature" || !math.IsNaN(rs[0].Value) || rs[0].Valid() {
		t.Fatalf("readings = %+v, want one NaN", rs)
	}
	if st := dev.Stats(); st[0].ByClass["bus"] != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestDeviceBusMissing(t *testing.T) {
	p := loadRack(t)
	if _, err := ewi2c.NewDevice(p, ewi2c.BusMap{}, nil); err == nil || !strings.Contains(err.Error(), "/dev/i2c-1") {
		t.Fatalf("NewDevice without the bus = %v", err)
	}
	p.Bus = ""
	for i := range p.Sensors {
		p.Sensors[i].Bus = ""
	}
	if _, err := ewi2c.NewDevice(p, ewi2c.BusMap{}, nil); err == nil || !strings.Contains(err.Error(), "no bus") {
		t.Fatalf("NewDevice with no bus anywhere = %v", err)
	}
	// The device address's bus fills in.
	if _, err := ewi2c.NewDevice(p, ewi2c.BusMap{"/dev/i2c-3": &i2ctest.Playback{}}, &ewi2c.Opts{Bus: "/dev/i2c-3"}); err != nil {
		t.Fatal(err)
	}
}

func TestPollCanceled(t *testing.T) {
	bus := &i2ctest.Playback{DontPanic: true}
	dev, err := ewi2c.NewDevice(loadRack(t), ewi2c.BusMap{"/dev/i2c-1": bus}, &ewi2c.Opts{Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := dev.Poll(ctx); err == nil {
		t.Fatal("Poll after cancel returned no error")
	}
	if st := dev.Stats(); st[0].Polls != 0 {
		t.Errorf("a cancelled poll was counted: %+v", st[0])
	}
}

func TestNewDeviceURL(t *testing.T) {
	p := loadRack(t)
	p.Bus = ""
	for i := range p.Sensors {
		p.Sensors[i].Bus = ""
	}
	buses := ewi2c.BusMap{"/dev/i2c-2": &i2ctest.Playback{}}
	d, err := ewi2c.NewDeviceURL("gw", "i2c:///dev/i2c-2", p, buses, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Sensors(); len(got) != 5 || got[0] != "inlet" {
		t.Errorf("sensors %v", got)
	}
	d, err = ewi2c.NewDeviceURL("inlet", "i2c:///dev/i2c-2?addr=0x48&sensor=tmp102&point=ambient.1.temperature", nil, buses, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := d.String(); got != "i2c{inlet: inlet}" {
		t.Errorf("device %s", got)
	}
	for _, c := range []struct {
		addr string
		p    *ewi2c.Profile
		want string
	}{
		{"i2c:///dev/i2c-2?addr=0x48&sensor=tmp102", p, "give one or the other"},
		{"i2c:///dev/i2c-2", nil, "no profile"},
		{"i2c:///dev/i2c-7", p, "no bus \"/dev/i2c-7\""},
	} {
		if _, err := ewi2c.NewDeviceURL("gw", c.addr, c.p, buses, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewDeviceURL(%s) = %v, want %q", c.addr, err, c.want)
		}
	}
}
