package detect

import (
	"bytes"
	"io"
	"math"
	"runtime"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/trace"
)

// benchTrace writes a simulated soft-short runaway with an outage as a
// trace in memory and returns it with its number of readings.
func benchTrace(tb testing.TB, dur time.Duration) ([]byte, int) {
	var buf bytes.Buffer
	w := trace.NewWriter(&buf)
	r := newSimRack(16, 3)
	n := 0
	r.run(dur, func(t time.Duration, r *simRack) {
		switch {
		case t > time.Hour && t < 2*time.Hour:
			r.current = -150
		case t >= 2*time.Hour && t < 3*time.Hour:
			r.current = 50
		default:
			r.current = 0.3
		}
		if t > 4*time.Hour {
			r.heat[9] = math.Min(2000, 3*math.Exp((t-4*time.Hour).Minutes()/40))
		}
	}, func(s Sample) {
		n++
		if err := w.Write(trace.Row{Time: s.Time, Device: s.Device, Point: s.Point, Value: s.Value}); err != nil {
			tb.Fatal(err)
		}
	})
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), n
}

func replayBytes(tb testing.TB, data []byte) int {
	rd := trace.NewReader(bytes.NewReader(data))
	d := New(DefaultConfig())
	events := 0
	for {
		row, err := rd.Next()
		if err == io.EOF {
			return events
		}
		if err != nil {
			tb.Fatal(err)
		}
		events += len(d.Observe(Sample{Time: row.Time, Device: row.Device, Point: row.Point, Value: row.Value}))
	}
}

// BenchmarkReplay measures the trace reader and the detector together, in
// readings per second on one core.
func BenchmarkReplay(b *testing.B) {
	data, n := benchTrace(b, 8*time.Hour)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		replayBytes(b, data)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "readings/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(n)*float64(b.N)/cpu.Seconds(), "readings/cpu-s")
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N), "ns/reading")
}

// TestMemoryBounded feeds one detector a long stream and checks that its
// heap does not grow with the number of readings.
func TestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("long stream")
	}
	d := New(DefaultConfig())
	r := newSimRack(16, 5)
	r.withGas = false
	var heap []uint64
	const hours = 48
	n := 0
	r.run(hours*time.Hour, func(tt time.Duration, r *simRack) {
		if tt%(12*time.Hour) == 0 {
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			heap = append(heap, ms.HeapAlloc)
		}
		r.room = 23 + 2*math.Sin(2*math.Pi*tt.Hours()/24)
	}, func(s Sample) {
		n++
		d.Observe(s)
	})
	t.Logf("%d readings; heap at every 12 h: %v", n, heap)
	if len(heap) < 4 {
		t.Fatal("too few heap samples")
	}
	if growth := int64(heap[len(heap)-1]) - int64(heap[1]); growth > 256<<10 {
		t.Errorf("heap grew by %d bytes from 12 h to %d h", growth, hours)
	}
}

// BenchmarkReader measures the trace reader alone.
func BenchmarkReader(b *testing.B) {
	data, n := benchTrace(b, 8*time.Hour)
	b.ResetTimer()
	cpu0 := cpuTime()
	for i := 0; i < b.N; i++ {
		rd := trace.NewReader(bytes.NewReader(data))
		for {
			if _, err := rd.Next(); err != nil {
				break
			}
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "readings/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(n)*float64(b.N)/cpu.Seconds(), "readings/cpu-s")
	}
}
