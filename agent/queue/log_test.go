package queue

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func open(t testing.TB, dir string, o Options) *Log {
	t.Helper()
	o.Logger = quiet()
	l, err := Open(dir, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func appendN(t testing.TB, l *Log, key string, n int) []uint64 {
	t.Helper()
	var seqs []uint64
	for i := range n {
		seq, err := l.Append(Record{Key: key, Topic: "t/" + key, Payload: fmt.Appendf(nil, `{"id":"%s-%d"}`, key, i)})
		if err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, seq)
	}
	return seqs
}

func payloads(t testing.TB, l *Log) []string {
	t.Helper()
	rs, err := l.Next(0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		out = append(out, string(r.Payload))
	}
	return out
}

func segments(t testing.TB, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	return m
}

func TestAppendAckRecover(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	seqs := appendN(t, l, "bms-1", 10)
	if err := l.Ack(seqs[0], seqs[2], seqs[1], 999); err != nil {
		t.Fatal(err)
	}
	rs, err := l.Next(seqs[4], 2)
	if err != nil || len(rs) != 2 || rs[0].Seq != seqs[5] || rs[1].Seq != seqs[6] || rs[0].Topic != "t/bms-1" || rs[0].Key != "bms-1" {
		t.Fatalf("Next after %d: %+v, %v", seqs[4], rs, err)
	}
	want := payloads(t, l)
	if len(want) != 7 || want[0] != `{"id":"bms-1-3"}` {
		t.Fatalf("pending %q", want)
	}
	_ = l.Close()

	l2 := open(t, dir, Options{})
	if got := payloads(t, l2); !slices.Equal(got, want) {
		t.Errorf("after reopening: %q, want %q", got, want)
	}
	if r := l2.Recovery(); r.Pending != 7 || r.TornSegments != 0 || r.SkippedBytes != 0 {
		t.Errorf("recovery %+v", r)
	}
	// new records come after the recovered ones
	s, err := l2.Append(Record{Key: "bms-1", Payload: []byte("next")})
	if err != nil || s <= seqs[9] {
		t.Errorf("seq %d after %d: %v", s, seqs[9], err)
	}
}

// TestTornWrite: a record cut short at the end of the newest segment (power
// lost mid-write) is dropped, the records before it are kept, and the log
// goes on after it.
func TestTornWrite(t *testing.T) {
	for cut := 1; cut < 40; cut += 7 {
		t.Run(fmt.Sprint(cut), func(t *testing.T) {
			dir := t.TempDir()
			l := open(t, dir, Options{})
			appendN(t, l, "bms-1", 5)
			_ = l.Close()
			segs := segments(t, dir)
			last := segs[len(segs)-1]
			frame := appendPut(nil, &Record{Seq: 6, Key: "bms-1", Topic: "t", Time: time.Now(), Payload: []byte(`{"id":"torn-record-payload"}`)})
			f, err := os.OpenFile(last, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = f.Write(frame[:cut])
			_ = f.Close()

			l2 := open(t, dir, Options{})
			if r := l2.Recovery(); r.Pending != 5 || r.TornSegments != 1 || r.SkippedBytes != cut {
				t.Errorf("recovery %+v", r)
			}
			appendN(t, l2, "bms-2", 1)
			_ = l2.Close()
			l3 := open(t, dir, Options{})
			got := payloads(t, l3)
			if len(got) != 6 || got[5] != `{"id":"bms-2-0"}` {
				t.Errorf("after the torn write: %q", got)
			}
		})
	}
}

// TestDamagedRecord: a record whose bytes changed on disk is skipped; the
// records after it are kept.
func TestDamagedRecord(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{})
	appendN(t, l, "bms-1", 5)
	_ = l.Close()
	segs := segments(t, dir)
	b, _ := os.ReadFile(segs[len(segs)-1])
	i := bytes.Index(b, []byte(`bms-1-2`))
	b[i] ^= 0x40
	if err := os.WriteFile(segs[len(segs)-1], b, 0o600); err != nil {
		t.Fatal(err)
	}
	l2 := open(t, dir, Options{})
	got := payloads(t, l2)
	want := []string{`{"id":"bms-1-0"}`, `{"id":"bms-1-1"}`, `{"id":"bms-1-3"}`, `{"id":"bms-1-4"}`}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if r := l2.Recovery(); r.SkippedBytes == 0 || r.TornSegments != 0 {
		t.Errorf("recovery %+v", r)
	}
}

// TestSegmentsRemoved: delivered segments are removed, oldest first, and
// the size on disk follows.
func TestSegmentsRemoved(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{SegmentBytes: 256, NoSync: true})
	seqs := appendN(t, l, "bms-1", 50)
	if n := len(segments(t, dir)); n < 5 {
		t.Fatalf("%d segments for 50 records of ~50 bytes in 256-byte segments", n)
	}
	full := l.Size()
	if err := l.Ack(seqs[:25]...); err != nil {
		t.Fatal(err)
	}
	if s := l.Size(); s >= full*3/4 {
		t.Errorf("size %d after delivering half of %d", s, full)
	}
	// an acknowledgement out of order keeps the older segment
	if err := l.Ack(seqs[26:]...); err != nil {
		t.Fatal(err)
	}
	if got := payloads(t, l); len(got) != 1 || got[0] != `{"id":"bms-1-25"}` {
		t.Errorf("pending %q", got)
	}
	if err := l.Ack(seqs[25]); err != nil {
		t.Fatal(err)
	}
	if n, s := len(segments(t, dir)), l.Size(); n != 1 || s > 256 || l.Len() != 0 {
		t.Errorf("after delivering all: %d segments, %d bytes, %d pending", n, s, l.Len())
	}
	_ = l.Close()
	if l2 := open(t, dir, Options{}); l2.Len() != 0 {
		t.Errorf("delivered records came back: %d", l2.Len())
	}
}

func TestThin(t *testing.T) {
	dir := t.TempDir()
	l := open(t, dir, Options{SegmentBytes: 512, NoSync: true})
	for i := range 10 {
		for _, k := range []string{"a", "b", "c"} {
			if _, err := l.Append(Record{Key: k, Payload: fmt.Appendf(nil, "%s%d", k, i)}); err != nil {
				t.Fatal(err)
			}
		}
	}
	before := l.Size()
	n, err := l.Thin(2)
	if err != nil || n != 15 {
		t.Fatalf("thin dropped %d: %v", n, err)
	}
	want := []string{"a0", "b0", "c0", "a2", "b2", "c2", "a4", "b4", "c4", "a6", "b6", "c6", "a8", "b8", "c8"}
	if got := payloads(t, l); !slices.Equal(got, want) {
		t.Errorf("after thinning %q", got)
	}
	if s := l.Size(); s > before*6/10 {
		t.Errorf("size %d after thinning half of %d", s, before)
	}
	appendN(t, l, "d", 1)
	_ = l.Close()
	l2 := open(t, dir, Options{})
	if got := payloads(t, l2); !slices.Equal(got, append(want, `{"id":"d-0"}`)) {
		t.Errorf("after reopening %q", got)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	r := Record{Seq: 1 << 40, Key: "bms-1", Topic: "emberwatch/v1/dc1/gw-1/alert/bms-1", Flags: 3, Time: time.Unix(0, 1772323323500000000).UTC(), Payload: []byte(`{"id":"x"}`)}
	b := appendPut(nil, &r)
	f, n, err := decodeFrame(b)
	if err != nil || n != len(b) || f.kind != kindPut {
		t.Fatalf("decode: %v %d", err, n)
	}
	if f.put.Seq != r.Seq || f.put.Key != r.Key || f.put.Topic != r.Topic || f.put.Flags != r.Flags || !f.put.Time.Equal(r.Time) || string(f.put.Payload) != string(r.Payload) {
		t.Errorf("got %+v, want %+v", f.put, r)
	}
	a := appendAck(nil, []uint64{1, 300, 1 << 50})
	f, _, err = decodeFrame(a)
	if err != nil || !slices.Equal(f.acks, []uint64{1, 300, 1 << 50}) {
		t.Errorf("ack: %v %v", f.acks, err)
	}
}
