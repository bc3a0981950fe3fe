//go:build interop

package scenario

import (
	"bytes"
	"os"
	"testing"

	"github.com/emberwatch/emberwatch/agent/trace"
	"github.com/emberwatch/emberwatch/testbench/peers"
)

// The real Samsung 30Q 4C runs convert: the cell heats from about 23 to
// 60-70 °C within a quarter of an hour.
func TestConvertQ30Recordings(t *testing.T) {
	for _, n := range []string{"Q30_S001_4C.csv", "Q30_S002_4C.csv", "Q30_S003_4C.csv"} {
		t.Run(n, func(t *testing.T) {
			f, err := os.Open(peers.SharedData(t, "thermal-runaway/"+n))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			var b bytes.Buffer
			tr, err := ConvertQ30(f, trace.NewWriter(&b), Q30Options{Name: n})
			if err != nil {
				t.Fatal(err)
			}
			if tr.PeakSensorTemp < 55 || tr.PeakSensorTemp > 75 || tr.Duration < 600 || tr.Duration > 1500 {
				t.Errorf("peak %.1f °C over %.0f s", tr.PeakSensorTemp, tr.Duration)
			}
			t.Logf("%d rows, peak %.1f °C, %.0f s", tr.Rows, tr.PeakSensorTemp, tr.Duration)
		})
	}
}
