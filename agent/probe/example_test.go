package probe_test

import (
	"fmt"
	"log"
	"math"
	"os"

	"github.com/emberwatch/emberwatch/agent/probe"
	"github.com/emberwatch/emberwatch/drivers"
)

func Example() {
	t, err := probe.ParseURL("modbus+tcp://10.0.0.5?unit=1&profile=sunspec")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.Modbus.Bus(), "unit", t.Modbus.Unit, "profile", t.Modbus.Profile)
	_ = probe.Write(os.Stdout, []drivers.Reading{
		{Point: "battery.module.10.temperature", Value: 24.5, Unit: "°C"},
		{Point: "battery.module.9.temperature", Value: math.NaN(), Unit: "°C"},
	})
	// Output:
	// tcp://10.0.0.5:502 unit 1 profile sunspec
	// battery.module.9.temperature nan °C
	// battery.module.10.temperature 24.5 °C
}
