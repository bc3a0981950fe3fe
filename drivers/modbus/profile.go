package modbus

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// Table is one of the four Modbus data tables.
type Table string

// The Modbus data tables, with the function code that reads each.
const (
	Holding  Table = "holding"  // function 3
	Input    Table = "input"    // function 4
	Coil     Table = "coil"     // function 1
	Discrete Table = "discrete" // function 2
)

// Type is the encoding of a value in registers (Telegraf's vocabulary).
type Type string

// Value types. The short aliases u16, s16, u32, s32, f32 and string are
// accepted in profiles and normalised to these names.
const (
	Uint16  Type = "UINT16"
	Int16   Type = "INT16"
	Uint32  Type = "UINT32"
	Int32   Type = "INT32"
	Float32 Type = "FLOAT32"
	Uint64  Type = "UINT64"
	Int64   Type = "INT64"
	Float64 Type = "FLOAT64"
	String  Type = "STRING"
	Bit     Type = "BIT"
)

// Profile is a device's register map: which registers hold which points of
// the contract vocabulary, and how to decode them. Profiles are data, loaded
// from YAML under firmware-config/profiles/modbus.
type Profile struct {
	// Name identifies the profile in site configs (profile: NAME).
	Name string `yaml:"name"`
	// Description says which devices the profile fits.
	Description string `yaml:"description"`
	// Source cites the manual or MIB the map was built from.
	Source string `yaml:"source"`
	// ByteOrder is the default order of multi-register values: ABCD
	// (big-endian, the Modbus norm), CDAB (word swap), BADC (byte swap) or
	// DCBA (little-endian).
	ByteOrder string `yaml:"byte_order"`
	// MaxGap is the largest run of unmapped registers the planner may read
	// through to save a request. Default 16.
	MaxGap *int `yaml:"max_gap"`
	// MaxRegisters caps registers per request (1-125). Default 125.
	MaxRegisters int `yaml:"max_registers"`
	// Unreadable lists address ranges the device rejects; no request
	// crosses them.
	Unreadable []Range `yaml:"unreadable"`
	// Registers maps registers to points, before repeat expansion.
	Registers []Register `yaml:"registers"`

	// File is the path the profile was loaded from, for error messages.
	File string `yaml:"-"`
	// Points is Registers with repeats expanded: one entry per point.
	Points []Register `yaml:"-"`
}

// Range is an inclusive span of addresses in one table.
type Range struct {
	Table Table  `yaml:"register"`
	Start uint16 `yaml:"start"`
	End   uint16 `yaml:"end"`
	Line  int    `yaml:"-"`
}

// Repeat expands one register entry into several: the point name's {var}
// takes the values From..From+Count-1 and the address grows by Stride.
type Repeat struct {
	Var    string `yaml:"var"`
	Count  int    `yaml:"count"`
	Stride int    `yaml:"stride"`
	From   int    `yaml:"from"`
}

// Register maps one value in the device's registers to one point.
type Register struct {
	// Point is a contract point name; with Repeat it holds {var} markers,
	// e.g. battery.module.{n}.cell.{m}.voltage.
	Point string `yaml:"point"`
	// Table is holding (default), input, coil or discrete.
	Table Table `yaml:"register"`
	// Address is the 0-based protocol address of the first register.
	Address uint16 `yaml:"address"`
	// Type is the value's encoding; default UINT16.
	Type Type `yaml:"type"`
	// Order overrides the profile's byte order for this value.
	Order string `yaml:"order"`
	// Length is the number of registers of a STRING.
	Length int `yaml:"length"`
	// Bit is the bit (0 = least significant) of a BIT in a register.
	Bit int `yaml:"bit"`
	// Scale multiplies the raw value; default 1.
	Scale *float64 `yaml:"scale"`
	// Offset is added after scaling.
	Offset float64 `yaml:"offset"`
	// Unit is the SI unit after scaling; must match the point's unit.
	Unit string `yaml:"unit"`
	// Invalid lists raw values that mean "not available" (e.g. 0x7FFF,
	// 0x8000, 0xFFFF); they decode to NaN.
	Invalid []int64 `yaml:"invalid"`
	// Min and Max bound physically possible values; outside is NaN.
	Min *float64 `yaml:"min"`
	Max *float64 `yaml:"max"`
	// Enum maps raw integers to text for text points (ups.status).
	Enum map[int64]string `yaml:"enum"`
	// Repeat expands this entry over module and cell indices, outermost first.
	Repeat []Repeat `yaml:"repeat"`

	// Line is the line of the entry in its profile file.
	Line int `yaml:"-"`
	// Lines holds the line of each field of the entry, by YAML key.
	Lines map[string]int `yaml:"-"`
}

// UnmarshalYAML records the lines of the entry and its fields, and rejects
// keys that are not fields of a register or of its repeats (yaml.v3 does not
// carry KnownFields into custom unmarshalers).
func (r *Register) UnmarshalYAML(n *yaml.Node) error {
	type plain Register
	if err := checkKeys(n, registerKeys); err != nil {
		return err
	}
	if rep := mapValue(n, "repeat"); rep != nil && rep.Kind == yaml.SequenceNode {
		for _, item := range rep.Content {
			if err := checkKeys(item, repeatKeys); err != nil {
				return err
			}
		}
	}
	if err := n.Decode((*plain)(r)); err != nil {
		return err
	}
	r.Line = n.Line
	r.Lines = fieldLines(n)
	return nil
}

// UnmarshalYAML records the line of the range and rejects unknown keys.
func (r *Range) UnmarshalYAML(n *yaml.Node) error {
	type plain Range
	if err := checkKeys(n, rangeKeys); err != nil {
		return err
	}
	if err := n.Decode((*plain)(r)); err != nil {
		return err
	}
	r.Line = n.Line
	return nil
}

var (
	registerKeys = keySet("point", "register", "address", "type", "order", "length", "bit",
		"scale", "offset", "unit", "invalid", "min", "max", "enum", "repeat")
	repeatKeys = keySet("var", "count", "stride", "from")
	rangeKeys  = keySet("register", "start", "end")
)

func keySet(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// checkKeys reports the first key of mapping n that is not in known, in
// the form yaml.v3 uses for its own unknown-field errors.
func checkKeys(n *yaml.Node, known map[string]bool) error {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	var errs []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !known[k.Value] {
			errs = append(errs, fmt.Sprintf("line %d: field %s not found", k.Line, k.Value))
		}
	}
	if errs != nil {
		return &yaml.TypeError{Errors: errs}
	}
	return nil
}

// mapValue returns the value of key in mapping n, or nil.
func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func fieldLines(n *yaml.Node) map[string]int {
	m := map[string]int{}
	if n.Kind != yaml.MappingNode {
		return m
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		m[n.Content[i].Value] = n.Content[i].Line
	}
	return m
}

// Words returns the number of registers (or bits, for coils) the value spans.
func (r *Register) Words() int {
	switch r.Type {
	case Uint32, Int32, Float32:
		return 2
	case Uint64, Int64, Float64:
		return 4
	case String:
		return r.Length
	}
	return 1
}

// LineOf returns the line of field key, or of the entry when unknown.
func (r *Register) LineOf(key string) int {
	if l, ok := r.Lines[key]; ok {
		return l
	}
	return r.Line
}

// normaliseType maps the short aliases to the canonical names.
func normaliseType(t Type) Type {
	switch strings.ToLower(string(t)) {
	case "", "u16", "uint16":
		return Uint16
	case "s16", "i16", "int16":
		return Int16
	case "u32", "uint32":
		return Uint32
	case "s32", "i32", "int32":
		return Int32
	case "f32", "float32", "float":
		return Float32
	case "u64", "uint64":
		return Uint64
	case "s64", "i64", "int64":
		return Int64
	case "f64", "float64", "double":
		return Float64
	case "string":
		return String
	case "bit", "bool":
		return Bit
	}
	return t
}
