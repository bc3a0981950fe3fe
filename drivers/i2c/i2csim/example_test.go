package i2csim_test

import (
	"context"
	"fmt"
	"log"

	"github.com/emberwatch/emberwatch/drivers/i2c/i2csim"
	"github.com/emberwatch/emberwatch/drivers/i2c/tmp102"
)

func Example() {
	bus := i2csim.NewBus("/dev/i2c-1")
	inlet := i2csim.NewTMP102(23.5)
	bus.Add(0x48, inlet)

	dev, err := tmp102.New(bus, 0x48, nil)
	if err != nil {
		log.Fatal(err)
	}
	inlet.SetTemperature(-4.25)
	t, err := dev.Sense(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t)
	// Output: -4.25
}
