package modbus

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/goburrow/serial"
)

// serialPoll is how long one read of the serial port blocks before the
// read deadline is checked again.
const serialPoll = 2 * time.Millisecond

// SerialConfig is the line setting of an RTU bus on a serial port.
type SerialConfig struct {
	// Device is the port's path, e.g. /dev/ttyUSB0.
	Device string
	// Baud is the line speed; default 19200.
	Baud int
	// DataBits is 7 or 8 (default 8).
	DataBits int
	// Parity is N, E (default) or O.
	Parity string
	// StopBits is 1 or 2; default 1, or 2 without parity as the Modbus
	// serial line specification asks.
	StopBits int
}

func (c SerialConfig) withDefaults() SerialConfig {
	if c.Baud == 0 {
		c.Baud = 19200
	}
	if c.DataBits == 0 {
		c.DataBits = 8
	}
	if c.Parity == "" {
		c.Parity = "E"
	}
	if c.StopBits == 0 {
		c.StopBits = 1
		if c.Parity == "N" {
			c.StopBits = 2
		}
	}
	return c
}

// serialConn gives a goburrow serial port read deadlines: goburrow's port
// only has a fixed per-read timeout, so reads poll it in short steps.
type serialConn struct {
	port serial.Port

	mu       sync.Mutex
	deadline time.Time
}

// openSerial opens and configures the port.
func openSerial(c SerialConfig) (*serialConn, error) {
	c = c.withDefaults()
	p, err := serial.Open(&serial.Config{
		Address:  c.Device,
		BaudRate: c.Baud,
		DataBits: c.DataBits,
		StopBits: c.StopBits,
		Parity:   c.Parity,
		Timeout:  serialPoll,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", c.Device, err)
	}
	return &serialConn{port: p}, nil
}

func (s *serialConn) Read(b []byte) (int, error) {
	for {
		n, err := s.port.Read(b)
		if n > 0 || (err != nil && !errors.Is(err, serial.ErrTimeout)) {
			return n, err
		}
		s.mu.Lock()
		d := s.deadline
		s.mu.Unlock()
		if !d.IsZero() && !time.Now().Before(d) {
			return 0, os.ErrDeadlineExceeded
		}
	}
}

func (s *serialConn) Write(b []byte) (int, error) { return s.port.Write(b) }

func (s *serialConn) Close() error { return s.port.Close() }

// SetReadDeadline sets when Read gives up with os.ErrDeadlineExceeded.
func (s *serialConn) SetReadDeadline(t time.Time) error {
	s.mu.Lock()
	s.deadline = t
	s.mu.Unlock()
	return nil
}
