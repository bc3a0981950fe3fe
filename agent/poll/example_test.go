package poll_test

import (
	"context"
	"fmt"
	"time"

	"github.com/emberwatch/emberwatch/agent/poll"
	"github.com/emberwatch/emberwatch/drivers"
)

type constant float64

func (c constant) Poll(context.Context) ([]drivers.Reading, error) {
	return []drivers.Reading{{Point: "ambient.temperature", Value: float64(c), Unit: "°C"}}, nil
}

func Example() {
	got := make(chan string, 1)
	sink := poll.SinkFunc(func(device string, _ time.Time, rs []drivers.Reading) {
		select {
		case got <- fmt.Sprintf("%s %s %.1f %s", device, rs[0].Point, rs[0].Value, rs[0].Unit):
		default:
		}
	})
	s := poll.New(sink, poll.Options{})
	_ = s.Add(poll.Target{Name: "room-1", Device: constant(22.5), Interval: 10 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { fmt.Println(<-got); cancel() }()
	_ = s.Run(ctx)
	// Output: room-1 ambient.temperature 22.5 °C
}
