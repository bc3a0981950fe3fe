package sht3x_test

import (
	"context"
	"fmt"
	"log"

	"github.com/emberwatch/emberwatch/drivers/i2c/sht3x"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

func Example() {
	// On a gateway the bus comes from drivers/i2c.OpenBus("/dev/i2c-1").
	bus := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: 0x44, W: []byte{0xF3, 0x2D}, R: []byte{0x80, 0x10, 0xE1}},
		{Addr: 0x44, W: []byte{0x24, 0x00}},
		{Addr: 0x44, R: []byte{0x66, 0x66, 0x93, 0x80, 0x00, 0xA2}},
	}}
	dev, err := sht3x.New(bus, 0x44, nil)
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
