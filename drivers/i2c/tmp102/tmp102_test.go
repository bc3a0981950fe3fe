package tmp102

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers/i2c/chip"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

const addr = 0x48

// Datasheet table 7-10: the reset value of the configuration register.
var resetConfig = i2ctest.IO{Addr: addr, W: []byte{0x01}, R: []byte{0x60, 0xA0}}

// setup is New's sequence: probe the config register, then shutdown mode.
func setup(extended bool) []i2ctest.IO {
	b2 := byte(0x80)
	if extended {
		b2 |= 0x10
	}
	return []i2ctest.IO{
		resetConfig,                             // read config: R1:R0 = 11
		{Addr: addr, W: []byte{0x01, 0x61, b2}}, // SD=1, CR=4 Hz, EM
	}
}

// oneShot is Sense's sequence up to the temperature read.
func oneShot(extended bool) []i2ctest.IO {
	b2 := byte(0x80)
	if extended {
		b2 |= 0x10
	}
	return []i2ctest.IO{
		{Addr: addr, W: []byte{0x01, 0xE1, b2}},                   // OS=1 with SD=1: one conversion
		{Addr: addr, W: []byte{0x01}, R: []byte{0xE1, b2 | 0x20}}, // OS reads 1: done
	}
}

type sleeps []time.Duration

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	*s = append(*s, d)
	return nil
}

func TestSense(t *testing.T) {
	tests := []struct {
		name     string
		extended bool
		reg      []byte // temperature register, datasheet tables 7-4 and 7-5
		want     float64
		wantErr  error
	}{
		{"12-bit 25 C", false, []byte{0x19, 0x00}, 25, nil},
		{"12-bit 127.9375 C", false, []byte{0x7F, 0xF0}, 127.9375, nil},
		{"12-bit 0.25 C", false, []byte{0x00, 0x40}, 0.25, nil},
		{"12-bit -0.25 C", false, []byte{0xFF, 0xC0}, -0.25, nil},
		{"12-bit -25 C", false, []byte{0xE7, 0x00}, -25, nil},
		{"12-bit -55 C", false, []byte{0xC9, 0x00}, -55, nil},
		{"13-bit 150 C", true, []byte{0x4B, 0x01}, 150, nil},
		{"13-bit 128 C", true, []byte{0x40, 0x01}, 128, nil},
		{"13-bit 100 C", true, []byte{0x32, 0x01}, 100, nil},
		{"13-bit -55 C", true, []byte{0xE4, 0x81}, -55, nil},
		{"13-bit 150.0625 C", true, []byte{0x4B, 0x09}, 0, chip.ErrRange},
		{"12-bit below -55 C", false, []byte{0x80, 0x00}, 0, chip.ErrRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops := append(setup(tt.extended), oneShot(tt.extended)...)
			ops = append(ops, i2ctest.IO{Addr: addr, W: []byte{0x00}, R: tt.reg}) // read temperature
			bus := &i2ctest.Playback{Ops: ops, DontPanic: true}
			d, err := New(bus, addr, &Opts{Extended: tt.extended})
			if err != nil {
				t.Fatal(err)
			}
			var s sleeps
			d.sleep = s.sleep
			got, err := d.Sense(context.Background())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Sense = %v, %v; want %v", got, err, tt.wantErr)
				}
			} else if err != nil || got != tt.want {
				t.Fatalf("Sense = %v, %v; want %v", got, err, tt.want)
			}
			if len(s) != 1 || s[0] != ConversionTime {
				t.Errorf("slept %v, want one conversion time %v", s, ConversionTime)
			}
			if err := bus.Close(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestConversionTiming: a conversion still running when the driver first
// looks (OS=0) is waited for, and one that never ends is an error.
func TestConversionTiming(t *testing.T) {
	busy := i2ctest.IO{Addr: addr, W: []byte{0x01}, R: []byte{0x61, 0xB0}} // OS reads 0: converting
	t.Run("late", func(t *testing.T) {
		ops := append(setup(true),
			i2ctest.IO{Addr: addr, W: []byte{0x01, 0xE1, 0x90}},
			busy,
			i2ctest.IO{Addr: addr, W: []byte{0x01}, R: []byte{0xE1, 0xB0}},
			i2ctest.IO{Addr: addr, W: []byte{0x00}, R: []byte{0x0C, 0x81}}, // 13-bit 0x190: 25 C
		)
		bus := &i2ctest.Playback{Ops: ops, DontPanic: true}
		d, err := New(bus, addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		var s sleeps
		d.sleep = s.sleep
		got, err := d.Sense(context.Background())
		if err != nil || got != 25 {
			t.Fatalf("Sense = %v, %v; want 25", got, err)
		}
		if len(s) != 2 || s[0] != 35*time.Millisecond || s[1] <= 0 {
			t.Errorf("slept %v", s)
		}
	})
	t.Run("never", func(t *testing.T) {
		ops := append(setup(true), i2ctest.IO{Addr: addr, W: []byte{0x01, 0xE1, 0x90}}, busy, busy, busy)
		bus := &i2ctest.Playback{Ops: ops, DontPanic: true}
		d, err := New(bus, addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		d.sleep = (&sleeps{}).sleep
		if _, err := d.Sense(context.Background()); !errors.Is(err, chip.ErrNotReady) {
			t.Fatalf("Sense err = %v, want ErrNotReady", err)
		}
	})
}

func TestNACK(t *testing.T) {
	t.Run("probe", func(t *testing.T) {
		// No device acknowledges: the playback has nothing to answer.
		_, err := New(&i2ctest.Playback{DontPanic: true}, addr, nil)
		if err == nil || chip.Class(err) != "bus" {
			t.Fatalf("New = %v, want a bus error", err)
		}
	})
	t.Run("temperature read", func(t *testing.T) {
		bus := &i2ctest.Playback{Ops: append(setup(true), oneShot(true)...), DontPanic: true}
		d, err := New(bus, addr, nil)
		if err != nil {
			t.Fatal(err)
		}
		d.sleep = (&sleeps{}).sleep
		got, err := d.Sense(context.Background())
		if err == nil {
			t.Fatalf("Sense = %v with the temperature read NACKed", got)
		}
	})
	t.Run("not a TMP102", func(t *testing.T) {
		bus := &i2ctest.Playback{Ops: []i2ctest.IO{{Addr: addr, W: []byte{0x01}, R: []byte{0x00, 0x00}}}, DontPanic: true}
		if _, err := New(bus, addr, nil); !errors.Is(err, chip.ErrID) {
			t.Fatalf("New = %v, want ErrID", err)
		}
	})
}

func TestSenseCanceled(t *testing.T) {
	bus := &i2ctest.Playback{Ops: append(setup(true), i2ctest.IO{Addr: addr, W: []byte{0x01, 0xE1, 0x90}}), DontPanic: true}
	d, err := New(bus, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Sense(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sense = %v, want context.Canceled", err)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(byte(0x19), byte(0x00))
	f.Add(byte(0x96), byte(0x01))
	f.Add(byte(0xE4), byte(0x81))
	f.Fuzz(func(t *testing.T, hi, lo byte) {
		v, err := Decode([2]byte{hi, lo})
		if err != nil {
			if !errors.Is(err, chip.ErrRange) {
				t.Fatalf("Decode error %v is not ErrRange", err)
			}
			return
		}
		if math.IsNaN(v) || v < MinTemp || v > MaxTempExtended {
			t.Fatalf("Decode(%02X%02X) = %v outside the sensor's range", hi, lo, v)
		}
		if math.Mod(v, 0.0625) != 0 {
			t.Fatalf("Decode(%02X%02X) = %v is not a multiple of 0.0625", hi, lo, v)
		}
	})
}
