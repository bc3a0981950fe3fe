package modbus

import (
	"errors"
	"fmt"
	"github.com/emberwatch/emberwatch/drivers/profileyaml"
	"io/fs"
	"math"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/emberwatch/emberwatch/drivers"
	"gopkg.in/yaml.v3"
)

// Limits of the Modbus read functions.
const (
	// MaxRegisters is the most registers one read (function 3 or 4) returns.
	MaxRegisters = 125
	// MaxBits is the most coils or discrete inputs one read (function 1 or 2) returns.
	MaxBits = 2000
	// DefaultMaxGap is the default for Profile.MaxGap.
	DefaultMaxGap = 16

	maxPoints = 65536 // points in one profile
	maxErrors = 100   // errors reported for one profile
)

// ProfileError is one problem in a profile file, located by file, line and
// field: it prints as "file:line: field: message".
type ProfileError = profileyaml.Error

// LoadProfile reads and parses the profile at path in fsys. Errors are as
// ParseProfile's; a missing file is reported as a *ProfileError on line 0.
func LoadProfile(fsys fs.FS, name string) (*Profile, error) {
	data, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, &ProfileError{File: name, Field: "profile", Msg: err.Error()}
	}
	return ParseProfile(name, data)
}

// ParseProfile decodes a profile strictly (unknown keys are errors),
// normalises types and byte orders, expands repeats into Points and
// validates the result against the contract vocabulary. It returns every
// problem found, as errors.Join of *ProfileError values; file names the
// data in those errors. The profile's Name defaults to the file's base
// name without extension.
func ParseProfile(file string, data []byte) (*Profile, error) {
	p := &Profile{File: file}
	var errs []error
	add := func(line int, field, format string, a ...any) {
		errs = append(errs, &ProfileError{File: file, Line: line, Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	if !profileyaml.DecodeStrict(data, p, add) {
		// empty, or a syntax error: nothing else can be trusted
		return nil, errors.Join(errs...)
	}
	top := topLines(data)
	p.File = file
	if p.Name == "" {
		p.Name = strings.TrimSuffix(path.Base(file), path.Ext(file))
	}

	if p.ByteOrder == "" {
		p.ByteOrder = "ABCD"
	} else if o, ok := normaliseOrder(p.ByteOrder); ok {
		p.ByteOrder = o
	} else {
		add(top["byte_order"], "byte_order", "unknown byte order %q (want ABCD, CDAB, BADC or DCBA)", p.ByteOrder)
	}
	if p.MaxRegisters == 0 {
		p.MaxRegisters = MaxRegisters
	} else if p.MaxRegisters < 1 || p.MaxRegisters > MaxRegisters {
		add(top["max_registers"], "max_registers", "%d is outside 1..%d", p.MaxRegisters, MaxRegisters)
		p.MaxRegisters = MaxRegisters
	}
	if p.MaxGap == nil {
		g := DefaultMaxGap
		p.MaxGap = &g
	} else if *p.MaxGap < 0 {
		add(top["max_gap"], "max_gap", "%d is negative", *p.MaxGap)
		*p.MaxGap = 0
	}
	for i := range p.Unreadable {
		u := &p.Unreadable[i]
		if u.Table == "" {
			u.Table = Holding
		}
		if !validTable(u.Table) {
			add(u.Line, "unreadable.register", "unknown register table %q (want holding, input, coil or discrete)", u.Table)
		}
		if u.End < u.Start {
			add(u.Line, "unreadable.end", "end %d is before start %d", u.End, u.Start)
		}
	}
	if len(p.Registers) == 0 {
		add(top["registers"], "registers", "no registers")
	}

	voc := drivers.NewVocabulary()
	for i := range p.Registers {
		r := &p.Registers[i]
		if !checkRegister(r, voc, add) {
			continue
		}
		p.Points = append(p.Points, expand(r, add)...)
		if len(p.Points) > maxPoints {
			add(r.Line, "registers", "the profile has more than %d points", maxPoints)
			return nil, errors.Join(errs...)
		}
	}
	checkPoints(p, add)
	if len(errs) > maxErrors {
		n := len(errs) - maxErrors
		errs = append(errs[:maxErrors], &ProfileError{File: file, Line: 0, Field: "profile", Msg: fmt.Sprintf("%d more errors", n)})
	}
	if errs != nil {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

// topLines returns the line of each top-level key of the document.
func topLines(data []byte) map[string]int {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return map[string]int{}
	}
	return fieldLines(doc.Content[0])
}

func validTable(t Table) bool {
	switch t {
	case Holding, Input, Coil, Discrete:
		return true
	}
	return false
}

// isBitTable reports whether t addresses single bits (coils, discrete inputs).
func isBitTable(t Table) bool { return t == Coil || t == Discrete }

func normaliseOrder(o string) (string, bool) {
	u := strings.ToUpper(o)
	switch u {
	case "ABCD", "CDAB", "BADC", "DCBA":
		return u, true
	case "AB", "BIG":
		return "ABCD", true
	case "BA", "LITTLE":
		return "DCBA", true
	}
	return o, false
}

func knownType(t Type) bool {
	switch t {
	case Uint16, Int16, Uint32, Int32, Float32, Uint64, Int64, Float64, String, Bit:
		return true
	}
	return false
}

func isIntType(t Type) bool {
	switch t {
	case Uint16, Int16, Uint32, Int32, Uint64, Int64, Bit:
		return true
	}
	return false
}

// checkRegister normalises one entry and reports problems that do not
// depend on repeat expansion. It returns false when the entry cannot be
// expanded.
func checkRegister(r *Register, voc *drivers.PointVocabulary, add func(int, string, string, ...any)) bool {
	ok := true
	if r.Table == "" {
		r.Table = Holding
	}
	r.Table = Table(strings.ToLower(string(r.Table)))
	if !validTable(r.Table) {
		add(r.LineOf("register"), "register", "unknown register table %q (want holding, input, coil or discrete)", r.Table)
		ok = false
	}
	r.Type = normaliseType(r.Type)
	if !knownType(r.Type) {
		add(r.LineOf("type"), "type", "unknown type %q", r.Type)
		return false
	}
	if r.Order != "" {
		if o, good := normaliseOrder(r.Order); good {
			r.Order = o
		} else {
			add(r.LineOf("order"), "order", "unknown byte order %q (want ABCD, CDAB, BADC or DCBA)", r.Order)
		}
	}
	switch {
	case r.Type == String && r.Length <= 0:
		add(r.LineOf("type"), "length", "STRING needs a length in registers (1..%d)", MaxRegisters)
		ok = false
	case r.Type == String && r.Length > MaxRegisters:
		add(r.LineOf("length"), "length", "%d registers is more than one request can read (%d)", r.Length, MaxRegisters)
		ok = false
	case r.Type != String && r.Length != 0:
		add(r.LineOf("length"), "length", "length is only for STRING")
	}
	if r.Type == Bit && (r.Bit < 0 || r.Bit > 15) {
		add(r.LineOf("bit"), "bit", "bit %d is outside 0..15", r.Bit)
		ok = false
	} else if r.Type != Bit && r.Bit != 0 {
		add(r.LineOf("bit"), "bit", "bit is only for type BIT")
	}
	if isBitTable(r.Table) && r.Type != Bit && r.Type != Uint16 {
		add(r.LineOf("type"), "type", "a %s holds single bits: type must be BIT or UINT16, not %s", r.Table, r.Type)
		ok = false
	}
	if isBitTable(r.Table) && r.Bit != 0 {
		add(r.LineOf("bit"), "bit", "a %s holds a single bit: bit must be 0", r.Table)
	}
	if r.Scale != nil && (*r.Scale == 0 || math.IsNaN(*r.Scale) || math.IsInf(*r.Scale, 0)) {
		add(r.LineOf("scale"), "scale", "scale must be a finite non-zero number")
		ok = false
	}
	if r.Min != nil && r.Max != nil && *r.Min > *r.Max {
		add(r.LineOf("min"), "min", "min %g is above max %g", *r.Min, *r.Max)
	}
	if r.Enum != nil && !isIntType(r.Type) {
		add(r.LineOf("enum"), "enum", "enum needs an integer type, not %s", r.Type)
	}
	if r.Point == "" {
		add(r.Line, "point", "missing point name")
		return false
	}
	vars := map[string]bool{}
	for i, rp := range r.Repeat {
		field := fmt.Sprintf("repeat[%d]", i)
		switch {
		case rp.Var == "":
			add(r.LineOf("repeat"), field+".var", "missing variable name")
			ok = false
		case vars[rp.Var]:
			add(r.LineOf("repeat"), field+".var", "variable {%s} repeated twice", rp.Var)
			ok = false
		case !strings.Contains(r.Point, "{"+rp.Var+"}"):
			add(r.LineOf("point"), "point", "point %q does not use {%s}", r.Point, rp.Var)
			ok = false
		}
		vars[rp.Var] = true
		if rp.Count < 1 || rp.Count > 65536 {
			add(r.LineOf("repeat"), field+".count", "count %d is outside 1..65536", rp.Count)
			ok = false
		}
		if rp.Stride < 0 {
			add(r.LineOf("repeat"), field+".stride", "stride %d is negative", rp.Stride)
			ok = false
		}
		if rp.From < 0 {
			add(r.LineOf("repeat"), field+".from", "from %d is negative", rp.From)
			ok = false
		} else if rp.From == 0 {
			r.Repeat[i].From = 1 // contract indices start at 1
		}
	}
	if !ok {
		return false
	}
	// The point's unit: check against the vocabulary with a sample name.
	sample := r.Point
	for _, rp := range r.Repeat {
		sample = strings.ReplaceAll(sample, "{"+rp.Var+"}", strconv.Itoa(rp.From))
	}
	if strings.ContainsAny(sample, "{}") {
		add(r.LineOf("point"), "point", "point %q has a {variable} with no repeat", r.Point)
		return false
	}
	spec, known := voc.Lookup(sample)
	if !known {
		add(r.LineOf("point"), "point", "unknown point %q (not in the contract vocabulary)", r.Point)
		return false
	}
	switch {
	case spec.Kind == drivers.Text && r.Type != String && r.Enum == nil:
		add(r.LineOf("type"), "type", "point %s is text: type must be STRING or have an enum", r.Point)
	case spec.Kind == drivers.Numeric && (r.Type == String || r.Enum != nil):
		add(r.LineOf("type"), "type", "point %s is numeric: STRING and enum are for text points", r.Point)
	}
	if r.Unit == "" {
		r.Unit = spec.Unit
	} else if normaliseUnit(r.Unit) != spec.Unit {
		add(r.LineOf("unit"), "unit", "unit %q is not the unit of %s (%q)", r.Unit, r.Point, spec.Unit)
	} else {
		r.Unit = spec.Unit
	}
	return true
}

// normaliseUnit accepts the ASCII spellings of the contract's units.
func normaliseUnit(u string) string {
	switch u {
	case "C", "degC", "celsius":
		return "°C"
	case "ohm", "Ohm":
		return "Ω"
	}
	return u
}

// expand returns the points of one entry: itself, or one per combination
// of its repeats, outermost first. The innermost stride defaults to the
// value's width, each outer stride to the span of the repeats inside it.
func expand(r *Register, add func(int, string, string, ...any)) []Register {
	base := *r
	base.Repeat = nil
	if len(r.Repeat) == 0 {
		return []Register{base}
	}
	strides := make([]int, len(r.Repeat))
	span := r.Words()
	for i := len(r.Repeat) - 1; i >= 0; i-- {
		s := r.Repeat[i].Stride
		if s == 0 {
			s = span
		}
		strides[i] = s
		span = s * r.Repeat[i].Count
	}
	total := 1
	for _, rp := range r.Repeat {
		total *= rp.Count
		if total > 65536 {
			add(r.LineOf("repeat"), "repeat", "expands to more than 65536 points")
			return nil
		}
	}
	out := make([]Register, 0, total)
	idx := make([]int, len(r.Repeat))
	for {
		pt := base
		name := r.Point
		addr := int(r.Address)
		for i, rp := range r.Repeat {
			name = strings.ReplaceAll(name, "{"+rp.Var+"}", strconv.Itoa(rp.From+idx[i]))
			addr += idx[i] * strides[i]
		}
		if addr+r.Words()-1 > math.MaxUint16 {
			add(r.LineOf("address"), "address", "point %s at %d..%d overflows the 65536-register space", name, addr, addr+r.Words()-1)
			return out
		}
		pt.Point = name
		pt.Address = uint16(addr)
		out = append(out, pt)
		i := len(idx) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < r.Repeat[i].Count {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return out
		}
	}
}

// checkPoints reports problems between expanded points: duplicates,
// overlaps, address overflow and points inside an unreadable range. (Names
// were checked per entry: repeats only put indices from 1 in them.)
func checkPoints(p *Profile, add func(int, string, string, ...any)) {
	seen := map[string]int{}
	for i := range p.Points {
		pt := &p.Points[i]
		if j, dup := seen[pt.Point]; dup {
			add(pt.LineOf("point"), "point", "duplicate point %s (first on line %d)", pt.Point, p.Points[j].LineOf("point"))
		} else {
			seen[pt.Point] = i
		}
		end := int(pt.Address) + pt.Words() - 1
		if end > math.MaxUint16 {
			add(pt.LineOf("address"), "address", "point %s at %d..%d overflows the 65536-register space", pt.Point, pt.Address, end)
			continue
		}
		for _, u := range p.Unreadable {
			if u.Table == pt.Table && int(u.Start) <= end && int(pt.Address) <= int(u.End) {
				add(pt.LineOf("address"), "address", "point %s at %d..%d is inside the unreadable range %d..%d (line %d)",
					pt.Point, pt.Address, end, u.Start, u.End, u.Line)
			}
		}
	}
	// Overlaps: sort by table and address, compare neighbours (and every
	// earlier point still open).
	order := make([]int, len(p.Points))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		pa, pb := &p.Points[order[a]], &p.Points[order[b]]
		if pa.Table != pb.Table {
			return pa.Table < pb.Table
		}
		return pa.Address < pb.Address
	})
	var open []int
	for _, i := range order {
		pt := &p.Points[i]
		kept := open[:0]
		for _, j := range open {
			q := &p.Points[j]
			if q.Table == pt.Table && int(q.Address)+q.Words() > int(pt.Address) {
				kept = append(kept, j)
			}
		}
		open = kept
		for _, j := range open {
			q := &p.Points[j]
			if q.Type == Bit && pt.Type == Bit && q.Address == pt.Address && q.Bit != pt.Bit {
				continue // distinct bits of one register
			}
			add(pt.LineOf("address"), "address", "point %s (%s %d..%d) overlaps %s (%d..%d, line %d)",
				pt.Point, pt.Table, pt.Address, int(pt.Address)+pt.Words()-1,
				q.Point, q.Address, int(q.Address)+q.Words()-1, q.LineOf("address"))
		}
		open = append(open, i)
	}
}
