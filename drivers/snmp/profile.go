package snmp

import (
	"bytes"
	"errors"
	"fmt"
	"github.com/emberwatch/emberwatch/drivers/profileyaml"
	"io"
	"io/fs"
	"path"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/emberwatch/emberwatch/drivers"
	"gopkg.in/yaml.v3"
)

// Profile maps the OIDs of one family of devices to contract points. It is
// data, decoded from YAML by ParseProfile, and immutable afterwards.
type Profile struct {
	// Name is the profile's name; it defaults to the file's base name.
	Name string `yaml:"name"`
	// Description says which devices and MIB the profile covers.
	Description string `yaml:"description"`
	// MIB names the MIB modules the OIDs come from.
	MIB []string `yaml:"mib"`
	// SysObjectID lists sysObjectID prefixes this profile serves, for
	// automatic selection; the longest matching prefix wins.
	SysObjectID []string `yaml:"sys_object_id"`
	// DetectOID, when set, is a subtree (for example the RFC 1628 upsObjects
	// 1.3.6.1.2.1.33.1) that lets automatic selection choose this profile
	// for an agent whose sysObjectID matches no profile, or tell apart
	// profiles with the same prefix: the agent must hold an object below it.
	DetectOID string `yaml:"detect_oid"`
	// MaxOIDs caps the OIDs of one GET (default DefaultMaxOIDs).
	MaxOIDs int `yaml:"max_oids"`
	// Scalars are single objects. Several entries may name the same point:
	// the first that yields a valid value wins (a precise source first,
	// fallbacks after it).
	Scalars []Scalar `yaml:"scalars"`
	// Tables are conceptual tables whose rows become indexed points.
	Tables []Table `yaml:"tables"`
	// Controls allow-list the objects and values a SET may write.
	Controls []Control `yaml:"controls"`
	// Traps map notification OIDs to events.
	Traps []Trap `yaml:"traps"`

	// File is the file the profile was read from.
	File string `yaml:"-"`
}

// Value says how one SNMP value becomes a reading.
type Value struct {
	// Point is the contract point; in a table column N stands for the
	// row's index.
	Point string `yaml:"point"`
	// Scale multiplies the raw number (default 1): 0.1 for tenths.
	Scale float64 `yaml:"scale"`
	// Offset is added after scaling.
	Offset float64 `yaml:"offset"`
	// Sentinels are raw values that mean "absent" or "not available"; such
	// a value becomes NaN, never a number.
	Sentinels []float64 `yaml:"sentinels"`
	// Min and Max, when set, bound the plausible scaled value; outside it
	// the reading is NaN.
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
	// Enum maps raw integers to text tokens for text points (ups.status:
	// OL, OB, ...; outlet.N.status: on, off). An unlisted value is absent.
	Enum map[int64]string `yaml:"enum"`
	// Fahrenheit says the (scaled) raw value is in °F: it is converted to °C.
	Fahrenheit bool `yaml:"fahrenheit"`
	// Ticks says the raw value is TimeTicks (hundredths of a second); it is
	// converted to seconds before Scale.
	Ticks bool `yaml:"ticks"`

	// Line is the line of the entry in its profile file.
	Line int `yaml:"-"`
	// text is set for text points: without Enum the octet string is the text.
	text bool
}

// Scalar is one scalar object (its OID ends in .0 as a rule).
type Scalar struct {
	Value `yaml:",inline"`
	// OID is the object's numeric OID.
	OID string `yaml:"oid"`
	// DecimalsOID names an object holding the number of decimal digits
	// of this value (Raritan: the sensor's DecimalDigits).
	DecimalsOID string `yaml:"decimals_oid"`
}

// Column is one column of a table.
type Column struct {
	Value `yaml:",inline"`
	// OID is the column's OID (entry OID plus column number); rows are the
	// instances below it.
	OID string `yaml:"oid"`
	// FahrenheitWhen converts the row's value from °F when another column
	// of the same row holds one of the listed values (a units column).
	FahrenheitWhen *Where `yaml:"fahrenheit_when"`
	// DecimalsColumn names a column of the same row holding the number of
	// decimal digits of this value (the value is divided by 10^digits).
	DecimalsColumn string `yaml:"decimals_column"`
}

// Where selects rows by the value of a column of the same row.
type Where struct {
	// OID is the column to look at.
	OID string `yaml:"oid"`
	// Values are the raw integers that select a row.
	Values []int64 `yaml:"values"`
}

// Wheres is a list of row conditions, written as one mapping or a list.
type Wheres []Where

// UnmarshalYAML accepts one condition or a list.
func (w *Wheres) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var one Where
		if err := n.Decode(&one); err != nil {
			return err
		}
		*w = Wheres{one}
		return nil
	}
	var many []Where
	if err := n.Decode(&many); err != nil {
		return err
	}
	*w = many
	return nil
}

// Index kinds of Table.Index.
const (
	// IndexLast numbers a row by the last sub-identifier of its instance.
	IndexLast = "last"
	// IndexFirst numbers a row by the first sub-identifier.
	IndexFirst = "first"
	// IndexPosition numbers rows 1, 2, ... in walk order, counting only
	// the rows that pass Where.
	IndexPosition = "position"
)

// Table is a group of columns walked together.
type Table struct {
	// Name names the table in errors and logs.
	Name string `yaml:"name"`
	// Index is how a row's instance becomes the point's N: last (default),
	// first or position.
	Index string `yaml:"index"`
	// IndexSub, when set, numbers a row by that sub-identifier of its
	// instance (1-based), overriding Index.
	IndexSub int `yaml:"index_sub"`
	// Instance keeps only rows whose instance has these sub-identifiers
	// (1-based position -> value), e.g. {3: 1} for Raritan's sensor type
	// rmsCurrent in pduId.outletId.sensorType.
	Instance map[int]uint32 `yaml:"instance"`
	// IndexOffset is added to the row number.
	IndexOffset int `yaml:"index_offset"`
	// Where keeps only the rows every condition selects; one mapping or a
	// list of them.
	Where Wheres `yaml:"where"`
	// MaxRows stops a walk after this many rows (default 256).
	MaxRows int `yaml:"max_rows"`
	// Columns are the columns that become points.
	Columns []Column `yaml:"columns"`

	// Line is the line of the table in its profile file.
	Line int `yaml:"-"`
}

// Control allow-lists SETs on one column (or scalar): only these OIDs and
// only these values may be written, and the result is read back.
type Control struct {
	// Name names the control ("outlet").
	Name string `yaml:"name"`
	// OID is the writable column; the instance is OID.N for outlet N.
	OID string `yaml:"oid"`
	// Values maps a command ("on", "off") to the integer written.
	Values map[string]int64 `yaml:"values"`
	// Readback is the column read after the SET to verify it.
	Readback string `yaml:"readback"`
	// ReadbackValues maps a command to the integer Readback must hold.
	ReadbackValues map[string]int64 `yaml:"readback_values"`
	// Max is the largest instance number allowed (default 1024).
	Max int `yaml:"max"`

	// Line is the line of the control in its profile file.
	Line int `yaml:"-"`
}

// Trap maps one notification to an event.
type Trap struct {
	// OID is the snmpTrapOID value (v2c/v3), or enterprise.0.specific for v1.
	OID string `yaml:"oid"`
	// Kind is the alert kind (CONTRACTS section 4): power, over_temperature, ...
	Kind string `yaml:"kind"`
	// Level is advisory, warning or critical.
	Level string `yaml:"level"`
	// State is raised (default) or cleared.
	State string `yaml:"state"`
	// Message is a short text for people.
	Message string `yaml:"message"`
	// Point and Text, when set, become a reading at once (ups.status OB).
	Point string `yaml:"point"`
	Text  string `yaml:"text"`

	// Line is the line of the trap in its profile file.
	Line int `yaml:"-"`
}

// Defaults of a profile.
const (
	// DefaultMaxOIDs is the most OIDs one GET carries unless the profile
	// says otherwise; tooBig answers lower it at run time.
	DefaultMaxOIDs = 32
	// DefaultMaxRows bounds a table walk.
	DefaultMaxRows = 256
)

// UnmarshalYAML records the line of the entry.
func (s *Scalar) UnmarshalYAML(n *yaml.Node) error {
	type plain Scalar
	if err := n.Decode((*plain)(s)); err != nil {
		return err
	}
	s.Line = n.Line
	return nil
}

// UnmarshalYAML records the line of the column.
func (c *Column) UnmarshalYAML(n *yaml.Node) error {
	type plain Column
	if err := n.Decode((*plain)(c)); err != nil {
		return err
	}
	c.Line = n.Line
	return nil
}

// UnmarshalYAML records the line of the table.
func (t *Table) UnmarshalYAML(n *yaml.Node) error {
	type plain Table
	if err := n.Decode((*plain)(t)); err != nil {
		return err
	}
	t.Line = n.Line
	return nil
}

// UnmarshalYAML records the line of the control.
func (c *Control) UnmarshalYAML(n *yaml.Node) error {
	type plain Control
	if err := n.Decode((*plain)(c)); err != nil {
		return err
	}
	c.Line = n.Line
	return nil
}

// UnmarshalYAML records the line of the trap.
func (t *Trap) UnmarshalYAML(n *yaml.Node) error {
	type plain Trap
	if err := n.Decode((*plain)(t)); err != nil {
		return err
	}
	t.Line = n.Line
	return nil
}

// ProfileError is one problem in a profile file: it prints as
// "file:line: field: message".
type ProfileError = profileyaml.Error

// LoadProfile reads and parses one profile file of fsys.
func LoadProfile(fsys fs.FS, name string) (*Profile, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, &ProfileError{File: name, Field: "profile", Msg: err.Error()}
	}
	return ParseProfile(name, data)
}

var (
	oidRe       = regexp.MustCompile(`^\.?[0-9]+(\.[0-9]+)+$`)
	yamlLineRe  = regexp.MustCompile(`line (\d+): (.*)`)
	trapKinds   = map[string]bool{"thermal_runaway": true, "offgas": true, "over_temperature": true, "environment": true, "cell_imbalance": true, "sensor_fault": true, "comms_lost": true, "power": true}
	trapLevels  = map[string]bool{"advisory": true, "warning": true, "critical": true}
	indexKinds  = map[string]bool{IndexLast: true, IndexFirst: true, IndexPosition: true}
	profileType = reflect.TypeOf(Profile{})
)

// ParseProfile decodes a profile strictly: unknown keys, malformed OIDs,
// unknown points (checked against drivers.NewVocabulary) and bad enums are
// errors, all of them reported at once as errors.Join of *ProfileError.
func ParseProfile(file string, data []byte) (*Profile, error) {
	var errs []error
	add := func(line int, field, format string, a ...any) {
		errs = append(errs, &ProfileError{File: file, Line: line, Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line, msg := 1, strings.TrimPrefix(err.Error(), "yaml: ")
		if m := yamlLineRe.FindStringSubmatch(msg); m != nil {
			line, _ = strconv.Atoi(m[1])
			msg = m[2]
		}
		add(line, "yaml", "%s", msg)
		return nil, errors.Join(errs...)
	}
	if len(doc.Content) == 0 {
		add(1, "profile", "empty profile")
		return nil, errors.Join(errs...)
	}
	checkKeys(doc.Content[0], profileType, "", add)
	p := &Profile{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			for _, m := range te.Errors {
				line := 1
				if sm := yamlLineRe.FindStringSubmatch(m); sm != nil {
					line, _ = strconv.Atoi(sm[1])
					m = sm[2]
				}
				if strings.Contains(m, "not found in type") {
					continue // reported by checkKeys with its path
				}
				add(line, "yaml", "%s", m)
			}
		} else {
			add(1, "yaml", "%s", err)
		}
	}
	if errs != nil {
		return nil, errors.Join(errs...)
	}
	p.File = file
	if p.Name == "" {
		p.Name = strings.TrimSuffix(path.Base(file), path.Ext(file))
	}
	top := map[string]int{}
	for i := 0; i+1 < len(doc.Content[0].Content); i += 2 {
		top[doc.Content[0].Content[i].Value] = doc.Content[0].Content[i].Line
	}
	voc := drivers.NewVocabulary()
	checkOID := func(line int, field, oid string) string {
		if !oidRe.MatchString(oid) {
			add(line, field, "%q is not a numeric OID", oid)
		}
		return strings.TrimPrefix(oid, ".")
	}
	for i, s := range p.SysObjectID {
		p.SysObjectID[i] = checkOID(top["sys_object_id"], "sys_object_id", s)
	}
	if p.DetectOID != "" {
		p.DetectOID = checkOID(top["detect_oid"], "detect_oid", p.DetectOID)
	}
	if p.MaxOIDs == 0 {
		p.MaxOIDs = DefaultMaxOIDs
	} else if p.MaxOIDs < 1 || p.MaxOIDs > 128 {
		add(top["max_oids"], "max_oids", "%d is outside 1..128", p.MaxOIDs)
	}
	if len(p.Scalars) == 0 && len(p.Tables) == 0 {
		add(1, "scalars", "the profile maps no OID")
	}
	for i := range p.Scalars {
		s := &p.Scalars[i]
		s.OID = checkOID(s.Line, "scalars.oid", s.OID)
		if s.DecimalsOID != "" {
			s.DecimalsOID = checkOID(s.Line, "scalars.decimals_oid", s.DecimalsOID)
		}
		checkValue(&s.Value, "scalars", false, voc, add)
	}
	for ti := range p.Tables {
		t := &p.Tables[ti]
		if t.Name == "" {
			add(t.Line, "tables.name", "missing")
		}
		if t.Index == "" {
			t.Index = IndexLast
		} else if !indexKinds[t.Index] {
			add(t.Line, "tables.index", "%q is not last, first or position", t.Index)
		}
		if t.MaxRows == 0 {
			t.MaxRows = DefaultMaxRows
		}
		for i := range t.Where {
			t.Where[i].OID = checkOID(t.Line, "tables.where.oid", t.Where[i].OID)
		}
		if t.IndexSub < 0 {
			add(t.Line, "tables.index_sub", "%d is negative", t.IndexSub)
		}
		for k := range t.Instance {
			if k < 1 {
				add(t.Line, "tables.instance", "position %d: positions start at 1", k)
			}
		}
		if len(t.Columns) == 0 {
			add(t.Line, "tables.columns", "no columns")
		}
		for ci := range t.Columns {
			c := &t.Columns[ci]
			c.OID = checkOID(c.Line, "tables.columns.oid", c.OID)
			if c.FahrenheitWhen != nil {
				c.FahrenheitWhen.OID = checkOID(c.Line, "tables.columns.fahrenheit_when.oid", c.FahrenheitWhen.OID)
			}
			if c.DecimalsColumn != "" {
				c.DecimalsColumn = checkOID(c.Line, "tables.columns.decimals_column", c.DecimalsColumn)
			}
			checkValue(&c.Value, "tables.columns", true, voc, add)
		}
	}
	for i := range p.Controls {
		c := &p.Controls[i]
		c.OID = checkOID(c.Line, "controls.oid", c.OID)
		if c.Readback != "" {
			c.Readback = checkOID(c.Line, "controls.readback", c.Readback)
		}
		if c.Name == "" {
			add(c.Line, "controls.name", "missing")
		}
		if len(c.Values) == 0 {
			add(c.Line, "controls.values", "no allowed values")
		}
		for k := range c.ReadbackValues {
			if _, ok := c.Values[k]; !ok {
				add(c.Line, "controls.readback_values", "%q is not one of values", k)
			}
		}
		if c.Max == 0 {
			c.Max = 1024
		}
	}
	for i := range p.Traps {
		t := &p.Traps[i]
		t.OID = checkOID(t.Line, "traps.oid", t.OID)
		if !trapKinds[t.Kind] {
			add(t.Line, "traps.kind", "%q is not an alert kind", t.Kind)
		}
		if !trapLevels[t.Level] {
			add(t.Line, "traps.level", "%q is not advisory, warning or critical", t.Level)
		}
		switch t.State {
		case "":
			t.State = "raised"
		case "raised", "cleared":
		default:
			add(t.Line, "traps.state", "%q is not raised or cleared", t.State)
		}
		if t.Point != "" {
			if spec, ok := voc.Lookup(strings.ReplaceAll(t.Point, ".N.", ".1.")); !ok {
				add(t.Line, "traps.point", "%q is not a contract point", t.Point)
			} else if spec.Kind != drivers.Text && t.Text != "" {
				add(t.Line, "traps.text", "point %s is numeric", t.Point)
			}
		}
	}
	if errs != nil {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// checkValue validates the decoding of one entry.
func checkValue(v *Value, field string, table bool, voc *drivers.PointVocabulary, add func(int, string, string, ...any)) {
	if v.Scale == 0 {
		v.Scale = 1
	}
	name := v.Point
	if table {
		if !strings.Contains(name, ".N.") {
			add(v.Line, field+".point", "%q has no N for the row index", v.Point)
		}
		name = strings.ReplaceAll(name, ".N.", ".1.")
	} else if strings.Contains(name, ".N.") {
		add(v.Line, field+".point", "%q: N stands for a table row; a scalar names its index", v.Point)
	}
	spec, ok := voc.Lookup(name)
	if !ok {
		add(v.Line, field+".point", "%q is not a contract point", v.Point)
		return
	}
	v.text = spec.Kind == drivers.Text
	if spec.Kind == drivers.Numeric && len(v.Enum) > 0 {
		add(v.Line, field+".enum", "numeric point %s takes no enum", v.Point)
	}
	if v.Fahrenheit && spec.Unit != "°C" {
		add(v.Line, field+".fahrenheit", "point %s is not a temperature", v.Point)
	}
}

// checkKeys walks a YAML node against a struct type and reports every key
// that is not one of its yaml fields, with the key's line and dotted path.
// yaml.v3 does not carry KnownFields into custom unmarshalers; this does.
func checkKeys(n *yaml.Node, t reflect.Type, prefix string, add func(int, string, string, ...any)) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Slice:
		if n.Kind == yaml.MappingNode {
			checkKeys(n, t.Elem(), prefix, add) // one item written alone
		}
		if n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				checkKeys(c, t.Elem(), prefix, add)
			}
		}
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			name := k.Value
			if prefix != "" {
				name = prefix + "." + k.Value
			}
			ft, ok := fields[k.Value]
			if !ok {
				add(k.Line, name, "unknown field (want one of %s)", strings.Join(sortedKeys(fields), ", "))
				continue
			}
			checkKeys(n.Content[i+1], ft, name, add)
		}
	}
}

// yamlFields lists the yaml keys of a struct, following inline fields.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				m[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		m[name] = f.Type
	}
	return m
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Profiles is a set of profiles, for automatic selection by sysObjectID.
type Profiles struct {
	list []*Profile
}

// LoadProfiles parses every *.yaml file in dir of fsys. Errors name the
// file, line and field of every problem found.
func LoadProfiles(fsys fs.FS, dir string) (*Profiles, error) {
	ents, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("snmp profiles %s: %w", dir, err)
	}
	var errs []error
	ps := &Profiles{}
	for _, e := range ents {
		if e.IsDir() || (path.Ext(e.Name()) != ".yaml" && path.Ext(e.Name()) != ".yml") {
			continue
		}
		p, err := LoadProfile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ps.list = append(ps.list, p)
	}
	if errs != nil {
		return nil, errors.Join(errs...)
	}
	return ps, nil
}

// NewProfiles returns a set of already parsed profiles.
func NewProfiles(list ...*Profile) *Profiles {
	return &Profiles{list: append([]*Profile(nil), list...)}
}

// All returns the profiles of the set.
func (ps *Profiles) All() []*Profile { return append([]*Profile(nil), ps.list...) }

// Get returns the profile of that name.
func (ps *Profiles) Get(name string) (*Profile, bool) {
	for _, p := range ps.list {
		if p.Name == name {
			return p, true
		}
	}
	return nil, false
}

// Select returns the profile whose sys_object_id prefix is the longest
// match of sysObjectID (a prefix matches whole sub-identifiers only).
func (ps *Profiles) Select(sysObjectID string) (*Profile, bool) {
	id := strings.TrimPrefix(sysObjectID, ".")
	var best *Profile
	bestLen := -1
	for _, p := range ps.list {
		for _, pre := range p.SysObjectID {
			if (id == pre || strings.HasPrefix(id, pre+".")) && len(pre) > bestLen {
				best, bestLen = p, len(pre)
			}
		}
	}
	return best, best != nil
}

// detectors returns the profiles that name a detect_oid, in name order.
func (ps *Profiles) detectors() []*Profile {
	var out []*Profile
	for _, p := range ps.list {
		if p.DetectOID != "" {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
