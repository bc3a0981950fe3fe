package sunspec_test

import (
	"context"
	"fmt"
	"log"

	"github.com/emberwatch/emberwatch/drivers/modbus/sunspec"
	"github.com/emberwatch/emberwatch/testbench/sunspecsim"
)

func Example() {
	models, err := sunspec.DefaultModels()
	if err != nil {
		log.Fatal(err)
	}
	// Any Registers will do: a drivers/modbus client, or here the
	// simulator itself.
	bms, err := sunspecsim.New(models, &sunspecsim.Opts{Strings: 1, Modules: 2, Cells: 4})
	if err != nil {
		log.Fatal(err)
	}
	dev := sunspec.New(bms, models, &sunspec.Opts{Unit: 1})
	chain, err := dev.Discover(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, h := range chain {
		fmt.Printf("model %d at %d, %d registers\n", h.ID, h.Addr, h.Len)
	}
	readings, err := dev.Read(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(readings), "readings")
	// Output:
	// model 1 at 40002, 66 registers
	// model 802 at 40070, 62 registers
	// model 803 at 40134, 58 registers
	// model 804 at 40194, 78 registers
	// model 805 at 40274, 58 registers
	// model 805 at 40334, 58 registers
	// 47 readings
}
