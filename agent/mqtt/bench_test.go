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
