package modbus

import (
	"errors"
	"fmt"
	"net"
	"os"
)

// ErrTimeout marks a request that got no complete answer within its
// timeout. Errors wrap it; test with errors.Is.
var ErrTimeout = errors.New("timeout")

// ErrBackoff marks a poll that was skipped because the device failed its
// recent polls and is being retried with exponential backoff.
var ErrBackoff = errors.New("backing off")

// Modbus exception codes (Modbus Application Protocol V1.1b3, section 7).
const (
	ExIllegalFunction    byte = 1
	ExIllegalAddress     byte = 2
	ExIllegalValue       byte = 3
	ExDeviceFailure      byte = 4
	ExAcknowledge        byte = 5
	ExDeviceBusy         byte = 6
	ExMemoryParity       byte = 8
	ExGatewayPath        byte = 10
	ExGatewayNoResponse  byte = 11
	functionExceptionBit      = 0x80
)

// ExceptionError is a Modbus exception response: the device understood
// the request and refused it.
type ExceptionError struct {
	// Device names the device (or the bus address when the client alone
	// answered for it).
	Device string
	// Unit is the unit (slave) id asked.
	Unit byte
	// Function is the request's function code (3 for holding registers ...).
	Function byte
	// Address and Count are the block asked for.
	Address, Count uint16
	// Code is the exception code (ExIllegalAddress, ExDeviceBusy ...).
	Code byte
}

// Name returns the exception's name from the Modbus specification.
func (e *ExceptionError) Name() string {
	switch e.Code {
	case ExIllegalFunction:
		return "illegal function"
	case ExIllegalAddress:
		return "illegal data address"
	case ExIllegalValue:
		return "illegal data value"
	case ExDeviceFailure:
		return "server device failure"
	case ExAcknowledge:
		return "acknowledge"
	case ExDeviceBusy:
		return "server device busy"
	case ExMemoryParity:
		return "memory parity error"
	case ExGatewayPath:
		return "gateway path unavailable"
	case ExGatewayNoResponse:
		return "gateway target device failed to respond"
	}
	return "unknown exception"
}

func (e *ExceptionError) Error() string {
	return fmt.Sprintf("modbus %s unit %d: function %d address %d count %d: exception %d (%s)",
		e.Device, e.Unit, e.Function, e.Address, e.Count, e.Code, e.Name())
}

// Busy reports whether the exception says to try again later (code 6).
func (e *ExceptionError) Busy() bool { return e.Code == ExDeviceBusy }

// isTimeout reports whether err is a deadline expiry of a socket, a port
// or our own.
func isTimeout(err error) bool {
	if errors.Is(err, ErrTimeout) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
