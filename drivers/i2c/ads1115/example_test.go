package ads1115_test

import (
	"context"
	"fmt"
	"log"

	"github.com/emberwatch/emberwatch/drivers/i2c/ads1115"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

func Example() {
	// On a gateway the bus comes from drivers/i2c.OpenBus("/dev/i2c-1").
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: 0x48, W: []byte{0x01}, R: []byte{0x85, 0x83}},
		{Addr: 0x48, W: []byte{0x01, 0xC3, 0x83}},
		{Addr: 0x48, W: []byte{0x01}, R: []byte{0xC3, 0x83}},
		{Addr: 0x48, W: []byte{0x00}, R: []byte{0x30, 0x00}},
	}}
	dev, err := ads1115.New(bus, 0x48, &ads1115.Opts{Gain: 4.096, DataRate: 128})
	if err != nil {
		log.Fatal(err)
	}
	v, err := dev.Read(context.Background(), ads1115.AIN0)
	if err != nil {
		log.Fatal(err)
	}
	// A 0.4-2.0 V H2 transmitter for 0-1000 ppm: 625 ppm/V, -250 ppm.
	fmt.Printf("%.3f V = %.0f ppm H2\n", v, v*625-250)
	// Output: 1.536 V = 710 ppm H2
}
