package queue

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"time"
)

// Record is one stored message.
type Record struct {
	// Seq is the record's sequence number, given by Append: unique in its
	// Log and increasing in append order.
	Seq uint64
	// Key groups records for Thin (a device name, for example).
	Key string
	// Topic is where the record is to be delivered.
	Topic string
	// Flags are the owner's bits, stored as given.
	Flags uint8
	// Time is when the record was appended (set by Append when zero).
	Time time.Time
	// Payload is the message body.
	Payload []byte
}

// Frame layout: magic (2 bytes) | body length (uint32 LE) | CRC-32C of the
// body (uint32 LE) | body. Body: kind (1 byte), then for a put: seq
// (uvarint), flags (1 byte), time (varint Unix nanoseconds), key and topic
// (uvarint length + bytes each), payload (the rest); for an ack: count
// (uvarint) and that many seqs (uvarint).
const (
	magic0, magic1 = 0xEB, 0x57
	headerLen      = 10
	// MaxRecord is the largest record body accepted, in bytes.
	MaxRecord = 16 << 20

	kindPut = 1
	kindAck = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// errShort means the buffer ends inside a frame (a torn write at the tail).
var errShort = errors.New("queue: record cut short")

func appendFrame(b []byte, body []byte) []byte {
	b = append(b, magic0, magic1)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(body)))
	b = binary.LittleEndian.AppendUint32(b, crc32.Checksum(body, castagnoli))
	return append(b, body...)
}

func appendPut(b []byte, r *Record) []byte {
	body := make([]byte, 0, 32+len(r.Key)+len(r.Topic)+len(r.Payload))
	body = append(body, kindPut)
	body = binary.AppendUvarint(body, r.Seq)
	body = append(body, r.Flags)
	body = binary.AppendVarint(body, r.Time.UnixNano())
	body = binary.AppendUvarint(body, uint64(len(r.Key)))
	body = append(body, r.Key...)
	body = binary.AppendUvarint(body, uint64(len(r.Topic)))
	body = append(body, r.Topic...)
	body = append(body, r.Payload...)
	return appendFrame(b, body)
}

func appendAck(b []byte, seqs []uint64) []byte {
	body := make([]byte, 0, 2+10*len(seqs))
	body = append(body, kindAck)
	body = binary.AppendUvarint(body, uint64(len(seqs)))
	for _, s := range seqs {
		body = binary.AppendUvarint(body, s)
	}
	return appendFrame(b, body)
}

// frame is one decoded frame.
type frame struct {
	kind byte
	put  Record
	acks []uint64
}

// decodeFrame decodes the frame at the start of b and returns it and its
// length on disk. errShort means b ends inside the frame; any other error
// means the bytes at b are not a valid frame.
func decodeFrame(b []byte) (frame, int, error) {
	if len(b) < headerLen {
		if len(b) >= 2 && (b[0] != magic0 || b[1] != magic1) || len(b) == 1 && b[0] != magic0 {
			return frame{}, 0, errors.New("queue: bad magic")
		}
		return frame{}, 0, errShort
	}
	if b[0] != magic0 || b[1] != magic1 {
		return frame{}, 0, errors.New("queue: bad magic")
	}
	n := binary.LittleEndian.Uint32(b[2:])
	if n == 0 || n > MaxRecord {
		return frame{}, 0, fmt.Errorf("queue: record length %d out of range", n)
	}
	if uint64(len(b)-headerLen) < uint64(n) {
		return frame{}, 0, errShort
	}
	body := b[headerLen : headerLen+int(n)]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[6:]) {
		return frame{}, 0, errors.New("queue: checksum mismatch")
	}
	f, err := decodeBody(body)
	return f, headerLen + int(n), err
}

func decodeBody(body []byte) (frame, error) {
	bad := func(what string) (frame, error) { return frame{}, fmt.Errorf("queue: malformed record: %s", what) }
	f := frame{kind: body[0]}
	p := body[1:]
	switch f.kind {
	case kindPut:
		seq, k := binary.Uvarint(p)
		if k <= 0 {
			return bad("seq")
		}
		p = p[k:]
		if len(p) < 1 {
			return bad("flags")
		}
		f.put.Seq, f.put.Flags = seq, p[0]
		p = p[1:]
		ns, k := binary.Varint(p)
		if k <= 0 {
			return bad("time")
		}
		p = p[k:]
		f.put.Time = time.Unix(0, ns).UTC()
		for _, dst := range []*string{&f.put.Key, &f.put.Topic} {
			l, k := binary.Uvarint(p)
			if k <= 0 || l > uint64(len(p)-k) {
				return bad("string length")
			}
			*dst = string(p[k : k+int(l)])
			p = p[k+int(l):]
		}
		f.put.Payload = append([]byte(nil), p...)
	case kindAck:
		cnt, k := binary.Uvarint(p)
		if k <= 0 || cnt > uint64(len(p)) {
			return bad("ack count")
		}
		p = p[k:]
		f.acks = make([]uint64, 0, cnt)
		for range cnt {
			s, k := binary.Uvarint(p)
			if k <= 0 {
				return bad("ack seq")
			}
			f.acks = append(f.acks, s)
			p = p[k:]
		}
		if len(p) != 0 {
			return bad("trailing bytes")
		}
	default:
		return bad(fmt.Sprintf("kind %d", f.kind))
	}
	return f, nil
}

// scanResult says what scan found.
type scanResult struct {
	// End is the offset just after the last intact frame.
	End int
	// Skipped counts damaged bytes skipped between intact frames.
	Skipped int
	// Torn is true when the data ends inside a frame (or in damaged
	// bytes after the last intact frame): a write cut short.
	Torn bool
}

// scan walks the frames of a segment's bytes, calling fn with each intact
// frame and its offset. Damaged bytes are skipped up to the next intact
// frame. It never panics, whatever b holds.
func scan(b []byte, fn func(off int, f frame)) scanResult {
	var r scanResult
	off := 0
	bad := 0
	for off < len(b) {
		f, n, err := decodeFrame(b[off:])
		if err == nil {
			if fn != nil {
				fn(off, f)
			}
			r.Skipped += bad
			bad = 0
			off += n
			r.End = off
			continue
		}
		// resynchronise on the next magic number
		next := off + 1
		for next < len(b) && !(b[next] == magic0 && (next+1 == len(b) || b[next+1] == magic1)) {
			next++
		}
		bad += next - off
		off = next
	}
	r.Torn = bad > 0
	return r
}
