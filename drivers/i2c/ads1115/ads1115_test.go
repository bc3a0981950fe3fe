package ads1115

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

// probe reads the config register at its reset value 0x8583 (table 9-8).
var probe = i2ctest.IO{Addr: addr, W: []byte{0x01}, R: []byte{0x85, 0x83}}

type sleeps []time.Duration

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	*s = append(*s, d)
	return nil
}

func TestRead(t *testing.T) {
	tests := []struct {
		name    string
		opts    Opts
		ch      Channel
		config  []byte // written to the config register
		wait    time.Duration
		conv    []byte // conversion register
		want    float64
		wantErr error
	}{
		// OS=1, MUX=100 (AIN0/GND), PGA=001 (±4.096 V), MODE=1, DR=100
		// (128 SPS), COMP_QUE=11: 0xC383. 0x3000 = 12288: 1.536 V.
		{"AIN0 4.096 V 128 SPS", Opts{Gain: 4.096, DataRate: 128}, AIN0, []byte{0xC3, 0x83}, 8693750 * time.Nanosecond, []byte{0x30, 0x00}, 1.536, nil},
		// Reset values: PGA=010 (±2.048 V), DR=100. MUX=111 (AIN3/GND).
		{"AIN3 defaults", Opts{}, AIN3, []byte{0xF5, 0x83}, 8693750 * time.Nanosecond, []byte{0x00, 0x01}, 2.048 / 32768, nil},
		// Differential AIN0-AIN1 below zero at ±0.256 V, 860 SPS: 0x8BE3.
		{"AIN0-AIN1 negative", Opts{Gain: 0.256, DataRate: 860}, AIN0AIN1, []byte{0x8B, 0xE3}, 1379069 * time.Nanosecond, []byte{0xC0, 0x00}, -0.128, nil},
		{"8 SPS", Opts{Gain: 6.144, DataRate: 8}, AIN1, []byte{0xD1, 0x03}, 137600 * time.Microsecond, []byte{0x40, 0x00}, 3.072, nil},
		{"clipped high", Opts{}, AIN0, []byte{0xC5, 0x83}, 8693750 * time.Nanosecond, []byte{0x7F, 0xFF}, 0, chip.ErrRange},
		{"clipped low", Opts{}, AIN0AIN1, []byte{0x85, 0x83}, 8693750 * time.Nanosecond, []byte{0x80, 0x00}, 0, chip.ErrRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bus := &i2ctest.Playback{Ops: []i2ctest.IO{
				probe,
				{Addr: addr, W: append([]byte{0x01}, tt.config...)},                  // start a single-shot conversion
				{Addr: addr, W: []byte{0x01}, R: []byte{tt.config[0], tt.config[1]}}, // OS=1: done
				{Addr: addr, W: []byte{0x00}, R: tt.conv},                            // conversion register
			}, DontPanic: true}
			d, err := New(bus, addr, &tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var s sleeps
			d.sleep = s.sleep
			got, err := d.Read(context.Background(), tt.ch)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Read = %v, %v; want %v", got, err, tt.wantErr)
				}
			} else if err != nil || math.Abs(got-tt.want) > 1e-9 {
				t.Fatalf("Read = %v, %v; want %v", got, err, tt.want)
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

// TestConversionReady: OS reads 0 while converting; the driver waits and
// polls again, and gives up with ErrNotReady.
func TestConversionReady(t *testing.T) {
	start := i2ctest.IO{Addr: addr, W: []byte{0x01, 0xC5, 0x83}}
	busy := i2ctest.IO{Addr: addr, W: []byte{0x01}, R: []byte{0x45, 0x83}}
	done := i2ctest.IO{Addr: addr, W: []byte{0x01}, R: []byte{0xC5, 0x83}}
	conv := i2ctest.IO{Addr: addr, W: []byte{0x00}, R: []byte{0x10, 0x00}}
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{probe, start, busy, done, conv, start, busy, busy, busy}, DontPanic: true}
	d, err := New(bus, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	var s sleeps
	d.sleep = s.sleep
	if v, err := d.Read(context.Background(), AIN0); err != nil || v != 0.256 {
		t.Fatalf("Read = %v, %v; want 0.256", v, err)
	}
	if len(s) != 2 {
		t.Errorf("slept %v, want a conversion period and one poll interval", s)
	}
	if _, err := d.Read(context.Background(), AIN0); !errors.Is(err, chip.ErrNotReady) {
		t.Fatalf("Read = %v, want ErrNotReady", err)
	}
}

func TestNACK(t *testing.T) {
	if _, err := New(&i2ctest.Playback{DontPanic: true}, addr, nil); chip.Class(err) != "bus" {
		t.Fatalf("New on a silent bus = %v, want a bus error", err)
	}
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{probe, {Addr: addr, W: []byte{0x01, 0xC5, 0x83}}}, DontPanic: true}
	d, err := New(bus, addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.sleep = (&sleeps{}).sleep
	if v, err := d.Read(context.Background(), AIN0); err == nil {
		t.Fatalf("Read = %v with the config read NACKed", v)
	}
}

func TestBadOpts(t *testing.T) {
	for _, o := range []Opts{{Gain: 5}, {DataRate: 100}} {
		if _, err := New(&i2ctest.Playback{DontPanic: true}, addr, &o); err == nil {
			t.Errorf("New accepted %+v", o)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(byte(0x30), byte(0x00), uint8(1))
	f.Fuzz(func(t *testing.T, hi, lo byte, g uint8) {
		fs := gains[int(g)%len(gains)]
		v, err := Decode([2]byte{hi, lo}, fs)
		if err != nil {
			if !errors.Is(err, chip.ErrRange) {
				t.Fatal(err)
			}
			return
		}
		if math.IsNaN(v) || math.Abs(v) >= fs {
			t.Fatalf("Decode(%02X%02X, %g) = %v", hi, lo, fs, v)
		}
	})
}
