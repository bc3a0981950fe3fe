package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/emberwatch/emberwatch/agent/config"
	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/agent/plot"
	"github.com/emberwatch/emberwatch/agent/trace"
)

// replayCmd runs the detector over a recorded trace (CONTRACTS sections 1
// and 3) and writes its events as JSON lines, in trace time.
func replayCmd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "replay", "[-c FILE] [--plot FILE.svg] TRACE.csv")
	cfgPath := fs.String("c", "", "site config `FILE`; its detect: section sets the thresholds")
	plotPath := fs.String("plot", "", "write an SVG plot of the trace's temperatures with the events marked to `FILE.svg`")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) > 1 { // flags after the trace name
		if err := parseFlags(fs, rest[1:]); err != nil {
			return err
		}
		rest = append(rest[:1], fs.Args()...)
	}
	if len(rest) != 1 {
		fs.Usage()
		return usagef("replay needs exactly one TRACE.csv, got %d arguments", len(rest))
	}
	cfg := detect.DefaultConfig()
	if *cfgPath != "" {
		c, err := loadDetectConfig(*cfgPath)
		if err != nil {
			return inputError{err}
		}
		cfg = c
	}
	name := rest[0]
	var in io.Reader
	if name == "-" {
		in, name = e.stdin, "stdin"
	} else {
		f, err := os.Open(name)
		if err != nil {
			return inputError{err}
		}
		defer f.Close()
		in = f
	}
	var rec *plot.Recorder
	if *plotPath != "" {
		rec = plot.NewRecorder(800)
	}
	out := bufio.NewWriterSize(e.stdout, 64*1024)
	n, err := replay(ctx, in, out, cfg, rec)
	if ferr := out.Flush(); err == nil && ferr != nil {
		err = ferr
	}
	var le *trace.LineError
	if errors.As(err, &le) {
		return inputError{fmt.Errorf("%s: %w", name, err)}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if rec != nil {
		if err := writePlot(*plotPath, name, rec); err != nil {
			return err
		}
	}
	_ = n
	return nil
}

// replay feeds every row of in to a detector and writes its events to out.
// It returns the number of readings.
func replay(ctx context.Context, in io.Reader, out io.Writer, cfg detect.Config, rec *plot.Recorder) (int, error) {
	if err := cfg.Validate(); err != nil {
		return 0, err
	}
	r := trace.NewReader(in)
	d := detect.New(cfg)
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	n := 0
	for {
		row, err := r.Next()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
		if n&0xffff == 0 && ctx.Err() != nil {
			return n, ctx.Err()
		}
		if rec != nil && strings.HasSuffix(row.Point, ".temperature") {
			rec.Add(row.Device+" "+row.Point, row.Time, row.Value)
		}
		for _, ev := range d.Observe(detect.Sample{Time: row.Time, Device: row.Device, Point: row.Point, Value: row.Value}) {
			if err := enc.Encode(ev); err != nil {
				return n, err
			}
			if rec != nil {
				rec.Mark(plot.Mark{Time: ev.Time, Kind: ev.Kind, Level: ev.Level, State: ev.State,
					Label: ev.Device + " " + ev.Subject})
			}
		}
	}
}

func writePlot(path, title string, rec *plot.Recorder) error {
	f, err := os.Create(path)
	if err != nil {
		return inputError{err}
	}
	if err := rec.WriteSVG(f, title); err != nil {
		f.Close()
		return fmt.Errorf("plot %s: %w", path, err)
	}
	return f.Close()
}

// loadDetectConfig reads a site config (agent/config) and decodes its
// detect: section strictly over the detector's defaults.
func loadDetectConfig(path string) (detect.Config, error) {
	c, err := config.Load(path)
	if err != nil {
		return detect.Config{}, err
	}
	dc := detect.DefaultConfig()
	if err := c.DecodeDetect(&dc); err != nil {
		return detect.Config{}, err
	}
	dc.Site, dc.Gateway = c.Site, c.Gateway
	if err := dc.Validate(); err != nil {
		return detect.Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return dc, nil
}
