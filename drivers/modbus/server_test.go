package modbus

import (
	"encoding/binary"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// behaviour is what the test server does with one request.
type behaviour struct {
	delay     time.Duration // before answering
	exception byte          // answer with this exception
	silent    bool          // never answer
	closeMid  bool          // write half the reply, then close the connection
	staleTxID bool          // first send a reply with the previous transaction id
}

// testServer is a small Modbus server for the driver's own tests: it
// serves registers of several units over Modbus TCP, or RTU frames on any
// stream, optionally pacing each byte at a serial line's speed, and lets a
// test script faults per request.
type testServer struct {
	mu    sync.Mutex
	units map[byte]map[uint32]uint16 // holding registers at addr, input at addr|inputSpace
	bits  map[byte]map[uint16]bool   // coils and discrete inputs
	hook  func(n int, unit, fn byte, addr, count uint16) behaviour
	reqs  atomic.Int64
	// charTime, when set, paces every reply byte (RTU) at line speed.
	charTime time.Duration
}

func newTestServer() *testServer {
	return &testServer{units: map[byte]map[uint32]uint16{}, bits: map[byte]map[uint16]bool{}}
}

// inputSpace keeps input registers apart from holding registers.
const inputSpace = 1 << 16

// set sets holding registers of unit from addr.
func (s *testServer) set(unit byte, addr uint16, words ...uint16) {
	s.setTable(unit, Holding, addr, words...)
}

// setTable sets registers of table (holding or input) of unit from addr.
func (s *testServer) setTable(unit byte, table Table, addr uint16, words ...uint16) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.units[unit] == nil {
		s.units[unit] = map[uint32]uint16{}
	}
	space := uint32(0)
	if table == Input {
		space = inputSpace
	}
	for i, w := range words {
		s.units[unit][space|uint32(addr+uint16(i))] = w
	}
}

func (s *testServer) setBit(unit byte, addr uint16, v bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bits[unit] == nil {
		s.bits[unit] = map[uint16]bool{}
	}
	s.bits[unit][addr] = v
}

// answer returns the reply PDU (function, data) and what to do with it,
// or nil when the unit does not exist (a dead slave says nothing).
func (s *testServer) answer(unit byte, pdu []byte) ([]byte, behaviour) {
	n := int(s.reqs.Add(1))
	fn := pdu[0]
	addr := binary.BigEndian.Uint16(pdu[1:])
	count := binary.BigEndian.Uint16(pdu[3:])
	var b behaviour
	if s.hook != nil {
		b = s.hook(n, unit, fn, addr, count)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	regs, ok := s.units[unit]
	if !ok {
		return nil, behaviour{silent: true}
	}
	if b.exception != 0 {
		return []byte{fn | 0x80, b.exception}, b
	}
	switch fn {
	case 3, 4:
		space := uint32(0)
		if fn == 4 {
			space = inputSpace
		}
		out := []byte{fn, byte(2 * count)}
		for i := uint16(0); i < count; i++ {
			out = binary.BigEndian.AppendUint16(out, regs[space|uint32(addr+i)])
		}
		return out, b
	case 1, 2:
		nb := (int(count) + 7) / 8
		out := append([]byte{fn, byte(nb)}, make([]byte, nb)...)
		for i := uint16(0); i < count; i++ {
			if s.bits[unit][addr+i] {
				out[2+i/8] |= 1 << (i % 8)
			}
		}
		return out, b
	}
	return []byte{fn | 0x80, ExIllegalFunction}, b
}

// serveTCP answers Modbus TCP on l until it is closed.
func (s *testServer) serveTCP(t testing.TB, l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			var prevTxID uint16
			for {
				var h [7]byte
				if _, err := io.ReadFull(c, h[:]); err != nil {
					return
				}
				pdu := make([]byte, int(binary.BigEndian.Uint16(h[4:]))-1)
				if _, err := io.ReadFull(c, pdu); err != nil {
					return
				}
				resp, b := s.answer(h[6], pdu)
				time.Sleep(b.delay)
				if b.silent || resp == nil {
					continue
				}
				frame := func(txid uint16) []byte {
					out := binary.BigEndian.AppendUint16(nil, txid)
					out = append(out, 0, 0)
					out = binary.BigEndian.AppendUint16(out, uint16(len(resp)+1))
					return append(append(out, h[6]), resp...)
				}
				txid := binary.BigEndian.Uint16(h[:])
				if b.staleTxID {
					_, _ = c.Write(frame(prevTxID))
				}
				prevTxID = txid
				out := frame(txid)
				if b.closeMid {
					_, _ = c.Write(out[:len(out)/2])
					return
				}
				if _, err := c.Write(out); err != nil {
					return
				}
			}
		}()
	}
}

// serveRTU answers RTU frames on rw until it fails. Requests are the
// 8-byte read frames (functions 1 to 4).
func (s *testServer) serveRTU(rw io.ReadWriteCloser) {
	var req [8]byte
	for {
		if _, err := io.ReadFull(rw, req[:]); err != nil {
			return
		}
		if crc16(req[:6]) != binary.LittleEndian.Uint16(req[6:]) {
			continue
		}
		resp, b := s.answer(req[0], req[1:6])
		if s.charTime > 0 {
			// The request took its time on the wire, and the reply
			// starts after a 3.5-character silence.
			time.Sleep(8*s.charTime + s.charTime*7/2)
		}
		time.Sleep(b.delay)
		if b.silent || resp == nil {
			continue
		}
		out := appendCRC(append([]byte{req[0]}, resp...))
		if b.closeMid {
			_, _ = rw.Write(out[:len(out)/2])
			rw.Close()
			return
		}
		if err := s.writePaced(rw, out); err != nil {
			return
		}
	}
}

// writePaced writes b one character time per byte, on an absolute
// schedule so that sleep overshoot does not accumulate.
func (s *testServer) writePaced(w io.Writer, b []byte) error {
	if s.charTime <= 0 {
		_, err := w.Write(b)
		return err
	}
	start := time.Now()
	sent := 0
	for sent < len(b) {
		due := int(time.Since(start)/s.charTime) + 1
		if due > len(b) {
			due = len(b)
		}
		if due > sent {
			if _, err := w.Write(b[sent:due]); err != nil {
				return err
			}
			sent = due
		}
		if sent < len(b) {
			time.Sleep(time.Until(start.Add(time.Duration(sent) * s.charTime)))
		}
	}
	return nil
}

// listenTCP serves s over Modbus TCP on 127.0.0.1:0.
func listenTCP(t testing.TB, s *testServer) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go s.serveTCP(t, l)
	return l.Addr().String()
}

// listenRTUOverTCP serves s as RTU frames over TCP on 127.0.0.1:0.
func listenRTUOverTCP(t testing.TB, s *testServer) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serveRTU(c)
		}
	}()
	return l.Addr().String()
}
