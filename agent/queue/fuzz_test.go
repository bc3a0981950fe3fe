package queue

import (
	"testing"
	"time"
)

// FuzzRecover feeds arbitrary bytes to the segment scanner that recovery
// runs: it must never panic, and what it reports must stay in bounds.
func FuzzRecover(f *testing.F) {
	put := appendPut(nil, &Record{Seq: 7, Key: "bms-1", Topic: "t", Time: time.Unix(1, 0), Payload: []byte(`{"id":"a"}`)})
	ack := appendAck(nil, []uint64{7, 8})
	f.Add(put)
	f.Add(append(append([]byte{}, put...), ack...))
	f.Add(put[:len(put)-3])
	f.Add([]byte{magic0, magic1, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0})
	f.Add([]byte{magic0, magic1, 1, 0, 0, 0, 0, 0, 0, 0, kindAck})
	f.Fuzz(func(t *testing.T, b []byte) {
		n := 0
		res := scan(b, func(off int, fr frame) {
			n++
			if off < 0 || off >= len(b) {
				t.Fatalf("frame at %d of %d bytes", off, len(b))
			}
			if fr.kind == kindPut {
				// an intact frame encodes back to the same bytes
				again := appendPut(nil, &fr.put)
				if _, _, err := decodeFrame(again); err != nil {
					t.Fatalf("re-encoded record does not decode: %v", err)
				}
			}
		})
		if res.End < 0 || res.End > len(b) || res.Skipped < 0 || res.Skipped > len(b) {
			t.Fatalf("scan result %+v for %d bytes", res, len(b))
		}
		if n == 0 && len(b) > 0 && !res.Torn {
			t.Fatalf("%d bytes, no frame, not torn", len(b))
		}
	})
}
