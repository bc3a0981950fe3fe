package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	var ue usageError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "footprint:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "footprint:", err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// options are the benchmark's settings.
type options struct {
	Devices   int
	Interval  time.Duration
	Duration  time.Duration
	Warmup    time.Duration
	InProcess bool
	Dist      string
	Verbose   bool
	Binary    string
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("footprint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.IntVar(&o.Devices, "devices", 50, "simulated Modbus TCP devices (40 points each)")
	fs.DurationVar(&o.Interval, "interval", time.Second, "poll interval of every device")
	fs.DurationVar(&o.Duration, "duration", 2*time.Minute, "how long the agent runs")
	fs.DurationVar(&o.Warmup, "warmup", 10*time.Second, "start of the run left out of the CPU and allocation figures")
	fs.BoolVar(&o.InProcess, "in-process", false, "run the simulators and the broker in this process (figures include them)")
	fs.StringVar(&o.Dist, "dist", "", "folder of cross-built binaries whose sizes are printed (default: dist/ of the module)")
	fs.BoolVar(&o.Verbose, "v", false, "log the agent's warnings and errors to stderr")
	fs.StringVar(&o.Binary, "agent", "", "measure this agent `binary` (bin/emberwatch) running 'run -c' against the testbed, from the outside, instead of the in-process pipeline")
	serve := fs.Bool("serve", false, "serve the simulators and the broker, print their addresses, run until stdin closes (the child's mode)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected arguments %q", fs.Args())}
	}
	if o.Devices < 1 || o.Devices > 1000 {
		return usageError{"-devices: want 1 to 1000"}
	}
	if o.Interval < 10*time.Millisecond {
		return usageError{"-interval: want at least 10ms"}
	}
	if o.Duration <= 0 || o.Warmup < 0 || o.Warmup >= o.Duration {
		return usageError{"-duration must be positive and longer than -warmup"}
	}
	if *serve {
		return serveChild(ctx, o, stdin, stdout)
	}
	if o.Binary != "" {
		res, err := measureBinary(ctx, o, stderr)
		if err != nil {
			return err
		}
		res.print(stdout, o)
		return nil
	}
	res, err := measure(ctx, o, stderr)
	if err != nil {
		return err
	}
	res.print(stdout)
	return nil
}
