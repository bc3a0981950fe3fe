package queue

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures a Log. The zero value means defaults.
type Options struct {
	// SegmentBytes is the size past which a new segment file is started;
	// default 1 MiB.
	SegmentBytes int64
	// NoSync lets Append return before its record is on the disk (the
	// page cache writes it later). For telemetry, whose loss in a power
	// cut is acceptable; alerts and commands keep the default, an fsync
	// per record.
	NoSync bool
	// Logger receives the recovery report; slog.Default() if nil.
	Logger *slog.Logger
}

// Recovery says what Open found in the folder.
type Recovery struct {
	// Segments and Records are the segment files and intact records read.
	Segments, Records int
	// Pending is the number of records not yet acknowledged.
	Pending int
	// SkippedBytes counts damaged bytes skipped; TornSegments the
	// segments that ended inside a record (a write cut short).
	SkippedBytes, TornSegments int
	// Took is how long the recovery took.
	Took time.Duration
}

// Log is a folder of segment files holding records until they are
// acknowledged. Its methods are safe for concurrent use.
type Log struct {
	dir  string
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	segs    []*segment // oldest first; the last one is written to
	pending []*entry   // by seq; acknowledged ones are trimmed from the front
	index   map[uint64]*entry
	next    uint64
	size    int64
	nextSeg uint64
	rec     Recovery
	buf     []byte
	closed  bool
}

type segment struct {
	id   uint64
	path string
	f    *os.File
	size int64
	live int // records not yet acknowledged
}

type entry struct {
	seq   uint64
	key   string
	seg   *segment
	off   int64
	n     int
	acked bool
}

// maxSeq bounds the sequence numbers recovery accepts (Append starts at 1
// and would take ages to get near it).
const maxSeq = 1 << 62

// ErrClosed is returned by the methods of a closed Log.
var ErrClosed = errors.New("queue: log closed")

// Open opens (creating it if needed) the folder dir and recovers the
// records left there: damaged records are skipped and the torn tail of a
// segment is cut off. Records are appended to a new segment.
func Open(dir string, opts Options) (*Log, error) {
	start := time.Now()
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 1 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("queue %s: %w", dir, err)
	}
	l := &Log{dir: dir, opts: opts, log: opts.Logger.With("queue", dir), index: map[uint64]*entry{}, next: 1}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", dir, err)
	}
	var ids []uint64
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".seg") {
			continue
		}
		id, err := strconv.ParseUint(strings.TrimSuffix(name, ".seg"), 16, 64)
		if err != nil {
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	acked := map[uint64]bool{}
	for i, id := range ids {
		if err := l.recoverSegment(id, i == len(ids)-1, acked); err != nil {
			l.closeFiles()
			return nil, err
		}
		l.nextSeg = id + 1
	}
	slices.SortFunc(l.pending, func(a, b *entry) int { return cmpSeq(a.seq, b.seq) })
	l.trim()
	if err := l.roll(); err != nil {
		l.closeFiles()
		return nil, err
	}
	l.removeDead()
	l.rec.Pending = len(l.index)
	l.rec.Took = time.Since(start)
	if l.rec.Records > 0 || l.rec.SkippedBytes > 0 {
		l.log.Info("queue recovered", "segments", l.rec.Segments, "records", l.rec.Records,
			"pending", l.rec.Pending, "skipped_bytes", l.rec.SkippedBytes, "torn_segments", l.rec.TornSegments, "took", l.rec.Took)
	}
	return l, nil
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func (l *Log) segPath(id uint64) string { return filepath.Join(l.dir, fmt.Sprintf("%016x.seg", id)) }

func (l *Log) recoverSegment(id uint64, last bool, acked map[uint64]bool) error {
	path := l.segPath(id)
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("queue: segment %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR, 0o600)
	if err != nil {
		return fmt.Errorf("queue: segment %s: %w", path, err)
	}
	s := &segment{id: id, path: path, f: f, size: int64(len(data))}
	res := scan(data, func(off int, fr frame) {
		l.rec.Records++
		switch fr.kind {
		case kindPut:
			seq := fr.put.Seq
			if seq == 0 || seq > maxSeq {
				l.rec.SkippedBytes += frameLen(fr.put)
				return // not a number Append gives
			}
			if seq >= l.next {
				l.next = seq + 1
			}
			if acked[seq] || l.index[seq] != nil {
				return // acknowledged, or a copy left by Thin
			}
			e := &entry{seq: seq, key: fr.put.Key, seg: s, off: int64(off), n: frameLen(fr.put)}
			l.index[seq] = e
			l.pending = append(l.pending, e)
			s.live++
		case kindAck:
			for _, seq := range fr.acks {
				if seq == 0 || seq > maxSeq {
					continue
				}
				if seq >= l.next {
					l.next = seq + 1
				}
				acked[seq] = true
				if e := l.index[seq]; e != nil {
					e.acked = true
					e.seg.live--
					delete(l.index, seq)
				}
			}
		}
	})
	l.rec.Segments++
	l.rec.SkippedBytes += res.Skipped
	if res.Torn {
		l.rec.TornSegments++
		l.rec.SkippedBytes += len(data) - res.End
		if last {
			// cut the torn tail so that the file ends on a record
			if err := f.Truncate(int64(res.End)); err != nil {
				_ = f.Close()
				return fmt.Errorf("queue: segment %s: truncate torn tail: %w", path, err)
			}
			s.size = int64(res.End)
		}
	}
	l.segs = append(l.segs, s)
	l.size += s.size
	return nil
}

// frameLen is the length on disk of a put frame of r.
func frameLen(r Record) int { return len(appendPut(nil, &r)) }

// roll starts a new segment. l.mu is held (or l is not yet shared).
func (l *Log) roll() error {
	id := l.nextSeg
	l.nextSeg++
	path := l.segPath(id)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("queue: new segment %s: %w", path, err)
	}
	if !l.opts.NoSync {
		if err := syncDir(l.dir); err != nil {
			_ = f.Close()
			return err
		}
	}
	l.segs = append(l.segs, &segment{id: id, path: path, f: f})
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("queue %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("queue %s: sync folder: %w", dir, err)
	}
	return nil
}

// write appends b to the active segment, starting a new one first when
// the active one is full.
func (l *Log) write(b []byte, sync bool) (*segment, int64, error) {
	s := l.segs[len(l.segs)-1]
	if s.size > 0 && s.size+int64(len(b)) > l.opts.SegmentBytes {
		if err := l.roll(); err != nil {
			return nil, 0, err
		}
		s = l.segs[len(l.segs)-1]
	}
	off := s.size
	if _, err := s.f.WriteAt(b, off); err != nil {
		_ = s.f.Truncate(off)
		return nil, 0, fmt.Errorf("queue: write %s: %w", s.path, err)
	}
	if sync {
		if err := s.f.Sync(); err != nil {
			_ = s.f.Truncate(off)
			return nil, 0, fmt.Errorf("queue: fsync %s: %w", s.path, err)
		}
	}
	s.size += int64(len(b))
	l.size += int64(len(b))
	return s, off, nil
}

// Append stores r and returns its sequence number. Unless Options.NoSync,
// the record is on the disk when Append returns. r.Seq is ignored; a zero
// r.Time is set to now.
func (l *Log) Append(r Record) (uint64, error) {
	if r.Time.IsZero() {
		r.Time = time.Now()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	r.Seq = l.next
	l.buf = appendPut(l.buf[:0], &r)
	if len(l.buf)-headerLen > MaxRecord {
		return 0, fmt.Errorf("queue: record of %d bytes for %s is larger than %d", len(r.Payload), r.Topic, MaxRecord)
	}
	s, off, err := l.write(l.buf, !l.opts.NoSync)
	if err != nil {
		return 0, err
	}
	l.next++
	e := &entry{seq: r.Seq, key: r.Key, seg: s, off: off, n: len(l.buf)}
	l.index[r.Seq] = e
	l.pending = append(l.pending, e)
	s.live++
	return r.Seq, nil
}

// Ack marks records delivered. Unknown or already acknowledged numbers
// are ignored. The acknowledgement itself is not fsync'd: if it is lost
// in a power cut the records are delivered again, with the same bytes.
func (l *Log) Ack(seqs ...uint64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	done := seqs[:0:0]
	for _, seq := range seqs {
		if e := l.index[seq]; e != nil {
			e.acked = true
			e.seg.live--
			delete(l.index, seq)
			done = append(done, seq)
		}
	}
	if len(done) == 0 {
		return nil
	}
	l.trim()
	l.removeDead()
	if len(l.index) == 0 && l.segs[len(l.segs)-1].size >= l.opts.SegmentBytes/4 {
		// everything delivered: start afresh rather than record acks
		if err := l.roll(); err != nil {
			return err
		}
		l.removeDead()
		return nil
	}
	_, _, err := l.write(appendAck(l.buf[:0], done), false)
	return err
}

// trim drops acknowledged entries from the front of pending.
func (l *Log) trim() {
	i := 0
	for i < len(l.pending) && l.pending[i].acked {
		l.pending[i] = nil
		i++
	}
	if i > 0 {
		l.pending = l.pending[i:]
	}
}

// removeDead removes the oldest segments while all their records are
// acknowledged (never the active one).
func (l *Log) removeDead() {
	for len(l.segs) > 1 && l.segs[0].live == 0 {
		s := l.segs[0]
		_ = s.f.Close()
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.log.Warn("queue: delivered segment not removed", "file", s.path, "err", err)
		}
		l.size -= s.size
		l.segs = l.segs[1:]
	}
}

// Next returns up to max pending records with a sequence number above
// after, oldest first.
func (l *Log) Next(after uint64, max int) ([]Record, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, ErrClosed
	}
	i, _ := slices.BinarySearchFunc(l.pending, after+1, func(e *entry, seq uint64) int { return cmpSeq(e.seq, seq) })
	var out []Record
	for ; i < len(l.pending) && len(out) < max; i++ {
		e := l.pending[i]
		if e.acked {
			continue
		}
		r, err := l.read(e)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (l *Log) read(e *entry) (Record, error) {
	if cap(l.buf) < e.n {
		l.buf = make([]byte, e.n)
	}
	b := l.buf[:e.n]
	if _, err := e.seg.f.ReadAt(b, e.off); err != nil {
		return Record{}, fmt.Errorf("queue: read record %d from %s: %w", e.seq, e.seg.path, err)
	}
	fr, _, err := decodeFrame(b)
	if err != nil || fr.kind != kindPut || fr.put.Seq != e.seq {
		return Record{}, fmt.Errorf("queue: record %d in %s at %d damaged: %v", e.seq, e.seg.path, e.off, err)
	}
	return fr.put, nil
}

// Len returns the number of records not yet acknowledged.
func (l *Log) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.index)
}

// Size returns the bytes the log takes on disk.
func (l *Log) Size() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.size
}

// Recovery returns what Open found.
func (l *Log) Recovery() Recovery {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.rec
}

// Thin drops pending records keeping, for each key, every k-th one (the
// oldest of each run of k), and rewrites the log so that the space is
// freed. It returns how many records were dropped. A crash during Thin
// loses nothing that was kept; dropped records may come back.
func (l *Log) Thin(k int) (int, error) {
	if k < 2 {
		return 0, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return 0, ErrClosed
	}
	count := map[string]int{}
	var keep, drop []*entry
	for _, e := range l.pending {
		if e.acked {
			continue
		}
		if count[e.key]%k == 0 {
			keep = append(keep, e)
		} else {
			drop = append(drop, e)
		}
		count[e.key]++
	}
	if len(drop) == 0 {
		return 0, nil
	}
	// copy the kept frames, byte for byte, into fresh segments
	old := l.segs
	if err := l.roll(); err != nil {
		return 0, err
	}
	l.segs = l.segs[len(old):]
	l.size = 0
	type moved struct {
		e   *entry
		seg *segment
		off int64
	}
	var mv []moved
	var b []byte
	for _, e := range keep {
		if cap(b) < e.n {
			b = make([]byte, e.n)
		}
		b = b[:e.n]
		if _, err := e.seg.f.ReadAt(b, e.off); err != nil {
			l.abortThin(old)
			return 0, fmt.Errorf("queue: thin: read record %d from %s: %w", e.seq, e.seg.path, err)
		}
		s, off, err := l.write(b, false)
		if err != nil {
			l.abortThin(old)
			return 0, fmt.Errorf("queue: thin: %w", err)
		}
		mv = append(mv, moved{e, s, off})
	}
	for _, s := range l.segs {
		if err := s.f.Sync(); err != nil {
			l.abortThin(old)
			return 0, fmt.Errorf("queue: thin: fsync %s: %w", s.path, err)
		}
	}
	for _, m := range mv {
		m.e.seg, m.e.off = m.seg, m.off
		m.seg.live++
	}
	for _, e := range drop {
		delete(l.index, e.seq)
	}
	l.pending = keep
	for _, s := range old {
		_ = s.f.Close()
		if err := os.Remove(s.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			l.log.Warn("queue: thinned segment not removed", "file", s.path, "err", err)
		}
	}
	return len(drop), syncDir(l.dir)
}

// abortThin drops the segments a failed Thin wrote and restores old.
func (l *Log) abortThin(old []*segment) {
	for _, s := range l.segs {
		_ = s.f.Close()
		_ = os.Remove(s.path)
	}
	l.segs = old
	l.size = 0
	for _, s := range old {
		l.size += s.size
	}
}

// Close closes the segment files. Pending records stay on disk for the
// next Open.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	return l.closeFiles()
}

func (l *Log) closeFiles() error {
	var errs []error
	for _, s := range l.segs {
		errs = append(errs, s.f.Close())
	}
	return errors.Join(errs...)
}
