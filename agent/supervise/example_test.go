package supervise_test

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/emberwatch/emberwatch/agent/poll"
	"github.com/emberwatch/emberwatch/agent/supervise"
	"github.com/emberwatch/emberwatch/drivers"
)

// The run verb's wiring: ready once the devices are added and the publisher
// started, the watchdog fed while a poll finished in the last minute, and
// stopping before the flush. (Compiled, not run: under a service manager the
// test would talk to it.)
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	sched := poll.New(poll.SinkFunc(func(string, time.Time, []drivers.Reading) {}), poll.Options{})

	n, err := supervise.New(supervise.Options{Getenv: os.Getenv, PID: os.Getpid(), Logger: slog.Default()})
	if err != nil {
		slog.Warn("watchdog off", "err", err)
	}
	defer n.Close()
	go n.Watchdog(ctx, supervise.Recent(func() time.Time { return supervise.LastPoll(sched.Stats()) }, time.Minute, nil))
	_ = n.Ready("polling")
	_ = sched.Run(ctx)
	_ = n.Stopping("flushing")
}
