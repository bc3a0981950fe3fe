package sht4x

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

// probe reads the serial number 0x12345678: command 0x89, then two words
// with their CRCs.
var probe = []i2ctest.IO{
	{Addr: addr, W: []byte{0x89}},
	{Addr: addr, R: []byte{0x12, 0x34, 0x37, 0x56, 0x78, 0x7D}},
}

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
		prec    Precision
		cmd     byte
		wait    time.Duration
		read    []byte
		wantT   float64
		wantRH  float64
		wantErr error
	}{
		// 0x6666: 25.0 °C; 0x72B0 = 29360: -6 + 125 * 29360 / 65535 = 50.0 %RH.
		{"25 C 50 %RH", High, 0xFD, 8300 * time.Microsecond, []byte{0x66, 0x66, 0x93, 0x72, 0xB0, 0xDC}, 25, 50, nil},
		{"-20 C medium", Medium, 0xF6, 4500 * time.Microsecond, append(word(0x2492), word(0x72B0)...), -20, 50, nil},
		{"120 C low", Low, 0xE0, 1600 * time.Microsecond, append(word(0xF15E), word(0x72B0)...), 120, 50, nil},
		{"RH below 0 cropped", High, 0xFD, 8300 * time.Microsecond, append(word(0x6666), word(0x0000)...), 25, 0, nil},
		{"RH above 100 cropped", High, 0xFD, 8300 * time.Microsecond, append(word(0x6666), word(0xFFFF)...), 25, 100, nil},
		{"-41 C", High, 0xFD, 8300 * time.Microsecond, append(word(0x05DA), word(0x72B0)...), 0, 0, chip.ErrRange},
		{"126 C", High, 0xFD, 8300 * time.Microsecond, append(word(0xFA25), word(0x72B0)...), 0, 0, chip.ErrRange},
		{"humidity CRC", High, 0xFD, 8300 * time.Microsecond, []byte{0x66, 0x66, 0x93, 0x72, 0xB0, 0xDD}, 0, 0, chip.ErrCRC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops := append(append([]i2ctest.IO{}, probe...),
				i2ctest.IO{Addr: addr, W: []byte{tt.cmd}}, // measure T & RH
				i2ctest.IO{Addr: addr, R: tt.read},        // after the measurement duration
			)
			bus := &i2ctest.Playback{Ops: ops, DontPanic: true}
			d, err := New(bus, addr, &Opts{Precision: tt.prec})
			if err != nil {
				t.Fatal(err)
			}
			if d.Serial() != 0x12345678 {
				t.Errorf("serial 0x%08X", d.Serial())
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
	bad := &i2ctest.Playback{Ops: []i2ctest.IO{probe[0], {Addr: addr, R: []byte{0x12, 0x34, 0x37, 0x56, 0x78, 0x00}}}, DontPanic: true}
	if _, err := New(bad, addr, nil); !errors.Is(err, chip.ErrCRC) {
		t.Fatalf("New with a bad serial CRC = %v, want ErrCRC", err)
	}
	bus := &i2ctest.Playback{Ops: append(append([]i2ctest.IO{}, probe...), i2ctest.IO{Addr: addr, W: []byte{0xFD}}), DontPanic: true}
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
	f.Add([]byte{0x66, 0x66, 0x93, 0x72, 0xB0, 0xDC})
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
