package modbus

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	gmodbus "github.com/goburrow/modbus"
)

// streamLink is a Modbus TCP link whose server answers every request with
// the same bytes: goburrow's TCP packager checks and decodes them, framed
// as goburrow's TCP transporter frames what it reads from a socket (a
// 7-byte header, then as many bytes as its length field says). The
// transaction id of the answer is the request's, as a server echoes it.
type streamLink struct {
	pk     *gmodbus.TCPClientHandler
	c      gmodbus.Client
	stream []byte
	resets int
}

func newStreamLink(stream []byte) *streamLink {
	l := &streamLink{pk: gmodbus.NewTCPClientHandler(""), stream: stream}
	l.c = gmodbus.NewClient2(l.pk, l)
	return l
}

func (l *streamLink) client(_ context.Context, unit byte, _ time.Time) gmodbus.Client {
	l.pk.SlaveId = unit
	return l.c
}

func (l *streamLink) reset(error) error { l.resets++; return nil }

// Send frames the answer as goburrow's TCP transporter does.
func (l *streamLink) Send(req []byte) ([]byte, error) {
	const header, maxADU = 7, 260
	s := append([]byte(nil), l.stream...)
	if len(s) < header {
		return nil, io.ErrUnexpectedEOF
	}
	copy(s, req[:2])
	n := int(binary.BigEndian.Uint16(s[4:]))
	if n <= 0 || n > maxADU-(header-1) {
		return nil, errors.New("bad length in header")
	}
	if len(s) < n+header-1 {
		return nil, io.ErrUnexpectedEOF
	}
	return s[:n+header-1], nil
}

// FuzzTCPResponse answers a read of each table with arbitrary bytes over
// Modbus TCP: the client must never panic; what it accepts is exactly
// the answer's data, one word per register or bit asked for; an
// exception is reported only for an answer of the exception function,
// with its code; any other failure drops the connection.
func FuzzTCPResponse(f *testing.F) {
	adu := func(pdu ...byte) []byte {
		b := []byte{0, 1, 0, 0, 0, byte(len(pdu) + 1), 1}
		return append(b, pdu...)
	}
	f.Add(byte(3), uint16(2), adu(3, 4, 0, 1, 0xFF, 0xFE))
	f.Add(byte(4), uint16(1), adu(4, 2, 0x12, 0x34))
	f.Add(byte(1), uint16(10), adu(1, 2, 0xA5, 0x03))
	f.Add(byte(2), uint16(3), adu(2, 1, 0x05))
	f.Add(byte(3), uint16(2), adu(0x83, 2))
	f.Add(byte(3), uint16(2), adu(3, 4, 0, 1))
	f.Add(byte(3), uint16(1), []byte{0, 1, 0, 0, 0, 0, 1})
	f.Add(byte(3), uint16(1), append(adu(3, 2, 0, 1), 0xAA))
	tables := map[byte]Table{1: Coil, 2: Discrete, 3: Holding, 4: Input}
	quiet := slog.New(slog.DiscardHandler)
	f.Fuzz(func(t *testing.T, fn byte, count uint16, stream []byte) {
		fn = fn%4 + 1
		table := tables[fn]
		l := newStreamLink(stream)
		c := newClient("fuzz", l, ClientOptions{Timeout: time.Second, Logger: quiet})
		words, err := c.ReadRegisters(context.Background(), 1, table, 0, count)
		if err == nil {
			// the frame the transporter read: a header and its length
			pdu := stream[7 : 6+int(binary.BigEndian.Uint16(stream[4:]))]
			if pdu[0] != fn || int(pdu[1]) != len(pdu)-2 || len(words) != int(count) {
				t.Fatalf("accepted % x for %d of %s: %v", stream, count, table, words)
			}
			for i, w := range words {
				want := uint16(pdu[2+i/8]>>(i%8)) & 1
				if !isBitTable(table) {
					want = binary.BigEndian.Uint16(pdu[2+2*i:])
				}
				if w != want {
					t.Fatalf("word %d = %#x, want %#x (answer % x)", i, w, want, stream)
				}
			}
			return
		}
		var ex *ExceptionError
		if errors.As(err, &ex) {
			if len(stream) < 8 || stream[7] != fn|functionExceptionBit || (len(stream) > 8 && ex.Code != stream[8]) {
				t.Fatalf("exception %v from % x", err, stream)
			}
			if l.resets != 0 {
				t.Fatal("an exception dropped the connection")
			}
			return
		}
		limit := uint16(MaxRegisters)
		if isBitTable(table) {
			limit = MaxBits
		}
		if count >= 1 && count <= limit && l.resets != 1 {
			t.Fatalf("%v: %d resets, want 1", err, l.resets)
		}
	})
}

// FuzzParseAddress feeds arbitrary strings to the device address parser:
// it must never panic, and an address it accepts names a host and a port
// 1-65535 that split apart again (TCP schemes) or a serial device with
// line settings in range (RTU), and a unit the scheme allows.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"tcp://10.0.0.5", "modbus+tcp://10.0.0.5:1502?unit=3&profile=sunspec&timeout=300ms",
		"rtutcp://[::1]:4001?unit=7", "rtu+tcp://gw:4001", "tcp://[::1]",
		"rtu:///dev/ttyUSB0?baud=9600&parity=n&stop_bits=2&data_bits=7&unit=3", "rtu://ttyS0",
		"tcp://", "tcp://h?unit=300", "tcp://h?timeout=soon", "tcp://h?colour=red", "tcp://h:99999",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		switch a.Scheme {
		case SchemeTCP, SchemeRTUTCP:
			host, port, err := net.SplitHostPort(a.Host)
			if err != nil || host == "" {
				t.Fatalf("%q: host %q does not split: %v", s, a.Host, err)
			}
			if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
				t.Fatalf("%q: port %q", s, port)
			}
			if a.Unit == 0 && a.Scheme != SchemeTCP {
				t.Fatalf("%q: unit 0 over %s", s, a.Scheme)
			}
		case SchemeRTU:
			sc := a.Serial
			if sc.Device == "" || (sc.DataBits != 7 && sc.DataBits != 8) || (sc.StopBits != 1 && sc.StopBits != 2) ||
				(sc.Parity != "N" && sc.Parity != "E" && sc.Parity != "O") || sc.Baud <= 0 || a.Unit == 0 {
				t.Fatalf("%q: serial line %+v unit %d", s, sc, a.Unit)
			}
		default:
			t.Fatalf("%q: scheme %q", s, a.Scheme)
		}
		if a.Unit > 247 || a.Timeout < 0 {
			t.Fatalf("%q: unit %d timeout %v", s, a.Unit, a.Timeout)
		}
	})
}

// TestParseAddressHostPort checks what the fuzz target found: a port out
// of range, a host that is not one and a negative baud rate are refused.
func TestParseAddressHostPort(t *testing.T) {
	for _, bad := range []string{"tcp://h:99999", "tcp://h:0", "tcp://]", "tcp://:502", "rtu:///dev/ttyS0?baud=-5"} {
		if a, err := ParseAddress(bad); err == nil {
			t.Errorf("%s accepted as %+v", bad, a)
		}
	}
	if a, err := ParseAddress("tcp://[::1]"); err != nil || a.Host != "[::1]:502" {
		t.Errorf("tcp://[::1] = %q, %v", a.Host, err)
	}
}
