package trace_test

import (
	"fmt"
	"io"
	"strings"

	"github.com/emberwatch/emberwatch/agent/trace"
)

func ExampleReader() {
	in := "time,device,point,value\n" +
		"2026-03-01T00:00:00Z,bms-1,battery.module.1.temperature,24.6\n" +
		"2026-03-01T00:00:00Z,bms-1,battery.module.2.temperature,nan\n" +
		"2026-02-28T23:59:59Z,bms-1,battery.module.1.temperature,24.6\n"
	r := trace.NewReader(strings.NewReader(in))
	for {
		row, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Println(err)
			break
		}
		fmt.Println(row.Device, row.Point, row.Value)
	}
	// Output:
	// bms-1 battery.module.1.temperature 24.6
	// bms-1 battery.module.2.temperature NaN
	// line 4: time 2026-02-28T23:59:59Z is before the previous row's 2026-03-01T00:00:00Z (rows must be in time order)
}
