package sunspec

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"sort"
	"strings"

	"github.com/emberwatch/emberwatch/drivers"
	firmwareconfig "github.com/emberwatch/emberwatch/firmware-config"
	"gopkg.in/yaml.v3"
)

// Model is the definition of one SunSpec model: its fixed block and at most
// one repeating group, with the contract point each value maps to.
type Model struct {
	// ID is the SunSpec model number (1, 802, ...).
	ID int `yaml:"id"`
	// Name is the SunSpec name of the model's top group.
	Name string `yaml:"name"`
	// Scope is what one instance of the model describes: device, bank,
	// string or module.
	Scope string `yaml:"scope"`
	// Index names the fixed points that hold the model's place in the bank,
	// by template variable: str (string index) and mod (module index).
	Index map[string]string `yaml:"index"`
	// Points is the fixed block, ID and L first.
	Points []Point `yaml:"points"`
	// Groups holds the repeating group, if the model has one.
	Groups []Group `yaml:"groups"`

	// File is the file the model was loaded from, for error messages.
	File string `yaml:"-"`
}

// Group is a repeating group of a model.
type Group struct {
	// Name is the SunSpec name of the group.
	Name string `yaml:"name"`
	// Count names the fixed point that holds the number of repetitions;
	// empty means the group repeats to the end of the model.
	Count string `yaml:"count"`
	// Index is the template variable the repetition number (1-based)
	// stands for in point names: str, mod or cell.
	Index string `yaml:"index"`
	// Points is one repetition of the group.
	Points []Point `yaml:"points"`
}

// Point is one value of a model or group.
type Point struct {
	// Name is the SunSpec point name (SoC, V_SF, CellV, ...).
	Name string `yaml:"name"`
	// Offset is the register offset from the start of the fixed block (ID
	// is 0) or of one repetition of the group.
	Offset int `yaml:"offset"`
	// Type is the SunSpec type: uint16, int16, enum16, bitfield16, count,
	// acc16, pad, sunssf, uint32, int32, acc32, enum32, bitfield32,
	// float32, uint64, int64, acc64 or string.
	Type string `yaml:"type"`
	// Size is the number of registers; needed only for string.
	Size int `yaml:"size"`
	// SF names the sunssf point that scales the value.
	SF string `yaml:"sf"`
	// Units is the SunSpec unit (C, V, A, %, Ah, ...).
	Units string `yaml:"units"`
	// Contract is the contract point name the value maps to, with {str},
	// {mod} and {cell} standing for indices; empty for unmapped points.
	Contract string `yaml:"point"`
	// Strings is "several" when the point is reported only for a bank of
	// more than one string (per-string totals that would otherwise repeat
	// the bank's).
	Strings string `yaml:"strings"`
	// Enum maps raw values of an enum point to the text of a text point.
	Enum map[int64]string `yaml:"enum"`

	// unit is the contract unit of the mapped point, set by the loader.
	unit string
}

// typeSizes is the register count of each fixed-size SunSpec type.
var typeSizes = map[string]int{
	"uint16": 1, "int16": 1, "enum16": 1, "bitfield16": 1, "count": 1, "acc16": 1, "pad": 1, "sunssf": 1,
	"uint32": 2, "int32": 2, "acc32": 2, "enum32": 2, "bitfield32": 2, "float32": 2,
	"uint64": 4, "int64": 4, "acc64": 4,
}

// Len returns the number of registers the point spans.
func (p *Point) Len() int {
	if p.Type == "string" {
		return p.Size
	}
	return typeSizes[p.Type]
}

// FixedLen returns the length of the fixed block in registers, ID and L
// included.
func (m *Model) FixedLen() int { return blockLen(m.Points) }

// Len returns the length of one repetition of the group in registers.
func (g *Group) Len() int { return blockLen(g.Points) }

func blockLen(ps []Point) int {
	n := 0
	for i := range ps {
		n += ps[i].Len()
	}
	return n
}

// Point returns the fixed point named name.
func (m *Model) Point(name string) (Point, bool) { return find(m.Points, name) }

// Point returns the group point named name.
func (g *Group) Point(name string) (Point, bool) { return find(g.Points, name) }

func find(ps []Point, name string) (Point, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return Point{}, false
}

// Models is a set of model definitions by ID. It is immutable after
// LoadModels and safe for concurrent use.
type Models struct {
	byID map[int]*Model
}

// Model returns the definition of model id.
func (ms *Models) Model(id int) (*Model, bool) {
	m, ok := ms.byID[id]
	return m, ok
}

// IDs returns the IDs of the defined models in increasing order.
func (ms *Models) IDs() []int {
	ids := make([]int, 0, len(ms.byID))
	for id := range ms.byID {
		ids = append(ids, id)
	}
	sort.Ints(ids)
	return ids
}

// LoadModels reads every *.yaml file at the root of fsys as one model
// definition and checks it: offsets follow the sizes, types are known,
// scale factor, count and index points exist, and every mapped point is in
// the contract vocabulary with a matching unit.
func LoadModels(fsys fs.FS) (*Models, error) {
	files, err := fs.Glob(fsys, "*.yaml")
	if err != nil {
		return nil, fmt.Errorf("sunspec: list models: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("sunspec: no model definitions (*.yaml) found")
	}
	voc := drivers.NewVocabulary()
	ms := &Models{byID: map[int]*Model{}}
	for _, f := range files {
		data, err := fs.ReadFile(fsys, f)
		if err != nil {
			return nil, fmt.Errorf("sunspec: %w", err)
		}
		m, err := parseModel(data, voc)
		if err != nil {
			return nil, fmt.Errorf("sunspec: %s: %w", path.Base(f), err)
		}
		m.File = f
		if prev, dup := ms.byID[m.ID]; dup {
			return nil, fmt.Errorf("sunspec: %s: model %d already defined in %s", f, m.ID, prev.File)
		}
		ms.byID[m.ID] = m
	}
	return ms, nil
}

// ParseModel decodes one model definition strictly (unknown keys are
// errors) and checks it against the contract vocabulary.
func ParseModel(data []byte) (*Model, error) {
	return parseModel(data, drivers.NewVocabulary())
}

func parseModel(data []byte, voc *drivers.PointVocabulary) (*Model, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	m := &Model{}
	if err := dec.Decode(m); err != nil {
		return nil, err
	}
	if err := m.check(voc); err != nil {
		return nil, fmt.Errorf("model %d: %w", m.ID, err)
	}
	return m, nil
}

var templateVar = regexp.MustCompile(`\{([a-z]+)\}`)

// unitsFor maps SunSpec units to contract units where they differ.
var unitsFor = map[string]string{"C": "°C", "%WHRtg": "%"}

func (m *Model) check(voc *drivers.PointVocabulary) error {
	if m.ID <= 0 || m.ID >= 0xFFFF {
		return fmt.Errorf("id %d out of range", m.ID)
	}
	switch m.Scope {
	case "device", "bank", "string", "module":
	default:
		return fmt.Errorf("scope %q: want device, bank, string or module", m.Scope)
	}
	if len(m.Points) < 2 || m.Points[0].Name != "ID" || m.Points[1].Name != "L" {
		return fmt.Errorf("the fixed block must start with ID and L")
	}
	if len(m.Groups) > 1 {
		return fmt.Errorf("%d repeating groups; one is supported", len(m.Groups))
	}
	vars := map[string]bool{}
	for v, p := range m.Index {
		if v != "str" && v != "mod" {
			return fmt.Errorf("index %s: want str or mod", v)
		}
		if _, ok := m.Point(p); !ok {
			return fmt.Errorf("index %s: no point %s", v, p)
		}
		vars[v] = true
	}
	if err := checkBlock(m, m.Points, nil, vars, voc); err != nil {
		return err
	}
	for i := range m.Groups {
		g := &m.Groups[i]
		if g.Count != "" {
			if _, ok := m.Point(g.Count); !ok {
				return fmt.Errorf("group %s: count point %s not in the fixed block", g.Name, g.Count)
			}
		}
		switch g.Index {
		case "str", "mod", "cell":
		default:
			return fmt.Errorf("group %s: index %q: want str, mod or cell", g.Name, g.Index)
		}
		if vars[g.Index] {
			return fmt.Errorf("group %s: index %s already set by the fixed block", g.Name, g.Index)
		}
		gv := map[string]bool{g.Index: true}
		for v := range vars {
			gv[v] = true
		}
		if g.Len() == 0 {
			return fmt.Errorf("group %s: empty", g.Name)
		}
		if err := checkBlock(m, g.Points, g, gv, voc); err != nil {
			return fmt.Errorf("group %s: %w", g.Name, err)
		}
	}
	return nil
}

// maxModelLen bounds a block's registers: a model's length L is one
// register, so no block of it is longer.
const maxModelLen = 0xFFFF

// checkBlock checks the points of the fixed block (g nil) or of group g.
func checkBlock(m *Model, ps []Point, g *Group, vars map[string]bool, voc *drivers.PointVocabulary) error {
	off := 0
	seen := map[string]bool{}
	for i := range ps {
		p := &ps[i]
		if p.Name == "" {
			return fmt.Errorf("point at offset %d has no name", off)
		}
		if seen[p.Name] {
			return fmt.Errorf("point %s defined twice", p.Name)
		}
		seen[p.Name] = true
		if p.Type == "string" {
			if p.Size <= 0 || p.Size > maxModelLen {
				return fmt.Errorf("point %s: string needs a size of 1 to %d registers", p.Name, maxModelLen)
			}
		} else if n, ok := typeSizes[p.Type]; !ok {
			return fmt.Errorf("point %s: unknown type %q", p.Name, p.Type)
		} else if p.Size != 0 && p.Size != n {
			return fmt.Errorf("point %s: size %d, %s has %d", p.Name, p.Size, p.Type, n)
		}
		if p.Offset != off {
			return fmt.Errorf("point %s: offset %d, the sizes before it give %d", p.Name, p.Offset, off)
		}
		off += p.Len()
		if off > maxModelLen {
			return fmt.Errorf("point %s: ends at register %d, past the longest model (%d)", p.Name, off, maxModelLen)
		}
		if p.SF != "" {
			sf, ok := m.Point(p.SF)
			if !ok && g != nil {
				sf, ok = g.Point(p.SF)
			}
			if !ok || sf.Type != "sunssf" {
				return fmt.Errorf("point %s: scale factor %s is not a sunssf point of the model", p.Name, p.SF)
			}
		}
		if p.Strings != "" && p.Strings != "several" {
			return fmt.Errorf("point %s: strings %q: want several or nothing", p.Name, p.Strings)
		}
		if p.Contract == "" {
			if p.Enum != nil || p.Strings != "" {
				return fmt.Errorf("point %s: enum or strings without a contract point", p.Name)
			}
			continue
		}
		if err := checkContract(p, vars, voc); err != nil {
			return fmt.Errorf("point %s: %w", p.Name, err)
		}
	}
	return nil
}

func checkContract(p *Point, vars map[string]bool, voc *drivers.PointVocabulary) error {
	for _, mt := range templateVar.FindAllStringSubmatch(p.Contract, -1) {
		if !vars[mt[1]] {
			return fmt.Errorf("point %q: {%s} is not an index of this block", p.Contract, mt[1])
		}
	}
	name := templateVar.ReplaceAllString(p.Contract, "1")
	if strings.ContainsAny(name, "{}") {
		return fmt.Errorf("point %q: malformed template", p.Contract)
	}
	spec, ok := voc.Lookup(name)
	if !ok {
		return fmt.Errorf("point %q is not in the contract vocabulary", p.Contract)
	}
	p.unit = spec.Unit
	if spec.Kind == drivers.Text {
		if p.Type != "string" && p.Enum == nil {
			return fmt.Errorf("text point %q needs a string or an enum", p.Contract)
		}
		return nil
	}
	if p.Type == "string" || p.Enum != nil {
		return fmt.Errorf("numeric point %q from a string or enum", p.Contract)
	}
	u := p.Units
	if cu, ok := unitsFor[u]; ok {
		u = cu
	}
	if u != spec.Unit {
		return fmt.Errorf("point %q: unit %q, the contract says %q", p.Contract, p.Units, spec.Unit)
	}
	return nil
}

// DefaultModels loads the model definitions built into the binary
// (firmware-config/profiles/modbus/sunspec).
func DefaultModels() (*Models, error) {
	sub, err := fs.Sub(firmwareconfig.Profiles(), "modbus/sunspec")
	if err != nil {
		return nil, fmt.Errorf("sunspec: built-in models: %w", err)
	}
	return LoadModels(sub)
}
