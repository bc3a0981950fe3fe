package demo_test

import (
	"context"
	"fmt"
	"time"

	"github.com/emberwatch/emberwatch/agent/demo"
)

// The scripted fault: nothing for five seconds, then heat that grows as a
// developing runaway's does.
func ExampleScenario_FaultWatts() {
	sc := demo.DefaultScenario
	for _, s := range []int{0, 5, 30, 60} {
		fmt.Printf("%2d s: %5.0f W\n", s, sc.FaultWatts(time.Duration(s)*time.Second))
	}
	// Output:
	//  0 s:     0 W
	//  5 s:  3000 W
	// 30 s:  6351 W
	// 60 s: 12000 W
}

// A short run at twenty times real speed: the console's state says what
// came through the broker.
func ExampleRun() {
	res, err := demo.Run(context.Background(), demo.Options{Speed: 20, Duration: time.Second})
	if err != nil {
		fmt.Println(err)
		return
	}
	d := res.State.Devices[demo.Device]
	// A loaded machine can time out the odd poll; nearly all must succeed.
	fmt.Println(d != nil && d.Updates > 0, res.Errors*10 <= res.Polls)
	// Output: true true
}
