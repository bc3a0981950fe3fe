package mcp9808_test

import (
	"context"
	"fmt"
	"log"

	"github.com/emberwatch/emberwatch/drivers/i2c/mcp9808"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

func Example() {
	// On a gateway the bus comes from drivers/i2c.OpenBus("/dev/i2c-1").
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: 0x18, W: []byte{0x06}, R: []byte{0x00, 0x54}},
		{Addr: 0x18, W: []byte{0x07}, R: []byte{0x04, 0x00}},
		{Addr: 0x18, W: []byte{0x01}, R: []byte{0x00, 0x00}},
		{Addr: 0x18, W: []byte{0x08, 0x00}},
		{Addr: 0x18, W: []byte{0x05}, R: []byte{0x01, 0x98}},
	}}
	dev, err := mcp9808.New(bus, 0x18, &mcp9808.Opts{Resolution: mcp9808.Res0_5})
	if err != nil {
		log.Fatal(err)
	}
	s, err := dev.Sense(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%.1f °C, above TCRIT: %v\n", s.Temperature, s.Crit)
	// Output: 25.5 °C, above TCRIT: false
}
