package main

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"strings"
	"time"

	"github.com/emberwatch/emberwatch/agent/probe"
	"github.com/emberwatch/emberwatch/drivers"
	"github.com/emberwatch/emberwatch/drivers/i2c"
	"github.com/emberwatch/emberwatch/drivers/modbus"
	"github.com/emberwatch/emberwatch/drivers/modbus/sunspec"
	"github.com/emberwatch/emberwatch/drivers/snmp"
	firmwareconfig "github.com/emberwatch/emberwatch/firmware-config"
)

const probeSynopsis = `[-profiles DIR] [-timeout D] URL

Reads a device once and prints one "point value unit" line per reading,
"nan" for a value the device reports as invalid. URLs (as device
addresses in a site config):
  modbus+tcp://HOST[:502]?unit=1&profile=NAME
  modbus+rtu:///dev/ttyUSB0?baud=19200&parity=E&unit=1&profile=NAME
  modbus+rtutcp://HOST:PORT?unit=1&profile=NAME
  snmp://COMMUNITY@HOST[:161]?version=2c[&profile=NAME]
  i2c:///dev/i2c-1?addr=0x48&sensor=tmp102
Query keys: unit (default 1), profile, timeout (per request, default 1s);
on modbus+rtu also baud, parity (N, E, O), data and stop bits.
profile=sunspec discovers the device's SunSpec models; any other NAME is
the Modbus profile NAME.yaml, built in or under -profiles. An i2c:// URL
takes the sensor's keys (see drivers/i2c). An snmp:// URL chooses its
profile from the agent's sysObjectID unless profile=NAME; SNMPv3 takes
version=3 with the user in the URL and level, auth, auth_pass, priv,
priv_pass (see drivers/snmp).
`

// probeCmd reads one device once, for commissioning.
func probeCmd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "probe", probeSynopsis)
	profiles := fs.String("profiles", "", "folder of Modbus profiles (NAME.yaml, or profiles/modbus/NAME.yaml); default the built-in ones")
	timeout := fs.Duration("timeout", 10*time.Second, "give up after this long")
	showModels := fs.Bool("models", false, "with profile=sunspec, also list the models found, on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return usagef("want one URL, got %d arguments", fs.NArg())
	}
	if *timeout <= 0 {
		return usagef("-timeout %v: want a positive duration", *timeout)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if strings.HasPrefix(strings.ToLower(fs.Arg(0)), "i2c:") {
		return probeI2C(ctx, e, fs.Arg(0))
	}
	if strings.HasPrefix(strings.ToLower(fs.Arg(0)), "snmp:") {
		return probeSNMP(ctx, e, fs.Arg(0), *profiles)
	}
	t, err := probe.ParseURL(fs.Arg(0))
	if err != nil {
		return inputError{err}
	}
	a := t.Modbus
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// Load the register map before touching the device, so a bad profile
	// is an input error.
	var read func(context.Context, modbus.Reader) ([]drivers.Reading, error)
	if a.Profile == "sunspec" {
		models, err := sunspec.DefaultModels()
		if err != nil {
			return err
		}
		read = func(ctx context.Context, r modbus.Reader) ([]drivers.Reading, error) {
			d := sunspec.New(r, models, &sunspec.Opts{Unit: a.Unit})
			chain, err := d.Discover(ctx)
			if err != nil {
				return nil, err
			}
			if *showModels {
				fmt.Fprintf(e.stderr, "# SunS marker at %d\n", d.Base())
				for _, h := range chain {
					known := ""
					if _, ok := models.Model(int(h.ID)); !ok {
						known = ", no definition: not read"
					}
					fmt.Fprintf(e.stderr, "# model %d at %d, %d registers%s\n", h.ID, h.Addr, h.Len, known)
				}
			}
			return d.Read(ctx)
		}
	} else {
		p, err := loadProbeProfile(*profiles, a.Profile)
		if err != nil {
			return inputError{err}
		}
		read = func(ctx context.Context, r modbus.Reader) ([]drivers.Reading, error) {
			d := modbus.NewDevice(a.Profile, a.Unit, p, r, modbus.Options{Timeout: a.Timeout, Logger: logger})
			return d.Poll(ctx)
		}
	}

	c, err := modbus.Open(a, modbus.ClientOptions{Timeout: a.Timeout, Logger: logger})
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	defer c.Close()
	rs, err := read(ctx, c)
	// A partial read prints what it could read, then fails.
	if werr := probe.Write(e.stdout, rs); werr != nil {
		return werr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	return nil
}

// probeI2C reads the sensor an i2c:// URL names.
func probeI2C(ctx context.Context, e *env, raw string) error {
	_, spec, err := i2c.ParseURL(raw)
	if err != nil {
		return inputError{err}
	}
	if spec == nil {
		return usagef("%s names no sensor: add ?addr=0x48&sensor=tmp102", raw)
	}
	rs, err := i2c.ProbeURL(ctx, raw)
	if werr := probe.Write(e.stdout, rs); werr != nil {
		return werr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", raw, err)
	}
	return nil
}

// probeSNMP reads the agent an snmp:// URL names, with the built-in SNMP
// profiles or those under dir/snmp (or dir itself).
func probeSNMP(ctx context.Context, e *env, raw, dir string) error {
	if _, _, err := snmp.ParseURL(raw); err != nil {
		return inputError{err}
	}
	var rs []drivers.Reading
	var err error
	if dir == "" {
		rs, err = snmp.ProbeURL(ctx, raw)
	} else {
		sub := "snmp"
		if _, serr := os.Stat(path.Join(dir, "snmp")); serr != nil {
			sub = "."
		}
		ps, lerr := snmp.LoadProfiles(os.DirFS(dir), sub)
		if lerr != nil {
			return inputError{lerr}
		}
		rs, err = snmp.ProbeURLWith(ctx, raw, ps)
	}
	if werr := probe.Write(e.stdout, rs); werr != nil {
		return werr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", raw, err)
	}
	return nil
}

// loadProbeProfile loads Modbus profile name from dir (as NAME.yaml, or
// profiles/modbus/NAME.yaml, or modbus/NAME.yaml below it), or from the
// profiles built into the binary when dir is empty.
func loadProbeProfile(dir, name string) (*modbus.Profile, error) {
	fsys, where := firmwareconfig.Profiles(), "the built-in profiles"
	if dir != "" {
		fsys, where = os.DirFS(dir), dir
	}
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
	return nil, fmt.Errorf("profile %q: no %s.yaml in %s", name, name, where)
}

// The drivers/modbus client is what the SunSpec reader reads through.
var _ sunspec.Registers = (*modbus.Client)(nil)
