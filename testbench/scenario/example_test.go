package scenario_test

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/emberwatch/emberwatch/agent/trace"
	"github.com/emberwatch/emberwatch/testbench/scenario"
)

// Write two hours of an HVAC failure scenario as a trace; the ground truth
// says what a detector should make of it.
func Example() {
	s, err := scenario.New("hvac_failure", 7, scenario.Options{Duration: 2 * time.Hour})
	if err != nil {
		panic(err)
	}
	truth, err := s.WriteTrace(context.Background(), trace.NewWriter(io.Discard))
	if err != nil {
		panic(err)
	}
	fmt.Println(truth.Family, truth.Class, "expect", truth.ExpectKinds, "forbid", truth.ForbidKinds)
	// Output: hvac_failure nuisance expect [environment] forbid [thermal_runaway]
}
