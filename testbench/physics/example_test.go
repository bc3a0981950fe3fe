package physics_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/emberwatch/emberwatch/testbench/physics"
)

// A cell of an NMC rack on float develops a hard internal short.
func Example() {
	chem := physics.NMC()
	rng := rand.New(rand.NewPCG(1, 1))
	r, err := physics.NewRack(physics.DefaultConfig(chem, 4, 12), 25, chem.SoCAt(chem.FloatV), rng)
	if err != nil {
		panic(err)
	}
	r.Strings[0].Drive = physics.Drive{Kind: physics.Charge, VCell: chem.FloatV, IMax: 20}
	cell := &r.Cells[r.Index(0, 1, 6)]
	cell.Rshort = 0.01
	for !cell.Runaway {
		r.Step(1)
	}
	fmt.Println("vented:", cell.Vented, "runaway within 10 min:", cell.RunawayAt < 600)
	// Output: vented: true runaway within 10 min: true
}
