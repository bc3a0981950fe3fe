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
	"github.com/emberwatch/emberwatch/agent/nutd"
	"github.com/emberwatch/emberwatch/agent/shed"
	"github.com/emberwatch/emberwatch/drivers/i2c"
	"github.com/emberwatch/emberwatch/drivers/modbus"
	"github.com/emberwatch/emberwatch/drivers/snmp"
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
	var extra string
	if p := profiles.plan; p != nil {
		extra += fmt.Sprintf(", shed plan of %d groups in %d tiers", len(p.Groups), len(p.Tiers))
	}
	if cfg.NUT.Enabled {
		extra += ", NUT endpoint on " + nutListen(cfg)
	}
	fmt.Fprintf(e.stdout, "%s: ok: site %s, gateway %s, %d devices, %d profiles%s\n",
		*file, cfg.Site, cfg.Gateway, len(cfg.Devices), profiles.used(), extra)
	return nil
}

// siteProfiles holds the profiles a site's devices reference, by driver
// and name, and every valid SNMP profile for automatic selection.
type siteProfiles struct {
	modbus   map[string]*modbus.Profile
	snmp     map[string]*snmp.Profile
	i2c      map[string]*i2c.Profile
	snmpAll  *snmp.Profiles
	snmpSeen bool
	// plan is the site's shed plan, nil when it has none (or a broken one).
	plan *shed.Plan
}

func (p *siteProfiles) used() int { return len(p.modbus) + len(p.snmp) + len(p.i2c) }

// checkSite loads the site file and the profiles its devices reference. It
// returns the config, the profiles, and every problem found: the site
// file's in line order, then the profiles'. The config may be partial when
// there are problems.
func checkSite(file string) (*config.Config, *siteProfiles, []*config.FieldError) {
	cfg, err := config.Load(file)
	var errs config.Errors
	if err != nil && !errors.As(err, &errs) {
		errs = config.Errors{{File: file, Msg: err.Error()}}
	}
	used := &siteProfiles{modbus: map[string]*modbus.Profile{}, snmp: map[string]*snmp.Profile{}, i2c: map[string]*i2c.Profile{}}
	if cfg == nil {
		return nil, used, errs
	}
	if _, err := detectConfig(cfg); err != nil {
		var des config.Errors
		if errors.As(err, &des) {
			errs = append(errs, des...)
		} else {
			errs = append(errs, cfg.Errorf("detect", "%v", err))
		}
	}

	var profErrs config.Errors
	sets := map[string]*profileSet{}
	reported := map[string]bool{}
	lookup := func(driver, field, name string) (any, bool) {
		set, ok := sets[driver]
		if !ok {
			var err error
			set, err = openProfiles(cfg, driver)
			if err != nil {
				errs = append(errs, cfg.Errorf(field, "%v", err))
				return nil, false
			}
			sets[driver] = set
		}
		ent, ok := set.byName[name]
		if !ok {
			errs = append(errs, cfg.Errorf(field, "%s profile %q not found in %s (have: %s)", driver, name, set.where, strings.Join(set.names(), ", ")))
			return nil, false
		}
		if ent.profile != nil {
			return ent.profile, true
		}
		if !reported[ent.file] {
			reported[ent.file] = true
			errs = append(errs, cfg.Errorf(field, "profile %q (%s) has errors", name, ent.file))
			profErrs = append(profErrs, ent.errs...)
		}
		return nil, false
	}
	for i, d := range cfg.Devices {
		field := fmt.Sprintf("devices[%d]", i)
		switch d.Driver {
		case "modbus":
			if d.Profile == "" || d.Profile == sunspecProfile {
				continue
			}
			if p, ok := lookup("modbus", field+".profile", d.Profile); ok {
				used.modbus[d.Profile] = p.(*modbus.Profile)
			}
		case "snmp":
			_, urlProfile, err := snmp.ParseURL(d.Address)
			if err != nil {
				errs = append(errs, cfg.Errorf(field+".address", "%v", err))
				continue
			}
			name := snmpProfileName(d, urlProfile)
			if name == "" {
				used.snmpSeen = true
				if _, err := loadSNMPAll(cfg, sets); err != nil {
					errs = append(errs, cfg.Errorf(field+".profile", "%v", err))
				}
				continue
			}
			if p, ok := lookup("snmp", field+".profile", name); ok {
				used.snmp[name] = p.(*snmp.Profile)
			}
		case "i2c":
			_, spec, err := i2c.ParseURL(d.Address)
			if err != nil {
				errs = append(errs, cfg.Errorf(field+".address", "%v", err))
				continue
			}
			switch {
			case spec != nil && d.Profile != "":
				errs = append(errs, cfg.Errorf(field+".profile", "the address names a sensor: give the sensor or a profile, not both"))
			case spec == nil && d.Profile == "":
				errs = append(errs, cfg.Errorf(field+".profile", "required when the address names no sensor (e.g. i2c:///dev/i2c-1?addr=0x48&sensor=tmp102)"))
			case d.Profile != "":
				if p, ok := lookup("i2c", field+".profile", d.Profile); ok {
					used.i2c[d.Profile] = p.(*i2c.Profile)
				}
			}
		}
	}
	if used.snmpSeen {
		used.snmpAll, _ = loadSNMPAll(cfg, sets)
	}
	plan, perrs := sitePlan(cfg)
	errs = append(errs, perrs...)
	if plan != nil {
		errs = append(errs, checkPlanDevices(cfg, plan, used)...)
	}
	used.plan = plan
	errs.Sort()
	profErrs.Sort()
	return cfg, used, append(errs, profErrs...)
}

// snmpProfileName is the SNMP profile a device names (its profile, or the
// address's ?profile=), or "" for automatic choice from sysObjectID.
func snmpProfileName(d config.Device, urlProfile string) string {
	name := d.Profile
	if name == "" {
		name = urlProfile
	}
	if name == "auto" {
		name = ""
	}
	return name
}

// loadSNMPAll returns every valid SNMP profile of the site's profiles, for
// choosing by sysObjectID.
func loadSNMPAll(cfg *config.Config, sets map[string]*profileSet) (*snmp.Profiles, error) {
	set, ok := sets["snmp"]
	if !ok {
		var err error
		if set, err = openProfiles(cfg, "snmp"); err != nil {
			return nil, err
		}
		sets["snmp"] = set
	}
	var list []*snmp.Profile
	for _, n := range set.names() {
		if p, ok := set.byName[n].profile.(*snmp.Profile); ok && p != nil {
			list = append(list, p)
		}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("no valid SNMP profile in %s to choose from", set.where)
	}
	return snmp.NewProfiles(list...), nil
}

// sunspecProfile is the profile name of devices that describe themselves.
const sunspecProfile = "sunspec"

// profileSet is one driver's profiles in a folder, by name.
type profileSet struct {
	where  string
	byName map[string]*profileEntry
}

// profileEntry is one profile file: parsed, or the problems found in it.
type profileEntry struct {
	file    string
	profile any // *modbus.Profile, *snmp.Profile or *i2c.Profile; nil when broken
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

// loadProfileFile parses one profile file of a driver and returns its name.
func loadProfileFile(driver string, fsys fs.FS, file string) (name string, p any, err error) {
	switch driver {
	case "modbus":
		mp, err := modbus.LoadProfile(fsys, file)
		if err != nil {
			return "", nil, err
		}
		return mp.Name, mp, nil
	case "snmp":
		sp, err := snmp.LoadProfile(fsys, file)
		if err != nil {
			return "", nil, err
		}
		return sp.Name, sp, nil
	case "i2c":
		ip, err := i2c.LoadProfile(fsys, file)
		if err != nil {
			return "", nil, err
		}
		return ip.Name, ip, nil
	}
	return "", nil, fmt.Errorf("no profiles for driver %s", driver)
}

// openProfiles indexes a driver's profiles in the config's profiles_dir
// (profiles/<driver>/*.yaml, or <driver>/*.yaml, or *.yaml directly), or
// in the profiles built into the binary when it is empty.
func openProfiles(cfg *config.Config, driver string) (*profileSet, error) {
	var fsys fs.FS
	var where string
	if cfg.ProfilesDir != "" {
		where = cfg.Resolve(cfg.ProfilesDir)
		fsys = os.DirFS(where)
	} else {
		fsys, where = firmwareconfig.Profiles(), "the built-in profiles"
	}
	dir := "."
	for _, d := range []string{"profiles/" + driver, driver} {
		if st, err := fs.Stat(fsys, d); err == nil && st.IsDir() {
			dir = d
			break
		}
	}
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", where, err)
	}
	set := &profileSet{where: where, byName: map[string]*profileEntry{}}
	for _, de := range ents {
		ext := path.Ext(de.Name())
		if de.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		file := path.Join(dir, de.Name())
		shown := file
		if cfg.ProfilesDir != "" {
			shown = filepath.Join(cfg.ProfilesDir, filepath.FromSlash(file))
			if !filepath.IsAbs(cfg.ProfilesDir) {
				shown = cfg.Resolve(shown)
			}
		}
		ent := &profileEntry{file: shown}
		key := strings.TrimSuffix(de.Name(), ext)
		name, p, err := loadProfileFile(driver, fsys, file)
		if err != nil {
			ent.errs = profileErrors(err, shown)
		} else {
			ent.profile, key = p, name
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
		var me *modbus.ProfileError
		var se *snmp.ProfileError
		var ie *i2c.ProfileError
		switch {
		case errors.As(err, &me):
			out = append(out, &config.FieldError{File: shown, Line: me.Line, Field: me.Field, Msg: me.Msg})
		case errors.As(err, &se):
			out = append(out, &config.FieldError{File: shown, Line: se.Line, Field: se.Field, Msg: se.Msg})
		case errors.As(err, &ie):
			out = append(out, &config.FieldError{File: shown, Line: ie.Line, Field: ie.Field, Msg: ie.Msg})
		default:
			out = append(out, &config.FieldError{File: shown, Msg: err.Error()})
		}
	}
	walk(err)
	return out
}

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

// sitePlan decodes and validates the site's shed: section; nil and no
// problems when there is none. Problems are located in the site file.
func sitePlan(cfg *config.Config) (*shed.Plan, config.Errors) {
	if !cfg.HasShed() {
		return nil, nil
	}
	n := cfg.Shed
	p, err := shed.DecodePlan(cfg.File, &n)
	if err == nil {
		return p, nil
	}
	var pes shed.PlanErrors
	if errors.As(err, &pes) {
		out := make(config.Errors, 0, len(pes))
		for _, pe := range pes {
			out = append(out, &config.FieldError{File: pe.File, Line: pe.Line, Field: pe.Field, Msg: pe.Msg})
		}
		return nil, out
	}
	// A decoding error: "file: line N: message" or yaml's own framing.
	msg := strings.TrimPrefix(err.Error(), cfg.File+": ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n")
	msg = strings.TrimSpace(msg)
	line := cfg.Line("shed")
	var l int
	if _, e := fmt.Sscanf(msg, "line %d:", &l); e == nil {
		line = l
		_, msg, _ = strings.Cut(msg, ": ")
	}
	return nil, config.Errors{{File: cfg.File, Line: line, Field: "shed", Msg: msg}}
}

// outletControl is the name of the profile control that switches a PDU
// outlet (see shed.PDUs).
const outletControl = "outlet"

// checkPlanDevices checks the plan against the site's devices: every PDU
// whose outlets the plan switches is an SNMP device of the site whose
// profile allow-lists switching those outlets off; fed_by and rule
// devices are devices of the site.
func checkPlanDevices(cfg *config.Config, p *shed.Plan, used *siteProfiles) config.Errors {
	var errs config.Errors
	add := func(line int, field, format string, a ...any) {
		errs = append(errs, &config.FieldError{File: cfg.File, Line: line, Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	devs := map[string]config.Device{}
	for _, d := range cfg.Devices {
		devs[d.Name] = d
	}
	for i, g := range p.Groups {
		for j, o := range g.Outlets {
			f := fmt.Sprintf("shed.groups[%d].outlets[%d]", i, j)
			d, ok := devs[o.PDU]
			if !ok {
				add(o.Line, f+".pdu", "%q is not a device of this site", o.PDU)
				continue
			}
			if d.Driver != "snmp" {
				add(o.Line, f+".pdu", "%q is a %s device: outlets are switched over SNMP", o.PDU, d.Driver)
				continue
			}
			_, urlProfile, err := snmp.ParseURL(d.Address)
			if err != nil {
				continue // reported with the device
			}
			name := snmpProfileName(d, urlProfile)
			if name == "" {
				add(o.Line, f+".pdu", "%q chooses its profile by sysObjectID; name its profile so that its outlet control can be checked", o.PDU)
				continue
			}
			prof, ok := used.snmp[name]
			if !ok {
				continue // profile missing or broken: reported with the device
			}
			if msg := outletsAllowed(prof, o.Outlets); msg != "" {
				add(o.Line, f+".outlets", "%s (profile %s): %s", o.PDU, name, msg)
			}
		}
		for _, fb := range g.FedBy {
			if _, ok := devs[fb]; !ok {
				add(g.Line, fmt.Sprintf("shed.groups[%d].fed_by", i), "%q is not a device of this site", fb)
			}
		}
	}
	for i, r := range p.Rules {
		names := r.Devices
		if r.Device != "" {
			names = append([]string{r.Device}, names...)
		}
		for _, n := range names {
			if _, ok := devs[n]; !ok {
				add(r.Line, fmt.Sprintf("shed.rules[%d].devices", i), "%q is not a device of this site", n)
			}
		}
	}
	return errs
}

// outletsAllowed says why a profile does not allow switching these
// outlets off, or "" when it does.
func outletsAllowed(p *snmp.Profile, outlets []int) string {
	for _, c := range p.Controls {
		if c.Name != outletControl {
			continue
		}
		if _, ok := c.Values["off"]; !ok {
			return fmt.Sprintf("control %q does not allow-list the command off", outletControl)
		}
		for _, n := range outlets {
			if n > c.Max {
				return fmt.Sprintf("outlet %d is above the control's max %d", n, c.Max)
			}
		}
		return ""
	}
	return fmt.Sprintf("no allow-listed control %q: the profile does not let the agent switch outlets", outletControl)
}

// nutListen is the address of the site's NUT endpoint.
func nutListen(cfg *config.Config) string {
	if cfg.NUT.Listen != "" {
		return cfg.NUT.Listen
	}
	return nutd.DefaultListen
}
