package mqtt_test

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/emberwatch/emberwatch/agent/mqtt"
	"github.com/emberwatch/emberwatch/drivers"
)

func ExampleNewTelemetry() {
	t := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	m := mqtt.NewTelemetry("bms-1", t, []drivers.Reading{
		{Point: "battery.voltage", Value: 53.12, Unit: "V"},
		{Point: "battery.module.2.temperature", Value: math.NaN(), Unit: "°C"},
	})
	b, _ := json.Marshal(m)
	fmt.Println(mqtt.NewTopics("dc1", "gw-1").Telemetry("bms-1"))
	fmt.Println(string(b))
	// Output:
	// emberwatch/v1/dc1/gw-1/telemetry/bms-1
	// {"time":"2026-03-01T00:00:00Z","device":"bms-1","points":{"battery.module.2.temperature":{"value":null,"unit":"°C"},"battery.voltage":{"value":53.12,"unit":"V"}}}
}
