package i2c_test

import (
	"testing"

	"github.com/emberwatch/emberwatch/drivers"
	ewi2c "github.com/emberwatch/emberwatch/drivers/i2c"
)

// FuzzParseURL feeds arbitrary strings to the i2c:// address parser: it
// must never panic, and a sensor it accepts is a known chip at a 7-bit
// address on the URL's bus, feeding contract points only.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"i2c:///dev/i2c-1",
		"i2c:///dev/i2c-1?addr=0x48&sensor=tmp102",
		"i2c:///dev/i2c-0?addr=68&sensor=SHT3x&repeatability=low&temperature=ambient.2.temperature&humidity=ambient.2.humidity",
		"i2c:///dev/i2c-1?addr=0x4a&sensor=ads1115&channel=AIN1&gain=4.096&data_rate=250&scale=625&offset=-250&point=gas.h2",
		"i2c://1?addr=0x18&sensor=mcp9808&resolution=10",
		"i2c:///dev/i2c-1?addr=0x76&sensor=bme280&oversampling=4&filter=2",
		"i2c:///dev/i2c-1?addr=0x48&sensor=tmp102&resolution=high",
		"i2c://?addr=0x48&sensor=tmp102",
	} {
		f.Add(s)
	}
	voc := drivers.NewVocabulary()
	kinds := ewi2c.Kinds()
	f.Fuzz(func(t *testing.T, s string) {
		bus, spec, err := ewi2c.ParseURL(s)
		if err != nil {
			return
		}
		if bus == "" {
			t.Fatalf("%q: no bus", s)
		}
		if spec == nil {
			return
		}
		if _, ok := kinds[spec.Sensor]; !ok {
			t.Fatalf("%q: sensor %q", s, spec.Sensor)
		}
		if spec.Address > 0x7F {
			t.Fatalf("%q: address %#x is not 7-bit", s, spec.Address)
		}
		for role, p := range spec.Points {
			if _, ok := voc.Lookup(p); !ok {
				t.Fatalf("%q: %s feeds %q, not a contract point", s, role, p)
			}
		}
	})
}
