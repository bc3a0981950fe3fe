package sunspecsim_test

import (
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
	bms, err := sunspecsim.New(models, &sunspecsim.Opts{Strings: 2, Modules: 4, Cells: 8})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := bms.Listen(); err != nil {
		log.Fatal(err)
	}
	defer bms.Close()
	// bms.URL() is what `emberwatch probe` takes.
	v := bms.Values()
	fmt.Println(len(v), "values;", "cell 1 of module 1 of string 1:", v["battery.string.1.module.1.cell.1.voltage"], "V")
	fmt.Println("status:", bms.Texts()["battery.status"])
	// Output:
	// 220 values; cell 1 of module 1 of string 1: 3.233 V
	// status: CONNECTED
}
