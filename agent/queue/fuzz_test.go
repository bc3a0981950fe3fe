package queue

import (
	"os"
	"path/filepath"
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

// FuzzOpen recovers a log whose segment holds arbitrary bytes, then uses
// it: nothing panics, and a record appended after recovery reads back.
func FuzzOpen(f *testing.F) {
	put := appendPut(nil, &Record{Seq: 3, Key: "k", Topic: "t", Time: time.Unix(1, 0), Payload: []byte("p")})
	f.Add(put)
	f.Add(append(append([]byte{}, put...), appendAck(nil, []uint64{3, 1 << 63})...))
	f.Add(appendPut(nil, &Record{Seq: 1<<64 - 1, Payload: []byte("last")}))
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "0000000000000001.seg"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := Open(dir, Options{NoSync: true, Logger: quiet()})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		before := l.Len()
		if _, err := l.Next(0, 1<<20); err != nil {
			t.Fatalf("recovered records unreadable: %v", err)
		}
		seq, err := l.Append(Record{Key: "k", Payload: []byte("new")})
		if err != nil {
			t.Fatal(err)
		}
		rs, err := l.Next(seq-1, 1)
		if err != nil || len(rs) != 1 || string(rs[0].Payload) != "new" || l.Len() != before+1 {
			t.Fatalf("append after recovery: %v %+v, %d pending, %d before", err, rs, l.Len(), before)
		}
		if _, err := l.Thin(2); err != nil {
			t.Fatal(err)
		}
	})
}
