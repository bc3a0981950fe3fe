package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/emberwatch/emberwatch/agent/console"
	"github.com/emberwatch/emberwatch/agent/demo"
)

// demoCmd runs a simulated rack, the agent, an embedded broker and the
// console view in one process, and ends by itself unless --forever.
func demoCmd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "demo", "[--speed N] [--forever] [--duration D] [--listen HOST:PORT] [-v]")
	speed := fs.Float64("speed", 1, "run the scenario `N` times faster than real time (the agent polls every scenario second)")
	forever := fs.Bool("forever", false, "run until interrupted (after 90 s of scenario the faulty module is isolated and cools)")
	duration := fs.Duration("duration", 0, "longest wall time of the run (default 180s divided by --speed); without --forever the run ends 5 s of scenario after every host is down and every outlet off")
	listen := fs.String("listen", "127.0.0.1:0", "address of the embedded MQTT broker, for other MQTT clients to watch (`HOST:PORT`)")
	verbose := fs.Bool("v", false, "log the components' messages to stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if *speed <= 0 || *speed > 100 {
		return usagef("--speed %v: want a number above 0, at most 100", *speed)
	}
	if *duration < 0 {
		return usagef("--duration %v: want a positive duration", *duration)
	}
	logOut, level := io.Discard, slog.LevelWarn
	if *verbose {
		logOut, level = e.stderr, slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: level}))
	terminal := false
	if f, ok := e.stdout.(*os.File); ok {
		terminal = console.IsTerminal(f)
	}
	res, err := demo.Run(ctx, demo.Options{
		Speed:    *speed,
		Duration: *duration,
		Forever:  *forever,
		Listen:   *listen,
		Out:      e.stdout,
		Terminal: terminal,
		Logger:   log,
		Seed:     uint64(time.Now().UnixNano()),
		Version:  version,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "demo: %d polls (%d failed) over %s of scenario time, through %s\n",
		res.Polls, res.Errors, res.ScenarioTime.Round(time.Second), res.Broker)
	if res.Timeline != nil {
		res.Timeline.Report(e.stdout)
	}
	if d := res.State.Devices[demo.Device]; d == nil || d.Updates == 0 {
		return fmt.Errorf("no telemetry reached the console through %s", res.Broker)
	}
	return nil
}
