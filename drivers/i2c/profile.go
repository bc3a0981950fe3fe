package i2c

import (
	"errors"
	"fmt"
	"github.com/emberwatch/emberwatch/drivers/profileyaml"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/emberwatch/emberwatch/drivers"
	"gopkg.in/yaml.v3"
)

// Profile is a set of I²C sensors polled together as one device, loaded
// from YAML under firmware-config/profiles/i2c.
type Profile struct {
	// Name identifies the profile in site configs (profile: NAME).
	Name string `yaml:"name"`
	// Description says where the sensors are.
	Description string `yaml:"description"`
	// Source cites the datasheets or the wiring plan.
	Source string `yaml:"source"`
	// Bus is the default bus of the sensors, e.g. /dev/i2c-1. A sensor's
	// own bus overrides it; without either, the device's address in the
	// site config names the bus.
	Bus string `yaml:"bus"`
	// Sensors are the chips, polled in this order.
	Sensors []Spec `yaml:"sensors"`

	// File is the path the profile was loaded from, for error messages.
	File string `yaml:"-"`
}

// Spec is one sensor: which chip, where, how it converts and which points
// its values feed. Fields that do not apply to the chip are errors.
type Spec struct {
	// Name labels the sensor in logs and stats; default sensor@bus/0xADDR.
	Name string `yaml:"name"`
	// Sensor is the chip: tmp102, lm75, lm75a, mcp9808, sht3x, sht4x,
	// bme280 or ads1115.
	Sensor string `yaml:"sensor"`
	// Bus is the I²C bus, e.g. /dev/i2c-1 (or I2C1, or 1).
	Bus string `yaml:"bus"`
	// Address is the 7-bit address, e.g. 0x48.
	Address uint16 `yaml:"address"`
	// Points maps the chip's values (temperature, humidity; value for
	// the ADS1115) to contract point names.
	Points map[string]string `yaml:"points"`

	// Resolution in bits: tmp102 12 or 13 (extended range, default),
	// lm75 9 (default) or 11, lm75a 11 (default) or 9, mcp9808 9-12
	// (default 12, i.e. 0.0625 °C).
	Resolution int `yaml:"resolution"`
	// Repeatability of the sht3x: high (default), medium or low.
	Repeatability string `yaml:"repeatability"`
	// Precision of the sht4x: high (default), medium or low.
	Precision string `yaml:"precision"`
	// Oversampling of the bme280, for all three measurements: 1
	// (default), 2, 4, 8 or 16.
	Oversampling int `yaml:"oversampling"`
	// Filter is the bme280 IIR coefficient: 0 (off, default), 2, 4, 8 or
	// 16.
	Filter int `yaml:"filter"`
	// Channel is the ads1115 input: AIN0-AIN3 against ground (0-3 also
	// accepted), or a differential pair AIN0-AIN1, AIN0-AIN3, AIN1-AIN3,
	// AIN2-AIN3.
	Channel string `yaml:"channel"`
	// Gain is the ads1115 full-scale range in volts: 6.144, 4.096, 2.048
	// (default), 1.024, 0.512 or 0.256.
	Gain float64 `yaml:"gain"`
	// DataRate is the ads1115 rate in samples per second: 8, 16, 32, 64,
	// 128 (default), 250, 475 or 860.
	DataRate int `yaml:"data_rate"`
	// Scale and Offset turn ads1115 volts into the point's unit:
	// value = volts * scale + offset. Scale is required.
	Scale  *float64 `yaml:"scale"`
	Offset float64  `yaml:"offset"`
	// Min and Max bound the ads1115's scaled value (the detector's
	// measuring range); outside is NaN.
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`

	// Line is the line of the entry in its profile file, Lines the line of
	// each of its keys.
	Line  int            `yaml:"-"`
	Lines map[string]int `yaml:"-"`
}

// specKeys are the YAML keys of a Spec.
var specKeys = []string{"name", "sensor", "bus", "address", "points", "resolution", "repeatability",
	"precision", "oversampling", "filter", "channel", "gain", "data_rate", "scale", "offset", "min", "max"}

// UnmarshalYAML decodes a sensor entry strictly and records its lines.
func (s *Spec) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var errs []string
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := n.Content[i]; !slices.Contains(specKeys, k.Value) {
				errs = append(errs, fmt.Sprintf("line %d: field %s not found", k.Line, k.Value))
			}
		}
		if errs != nil {
			return &yaml.TypeError{Errors: errs}
		}
	}
	type plain Spec
	if err := n.Decode((*plain)(s)); err != nil {
		return err
	}
	s.Line = n.Line
	s.Lines = map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		s.Lines[n.Content[i].Value] = n.Content[i].Line
	}
	return nil
}

// lineOf returns the line of key, or of the entry.
func (s *Spec) lineOf(key string) int {
	if l, ok := s.Lines[key]; ok {
		return l
	}
	return s.Line
}

// set reports whether the entry gave key.
func (s *Spec) set(key string) bool {
	_, ok := s.Lines[key]
	return ok
}

// String is the sensor's label: its name, or sensor@bus/0xADDR.
func (s *Spec) String() string {
	if s.Name != "" {
		return s.Name
	}
	return fmt.Sprintf("%s@%s/0x%02X", s.Sensor, s.Bus, s.Address)
}

// ProfileError is one problem in a profile file or probe URL, located by
// file, line and field: it prints as "file:line: field: message", or
// "field: message" when there is no file.
type ProfileError = profileyaml.Error

// LoadProfile reads and parses the profile at name in fsys (for example
// os.DirFS("firmware-config/profiles/i2c")).
func LoadProfile(fsys fs.FS, name string) (*Profile, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, &ProfileError{File: name, Field: "profile", Msg: err.Error()}
	}
	return ParseProfile(name, data)
}

// LoadProfiles parses every *.yaml and *.yml file of dir in fsys (for
// example firmwareconfig.Profiles() and "i2c") and returns the profiles by
// name. Every problem of every file is returned, as errors.Join of
// *ProfileError, together with the profiles that loaded; two files with
// one name are an error.
func LoadProfiles(fsys fs.FS, dir string) (map[string]*Profile, error) {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, &ProfileError{File: dir, Field: "profiles", Msg: err.Error()}
	}
	out := map[string]*Profile{}
	var errs []error
	for _, de := range ents {
		ext := path.Ext(de.Name())
		if de.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		file := path.Join(dir, de.Name())
		p, err := LoadProfile(fsys, file)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if prev, dup := out[p.Name]; dup {
			errs = append(errs, &ProfileError{File: file, Line: topLineOf(fsys, file, "name"), Field: "name",
				Msg: fmt.Sprintf("profile name %q is also used by %s", p.Name, prev.File)})
			continue
		}
		out[p.Name] = p
	}
	return out, errors.Join(errs...)
}

func topLineOf(fsys fs.FS, file, key string) int {
	data, err := fs.ReadFile(fsys, file)
	if err != nil {
		return 0
	}
	return topLine(data, key)
}

// ParseProfile decodes a profile strictly (unknown keys are errors) and
// validates every sensor: chip known, address valid for the chip,
// settings that apply to the chip and in range, points in the contract
// vocabulary with the unit of the value, no point and no bus address used
// twice. It returns every problem found, as errors.Join of *ProfileError.
// The profile's Name defaults to the file's base name.
func ParseProfile(file string, data []byte) (*Profile, error) {
	p := &Profile{File: file}
	var errs []error
	add := func(line int, field, format string, a ...any) {
		errs = append(errs, &ProfileError{File: file, Line: line, Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	if !profileyaml.DecodeStrict(data, p, add) {
		return nil, errors.Join(errs...)
	}
	p.File = file
	if p.Name == "" {
		p.Name = strings.TrimSuffix(path.Base(file), path.Ext(file))
	}
	if len(p.Sensors) == 0 {
		add(topLine(data, "sensors"), "sensors", "no sensors")
	}
	kinds := Kinds()
	voc := drivers.NewVocabulary()
	points := map[string]int{}
	where := map[string]int{}
	for i := range p.Sensors {
		s := &p.Sensors[i]
		if s.Bus == "" {
			s.Bus = p.Bus
		}
		checkSpec(s, kinds, voc, add)
		for _, role := range sortedKeys(s.Points) {
			pt := s.Points[role]
			if l, dup := points[pt]; dup {
				add(s.lineOf("points"), "points."+role, "point %s is already fed by the sensor on line %d", pt, l)
			}
			points[pt] = s.Line
		}
		// One chip per address, except the ADS1115's several inputs.
		key := fmt.Sprintf("%s/0x%02X", s.Bus, s.Address)
		if s.Sensor == "ads1115" {
			key += "/" + strings.ToUpper(s.Channel)
		}
		if l, dup := where[key]; dup {
			add(s.lineOf("address"), "address", "0x%02X on bus %q is already the sensor on line %d", s.Address, s.Bus, l)
		}
		where[key] = s.Line
	}
	if errs != nil {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// checkSpec validates one sensor entry against its kind.
func checkSpec(s *Spec, kinds map[string]*Kind, voc *drivers.PointVocabulary, add func(int, string, string, ...any)) {
	k, ok := kinds[strings.ToLower(s.Sensor)]
	if !ok {
		if s.Sensor == "" {
			add(s.Line, "sensor", "missing (want one of %s)", strings.Join(KindNames(), ", "))
		} else {
			add(s.lineOf("sensor"), "sensor", "unknown sensor %q (want one of %s)", s.Sensor, strings.Join(KindNames(), ", "))
		}
		return
	}
	s.Sensor = k.Name
	if !s.set("address") {
		add(s.Line, "address", "missing (%s answers at %s)", k.Name, addrList(k.Addresses))
	} else if !slices.Contains(k.Addresses, s.Address) {
		add(s.lineOf("address"), "address", "0x%02X is not an address of the %s (%s)", s.Address, k.Name, addrList(k.Addresses))
	}
	for _, key := range specKeys {
		if s.set(key) && !slices.Contains(commonKeys, key) && !slices.Contains(k.Settings, key) {
			add(s.lineOf(key), key, "does not apply to the %s (its settings: %s)", k.Name, strings.Join(k.Settings, ", "))
		}
	}
	if err := k.check(s); err != nil {
		var pe *ProfileError
		if errors.As(err, &pe) {
			add(s.lineOf(pe.Field), pe.Field, "%s", pe.Msg)
		} else {
			add(s.Line, "sensor", "%v", err)
		}
	}
	if len(s.Points) == 0 {
		add(s.Line, "points", "no points (the %s gives %s)", k.Name, strings.Join(k.Roles, ", "))
	}
	for _, role := range sortedKeys(s.Points) {
		pt := s.Points[role]
		unit, ok := k.unit(role)
		if !ok {
			add(s.lineOf("points"), "points."+role, "the %s has no value %q (it gives %s)", k.Name, role, strings.Join(k.Roles, ", "))
			continue
		}
		spec, ok := voc.Lookup(pt)
		switch {
		case !ok:
			add(s.lineOf("points"), "points."+role, "%q is not a contract point name", pt)
		case spec.Kind != drivers.Numeric:
			add(s.lineOf("points"), "points."+role, "%s is a text point", pt)
		case unit != "" && spec.Unit != unit:
			add(s.lineOf("points"), "points."+role, "%s is in %s, the %s's %s is in %s", pt, spec.Unit, k.Name, role, unit)
		}
	}
}

// commonKeys apply to every sensor kind.
var commonKeys = []string{"name", "sensor", "bus", "address", "points"}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func addrList(as []uint16) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = fmt.Sprintf("0x%02X", a)
	}
	return strings.Join(s, ", ")
}

// topLine returns the line of a top-level key, or 1.
func topLine(data []byte, key string) int {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return 1
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i].Line
		}
	}
	return 1
}
