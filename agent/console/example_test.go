package console_test

import (
	"fmt"
	"time"

	"github.com/emberwatch/emberwatch/agent/console"
)

func ExampleLine() {
	s := console.NewState("demo", "gw-1")
	u, err := s.Apply("emberwatch/v1/demo/gw-1/telemetry/bms-1",
		[]byte(`{"readings":[{"point":"battery.module.3.temperature","value":31.5,"unit":"°C"}]}`),
		time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(console.Line(s, u))
	// Output: 12:00:00 telemetry bms-1: 1 points; hottest module 3 31.5 °C (+0.0 since start)
}
