package modbussim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"
)

// BitsPerChar is the length of one RTU character on the line: a start
// bit, 8 data bits, a parity (or second stop) bit and a stop bit.
const BitsPerChar = 11

// CharTime returns the time one character takes on the line at baud.
func CharTime(baud int) time.Duration {
	return time.Duration(BitsPerChar * int64(time.Second) / int64(baud))
}

// FrameGap returns the silence that ends an RTU frame at baud: 3.5
// characters, and 1.75 ms above 19200 baud, as the Modbus serial line
// specification fixes it.
func FrameGap(baud int) time.Duration {
	if baud > 19200 {
		return 1750 * time.Microsecond
	}
	return CharTime(baud) * 7 / 2
}

// ServeRTU serves s alone, answering every unit id but the broadcast 0,
// with RTU framing on rw at baud (see Bus.ServeRTU).
func (s *Sim) ServeRTU(ctx context.Context, rw io.ReadWriter, baud int) error {
	return single(s).ServeRTU(ctx, rw, baud)
}

// ServeRTU serves the bus with RTU framing on rw, typically the Server end
// of a PTY, until ctx is done or rw fails. A request frame ends at
// FrameGap(baud) of silence; frames with a bad CRC, broadcasts and
// requests for absent unit ids get no answer, as on a real bus. Replies
// are paced at the line's speed, one character every CharTime(baud).
// baud 0 turns pacing off and ends frames at 1.75 ms of silence.
//
// ServeRTU does not close rw. It stops reading when ctx is done if rw has
// a SetReadDeadline method (os.File of a PTY, net.Conn); otherwise its
// reading goroutine ends when rw is closed.
func (b *Bus) ServeRTU(ctx context.Context, rw io.ReadWriter, baud int) error {
	return b.serveRTU(ctx, rw, baud, nil)
}

// ServeRTUOverTCP serves the bus with RTU framing over TCP connections on
// addr (default "127.0.0.1:0"), as a serial device server in front of an
// RS-485 bus does, until ctx is done. It returns the address it listens on.
// Connections are served one transaction at a time each, paced at baud.
func (b *Bus) ServeRTUOverTCP(ctx context.Context, addr string, baud int) (net.Addr, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("modbussim: listen %s: %w", addr, err)
	}
	var mu sync.Mutex
	conns := map[net.Conn]struct{}{}
	go func() {
		<-ctx.Done()
		_ = ln.Close()
		mu.Lock()
		for c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = struct{}{}
			mu.Unlock()
			go func() {
				_ = b.serveRTU(ctx, c, baud, c.Close)
				mu.Lock()
				delete(conns, c)
				mu.Unlock()
				_ = c.Close()
			}()
		}
	}()
	return ln.Addr(), nil
}

// ServeRTUOverTCP serves s alone with RTU framing over TCP (see
// Bus.ServeRTUOverTCP).
func (s *Sim) ServeRTUOverTCP(ctx context.Context, addr string, baud int) (net.Addr, error) {
	return single(s).ServeRTUOverTCP(ctx, addr, baud)
}

// errClosed ends a connection closed by a CloseMidReply fault.
var errClosed = errors.New("closed mid-reply")

type deadliner interface{ SetReadDeadline(time.Time) error }

func (b *Bus) serveRTU(ctx context.Context, rw io.ReadWriter, baud int, closeConn func() error) error {
	if baud < 0 {
		return fmt.Errorf("modbussim: baud %d", baud)
	}
	gap := 1750 * time.Microsecond
	if baud > 0 {
		gap = FrameGap(baud)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	chunks := make(chan []byte, 64)
	readErr := make(chan error, 1)
	if d, ok := rw.(deadliner); ok {
		_ = d.SetReadDeadline(time.Time{})
		stop := context.AfterFunc(ctx, func() { _ = d.SetReadDeadline(time.Now()) })
		defer stop()
	}
	go func() {
		for {
			buf := make([]byte, 512)
			n, err := rw.Read(buf)
			if n > 0 {
				select {
				case chunks <- buf[:n]:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				readErr <- err
				return
			}
		}
	}()
	l := &line{bus: b, w: rw, baud: baud, closeConn: closeConn}
	var frame []byte
	end := time.NewTimer(time.Hour)
	end.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case err := <-readErr:
			if ctx.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("modbussim: rtu read: %w", err)
		case c := <-chunks:
			frame = append(frame, c...)
			end.Reset(gap)
		case <-end.C:
			f := frame
			frame = nil
			if err := l.handle(ctx, f); err != nil {
				if errors.Is(err, errClosed) || ctx.Err() != nil {
					return nil
				}
				return err
			}
		}
	}
}

// line is one RTU line being served.
type line struct {
	bus       *Bus
	w         io.Writer
	baud      int
	closeConn func() error
}

// handle answers one request frame (address, PDU, CRC).
func (l *line) handle(ctx context.Context, f []byte) error {
	n := len(f)
	if n < 4 || crc16(f[:n-2]) != uint16(f[n-2])|uint16(f[n-1])<<8 {
		return nil // noise, a collision or a bad CRC: a slave stays silent
	}
	unit := f[0]
	if unit == 0 {
		return nil // broadcast: never answered
	}
	s, ok := l.bus.lookup(unit)
	if !ok {
		return nil
	}
	kind, delay := s.admit()
	if kind == NoReply || kind == Dead {
		return nil
	}
	pdu := handler{l.bus}.pdu(unit, f[1], f[2:n-2])
	resp := make([]byte, 0, len(pdu)+3)
	resp = append(resp, unit)
	resp = append(resp, pdu...)
	c := crc16(resp)
	resp = append(resp, byte(c), byte(c>>8))
	switch kind {
	case LateReply:
		if err := sleep(ctx, delay); err != nil {
			return err
		}
	case CloseMidReply:
		if err := l.write(ctx, resp[:len(resp)/2]); err != nil {
			return err
		}
		if l.closeConn != nil {
			_ = l.closeConn()
			return errClosed
		}
		return nil
	}
	return l.write(ctx, resp)
}

// write sends b paced at the line's speed: character i is handed over
// when its last bit would arrive, CharTime(baud) after the one before.
// Lateness does not accumulate: a late wake-up sends every character due.
func (l *line) write(ctx context.Context, b []byte) error {
	if l.baud == 0 {
		_, err := l.w.Write(b)
		return err
	}
	ct := CharTime(l.baud)
	start := time.Now()
	sent := 0
	for sent < len(b) {
		due := min(int(time.Since(start)/ct), len(b))
		if due > sent {
			if _, err := l.w.Write(b[sent:due]); err != nil {
				return fmt.Errorf("modbussim: rtu write: %w", err)
			}
			sent = due
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(time.Until(start.Add(time.Duration(sent+1) * ct)))
	}
	return nil
}

// crc16 is the Modbus RTU CRC (polynomial 0xA001, initial 0xFFFF); it is
// sent low byte first.
func crc16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, x := range b {
		crc ^= uint16(x)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// PTY is a pseudo-terminal pair in raw mode standing in for a serial
// line: the simulator serves Server, and a client opens Path as it would
// open /dev/ttyUSB0.
type PTY struct {
	// Server is the master end, for ServeRTU. It supports read deadlines.
	Server *os.File
	// Path is the tty a client opens like a serial port.
	Path string
	// tty is kept open so that the master never reads EIO while no
	// client has the line open.
	tty *os.File
}

// Close closes both ends.
func (p *PTY) Close() error {
	return errors.Join(p.Server.Close(), p.tty.Close())
}
