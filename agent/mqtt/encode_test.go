package mqtt

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
)

// TestAppendTelemetryMatchesJSON: the hand encoder writes what
// encoding/json writes for the Telemetry value, for awkward numbers and
// strings too.
func TestAppendTelemetryMatchesJSON(t *testing.T) {
	values := []float64{0, math.Copysign(0, -1), 1, -1, 53.12, 1e-7, -1e-7, 1.5e-6, 1e21, 1e20, 123456789012345678, 0.1 + 0.2,
		math.MaxFloat64, math.SmallestNonzeroFloat64, math.NaN(), math.Inf(1), math.Inf(-1), 3.3e-9}
	texts := []string{"OL", "OL CHRG", `quote " and \ back`, "<tag>&amp;", "tab\tnew\nline\x01", "°C µ", "bad \xff utf8", "line\u2028sep"}
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		var rs []drivers.Reading
		for i := range r.IntN(12) {
			rd := drivers.Reading{Point: []string{"battery.voltage", "battery.module.1.temperature", "ups.status", "a", "b.c"}[r.IntN(5)],
				Value: values[r.IntN(len(values))], Unit: []string{"", "V", "°C", "%"}[r.IntN(4)]}
			if r.IntN(4) == 0 {
				rd.Text = texts[r.IntN(len(texts))]
			}
			_ = i
			rs = append(rs, rd)
		}
		at := time.Date(2026, 3, 1, 0, 0, r.IntN(60), r.IntN(1e9), time.FixedZone("x", 3600))
		want, err := json.Marshal(NewTelemetry("bms-1", at, rs))
		if err != nil {
			t.Fatal(err)
		}
		got := appendTelemetry(nil, "bms-1", at, rs)
		if string(got) != string(want) {
			t.Fatalf("trial %d:\n got %s\nwant %s", trial, got, want)
		}
	}
}
