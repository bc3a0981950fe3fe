package modbussim

import (
	"encoding/binary"
	"fmt"
	"sort"
	"sync"

	"github.com/emberwatch/emberwatch/drivers/modbus"
	mb "github.com/simonvetter/modbus"
)

// Bus is a set of slaves by unit id sharing one line: an RS-485 bus served
// with ServeRTU or ServeRTUOverTCP, or a Modbus TCP gateway served with
// ServeTCP. Build it with NewBus and Add.
type Bus struct {
	mu     sync.RWMutex
	slaves map[uint8]*Sim
	// every, when set, answers every unit id (a Sim served on its own).
	every *Sim
}

// NewBus returns an empty bus.
func NewBus() *Bus { return &Bus{slaves: map[uint8]*Sim{}} }

// single returns a bus on which s answers every unit id.
func single(s *Sim) *Bus { return &Bus{slaves: map[uint8]*Sim{}, every: s} }

// Add puts s on the bus at unit id unit (1-247).
func (b *Bus) Add(unit uint8, s *Sim) error {
	if unit < 1 || unit > 247 {
		return fmt.Errorf("modbussim: unit id %d out of range 1..247", unit)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, dup := b.slaves[unit]; dup {
		return fmt.Errorf("modbussim: unit id %d already on the bus", unit)
	}
	b.slaves[unit] = s
	return nil
}

// Sim returns the slave at unit id unit, or nil.
func (b *Bus) Sim(unit uint8) *Sim {
	s, _ := b.lookup(unit)
	return s
}

// Units returns the unit ids on the bus in increasing order.
func (b *Bus) Units() []uint8 {
	b.mu.RLock()
	defer b.mu.RUnlock()
	var u []uint8
	for id := range b.slaves {
		u = append(u, id)
	}
	sort.Slice(u, func(i, j int) bool { return u[i] < u[j] })
	return u
}

// SetFault sets the fault of the slave at unit id unit (see Sim.SetFault).
func (b *Bus) SetFault(unit uint8, f Fault) error {
	s, ok := b.lookup(unit)
	if !ok {
		return fmt.Errorf("modbussim: no slave at unit id %d", unit)
	}
	return s.SetFault(f)
}

// Refresh refreshes every slave on the bus (see Sim.Refresh).
func (b *Bus) Refresh() error {
	b.mu.RLock()
	sims := make([]*Sim, 0, len(b.slaves)+1)
	for _, s := range b.slaves {
		sims = append(sims, s)
	}
	if b.every != nil {
		sims = append(sims, b.every)
	}
	b.mu.RUnlock()
	for _, s := range sims {
		if err := s.Refresh(); err != nil {
			return err
		}
	}
	return nil
}

func (b *Bus) lookup(unit uint8) (*Sim, bool) {
	if b.every != nil {
		return b.every, true
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	s, ok := b.slaves[unit]
	return s, ok
}

// handler gives a Bus the github.com/simonvetter/modbus RequestHandler
// interface. The TCP server calls it directly; the RTU server decodes its
// frames and calls it too, so both answer with the same register
// semantics.
type handler struct{ b *Bus }

var _ mb.RequestHandler = handler{}

func (h handler) slave(unit uint8) (*Sim, error) {
	if s, ok := h.b.lookup(unit); ok {
		return s, nil
	}
	// A gateway whose target does not answer.
	return nil, mb.ErrGWTargetFailedToRespond
}

// HandleCoils serves function codes 1, 5 and 15.
func (h handler) HandleCoils(req *mb.CoilsRequest) ([]bool, error) {
	s, err := h.slave(req.UnitId)
	if err != nil {
		return nil, err
	}
	if req.IsWrite {
		return nil, s.write()
	}
	return s.readBits(modbus.Coil, req.Addr, req.Quantity)
}

// HandleDiscreteInputs serves function code 2.
func (h handler) HandleDiscreteInputs(req *mb.DiscreteInputsRequest) ([]bool, error) {
	s, err := h.slave(req.UnitId)
	if err != nil {
		return nil, err
	}
	return s.readBits(modbus.Discrete, req.Addr, req.Quantity)
}

// HandleHoldingRegisters serves function codes 3, 6 and 16.
func (h handler) HandleHoldingRegisters(req *mb.HoldingRegistersRequest) ([]uint16, error) {
	s, err := h.slave(req.UnitId)
	if err != nil {
		return nil, err
	}
	if req.IsWrite {
		return nil, s.write()
	}
	return s.readRegisters(modbus.Holding, req.Addr, req.Quantity)
}

// HandleInputRegisters serves function code 4.
func (h handler) HandleInputRegisters(req *mb.InputRegistersRequest) ([]uint16, error) {
	s, err := h.slave(req.UnitId)
	if err != nil {
		return nil, err
	}
	return s.readRegisters(modbus.Input, req.Addr, req.Quantity)
}

// pdu answers one request PDU (function code and data) addressed to unit
// through the handler, and returns the response PDU: the function code and
// its data, or the function code with bit 7 set and an exception code.
func (h handler) pdu(unit uint8, fc byte, data []byte) []byte {
	exc := func(err error) []byte { return []byte{fc | 0x80, exceptionCode(err)} }
	switch fc {
	case 1, 2, 3, 4:
		if len(data) != 4 {
			return exc(mb.ErrIllegalDataValue)
		}
		addr := binary.BigEndian.Uint16(data)
		qty := binary.BigEndian.Uint16(data[2:])
		limit := uint16(modbus.MaxRegisters)
		if fc <= 2 {
			limit = modbus.MaxBits
		}
		if qty == 0 || qty > limit {
			return exc(mb.ErrIllegalDataValue)
		}
		if uint32(addr)+uint32(qty) > 0x10000 {
			return exc(mb.ErrIllegalDataAddress)
		}
		if fc <= 2 {
			var bits []bool
			var err error
			if fc == 1 {
				bits, err = h.HandleCoils(&mb.CoilsRequest{UnitId: unit, Addr: addr, Quantity: qty})
			} else {
				bits, err = h.HandleDiscreteInputs(&mb.DiscreteInputsRequest{UnitId: unit, Addr: addr, Quantity: qty})
			}
			if err != nil {
				return exc(err)
			}
			out := make([]byte, 2+(len(bits)+7)/8)
			out[0], out[1] = fc, byte((len(bits)+7)/8)
			for i, v := range bits {
				if v {
					out[2+i/8] |= 1 << (i % 8)
				}
			}
			return out
		}
		var regs []uint16
		var err error
		if fc == 3 {
			regs, err = h.HandleHoldingRegisters(&mb.HoldingRegistersRequest{UnitId: unit, Addr: addr, Quantity: qty})
		} else {
			regs, err = h.HandleInputRegisters(&mb.InputRegistersRequest{UnitId: unit, Addr: addr, Quantity: qty})
		}
		if err != nil {
			return exc(err)
		}
		out := make([]byte, 2+2*len(regs))
		out[0], out[1] = fc, byte(2*len(regs))
		for i, r := range regs {
			binary.BigEndian.PutUint16(out[2+2*i:], r)
		}
		return out
	case 5, 6, 15, 16:
		s, err := h.slave(unit)
		if err == nil {
			err = s.write()
		}
		return exc(err)
	}
	return exc(mb.ErrIllegalFunction)
}
