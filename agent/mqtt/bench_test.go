package mqtt

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
)

// BenchmarkPublish measures what a poll pays to hand 160 readings (a rack
// of 16 modules of 8 cells with temperatures) to the publisher: JSON
// encoding and a queue append, never the network.
func BenchmarkPublish(b *testing.B) {
	p, err := New(Options{Broker: "tcp://127.0.0.1:1", Site: "dc1", Gateway: "gw-1", Logger: quiet(), Queue: 100})
	if err != nil {
		b.Fatal(err)
	}
	rs := make([]drivers.Reading, 0, 160)
	for m := 1; m <= 16; m++ {
		rs = append(rs, drivers.Reading{Point: fmt.Sprintf("battery.module.%d.temperature", m), Value: 25 + float64(m)/10, Unit: "°C"})
		for c := 1; c <= 9; c++ {
			rs = append(rs, drivers.Reading{Point: fmt.Sprintf("battery.module.%d.cell.%d.voltage", m, c), Value: 3.3 + float64(c)/1000, Unit: "V"})
		}
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		p.Publish("bms-1", now, rs)
	}
}

// BenchmarkTelemetryJSON is the same payload through encoding/json, for
// comparison with the hand encoder Publish uses.
func BenchmarkTelemetryJSON(b *testing.B) {
	rs := make([]drivers.Reading, 0, 160)
	for m := 1; m <= 16; m++ {
		rs = append(rs, drivers.Reading{Point: fmt.Sprintf("battery.module.%d.temperature", m), Value: 25 + float64(m)/10, Unit: "°C"})
		for c := 1; c <= 9; c++ {
			rs = append(rs, drivers.Reading{Point: fmt.Sprintf("battery.module.%d.cell.%d.voltage", m, c), Value: 3.3 + float64(c)/1000, Unit: "V"})
		}
	}
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(NewTelemetry("bms-1", now, rs)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishAlertSpooled is what raising an alert costs with a
// spool folder: the append and its fsync (the broker is away).
func BenchmarkPublishAlertSpooled(b *testing.B) {
	p, err := New(Options{Broker: "tcp://127.0.0.1:1", Site: "dc1", Gateway: "gw-1", Logger: quiet(), SpoolDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	ev := []byte(`{"id":"bms-1/battery.module.3/thermal_runaway","time":"2026-03-01T01:02:03.5Z","site":"dc1","gateway":"gw-1","device":"bms-1","subject":"battery.module.3","kind":"thermal_runaway","level":"warning","state":"raised","message":"module 3 heating 0.9 C/min faster than its neighbours","evidence":{"slope":0.9}}`)
	b.SetBytes(int64(len(ev)))
	for b.Loop() {
		if err := p.PublishAlert("bms-1", ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPublishBuffered is what a poll of 160 readings costs while the
// broker is away and telemetry goes to the spool (thinning included).
func BenchmarkPublishBuffered(b *testing.B) {
	p, err := New(Options{Broker: "tcp://127.0.0.1:1", Site: "dc1", Gateway: "gw-1", Logger: quiet(), SpoolDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	rs := make([]drivers.Reading, 0, 160)
	for m := 1; m <= 16; m++ {
		for c := 1; c <= 10; c++ {
			rs = append(rs, drivers.Reading{Point: fmt.Sprintf("battery.module.%d.cell.%d.voltage", m, c), Value: 3.3 + float64(c)/1000, Unit: "V"})
		}
	}
	now := time.Now()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p.Publish(fmt.Sprintf("bms-%d", i%50), now, rs)
	}
	b.ReportMetric(float64(p.Stats().TelemetryThinned)/float64(b.N), "thinned/op")
}
