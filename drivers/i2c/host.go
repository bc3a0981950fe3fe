package i2c

import (
	"errors"
	"fmt"
	"sync"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/host/v3"
)

// OpenBus opens a Linux I²C bus through periph.io's host drivers:
// host.Init, then i2creg.Open. name is the device path (/dev/i2c-1), the
// periph name (I2C1) or the bus number (1). The caller owns the bus and
// closes it. This is the only place Emberwatch touches I²C hardware.
func OpenBus(name string) (i2c.BusCloser, error) {
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("i2c: periph host init: %w", err)
	}
	b, err := i2creg.Open(name)
	if err != nil {
		return nil, fmt.Errorf("i2c: open bus %q: %w", name, err)
	}
	return b, nil
}

// HostBuses opens the host's buses on first use, through OpenBus, and
// keeps them open for every device until Close. The zero value is ready;
// it is safe for concurrent use.
type HostBuses struct {
	mu     sync.Mutex
	open   map[string]i2c.BusCloser
	opener func(name string) (i2c.BusCloser, error)
}

// Bus returns the bus called name, opening it the first time.
func (h *HostBuses) Bus(name string) (i2c.Bus, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if b, ok := h.open[name]; ok {
		return b, nil
	}
	open := h.opener
	if open == nil {
		open = OpenBus
	}
	b, err := open(name)
	if err != nil {
		return nil, err
	}
	if h.open == nil {
		h.open = map[string]i2c.BusCloser{}
	}
	h.open[name] = b
	return b, nil
}

// Close closes every bus opened so far.
func (h *HostBuses) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	var errs []error
	for name, b := range h.open {
		if err := b.Close(); err != nil {
			errs = append(errs, fmt.Errorf("i2c: close bus %q: %w", name, err))
		}
	}
	h.open = nil
	return errors.Join(errs...)
}
