package scenario

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/trace"
)

func rel(tr Truth, t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Sub(tr.Start).Round(time.Second).String()
}

// TestSummary prints the ground truth of seeds 1-6 of the families named
// in $FAMS (comma separated), for tuning: FAMS=soft_short go test -run
// Summary -v.
func TestSummary(t *testing.T) {
	if os.Getenv("FAMS") == "" {
		t.Skip("set FAMS=family,... to print ground truths")
	}
	fams := strings.Split(os.Getenv("FAMS"), ",")
	for _, f := range fams {
		for seed := uint64(1); seed <= 6; seed++ {
			s, err := New(f, seed, Options{})
			if err != nil {
				t.Fatal(err)
			}
			tr, _ := s.Run(context.Background(), func(trace.Row) error { return nil })
			t.Logf("%s %d %s %dx%dx%d fault=%s onset=%s vent=%s run=%s peakC=%.0f peakS=%.0f %s %v", f, seed, tr.Rack.Chemistry, tr.Rack.Strings, tr.Rack.Modules, tr.Rack.Cells,
				rel(tr, tr.FaultTime), rel(tr, tr.OnsetTime), rel(tr, tr.FirstVentTime), rel(tr, tr.RunawayTime), tr.PeakCellTemp, tr.PeakSensorTemp, tr.Subject, tr.Params)
		}
	}
}
