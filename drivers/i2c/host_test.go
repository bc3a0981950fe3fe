package i2c

import (
	"errors"
	"testing"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

type closer struct {
	i2ctest.Playback
	closed int
}

func (c *closer) Close() error { c.closed++; return nil }

// TestHostBuses: each bus is opened once, shared, and closed by Close.
func TestHostBuses(t *testing.T) {
	opened := map[string]*closer{}
	h := &HostBuses{opener: func(name string) (i2c.BusCloser, error) {
		if name == "/dev/i2c-9" {
			return nil, errors.New("no such bus")
		}
		c := &closer{}
		opened[name] = c
		return c, nil
	}}
	a, err := h.Bus("/dev/i2c-1")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := h.Bus("/dev/i2c-1")
	if a != b || len(opened) != 1 {
		t.Fatalf("bus opened %d times", len(opened))
	}
	if _, err := h.Bus("/dev/i2c-9"); err == nil {
		t.Fatal("missing bus opened")
	}
	if err := h.Close(); err != nil || opened["/dev/i2c-1"].closed != 1 {
		t.Fatalf("Close = %v, closed %d", err, opened["/dev/i2c-1"].closed)
	}
}
