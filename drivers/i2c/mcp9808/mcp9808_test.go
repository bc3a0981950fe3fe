package mcp9808

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers/i2c/chip"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

const addr = 0x18

// probe is New's sequence on a powered-up chip (datasheet section 5.1).
func probe(res byte) []i2ctest.IO {
	return []i2ctest.IO{
		{Addr: addr, W: []byte{0x06}, R: []byte{0x00, 0x54}}, // manufacturer ID 0x0054
		{Addr: addr, W: []byte{0x07}, R: []byte{0x04, 0x00}}, // device ID 0x04, revision 0x00
		{Addr: addr, W: []byte{0x01}, R: []byte{0x00, 0x00}}, // CONFIG: continuous conversion
		{Addr: addr, W: []byte{0x08, res}},                   // resolution register
	}
}

type sleeps []time.Duration

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	if d > 0 {
		*s = append(*s, d)
	}
	return nil
}

func TestSense(t *testing.T) {
	tests := []struct {
		name    string
		ta      []byte // ambient temperature register 5-4
		want    Sample
		wantErr error
	}{
		{"+25 C", []byte{0x01, 0x90}, Sample{Temperature: 25}, nil},
		{"+25.0625 C", []byte{0x01, 0x91}, Sample{Temperature: 25.0625}, nil},
		{"+125 C", []byte{0x07, 0xD0}, Sample{Temperature: 125}, nil},
		{"0 C", []byte{0x00, 0x00}, Sample{Temperature: 0}, nil},
		{"-0.0625 C", []byte{0x1F, 0xFF}, Sample{Temperature: -0.0625}, nil},
		// Equation 5-1: sign set, 256 - (0x0E * 16 + 0x70 / 16) = 25: -25 C.
		{"-25 C", []byte{0x1E, 0x70}, Sample{Temperature: -25}, nil},
		{"-40 C", []byte{0x1D, 0x80}, Sample{Temperature: -40}, nil},
		{"flags: TA >= TCRIT, TA > TUPPER", []byte{0xC5, 0x50}, Sample{Temperature: 85, Crit: true, Upper: true}, nil},
		{"flag: TA < TLOWER", []byte{0x20, 0x50}, Sample{Temperature: 5, Lower: true}, nil},
		{"125.0625 C", []byte{0x07, 0xD1}, Sample{}, chip.ErrRange},
		{"-40.0625 C", []byte{0x1D, 0x7F}, Sample{}, chip.ErrRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops := append(probe(3), i2ctest.IO{Addr: addr, W: []byte{0x05}, R: tt.ta}) // read TA
			bus := &i2ctest.Playback{Ops: ops, DontPanic: true}
			d, err := New(bus, addr, nil)
			if err != nil {
				t.Fatal(err)
			}
			var s sleeps
			d.sleep = s.sleep
			got, err := d.Sense(context.Background())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Sense = %+v, %v; want %v", got, err, tt.wantErr)
				}
			} else if err != nil || got != tt.want {
				t.Fatalf("Sense = %+v, %v; want %+v", got, err, tt.want)
			}
			if len(s) != 1 || s[0] != 250*time.Millisecond {
				t.Errorf("slept %v, want one 0.0625 °C conversion (250 ms)", s)
			}
			if err := bus.Close(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestConversionTiming: the first read after New waits tCONV of the chosen
// resolution (table 1-1); later reads do not wait. A chip in shutdown is
// woken with its other CONFIG bits kept.
func TestConversionTiming(t *testing.T) {
	for _, tt := range []struct {
		res  Resolution
		want time.Duration
	}{{Res0_5, 30 * time.Millisecond}, {Res0_25, 65 * time.Millisecond}, {Res0_125, 130 * time.Millisecond}, {Res0_0625, 250 * time.Millisecond}} {
		ops := []i2ctest.IO{
			{Addr: addr, W: []byte{0x06}, R: []byte{0x00, 0x54}},
			{Addr: addr, W: []byte{0x07}, R: []byte{0x04, 0x01}},
			{Addr: addr, W: []byte{0x01}, R: []byte{0x05, 0x08}}, // CONFIG: SHDN, THYST +3 C, alert output enabled
			{Addr: addr, W: []byte{0x01, 0x04, 0x08}},            // clear SHDN only
			{Addr: addr, W: []byte{0x08, byte(tt.res)}},
			{Addr: addr, W: []byte{0x05}, R: []byte{0x01, 0x90}},
			{Addr: addr, W: []byte{0x05}, R: []byte{0x01, 0x98}},
		}
		bus := &i2ctest.Playback{Ops: ops, DontPanic: true}
		d, err := New(bus, addr, &Opts{Resolution: tt.res})
		if err != nil {
			t.Fatal(err)
		}
		var s sleeps
		d.sleep = s.sleep
		for range 2 {
			if _, err := d.Sense(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if len(s) != 1 || s[0] != tt.want {
			t.Errorf("resolution %d: slept %v, want [%v]", tt.res, s, tt.want)
		}
		if err := bus.Close(); err != nil {
			t.Error(err)
		}
	}
}

func TestNACK(t *testing.T) {
	if _, err := New(&i2ctest.Playback{DontPanic: true}, addr, nil); chip.Class(err) != "bus" {
		t.Fatalf("New on a silent bus = %v, want a bus error", err)
	}
	bus := &i2ctest.Playback{Ops: probe(3), DontPanic: true}
	d, err := New(bus, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.sleep = (&sleeps{}).sleep
	if s, err := d.Sense(context.Background()); err == nil {
		t.Fatalf("Sense = %+v with TA NACKed", s)
	}
}

func TestWrongChip(t *testing.T) {
	for _, ops := range [][]i2ctest.IO{
		{{Addr: addr, W: []byte{0x06}, R: []byte{0x00, 0x41}}},
		{{Addr: addr, W: []byte{0x06}, R: []byte{0x00, 0x54}}, {Addr: addr, W: []byte{0x07}, R: []byte{0x75, 0x00}}},
	} {
		if _, err := New(&i2ctest.Playback{Ops: ops, DontPanic: true}, addr, nil); !errors.Is(err, chip.ErrID) {
			t.Errorf("New = %v, want ErrID", err)
		}
	}
	if _, err := New(&i2ctest.Playback{DontPanic: true}, addr, &Opts{Resolution: 4}); err == nil {
		t.Error("resolution 4 accepted")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(byte(0x1E), byte(0x70))
	f.Fuzz(func(t *testing.T, hi, lo byte) {
		s, err := Decode([2]byte{hi, lo})
		if err != nil {
			if !errors.Is(err, chip.ErrRange) {
				t.Fatal(err)
			}
			return
		}
		if s.Temperature < MinTemp || s.Temperature > MaxTemp || math.Mod(s.Temperature, 0.0625) != 0 {
			t.Fatalf("Decode(%02X%02X) = %+v", hi, lo, s)
		}
		if s.Crit != (hi&0x80 != 0) || s.Upper != (hi&0x40 != 0) || s.Lower != (hi&0x20 != 0) {
			t.Fatalf("Decode(%02X%02X) flags %+v", hi, lo, s)
		}
	})
}
