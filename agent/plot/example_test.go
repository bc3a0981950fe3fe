package plot_test

import (
	"bytes"
	"fmt"
	"time"

	"github.com/emberwatch/emberwatch/agent/plot"
)

func ExampleRecorder() {
	rec := plot.NewRecorder(0)
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 60; i++ {
		rec.Add("bms-1 battery.module.1.temperature", t0.Add(time.Duration(i)*time.Minute), 24+float64(i)/10)
	}
	rec.Mark(plot.Mark{Time: t0.Add(45 * time.Minute), Kind: "thermal_runaway", Level: "warning", State: "raised"})
	var buf bytes.Buffer
	if err := rec.WriteSVG(&buf, "module 1"); err != nil {
		panic(err)
	}
	fmt.Println(bytes.HasPrefix(buf.Bytes(), []byte("<svg")), bytes.Contains(buf.Bytes(), []byte("thermal_runaway warning raised")))
	// Output: true true
}
