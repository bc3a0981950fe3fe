package sht4x_test

import (
	"context"
	"fmt"
	"log"

	"github.com/emberwatch/emberwatch/drivers/i2c/sht4x"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

func Example() {
	// On a gateway the bus comes from drivers/i2c.OpenBus("/dev/i2c-1").
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: 0x44, W: []byte{0x89}},
		{Addr: 0x44, R: []byte{0x12, 0x34, 0x37, 0x56, 0x78, 0x7D}},
		{Addr: 0x44, W: []byte{0xFD}},
		{Addr: 0x44, R: []byte{0x66, 0x66, 0x93, 0x72, 0xB0, 0xDC}},
	}}
	dev, err := sht4x.New(bus, 0x44, nil)
	if err != nil {
		log.Fatal(err)
	}
	s, err := dev.Sense(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%.1f °C %.1f %%RH\n", s.Temperature, s.Humidity)
	// Output: 25.0 °C 50.0 %RH
}
