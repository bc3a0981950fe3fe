package chip

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestCRC8(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want byte
	}{
		// Sensirion SHT3x-DIS datasheet, table 20: CRC(0xBEEF) = 0x92.
		{"datasheet example", []byte{0xBE, 0xEF}, 0x92},
		{"zero word", []byte{0x00, 0x00}, 0x81},
		{"empty", nil, 0xFF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CRC8(tt.in); got != tt.want {
				t.Errorf("CRC8(% X) = 0x%02X, want 0x%02X", tt.in, got, tt.want)
			}
		})
	}
}

func TestCheckWords(t *testing.T) {
	w, err := CheckWords("sht3x", []byte{0xBE, 0xEF, 0x92, 0x00, 0x00, 0x81})
	if err != nil || len(w) != 2 || w[0] != 0xBEEF || w[1] != 0 {
		t.Fatalf("CheckWords = %v, %v", w, err)
	}
	_, err = CheckWords("sht3x", []byte{0xBE, 0xEF, 0x93})
	if !errors.Is(err, ErrCRC) {
		t.Fatalf("bad CRC: err = %v, want ErrCRC", err)
	}
	if _, err := CheckWords("sht3x", []byte{1, 2}); err == nil {
		t.Fatal("short read accepted")
	}
}

func TestClass(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("x: %w", ErrCRC), "crc"},
		{fmt.Errorf("x: %w", ErrRange), "range"},
		{fmt.Errorf("x: %w", ErrNotReady), "not_ready"},
		{fmt.Errorf("x: %w", ErrID), "id"},
		{context.Canceled, "canceled"},
		{errors.New("i2c: NACK"), "bus"},
	}
	for _, tt := range tests {
		if got := Class(tt.err); got != tt.want {
			t.Errorf("Class(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestSleepCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if err := Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep = %v", err)
	}
	if time.Since(start) > time.Second {
		t.Fatal("Sleep ignored the context")
	}
	if err := Sleep(context.Background(), time.Millisecond); err != nil {
		t.Fatal(err)
	}
}

func FuzzCheckWords(f *testing.F) {
	f.Add([]byte{0xBE, 0xEF, 0x92})
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := CheckWords("fuzz", b)
		if err == nil && len(w) != len(b)/3 {
			t.Fatalf("%d words from %d bytes", len(w), len(b))
		}
	})
}
