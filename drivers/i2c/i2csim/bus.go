package i2csim

import (
	"errors"
	"fmt"
	"sync"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
)

// ErrNACK is returned by Tx when no chip acknowledges the address.
var ErrNACK = errors.New("i2csim: address not acknowledged")

// Chip is a simulated device: it handles one transaction, a write of w
// then a read into r, with the bus lock held.
type Chip interface {
	Tx(w, r []byte) error
}

// Bus is a simulated I²C bus. The zero value is not usable; call NewBus.
type Bus struct {
	name string

	mu    sync.Mutex
	chips map[uint16]Chip
	nack  map[uint16]bool
	txs   int
}

// NewBus returns an empty bus called name (e.g. "/dev/i2c-1").
func NewBus(name string) *Bus {
	return &Bus{name: name, chips: map[uint16]Chip{}, nack: map[uint16]bool{}}
}

// Add attaches c at addr, replacing any chip there.
func (b *Bus) Add(addr uint16, c Chip) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.chips[addr] = c
}

// SetNACK makes the chip at addr stop (true) or resume (false)
// acknowledging, as if unplugged.
func (b *Bus) SetNACK(addr uint16, nack bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.nack[addr] = nack
}

// Transactions returns the number of transactions so far.
func (b *Bus) Transactions() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.txs
}

// Tx implements i2c.Bus.
func (b *Bus) Tx(addr uint16, w, r []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.txs++
	c, ok := b.chips[addr]
	if !ok || b.nack[addr] {
		return fmt.Errorf("%s: 0x%02X: %w", b.name, addr, ErrNACK)
	}
	return c.Tx(w, r)
}

// SetSpeed implements i2c.Bus; the simulation has no clock.
func (b *Bus) SetSpeed(physic.Frequency) error { return nil }

// String returns the bus name.
func (b *Bus) String() string { return b.name }

// Close implements i2c.BusCloser; the bus stays usable.
func (b *Bus) Close() error { return nil }

var _ i2c.BusCloser = &Bus{}

// value is a float guarded by the bus lock or its own.
type value struct {
	mu sync.Mutex
	v  float64
}

func (v *value) set(x float64) { v.mu.Lock(); v.v = x; v.mu.Unlock() }
func (v *value) get() float64  { v.mu.Lock(); defer v.mu.Unlock(); return v.v }
