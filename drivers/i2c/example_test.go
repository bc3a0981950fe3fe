package i2c_test

import (
	"context"
	"fmt"
	"log"

	ewi2c "github.com/emberwatch/emberwatch/drivers/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

func Example() {
	p, err := ewi2c.ParseProfile("inlet.yaml", []byte(`
name: inlet
bus: /dev/i2c-1
sensors:
  - sensor: sht3x
    address: 0x44
    points: {temperature: ambient.1.temperature, humidity: ambient.1.humidity}
`))
	if err != nil {
		log.Fatal(err)
	}
	// On a gateway: buses := &ewi2c.HostBuses{}; defer buses.Close().
	// Here a playback of the SHT31's answers stands in for /dev/i2c-1.
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: 0x44, W: []byte{0xF3, 0x2D}, R: []byte{0x80, 0x10, 0xE1}},
		{Addr: 0x44, W: []byte{0x24, 0x00}},
		{Addr: 0x44, R: []byte{0x66, 0x66, 0x93, 0x80, 0x00, 0xA2}},
	}}
	dev, err := ewi2c.NewDevice(p, ewi2c.BusMap{"/dev/i2c-1": bus}, nil)
	if err != nil {
		log.Fatal(err)
	}
	rs, err := dev.Poll(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range rs {
		fmt.Printf("%s %.1f %s\n", r.Point, r.Value, r.Unit)
	}
	// Output:
	// ambient.1.temperature 25.0 °C
	// ambient.1.humidity 50.0 %
}
