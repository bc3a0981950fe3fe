package modbussim

import (
	"fmt"
	"time"

	mb "github.com/simonvetter/modbus"
)

// FaultKind is what a faulty slave does.
type FaultKind int

// The faults a slave can be given.
const (
	// NoFault answers every request normally.
	NoFault FaultKind = iota
	// NoReply hears requests but never answers: the client times out.
	NoReply
	// Exception answers exception Code to reads touching From..To.
	Exception
	// CloseMidReply sends the first half of the reply, then closes the
	// connection (TCP, RTU over TCP). On a pty, which cannot be closed,
	// the rest of the frame is never sent.
	CloseMidReply
	// LateReply answers after Delay, so that a client that timed out and
	// asked again reads it as the answer to its next request.
	LateReply
	// Dead is a slave gone from the bus: it hears nothing, answers
	// nothing, and its Requests counter stays still while the other slaves
	// on the line keep answering.
	Dead
)

var kindNames = [...]string{"none", "no-reply", "exception", "close-mid-reply", "late-reply", "dead"}

// String returns the fault's name as the command line spells it.
func (k FaultKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// ParseFaultKind returns the FaultKind named s (as String spells it).
func ParseFaultKind(s string) (FaultKind, error) {
	for i, n := range kindNames {
		if n == s {
			return FaultKind(i), nil
		}
	}
	return NoFault, fmt.Errorf("unknown fault %q (want one of %v)", s, kindNames)
}

// Fault is a slave's misbehaviour. The zero Fault is a healthy slave.
type Fault struct {
	// Kind is what the slave does.
	Kind FaultKind
	// Code is the exception code of an Exception fault: 1-6, 8, 10 or 11.
	Code byte
	// From and To bound, inclusive, the addresses an Exception fault
	// covers in every table; To 0 means to the end of the address space.
	From, To uint16
	// Delay is how late a LateReply answers.
	Delay time.Duration
	// Times limits the fault to that many requests, after which the slave
	// is healthy again; 0 keeps it until the next SetFault.
	Times int
}

func (f Fault) to() uint16 {
	if f.To == 0 {
		return 0xFFFF
	}
	return f.To
}

// exceptionErr maps exception codes to the errors with which a
// github.com/simonvetter/modbus request handler makes the server send them.
var exceptionErr = map[byte]error{
	1:  mb.ErrIllegalFunction,
	2:  mb.ErrIllegalDataAddress,
	3:  mb.ErrIllegalDataValue,
	4:  mb.ErrServerDeviceFailure,
	5:  mb.ErrAcknowledge,
	6:  mb.ErrServerDeviceBusy,
	8:  mb.ErrMemoryParityError,
	10: mb.ErrGWPathUnavailable,
	11: mb.ErrGWTargetFailedToRespond,
}

// exceptionCode is the inverse of exceptionErr; other errors are a server
// device failure (4), as in github.com/simonvetter/modbus.
func exceptionCode(err error) byte {
	for c, e := range exceptionErr {
		if e == err {
			return c
		}
	}
	return 4
}

// SetFault gives the slave fault f from its next request on; Fault{}
// heals it. It fails on an exception code the Modbus TCP server cannot
// send, on To < From, and on a LateReply without a delay.
func (s *Sim) SetFault(f Fault) error {
	switch f.Kind {
	case NoFault, NoReply, CloseMidReply, Dead:
	case Exception:
		if _, ok := exceptionErr[f.Code]; !ok {
			return fmt.Errorf("modbussim %s: exception code %d not supported (1-6, 8, 10, 11)", s.name, f.Code)
		}
		if f.To != 0 && f.To < f.From {
			return fmt.Errorf("modbussim %s: exception range %d..%d is empty", s.name, f.From, f.To)
		}
	case LateReply:
		if f.Delay <= 0 {
			return fmt.Errorf("modbussim %s: late reply needs a delay", s.name)
		}
	default:
		return fmt.Errorf("modbussim %s: unknown fault kind %d", s.name, f.Kind)
	}
	s.mu.Lock()
	s.fault = f
	s.mu.Unlock()
	s.log.Info("modbussim: fault set", "device", s.name, "fault", f.Kind.String())
	return nil
}

// Fault returns the slave's current fault (what is left of it, for a
// fault limited by Times).
func (s *Sim) Fault() Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fault
}
