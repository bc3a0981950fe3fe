package queue

import (
	"bytes"
	"fmt"
	"testing"
)

// alertPayload is the size of a typical alert event.
var alertPayload = bytes.Repeat([]byte("x"), 400)

// BenchmarkAppendSync is the durable path of alerts: one fsync per record.
func BenchmarkAppendSync(b *testing.B) {
	l := open(b, b.TempDir(), Options{})
	b.SetBytes(int64(len(alertPayload)))
	for b.Loop() {
		if _, err := l.Append(Record{Key: "bms-1", Topic: "t", Payload: alertPayload}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppendNoSync is the telemetry path: no fsync.
func BenchmarkAppendNoSync(b *testing.B) {
	l := open(b, b.TempDir(), Options{NoSync: true})
	b.SetBytes(int64(len(alertPayload)))
	for b.Loop() {
		if _, err := l.Append(Record{Key: "bms-1", Topic: "t", Payload: alertPayload}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecover opens a folder holding N pending records.
func BenchmarkRecover(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			dir := b.TempDir()
			l := open(b, dir, Options{NoSync: true})
			for range n {
				if _, err := l.Append(Record{Key: "bms-1", Topic: "t", Payload: alertPayload}); err != nil {
					b.Fatal(err)
				}
			}
			_ = l.Close()
			for b.Loop() {
				l, err := Open(dir, Options{Logger: quiet()})
				if err != nil || l.Len() != n {
					b.Fatalf("%v, %d pending", err, l.Len())
				}
				_ = l.Close()
			}
		})
	}
}
