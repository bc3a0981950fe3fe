package metrics_test

import (
	"os"

	"github.com/emberwatch/emberwatch/agent/metrics"
)

func Example() {
	r := metrics.NewRegistry()
	polls := r.Counter("emberwatch_polls_total", "Polls finished, per device.", "device")
	polls.With("bms-1").Inc()
	r.WriteTo(os.Stdout)
	// Output:
	// # HELP emberwatch_polls_total Polls finished, per device.
	// # TYPE emberwatch_polls_total counter
	// emberwatch_polls_total{device="bms-1"} 1
}
