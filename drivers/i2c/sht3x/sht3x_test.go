package sht3x

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers/i2c/chip"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

const addr = 0x44

// probe reads the status register 0xF32D: 0x8010 (alert pending, reset
// detected), CRC 0xE1.
var probe = i2ctest.IO{Addr: addr, W: []byte{0xF3, 0x2D}, R: []byte{0x80, 0x10, 0xE1}}

// word is a data word followed by its CRC, as the chip sends it.
func word(v uint16) []byte {
	b := []byte{byte(v >> 8), byte(v)}
	return append(b, chip.CRC8(b))
}

type sleeps []time.Duration

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	*s = append(*s, d)
	return nil
}

func TestSense(t *testing.T) {
	tests := []struct {
		name    string
		rep     Repeatability
		cmd     []byte
		wait    time.Duration
		read    []byte
		wantT   float64
		wantRH  float64
		wantErr error
	}{
		// 0x6666 = 26214: -45 + 175 * 26214 / 65535 = 25.0 °C; 0x8000: 50.0 %RH.
		{"25 C 50 %RH", High, []byte{0x24, 0x00}, 15500 * time.Microsecond, []byte{0x66, 0x66, 0x93, 0x80, 0x00, 0xA2}, 25, 50, nil},
		{"-20 C medium", Medium, []byte{0x24, 0x0B}, 6500 * time.Microsecond, append(word(0x2492), word(0x0000)...), -20, 0, nil},
		{"-39.998 C low", Low, []byte{0x24, 0x16}, 4500 * time.Microsecond, append(word(0x0751), word(0xFFFF)...), -39.998, 100, nil},
		{"120 C", High, []byte{0x24, 0x00}, 15500 * time.Microsecond, append(word(0xF15E), word(0x8000)...), 120, 50, nil},
		{"-41 C", High, []byte{0x24, 0x00}, 15500 * time.Microsecond, append(word(0x05DA), word(0x8000)...), 0, 0, chip.ErrRange},
		{"126 C", High, []byte{0x24, 0x00}, 15500 * time.Microsecond, append(word(0xFA25), word(0x8000)...), 0, 0, chip.ErrRange},
		{"temperature CRC", High, []byte{0x24, 0x00}, 15500 * time.Microsecond, []byte{0x66, 0x66, 0x94, 0x80, 0x00, 0xA2}, 0, 0, chip.ErrCRC},
		{"humidity CRC", High, []byte{0x24, 0x00}, 15500 * time.Microsecond, []byte{0x66, 0x66, 0x93, 0x80, 0x01, 0xA2}, 0, 0, chip.ErrCRC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bus := &i2ctest.Playback{Ops: []i2ctest.IO{
				probe,
				{Addr: addr, W: tt.cmd},  // single shot, clock stretching disabled
				{Addr: addr, R: tt.read}, // after tMEAS: T, CRC, RH, CRC
			}, DontPanic: true}
			d, err := New(bus, addr, &Opts{Repeatability: tt.rep})
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
			} else if err != nil || math.Abs(got.Temperature-tt.wantT) > 0.005 || math.Abs(got.Humidity-tt.wantRH) > 0.005 {
				t.Fatalf("Sense = %+v, %v; want %v °C %v %%", got, err, tt.wantT, tt.wantRH)
			}
			if len(s) != 1 || s[0] != tt.wait {
				t.Errorf("slept %v, want [%v]", s, tt.wait)
			}
			if err := bus.Close(); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestNACK(t *testing.T) {
	if _, err := New(&i2ctest.Playback{DontPanic: true}, addr, nil); chip.Class(err) != "bus" {
		t.Fatalf("New on a silent bus = %v, want a bus error", err)
	}
	bad := &i2ctest.Playback{Ops: []i2ctest.IO{{Addr: addr, W: []byte{0xF3, 0x2D}, R: []byte{0x80, 0x10, 0x00}}}, DontPanic: true}
	if _, err := New(bad, addr, nil); !errors.Is(err, chip.ErrCRC) {
		t.Fatalf("New with a bad status CRC = %v, want ErrCRC", err)
	}
	// The measurement read is NACKed: the chip is still measuring or gone.
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{probe, {Addr: addr, W: []byte{0x24, 0x00}}}, DontPanic: true}
	d, err := New(bus, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.sleep = (&sleeps{}).sleep
	if s, err := d.Sense(context.Background()); err == nil {
		t.Fatalf("Sense = %+v with the read NACKed", s)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte{0x66, 0x66, 0x93, 0x80, 0x00, 0xA2})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) != 6 {
			return
		}
		s, err := Decode([6]byte(b))
		if err != nil {
			if !errors.Is(err, chip.ErrCRC) && !errors.Is(err, chip.ErrRange) {
				t.Fatal(err)
			}
			return
		}
		if s.Temperature < MinTemp || s.Temperature > MaxTemp || s.Humidity < 0 || s.Humidity > 100 {
			t.Fatalf("Decode(% X) = %+v", b, s)
		}
	})
}
