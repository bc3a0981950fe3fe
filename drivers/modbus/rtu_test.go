package modbus

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestCRC16(t *testing.T) {
	// Read holding registers 0x006B+3 of unit 0x11: the specification's
	// example frame, CRC 0x8776 sent low byte first.
	got := appendCRC([]byte{0x11, 0x03, 0x00, 0x6B, 0x00, 0x03})
	if want := []byte{0x11, 0x03, 0x00, 0x6B, 0x00, 0x03, 0x76, 0x87}; !bytes.Equal(got, want) {
		t.Errorf("frame % x, want % x", got, want)
	}
}

func TestCheckRTUResponse(t *testing.T) {
	req := appendCRC([]byte{1, 3, 0, 0, 0, 2})
	cases := []struct {
		name string
		resp []byte
		ok   bool
	}{
		{"good", appendCRC([]byte{1, 3, 4, 0, 1, 0, 2}), true},
		{"exception", appendCRC([]byte{1, 0x83, 2}), true},
		{"bad crc", []byte{1, 3, 4, 0, 1, 0, 2, 0, 0}, false},
		{"other unit", appendCRC([]byte{2, 3, 4, 0, 1, 0, 2}), false},
		{"other function", appendCRC([]byte{1, 4, 4, 0, 1, 0, 2}), false},
		{"wrong byte count", appendCRC([]byte{1, 3, 2, 0, 1}), false},
		{"truncated", appendCRC([]byte{1, 3, 4, 0, 1, 0, 2})[:8], false},
		{"short", []byte{1, 3}, false},
	}
	for _, tc := range cases {
		if err := checkRTUResponse(req, tc.resp); (err == nil) != tc.ok {
			t.Errorf("%s: error %v", tc.name, err)
		}
	}
}

// FuzzRTUResponse feeds arbitrary bytes to the reply parser as the answer
// to a read request: it must never panic, never ask for more than a frame,
// and accept only frames whose CRC and length are right.
func FuzzRTUResponse(f *testing.F) {
	f.Add(byte(3), uint16(2), appendCRC([]byte{1, 3, 4, 0, 1, 0, 2}))
	f.Add(byte(1), uint16(9), appendCRC([]byte{1, 1, 2, 0xFF, 1}))
	f.Add(byte(4), uint16(1), appendCRC([]byte{1, 0x84, 6}))
	f.Fuzz(func(t *testing.T, fn byte, count uint16, resp []byte) {
		req := []byte{1, fn, 0, 0}
		req = appendCRC(binary.BigEndian.AppendUint16(req, count))
		if len(resp) >= 3 {
			n, err := rtuResponseLen(req, resp)
			if err == nil && (n < 5 || n > 3+255+2) {
				t.Fatalf("frame length %d", n)
			}
		}
		if err := checkRTUResponse(req, resp); err == nil {
			if crc16(resp[:len(resp)-2]) != binary.LittleEndian.Uint16(resp[len(resp)-2:]) {
				t.Fatal("accepted a bad CRC")
			}
			if resp[0] != 1 || resp[1]&0x7F != fn&0x7F {
				t.Fatal("accepted another unit or function")
			}
		}
	})
}
