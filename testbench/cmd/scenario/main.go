// Command scenario writes one testbench scenario as a trace (CONTRACTS
// section 3) and its ground truth as JSON beside it:
//
//	go run ./testbench/cmd/scenario -family hvac_failure -seed 7 -o trace.csv
//
// writes trace.csv and trace.json. -list prints the families; -q30 FILE
// converts a Samsung 30Q discharge recording instead.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/emberwatch/emberwatch/agent/trace"
	"github.com/emberwatch/emberwatch/testbench/scenario"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var ue usageError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		fmt.Fprintln(os.Stderr, "scenario:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "scenario:", err)
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scenario", flag.ContinueOnError)
	fs.SetOutput(stderr)
	family := fs.String("family", "", "scenario family (see -list)")
	seed := fs.Uint64("seed", 1, "random seed")
	out := fs.String("o", "", "trace file to write (ground truth goes to the same name with .json); - or empty for stdout")
	durFlag := fs.Duration("duration", 0, "length of a nuisance trace (default: the family's)")
	modules := fs.Int("modules", 0, "modules per string (default: drawn from the seed)")
	list := fs.Bool("list", false, "list the families and exit")
	q30 := fs.String("q30", "", "convert this Samsung 30Q discharge CSV (Q30_S00*_4C.csv) instead")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if *list {
		for _, f := range scenario.RunawayFamilies() {
			fmt.Fprintln(stdout, f, "runaway")
		}
		for _, f := range scenario.NuisanceFamilies() {
			fmt.Fprintln(stdout, f, "nuisance")
		}
		return nil
	}
	var w io.Writer = stdout
	var f *os.File
	if *out != "" && *out != "-" {
		var err error
		if f, err = os.Create(*out); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	tw := trace.NewWriter(w)
	var truth any
	if *q30 != "" {
		in, err := os.Open(*q30)
		if err != nil {
			return err
		}
		defer in.Close()
		t, err := scenario.ConvertQ30(in, tw, scenario.Q30Options{Name: filepath.Base(*q30)})
		if err != nil {
			return fmt.Errorf("%s: %w", *q30, err)
		}
		truth = t
	} else {
		if *family == "" {
			return usageError{"-family is required (see -list)"}
		}
		if *modules < 0 {
			return usageError{fmt.Sprintf("-modules %d: must not be negative", *modules)}
		}
		s, err := scenario.New(*family, *seed, scenario.Options{Duration: *durFlag, Modules: *modules})
		if err != nil {
			return usageError{err.Error()}
		}
		t0 := time.Now()
		t, err := s.WriteTrace(ctx, tw)
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "%s seed %d: %d rows, %.1f h simulated in %v\n", *family, *seed, t.Rows, t.Duration/3600, time.Since(t0).Round(time.Millisecond))
		truth = t
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return err
		}
		js := strings.TrimSuffix(*out, filepath.Ext(*out)) + ".json"
		b, err := json.MarshalIndent(truth, "", "  ")
		if err != nil {
			return err
		}
		return os.WriteFile(js, append(b, '\n'), 0o644)
	}
	return nil
}
