package lm75

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

// probe is New's sequence on a chip that is converting: read config, 0x00.
var probe = i2ctest.IO{Addr: addr, W: []byte{0x01}, R: []byte{0x00}}

func TestSense(t *testing.T) {
	tests := []struct {
		name    string
		bits    int
		reg     []byte // LM75A table 9 (11-bit), LM75 table 1 (9-bit)
		want    float64
		wantErr error
	}{
		{"9-bit +125 C", 9, []byte{0x7D, 0x00}, 125, nil},
		{"9-bit +25 C", 9, []byte{0x19, 0x00}, 25, nil},
		{"9-bit +0.5 C", 9, []byte{0x00, 0x80}, 0.5, nil},
		{"9-bit -0.5 C", 9, []byte{0xFF, 0x80}, -0.5, nil},
		{"9-bit -25 C", 9, []byte{0xE7, 0x00}, -25, nil},
		{"9-bit -55 C", 9, []byte{0xC9, 0x00}, -55, nil},
		{"9-bit ignores LM75A low bits", 9, []byte{0x19, 0x60}, 25, nil},
		{"11-bit +125 C", 11, []byte{0x7D, 0x00}, 125, nil},
		{"11-bit +25.125 C", 11, []byte{0x19, 0x20}, 25.125, nil},
		{"11-bit +0.125 C", 11, []byte{0x00, 0x20}, 0.125, nil},
		{"11-bit -0.125 C", 11, []byte{0xFF, 0xE0}, -0.125, nil},
		{"11-bit -54.875 C", 11, []byte{0xC9, 0x20}, -54.875, nil},
		{"11-bit 126 C", 11, []byte{0x7E, 0x00}, 0, chip.ErrRange},
		{"9-bit -56 C", 9, []byte{0xC8, 0x00}, 0, chip.ErrRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bus := &i2ctest.Playback{Ops: []i2ctest.IO{
				probe,
				{Addr: addr, W: []byte{0x00}, R: tt.reg}, // read temperature
			}, DontPanic: true}
			d, err := New(bus, addr, &Opts{Resolution: tt.bits})
			if err != nil {
				t.Fatal(err)
			}
			got, err := d.Sense(context.Background())
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Sense = %v, %v; want %v", got, err, tt.wantErr)
				}
			} else if err != nil || got != tt.want {
				t.Fatalf("Sense = %v, %v; want %v", got, err, tt.want)
			}
			if err := bus.Close(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestWakeUp: a chip left in shutdown (B0=1) is woken and given one
// conversion period before its register is trusted.
func TestWakeUp(t *testing.T) {
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: addr, W: []byte{0x01}, R: []byte{0x19}},       // config: B0 shutdown, B4:B3 fault queue 6
		{Addr: addr, W: []byte{0x01, 0x18}},                  // clear B0, keep the rest
		{Addr: addr, W: []byte{0x00}, R: []byte{0x19, 0x00}}, // first read, after 100 ms
	}, DontPanic: true}
	var slept []time.Duration
	sleep := func(_ context.Context, d time.Duration) error {
		if d > 0 {
			slept = append(slept, d)
		}
		return nil
	}
	bus.Ops = append(bus.Ops, i2ctest.IO{Addr: addr, W: []byte{0x00}, R: []byte{0x19, 0x00}})
	d, err := New(bus, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.sleep = sleep
	for range 2 {
		if v, err := d.Sense(context.Background()); err != nil || v != 25 {
			t.Fatalf("Sense = %v, %v", v, err)
		}
	}
	if len(slept) != 1 || slept[0] != ConversionTime {
		t.Errorf("slept %v, want one conversion period %v before the first read only", slept, ConversionTime)
	}
	if err := bus.Close(); err != nil {
		t.Error(err)
	}
}

func TestNACK(t *testing.T) {
	if _, err := New(&i2ctest.Playback{DontPanic: true}, addr, nil); chip.Class(err) != "bus" {
		t.Fatalf("New on a silent bus = %v, want a bus error", err)
	}
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{probe}, DontPanic: true}
	d, err := New(bus, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := d.Sense(context.Background()); err == nil {
		t.Fatalf("Sense = %v with the read NACKed", v)
	}
	bad := &i2ctest.Playback{Ops: []i2ctest.IO{{Addr: addr, W: []byte{0x01}, R: []byte{0xFF}}}, DontPanic: true}
	if _, err := New(bad, addr, nil); !errors.Is(err, chip.ErrID) {
		t.Fatalf("New on 0xFF config = %v, want ErrID", err)
	}
	if _, err := New(bad, addr, &Opts{Resolution: 10}); err == nil {
		t.Fatal("10-bit resolution accepted")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(byte(0x19), byte(0x20), true)
	f.Fuzz(func(t *testing.T, hi, lo byte, eleven bool) {
		bits, step := 9, 0.5
		if eleven {
			bits, step = 11, 0.125
		}
		v, err := Decode([2]byte{hi, lo}, bits)
		if err != nil {
			if !errors.Is(err, chip.ErrRange) {
				t.Fatal(err)
			}
			return
		}
		if v < MinTemp || v > MaxTemp || math.Mod(v, step) != 0 {
			t.Fatalf("Decode(%02X%02X, %d) = %v", hi, lo, bits, v)
		}
	})
}
