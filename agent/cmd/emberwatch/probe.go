package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"time"

	"github.com/emberwatch/emberwatch/agent/probe"
	"github.com/emberwatch/emberwatch/drivers"
	"github.com/emberwatch/emberwatch/drivers/modbus"
	"github.com/emberwatch/emberwatch/drivers/modbus/sunspec"
)

const probeSynopsis = `[-profiles DIR] [-timeout D] URL

Reads a device once and prints one "point value unit" line per reading,
"nan" for a value the device reports as invalid. URLs:
  modbus+tcp://HOST[:502]?unit=1&profile=NAME
  modbus+rtu:///dev/ttyUSB0?baud=19200&parity=E&unit=1&profile=NAME
  modbus+rtutcp://HOST:PORT?unit=1&profile=NAME
Query keys: unit (0-247, default 1), profile (sunspec, or a Modbus profile
NAME.yaml), timeout (per request, default 1s); on modbus+rtu also baud,
parity (N, E, O), databits, stopbits. profile=sunspec discovers the
device's SunSpec models. snmp:// and i2c:// are not supported yet.
`

// probeCmd reads one device once, for commissioning.
func probeCmd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "probe", probeSynopsis)
	profiles := fs.String("profiles", "", "folder of Modbus profiles (NAME.yaml, or profiles/modbus/NAME.yaml)")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usagef("want one URL, got %d arguments", fs.NArg())
	}
	t, err := probe.ParseURL(fs.Arg(0))
	if err != nil {
		return inputError{err}
	}
	if *timeout <= 0 {
		return usagef("-timeout %v: want a positive duration", *timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	// Load the register map before touching the device, so a bad profile
	// is an input error.
	var read func(context.Context, sunspec.Registers) ([]drivers.Reading, error)
	if t.Profile == "sunspec" {
		models, err := sunspec.DefaultModels()
		if err != nil {
			return err
		}
		read = func(ctx context.Context, r sunspec.Registers) ([]drivers.Reading, error) {
			return sunspec.New(r, models, &sunspec.Opts{Unit: t.Unit}).Read(ctx)
		}
	} else {
		p, err := loadProbeProfile(*profiles, t.Profile)
		if err != nil {
			return inputError{err}
		}
		read = func(ctx context.Context, r sunspec.Registers) ([]drivers.Reading, error) {
			return readProfile(ctx, r, t.Unit, p)
		}
	}

	c, err := probe.Dial(t)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	defer c.Close()
	rs, err := read(ctx, c)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	return probe.Write(e.stdout, rs)
}

// loadProbeProfile loads Modbus profile name from dir (as NAME.yaml, or
// profiles/modbus/NAME.yaml, or modbus/NAME.yaml below it).
func loadProbeProfile(dir, name string) (*modbus.Profile, error) {
	if dir == "" {
		return nil, fmt.Errorf("profile %q: this binary has no built-in Modbus profiles yet; give -profiles DIR", name)
	}
	fsys := os.DirFS(dir)
	for _, sub := range []string{".", "profiles/modbus", "modbus"} {
		file := path.Join(sub, name+".yaml")
		if _, err := fs.Stat(fsys, file); err == nil {
			p, err := modbus.LoadProfile(fsys, file)
			if err != nil {
				return nil, fmt.Errorf("profile %s: %w", name, err)
			}
			return p, nil
		}
	}
	return nil, fmt.Errorf("profile %q: no %s.yaml in %s", name, name, dir)
}

// readProfile reads every point of a Modbus profile once, in the planner's
// requests.
func readProfile(ctx context.Context, r sunspec.Registers, unit byte, p *modbus.Profile) ([]drivers.Reading, error) {
	var out []drivers.Reading
	for _, req := range modbus.Plan(p) {
		if req.Table == modbus.Coil || req.Table == modbus.Discrete {
			return nil, fmt.Errorf("profile %s: %s table: probe reads registers only", p.Name, req.Table)
		}
		words, err := r.ReadRegisters(ctx, unit, req.Table, req.Start, req.Count)
		if err != nil {
			return nil, fmt.Errorf("profile %s: %s %d+%d: %w", p.Name, req.Table, req.Start, req.Count, err)
		}
		if len(words) != int(req.Count) {
			return nil, fmt.Errorf("profile %s: %s %d+%d: %d registers in the reply", p.Name, req.Table, req.Start, req.Count, len(words))
		}
		now := time.Now()
		for _, i := range req.Points {
			pt := &p.Points[i]
			off := int(pt.Address) - int(req.Start)
			v, text, err := pt.Decode(words[off:off+pt.Words()], p.ByteOrder)
			if err != nil {
				return nil, fmt.Errorf("profile %s: %s at %s %d: %w", p.Name, pt.Point, req.Table, pt.Address, err)
			}
			out = append(out, drivers.Reading{Point: pt.Point, Value: v, Text: text, Unit: pt.Unit, Time: now})
		}
	}
	if len(out) == 0 {
		return nil, errors.New("the profile maps no points")
	}
	return out, nil
}
