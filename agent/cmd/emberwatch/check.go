package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/emberwatch/emberwatch/agent/config"
	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/drivers/modbus"
	firmwareconfig "github.com/emberwatch/emberwatch/firmware-config"
)

// checkCmd validates a site file and every profile it references, printing
// every problem as file:line: field: message. Exit 2 on any problem.
func checkCmd(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "check", "-c FILE")
	file := fs.String("c", "", "site `FILE` to validate (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *file == "" || fs.NArg() > 0 {
		fs.Usage()
		return usagef("check: -c FILE is required, and takes no arguments")
	}
	cfg, profiles, errs := checkSite(*file)
	if len(errs) > 0 {
		for _, err := range errs {
			fmt.Fprintln(e.stderr, err)
		}
		noun := "errors"
		if len(errs) == 1 {
			noun = "error"
		}
		return usagef("%s: %d %s", *file, len(errs), noun)
	}
	fmt.Fprintf(e.stdout, "%s: ok: site %s, gateway %s, %d devices, %d profiles\n",
		*file, cfg.Site, cfg.Gateway, len(cfg.Devices), len(profiles))
	return nil
}

// checkSite loads the site file and the profiles its devices reference. It
// returns the config, the profiles by name, and every problem found in
// file and line order; the config may be partial when there are problems.
func checkSite(file string) (*config.Config, map[string]*modbus.Profile, []*config.FieldError) {
	cfg, err := config.Load(file)
	var errs config.Errors
	if err != nil && !errors.As(err, &errs) {
		errs = config.Errors{{File: file, Msg: err.Error()}}
	}
	if cfg == nil {
		return nil, nil, errs
	}
	if _, err := detectConfig(cfg); err != nil {
		var des config.Errors
		if errors.As(err, &des) {
			errs = append(errs, des...)
		} else {
			errs = append(errs, cfg.Errorf("detect", "%v", err))
		}
	}
	errs.Sort()
	var profErrs config.Errors
	used := map[string]*modbus.Profile{}
	var set *profileSet
	var setErr error
	opened := false
	reported := map[string]bool{}
	for i, d := range cfg.Devices {
		field := fmt.Sprintf("devices[%d]", i)
		switch d.Driver {
		case "snmp", "i2c":
			errs = append(errs, cfg.Errorf(field+".driver", "driver %s is not supported yet", d.Driver))
			continue
		case "modbus":
		default:
			continue
		}
		if d.Profile == "" || d.Profile == sunspecProfile {
			continue
		}
		if !opened {
			set, setErr = openProfiles(cfg)
			opened = true
		}
		if setErr != nil {
			errs = append(errs, cfg.Errorf("profiles_dir", "%v", setErr))
			break
		}
		ent, ok := set.byName[d.Profile]
		if !ok {
			errs = append(errs, cfg.Errorf(field+".profile", "profile %q not found in %s (have: %s)", d.Profile, set.where, strings.Join(set.names(), ", ")))
			continue
		}
		if ent.profile != nil {
			used[d.Profile] = ent.profile
			continue
		}
		if reported[ent.file] {
			continue
		}
		reported[ent.file] = true
		errs = append(errs, cfg.Errorf(field+".profile", "profile %q (%s) has errors", d.Profile, ent.file))
		profErrs = append(profErrs, ent.errs...)
	}
	errs.Sort()
	profErrs.Sort()
	return cfg, used, append(errs, profErrs...)
}

// sunspecProfile is the profile name of devices that describe themselves.
const sunspecProfile = "sunspec"

// profileSet is the Modbus profiles of a folder, by name.
type profileSet struct {
	where  string
	fsys   fs.FS
	byName map[string]*profileEntry
}

// profileEntry is one profile file: parsed, or the problems found in it.
type profileEntry struct {
	file    string
	profile *modbus.Profile
	errs    []*config.FieldError
}

func (s *profileSet) names() []string {
	ns := make([]string, 0, len(s.byName))
	for n := range s.byName {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// openProfiles indexes the Modbus profiles of the config's profiles_dir
// (profiles/modbus/*.yaml, or modbus/*.yaml, or *.yaml directly), or of the
// profiles built into the binary when it is empty.
func openProfiles(cfg *config.Config) (*profileSet, error) {
	var fsys fs.FS
	var where string
	if cfg.ProfilesDir != "" {
		where = cfg.Resolve(cfg.ProfilesDir)
		fsys = os.DirFS(where)
	} else {
		var err error
		fsys, err = builtinProfiles()
		if err != nil {
			return nil, err
		}
		where = "the built-in profiles"
	}
	dir := "."
	for _, d := range []string{"profiles/modbus", "modbus"} {
		if st, err := fs.Stat(fsys, d); err == nil && st.IsDir() {
			dir = d
			break
		}
	}
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", where, err)
	}
	set := &profileSet{where: where, fsys: fsys, byName: map[string]*profileEntry{}}
	for _, de := range ents {
		ext := path.Ext(de.Name())
		if de.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		name := path.Join(dir, de.Name())
		shown := name
		if cfg.ProfilesDir != "" {
			shown = filepath.Join(cfg.ProfilesDir, filepath.FromSlash(name))
			if !filepath.IsAbs(cfg.ProfilesDir) {
				shown = cfg.Resolve(shown)
			}
		}
		ent := &profileEntry{file: shown}
		key := strings.TrimSuffix(de.Name(), ext)
		p, err := modbus.LoadProfile(fsys, name)
		if err != nil {
			ent.errs = profileErrors(err, shown)
		} else {
			ent.profile = p
			key = p.Name
		}
		if prev, dup := set.byName[key]; dup {
			ent.errs = append(ent.errs, &config.FieldError{File: shown, Field: "name",
				Msg: fmt.Sprintf("profile name %q is also used by %s", key, prev.file)})
			ent.profile = nil
		}
		set.byName[key] = ent
	}
	return set, nil
}

// profileErrors flattens a profile loader's error into located problems,
// with the file shown as the user knows it.
func profileErrors(err error, shown string) []*config.FieldError {
	var out []*config.FieldError
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var pe *modbus.ProfileError
		if errors.As(err, &pe) {
			out = append(out, &config.FieldError{File: shown, Line: pe.Line, Field: pe.Field, Msg: pe.Msg})
			return
		}
		out = append(out, &config.FieldError{File: shown, Msg: err.Error()})
	}
	walk(err)
	return out
}

// builtinProfiles returns the profiles embedded in the binary.
func builtinProfiles() (fs.FS, error) { return firmwareconfig.Profiles(), nil }

// detectConfig decodes the site's detect: section over the detector's
// defaults and validates it.
func detectConfig(cfg *config.Config) (detect.Config, error) {
	dc := detect.DefaultConfig()
	if err := cfg.DecodeDetect(&dc); err != nil {
		return dc, err
	}
	dc.Site, dc.Gateway = cfg.Site, cfg.Gateway
	if err := dc.Validate(); err != nil {
		return dc, err
	}
	return dc, nil
}
