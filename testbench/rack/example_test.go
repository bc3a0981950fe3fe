package rack_test

import (
	"fmt"
	"time"

	"github.com/emberwatch/emberwatch/testbench/rack"
)

// A module with an internal fault heats faster than its neighbours.
func Example() {
	r := rack.New(rack.Config{Modules: 6, Cells: 16, Seed: 1, Quiet: true, Ambient: 25})
	_ = r.HeatModule(3, 200) // watts
	r.Step(15 * time.Minute)
	p := r.Points()
	fmt.Printf("module 2 %.1f °C, module 3 %.1f °C, module 4 %.1f °C\n",
		p["battery.module.2.temperature"], p["battery.module.3.temperature"], p["battery.module.4.temperature"])
	// Output:
	// module 2 25.2 °C, module 3 30.7 °C, module 4 25.2 °C
}
