package lm75_test

import (
	"context"
	"fmt"
	"log"

	"github.com/emberwatch/emberwatch/drivers/i2c/lm75"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

func Example() {
	// On a gateway the bus comes from drivers/i2c.OpenBus("/dev/i2c-1").
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: 0x49, W: []byte{0x01}, R: []byte{0x00}},
		{Addr: 0x49, W: []byte{0x00}, R: []byte{0xE7, 0x20}},
	}}
	dev, err := lm75.New(bus, 0x49, &lm75.Opts{Resolution: 11})
	if err != nil {
		log.Fatal(err)
	}
	t, err := dev.Sense(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%.3f °C\n", t)
	// Output: -24.875 °C
}
