// Command modbussim serves a simulated battery rack over Modbus, for trying
// the agent, a probe or any Modbus master by hand:
//
//	go run ./testbench/modbussim/cmd/modbussim \
//	    -profile firmware-config/profiles/modbus/generic-rack-bms.yaml \
//	    -listen 127.0.0.1:5020 -pty -hot 3
//
// It serves Modbus TCP on -listen, and optionally RTU on a pty (-pty, the
// client opens the printed tty path like a serial port) and RTU over TCP
// (-rtu-tcp), paced at -baud. The rack is stepped in real time times
// -speed; -hot N heats module N to show a fault developing; -fault gives
// the slave a fault (no-reply, exception, close-mid-reply, late-reply,
// dead). While it runs, lines on standard input change the fault, the hot
// module, the current and the room temperature (type help). It runs until
// interrupted.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/emberwatch/emberwatch/drivers/modbus"
	"github.com/emberwatch/emberwatch/testbench/modbussim"
	"github.com/emberwatch/emberwatch/testbench/rack"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdin, os.Stdout); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		fmt.Fprintln(os.Stderr, "modbussim:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("modbussim", flag.ContinueOnError)
	profile := fs.String("profile", "", "Modbus profile YAML to serve (required)")
	listen := fs.String("listen", "127.0.0.1:0", "Modbus TCP address; empty: none")
	rtuTCP := fs.String("rtu-tcp", "", "RTU over TCP address, e.g. 127.0.0.1:0; empty: none")
	usePTY := fs.Bool("pty", false, "serve RTU on a pty pair and print the tty path")
	baud := fs.Int("baud", 19200, "RTU line speed (bit/s)")
	unit := fs.Uint("unit", 1, "RTU unit id")
	modules := fs.Int("modules", 8, "modules in the string")
	cells := fs.Int("cells", 16, "cells in each module")
	seed := fs.Uint64("seed", 1, "model seed")
	current := fs.Float64("current", -20, "string current, A (> 0 charging)")
	hot := fs.Int("hot", 0, "module to heat (0: none)")
	hotWatts := fs.Float64("hot-watts", 150, "heat in the hot module, W")
	speed := fs.Float64("speed", 1, "simulated seconds per real second")
	every := fs.Duration("every", time.Second, "real time between model steps")
	fault := fs.String("fault", "none", "fault: none, no-reply, exception, close-mid-reply, late-reply, dead")
	code := fs.Uint("fault-code", 4, "exception code of -fault exception")
	from := fs.Uint("fault-from", 0, "first address of -fault exception")
	to := fs.Uint("fault-to", 0, "last address of -fault exception (0: to the end)")
	delay := fs.Duration("fault-delay", 2*time.Second, "delay of -fault late-reply")
	verbose := fs.Bool("v", false, "log every fault and server message")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *profile == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("-profile FILE is required, and no arguments")
	}
	if *unit < 1 || *unit > 247 || *speed <= 0 || *every <= 0 {
		return errors.New("-unit must be 1..247, -speed and -every positive")
	}
	data, err := os.ReadFile(*profile)
	if err != nil {
		return err
	}
	p, err := modbus.ParseProfile(*profile, data)
	if err != nil {
		return err
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	r := rack.New(rack.Config{Modules: *modules, Cells: *cells, Seed: *seed, Current: *current})
	if *hot > 0 {
		if err := r.HeatModule(*hot, *hotWatts); err != nil {
			return err
		}
	}
	sim, err := modbussim.New(p, r, modbussim.Options{Logger: log})
	if err != nil {
		return err
	}
	kind, err := modbussim.ParseFaultKind(*fault)
	if err != nil {
		return err
	}
	if err := sim.SetFault(modbussim.Fault{Kind: kind, Code: byte(*code), From: uint16(*from), To: uint16(*to), Delay: *delay}); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if *listen != "" {
		addr, err := sim.ServeTCP(ctx, *listen)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "modbus tcp    %s (any unit id)\n", addr)
	}
	bus := modbussim.NewBus()
	if err := bus.Add(uint8(*unit), sim); err != nil {
		return err
	}
	if *rtuTCP != "" {
		addr, err := bus.ServeRTUOverTCP(ctx, *rtuTCP, *baud)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rtu over tcp  %s (unit %d, %d baud)\n", addr, *unit, *baud)
	}
	errc := make(chan error, 1)
	if *usePTY {
		pty, err := modbussim.OpenPTY()
		if err != nil {
			return err
		}
		defer pty.Close()
		go func() { errc <- bus.ServeRTU(ctx, pty.Server, *baud) }()
		fmt.Fprintf(stdout, "rtu pty       %s (unit %d, %d baud)\n", pty.Path, *unit, *baud)
	}

	cmds := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdin)
		for sc.Scan() {
			select {
			case cmds <- sc.Text():
			case <-ctx.Done():
				return
			}
		}
	}()

	tick := time.NewTicker(*every)
	defer tick.Stop()
	dt := time.Duration(float64(*every) * *speed)
	for {
		select {
		case <-ctx.Done():
			c := sim.Counters()
			fmt.Fprintf(stdout, "served %d requests, %d registers, %d exceptions, %d dropped\n",
				c.Requests, c.Registers, c.Exceptions, c.Dropped)
			return nil
		case err := <-errc:
			return err
		case line := <-cmds:
			cmd, err := parseCommand(line)
			if err == nil && cmd != nil {
				var msg string
				if msg, err = cmd(r, sim); err == nil {
					fmt.Fprintln(stdout, msg)
				}
			}
			if err != nil {
				fmt.Fprintln(stdout, "error:", err)
			}
		case <-tick.C:
			r.Step(dt)
			if err := sim.Refresh(); err != nil {
				return err
			}
		}
	}
}
