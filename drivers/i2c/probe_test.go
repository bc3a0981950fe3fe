package i2c_test

import (
	"context"
	"math"
	"strings"
	"testing"

	ewi2c "github.com/emberwatch/emberwatch/drivers/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		url     string
		bus     string
		sensor  string
		addr    uint16
		points  map[string]string
		wantErr string
	}{
		{url: "i2c:///dev/i2c-1", bus: "/dev/i2c-1"},
		{url: "i2c:///dev/i2c-1?addr=0x48&sensor=tmp102", bus: "/dev/i2c-1", sensor: "tmp102", addr: 0x48,
			points: map[string]string{"temperature": "ambient.temperature"}},
		{url: "i2c:///dev/i2c-0?addr=68&sensor=SHT3x&repeatability=low&temperature=ambient.2.temperature&humidity=ambient.2.humidity",
			bus: "/dev/i2c-0", sensor: "sht3x", addr: 0x44,
			points: map[string]string{"temperature": "ambient.2.temperature", "humidity": "ambient.2.humidity"}},
		{url: "i2c:///dev/i2c-1?addr=0x4a&sensor=ads1115&channel=AIN1&gain=4.096&data_rate=250&scale=625&offset=-250&point=gas.h2",
			bus: "/dev/i2c-1", sensor: "ads1115", addr: 0x4A, points: map[string]string{"value": "gas.h2"}},
		{url: "i2c://1?addr=0x18&sensor=mcp9808&resolution=10", bus: "1", sensor: "mcp9808", addr: 0x18,
			points: map[string]string{"temperature": "ambient.temperature"}},
		{url: "i2c:///dev/i2c-1?addr=0x48", wantErr: "no sensor="},
		{url: "i2c:///dev/i2c-1?sensor=tmp102", wantErr: "no addr="},
		{url: "i2c:///dev/i2c-1?addr=0x48&sensor=tmp999", wantErr: "unknown sensor"},
		{url: "i2c:///dev/i2c-1?addr=0x48&sensor=tmp102&speed=fast", wantErr: "unknown parameter speed"},
		{url: "i2c:///dev/i2c-1?addr=0x40&sensor=tmp102", wantErr: "address: 0x40 is not an address of the tmp102"},
		{url: "i2c:///dev/i2c-1?addr=0x48&sensor=ads1115&channel=AIN0", wantErr: "scale: missing"},
		{url: "i2c:///dev/i2c-1?addr=0x48&sensor=tmp102&resolution=high", wantErr: "resolution"},
		{url: "modbus+tcp://10.0.0.5:502", wantErr: "scheme is not i2c"},
		{url: "i2c://?addr=0x48&sensor=tmp102", wantErr: "no bus"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			bus, spec, err := ewi2c.ParseURL(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseURL = %v, want an error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if bus != tt.bus {
				t.Errorf("bus %q, want %q", bus, tt.bus)
			}
			if tt.sensor == "" {
				if spec != nil {
					t.Errorf("spec %+v for a bare bus", spec)
				}
				return
			}
			if spec.Sensor != tt.sensor || spec.Address != tt.addr || spec.Bus != tt.bus || len(spec.Points) != len(tt.points) {
				t.Fatalf("spec %+v", spec)
			}
			for r, p := range tt.points {
				if spec.Points[r] != p {
					t.Errorf("points[%s] = %q, want %q", r, spec.Points[r], p)
				}
			}
		})
	}
}

// TestProbeBus is what "emberwatch probe i2c:///dev/i2c-1?addr=0x48&sensor=tmp102"
// does after opening the bus.
func TestProbeBus(t *testing.T) {
	_, spec, err := ewi2c.ParseURL("i2c:///dev/i2c-1?addr=0x48&sensor=tmp102")
	if err != nil {
		t.Fatal(err)
	}
	bus := &i2ctest.Playback{DontPanic: true, Ops: append(tmp102Probe(0x48), tmp102Sense(0x48, 0xFF, 0xF1)...)} // 13-bit 0x1FFE: -0.125 °C
	rs, err := ewi2c.ProbeBus(context.Background(), bus, *spec)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Point != "ambient.temperature" || rs[0].Value != -0.125 || rs[0].Unit != "°C" {
		t.Fatalf("ProbeBus = %+v", rs)
	}
	// Nothing at the address: the probe fails, naming the chip.
	rs, err = ewi2c.ProbeBus(context.Background(), &i2ctest.Playback{DontPanic: true}, *spec)
	if err == nil || !strings.Contains(err.Error(), "tmp102") || len(rs) != 1 || !math.IsNaN(rs[0].Value) {
		t.Fatalf("ProbeBus on an empty bus = %+v, %v", rs, err)
	}
}

func TestProbeUnknownSensor(t *testing.T) {
	if _, err := ewi2c.Probe(context.Background(), "/dev/i2c-1", 0x48, "tmp999"); err == nil || !strings.Contains(err.Error(), "tmp102") {
		t.Fatalf("Probe = %v, want the list of sensors", err)
	}
	if _, err := ewi2c.ProbeURL(context.Background(), "i2c:///dev/i2c-1"); err == nil {
		t.Fatal("ProbeURL of a bare bus succeeded")
	}
}

func TestKinds(t *testing.T) {
	want := []string{"ads1115", "bme280", "lm75", "lm75a", "mcp9808", "sht3x", "sht4x", "tmp102"}
	if got := ewi2c.KindNames(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("KindNames = %v, want %v", got, want)
	}
}
