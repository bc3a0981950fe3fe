package tmp102_test

import (
	"context"
	"fmt"
	"log"

	"github.com/emberwatch/emberwatch/drivers/i2c/tmp102"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

func Example() {
	// On a gateway the bus comes from drivers/i2c.OpenBus("/dev/i2c-1");
	// here a playback of the chip's answers stands in for it.
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: 0x48, W: []byte{0x01}, R: []byte{0x60, 0xA0}},
		{Addr: 0x48, W: []byte{0x01, 0x61, 0x90}},
		{Addr: 0x48, W: []byte{0x01, 0xE1, 0x90}},
		{Addr: 0x48, W: []byte{0x01}, R: []byte{0xE1, 0xB0}},
		{Addr: 0x48, W: []byte{0x00}, R: []byte{0x0C, 0x81}},
	}}
	dev, err := tmp102.New(bus, 0x48, nil)
	if err != nil {
		log.Fatal(err)
	}
	t, err := dev.Sense(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%.2f °C\n", t)
	// Output: 25.00 °C
}
