package detect_test

import (
	"fmt"
	"math"
	"time"

	"github.com/emberwatch/emberwatch/agent/detect"
)

// A sensor that reads nan (an open circuit) raises sensor_fault, never a
// runaway.
func Example() {
	d := detect.New(detect.DefaultConfig())
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 6; i++ {
		at := t0.Add(time.Duration(i) * 10 * time.Second)
		for m := 1; m <= 4; m++ {
			v := 24.0
			if m == 2 && i >= 3 {
				v = math.NaN()
			}
			for _, ev := range d.Observe(detect.Sample{Time: at, Device: "bms-1",
				Point: fmt.Sprintf("battery.module.%d.temperature", m), Value: v}) {
				fmt.Println(ev.Time.Format(time.TimeOnly), ev.Subject, ev.Kind, ev.Level, ev.State)
			}
		}
	}
	// Output:
	// 00:00:40 battery.module.2.temperature sensor_fault warning raised
}
