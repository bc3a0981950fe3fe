package chip

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Error classes. Chip drivers wrap them (with %w) together with the chip
// name and the register, so callers can count errors by class with
// errors.Is. A bus error (a NACK, a short transfer, a closed bus) is any
// error that matches none of them.
var (
	// ErrCRC means a checksum sent by the chip did not match its data.
	ErrCRC = errors.New("CRC mismatch")
	// ErrRange means the chip reported a value outside its physical
	// measurement range, or a sentinel that means "no measurement".
	ErrRange = errors.New("value outside the sensor's physical range")
	// ErrNotReady means a conversion did not complete within the time the
	// datasheet allows.
	ErrNotReady = errors.New("conversion not ready")
	// ErrID means the chip at the address did not identify as the expected
	// part.
	ErrID = errors.New("unexpected chip identity")
)

// Class names an error class for counters and logs: "crc", "range",
// "not_ready", "id", "canceled" or "bus".
func Class(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrCRC):
		return "crc"
	case errors.Is(err, ErrRange):
		return "range"
	case errors.Is(err, ErrNotReady):
		return "not_ready"
	case errors.Is(err, ErrID):
		return "id"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	return "bus"
}

// CRC8 is the Sensirion checksum of SHT3x and SHT4x data words: CRC-8 with
// polynomial 0x31 (x^8 + x^5 + x^4 + 1), initial value 0xFF, no reflection
// and no final XOR. CRC8([]byte{0xBE, 0xEF}) is 0x92.
func CRC8(data []byte) byte {
	crc := byte(0xFF)
	for _, b := range data {
		crc ^= b
		for range 8 {
			if crc&0x80 != 0 {
				crc = crc<<1 ^ 0x31
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// CheckWords verifies a Sensirion read of 16-bit words each followed by its
// CRC-8 (MSB, LSB, CRC, MSB, LSB, CRC, ...) and returns the words. The
// error wraps ErrCRC and names the chip and the word.
func CheckWords(name string, b []byte) ([]uint16, error) {
	if len(b)%3 != 0 {
		return nil, fmt.Errorf("%s: read of %d bytes is not whole words with CRC", name, len(b))
	}
	words := make([]uint16, 0, len(b)/3)
	for i := 0; i < len(b); i += 3 {
		if got, want := b[i+2], CRC8(b[i:i+2]); got != want {
			return nil, fmt.Errorf("%s: word %d (0x%02X%02X): CRC 0x%02X, computed 0x%02X: %w", name, i/3, b[i], b[i+1], got, want, ErrCRC)
		}
		words = append(words, uint16(b[i])<<8|uint16(b[i+1]))
	}
	return words, nil
}

// SleepFunc waits for d or until ctx is done. Drivers hold one so that
// tests can check conversion times without waiting for them.
type SleepFunc func(ctx context.Context, d time.Duration) error

// Sleep waits for d, returning early with ctx.Err() when ctx is done.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
