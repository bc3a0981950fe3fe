package modbus_test

import (
	"fmt"
	"time"

	"github.com/emberwatch/emberwatch/drivers/modbus"
)

func ExampleParseProfile() {
	_, err := modbus.ParseProfile("bad.yaml", []byte(`
registers:
  - {point: battery.voltage, address: 10, type: u32, unit: mV}
  - {point: battery.current, address: 11}
`))
	fmt.Println(err)
	// Output:
	// bad.yaml:3: unit: unit "mV" is not the unit of battery.voltage ("V")
	// bad.yaml:4: address: point battery.current (holding 11..11) overlaps battery.voltage (10..11, line 3)
}

func ExampleNewDevice() {
	p, err := modbus.ParseProfile("ups.yaml", []byte(`
name: tiny-ups
registers:
  - {point: battery.charge, address: 130, scale: 0.001953125}
  - {point: battery.voltage, address: 131, type: s16, scale: 0.03125}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	// The client connects on the first request; Poll would read both
	// points in one request.
	c := modbus.NewTCPClient("127.0.0.1:1502", modbus.ClientOptions{Timeout: 500 * time.Millisecond})
	defer c.Close()
	d := modbus.NewDevice("ups-1", 1, p, c, modbus.Options{})
	for _, r := range d.Plan() {
		fmt.Println(r.Table, r.Start, r.Count, len(r.Points))
	}
	// Output: holding 130 2 2
}
