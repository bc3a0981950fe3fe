package mqtt

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/emberwatch/emberwatch/agent/queue"
)

// reliable holds the messages that must be delivered at least once
// (alerts, commands, acknowledgements), in order, until the broker
// acknowledges them.
type reliable interface {
	// add stores a message; on disk, it is fsync'd when add returns.
	add(key string, m message) error
	// next returns up to max messages with a sequence number above after.
	next(after uint64, max int) ([]message, error)
	// ack removes delivered messages.
	ack(seqs ...uint64)
	// len is the number of messages waiting.
	len() int
	close() error
}

// memReliable keeps the messages in memory (no spool folder).
type memReliable struct {
	mu   sync.Mutex
	msgs []message
	seq  uint64
}

func (r *memReliable) add(_ string, m message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seq++
	m.seq = r.seq
	r.msgs = append(r.msgs, m)
	return nil
}

func (r *memReliable) next(after uint64, max int) ([]message, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := sort.Search(len(r.msgs), func(i int) bool { return r.msgs[i].seq > after })
	end := min(len(r.msgs), i+max)
	return append([]message(nil), r.msgs[i:end]...), nil
}

func (r *memReliable) ack(seqs ...uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range seqs {
		i := sort.Search(len(r.msgs), func(i int) bool { return r.msgs[i].seq >= s })
		if i < len(r.msgs) && r.msgs[i].seq == s {
			r.msgs = append(r.msgs[:i:i], r.msgs[i+1:]...)
		}
	}
}

func (r *memReliable) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.msgs)
}
func (r *memReliable) close() error { return nil }

// diskReliable keeps the messages in a queue.Log, fsync'd.
type diskReliable struct {
	l   *queue.Log
	log *slog.Logger
}

func (r *diskReliable) add(key string, m message) error {
	var flags uint8
	if m.retain {
		flags |= flagRetain
	}
	if _, err := r.l.Append(queue.Record{Key: key, Topic: m.topic, Flags: flags, Payload: m.payload}); err != nil {
		return fmt.Errorf("mqtt: spool message for %s: %w", m.topic, err)
	}
	return nil
}

func (r *diskReliable) next(after uint64, max int) ([]message, error) {
	rs, err := r.l.Next(after, max)
	ms := make([]message, 0, len(rs))
	for _, rec := range rs {
		ms = append(ms, message{topic: rec.Topic, payload: rec.Payload, qos: 1, retain: rec.Flags&flagRetain != 0, seq: rec.Seq, key: rec.Key})
	}
	return ms, err
}

func (r *diskReliable) ack(seqs ...uint64) {
	if err := r.l.Ack(seqs...); err != nil {
		r.log.Warn("mqtt: delivery not recorded in the spool; the message may be sent again", "err", err)
	}
}

func (r *diskReliable) len() int     { return r.l.Len() }
func (r *diskReliable) close() error { return r.l.Close() }

// Record flags in the spool.
const (
	flagRetain = 1 << iota
	flagLate
)

// spooled is an alert file of the spool format before the queue (one
// JSON file per alert), read once to move it into the queue.
type spooled struct {
	Topic   string          `json:"topic"`
	Payload json.RawMessage `json:"payload,omitempty"`
	Text    string          `json:"text,omitempty"`
}

// migrateSpool moves alert files of the older spool format into r, oldest
// first, and removes them.
func migrateSpool(dir string, r reliable, log *slog.Logger) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("mqtt: spool folder: %w", err)
	}
	var names []string
	for _, e := range ents {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".alert") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		f := filepath.Join(dir, n)
		data, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("mqtt: spooled alert %s: %w", f, err)
		}
		var s spooled
		if err := json.Unmarshal(data, &s); err != nil || s.Topic == "" {
			log.Warn("mqtt: unreadable spooled alert skipped", "file", f)
			continue
		}
		payload := []byte(s.Payload)
		if s.Text != "" {
			payload = []byte(s.Text)
		}
		if err := r.add(s.Topic[strings.LastIndexByte(s.Topic, '/')+1:], message{topic: s.Topic, payload: payload, qos: 1}); err != nil {
			return err
		}
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("mqtt: spooled alert %s: %w", f, err)
		}
	}
	if len(names) > 0 {
		log.Info("mqtt: alerts of the older spool format moved into the queue", "count", len(names))
	}
	return nil
}
