package i2c_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	ewi2c "github.com/emberwatch/emberwatch/drivers/i2c"
)

// TestShippedProfiles loads every profile under firmware-config.
func TestShippedProfiles(t *testing.T) {
	dir := "../../firmware-config/profiles/i2c"
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no profiles in %s: %v", dir, err)
	}
	for _, f := range files {
		p, err := ewi2c.LoadProfile(os.DirFS(dir), filepath.Base(f))
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		if p.Name+".yaml" != filepath.Base(f) {
			t.Errorf("%s: name %q does not match the file", f, p.Name)
		}
	}
}

func TestParseProfile(t *testing.T) {
	p, err := ewi2c.ParseProfile("x.yaml", []byte(`
bus: /dev/i2c-1
sensors:
  - sensor: LM75A
    address: 0x4F
    points: {temperature: ambient.temperature}
  - sensor: ads1115
    bus: /dev/i2c-2
    address: 0x48
    channel: ain2
    scale: 100
    points: {value: gas.voc}
`))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "x" || len(p.Sensors) != 2 {
		t.Fatalf("profile %+v", p)
	}
	s := p.Sensors[0]
	if s.Sensor != "lm75a" || s.Bus != "/dev/i2c-1" || s.Address != 0x4F || s.Line != 4 {
		t.Errorf("sensor 0 = %+v", s)
	}
	if p.Sensors[1].Bus != "/dev/i2c-2" {
		t.Errorf("sensor 1 bus %q", p.Sensors[1].Bus)
	}
}

// TestParseProfileErrors: every problem is reported as file:line: field.
func TestParseProfileErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"empty", ``, []string{"p.yaml:1: profile: empty profile"}},
		{"syntax", "sensors: [", []string{"p.yaml:1: yaml:"}},
		{"no sensors", "name: x\nsensors: []\n", []string{"p.yaml:2: sensors: no sensors"}},
		{"unknown top key", "name: x\nbuss: /dev/i2c-1\nsensors: []\n", []string{"p.yaml:2: buss: unknown field"}},
		{"unknown sensor key", `
sensors:
  - sensor: tmp102
    address: 0x48
    adress: 0x49
    points: {temperature: ambient.temperature}
`, []string{"p.yaml:5: adress: unknown field"}},
		{"unknown chip", `
sensors:
  - sensor: ds18b20
    address: 0x48
`, []string{"p.yaml:3: sensor: unknown sensor \"ds18b20\""}},
		{"bad address", `
sensors:
  - sensor: sht3x
    address: 0x40
    points: {temperature: ambient.temperature}
`, []string{"p.yaml:4: address: 0x40 is not an address of the sht3x (0x44, 0x45)"}},
		{"missing address", `
sensors:
  - sensor: sht4x
    points: {temperature: ambient.temperature}
`, []string{"p.yaml:3: address: missing"}},
		{"setting of another chip", `
sensors:
  - sensor: tmp102
    address: 0x48
    repeatability: high
    points: {temperature: ambient.temperature}
`, []string{"p.yaml:5: repeatability: does not apply to the tmp102"}},
		{"bad resolution", `
sensors:
  - sensor: tmp102
    address: 0x48
    resolution: 9
    points: {temperature: ambient.temperature}
`, []string{"p.yaml:5: resolution: 9 is not one of 12, 13 for the tmp102"}},
		{"bad precision", `
sensors:
  - sensor: sht4x
    address: 0x44
    precision: ultra
    points: {temperature: ambient.temperature}
`, []string{"p.yaml:5: precision: \"ultra\" is not high, medium or low"}},
		{"points", `
sensors:
  - sensor: sht3x
    address: 0x44
    points:
      temperature: ambient.humidity
      humidity: room.humidity
      pressure: ambient.pressure
`, []string{
			"p.yaml:5: points.temperature: ambient.humidity is in %, the sht3x's temperature is in °C",
			"p.yaml:5: points.humidity: \"room.humidity\" is not a contract point name",
			"p.yaml:5: points.pressure: the sht3x has no value \"pressure\"",
		}},
		{"no points", `
sensors:
  - sensor: lm75
    address: 0x48
`, []string{"p.yaml:3: points: no points"}},
		{"ads1115 without scale", `
sensors:
  - sensor: ads1115
    address: 0x48
    channel: AIN0
    points: {value: gas.h2}
`, []string{"p.yaml:3: scale: missing"}},
		{"ads1115 bad channel and gain", `
sensors:
  - sensor: ads1115
    address: 0x48
    channel: AIN4
    scale: 1
    points: {value: gas.h2}
`, []string{"p.yaml:5: channel: \"AIN4\" is not"}},
		{"ads1115 to a temperature", `
sensors:
  - sensor: ads1115
    address: 0x48
    channel: AIN0
    scale: 100
    points: {value: device.model}
`, []string{"p.yaml:7: points.value: device.model is a text point"}},
		{"duplicates", `
bus: /dev/i2c-1
sensors:
  - sensor: tmp102
    address: 0x48
    points: {temperature: ambient.temperature}
  - sensor: lm75
    address: 0x48
    points: {temperature: ambient.temperature}
`, []string{
			"p.yaml:9: points.temperature: point ambient.temperature is already fed by the sensor on line 4",
			"p.yaml:8: address: 0x48 on bus \"/dev/i2c-1\" is already the sensor on line 4",
		}},
		{"wrong type", `
sensors:
  - sensor: tmp102
    address: forty-eight
    points: {temperature: ambient.temperature}
`, []string{"p.yaml:4: yaml: cannot unmarshal !!str `forty-e...`"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ewi2c.ParseProfile("p.yaml", []byte(tt.yaml))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nlacks %q", err, w)
				}
			}
			var pe *ewi2c.ProfileError
			if !errors.As(err, &pe) {
				t.Errorf("error is not a *ProfileError: %v", err)
			}
		})
	}
}

func TestLoadProfiles(t *testing.T) {
	ps, err := ewi2c.LoadProfiles(os.DirFS("../../firmware-config/profiles"), "i2c")
	if err != nil {
		t.Fatal(err)
	}
	if ps["gateway-rack"] == nil || ps["gateway-compact"] == nil {
		t.Fatalf("profiles %v", ps)
	}
	fsys := fstest.MapFS{
		"a.yaml":    {Data: []byte("name: x\nsensors:\n  - {sensor: lm75, address: 0x48, points: {temperature: ambient.temperature}}\n")},
		"b.yaml":    {Data: []byte("name: x\nsensors:\n  - {sensor: lm75, address: 0x49, points: {temperature: ambient.temperature}}\n")},
		"c.yaml":    {Data: []byte("sensors: []\n")},
		"notes.txt": {Data: []byte("not a profile")},
	}
	ps, err = ewi2c.LoadProfiles(fsys, ".")
	if len(ps) != 1 || err == nil || !strings.Contains(err.Error(), `b.yaml:1: name: profile name "x" is also used by a.yaml`) ||
		!strings.Contains(err.Error(), "c.yaml:1: sensors: no sensors") {
		t.Fatalf("LoadProfiles = %v, %v", ps, err)
	}
}

func TestLoadProfileMissing(t *testing.T) {
	_, err := ewi2c.LoadProfile(os.DirFS("."), "nope.yaml")
	var pe *ewi2c.ProfileError
	if !errors.As(err, &pe) || pe.File != "nope.yaml" {
		t.Fatalf("LoadProfile = %v", err)
	}
}

func FuzzParseProfile(f *testing.F) {
	for _, name := range []string{"gateway-rack.yaml", "gateway-compact.yaml"} {
		data, err := os.ReadFile(filepath.Join("../../firmware-config/profiles/i2c", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ewi2c.ParseProfile("f.yaml", data)
		if err == nil && len(p.Sensors) == 0 {
			t.Fatal("a profile without sensors was accepted")
		}
	})
}
