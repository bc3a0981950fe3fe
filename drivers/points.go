package drivers

import (
	"regexp"
	"strings"
)

// PointKind tells whether a point carries a number or a text.
type PointKind int

const (
	// Numeric points carry a float64 in an SI unit.
	Numeric PointKind = iota
	// Text points carry a token string (ups.status, outlet.N.status).
	Text
)

// PointSpec describes one family of point names of the contract vocabulary.
type PointSpec struct {
	// Pattern is the name with N and M standing for indices starting at 1.
	Pattern string
	// Unit is the SI unit of the point, empty for text points.
	Unit string
	// Kind tells numbers from text.
	Kind PointKind
}

// vocabulary is the contract point table (CONTRACTS section 2). Patterns use
// N and M for 1-based indices. battery.string.S. prefixes any battery. name.
var vocabulary = []PointSpec{
	{"battery.voltage", "V", Numeric},
	{"battery.current", "A", Numeric},
	{"battery.charge", "%", Numeric},
	{"battery.runtime", "s", Numeric},
	{"battery.temperature", "°C", Numeric},
	{"battery.module.N.temperature", "°C", Numeric},
	{"battery.module.N.voltage", "V", Numeric},
	{"battery.module.N.current", "A", Numeric},
	{"battery.cell.N.temperature", "°C", Numeric},
	{"battery.cell.N.voltage", "V", Numeric},
	{"battery.module.N.cell.M.voltage", "V", Numeric},
	{"battery.module.N.cell.M.temperature", "°C", Numeric},
	{"battery.module.N.cell.avg.voltage", "V", Numeric},
	{"battery.module.N.cell.max.voltage", "V", Numeric},
	{"battery.module.N.cell.min.voltage", "V", Numeric},
	{"battery.module.N.cell.max.temperature", "°C", Numeric},
	{"battery.module.N.cell.min.temperature", "°C", Numeric},
	{"battery.module.N.charge", "%", Numeric},
	{"battery.resistance", "Ω", Numeric},
	{"battery.cell.N.resistance", "Ω", Numeric},
	{"battery.cell.max.voltage", "V", Numeric},
	{"battery.cell.min.voltage", "V", Numeric},
	{"battery.module.max.temperature", "°C", Numeric},
	{"battery.module.min.temperature", "°C", Numeric},
	{"battery.health", "%", Numeric},
	{"battery.voltage.nominal", "V", Numeric},
	{"battery.capacity", "Ah", Numeric},
	{"battery.status", "", Text},
	{"gas.h2", "ppm", Numeric},
	{"gas.co", "ppm", Numeric},
	{"gas.voc", "ppm", Numeric},
	{"ambient.temperature", "°C", Numeric},
	{"ambient.humidity", "%", Numeric},
	{"ambient.N.temperature", "°C", Numeric},
	{"ambient.N.humidity", "%", Numeric},
	{"ups.load", "%", Numeric},
	{"ups.status", "", Text},
	{"ups.temperature", "°C", Numeric},
	{"ups.power", "VA", Numeric},
	{"ups.realpower", "W", Numeric},
	{"input.voltage", "V", Numeric},
	{"input.current", "A", Numeric},
	{"input.frequency", "Hz", Numeric},
	{"input.power", "W", Numeric},
	{"output.voltage", "V", Numeric},
	{"output.current", "A", Numeric},
	{"output.frequency", "Hz", Numeric},
	{"outlet.N.current", "A", Numeric},
	{"outlet.N.power", "W", Numeric},
	{"outlet.N.status", "", Text},
	{"input.phase.N.current", "A", Numeric},
	{"input.phase.N.voltage", "V", Numeric},
	{"input.phase.N.power", "W", Numeric},
	{"device.model", "", Text},
	{"device.mfr", "", Text},
	{"device.serial", "", Text},
	{"device.firmware", "", Text},
}

// PointVocabulary is the matcher of point names against the contract table.
// It is immutable after NewVocabulary and safe for concurrent use.
type PointVocabulary struct {
	specs []PointSpec
	res   []*regexp.Regexp
}

// NewVocabulary returns the contract vocabulary.
func NewVocabulary() *PointVocabulary {
	v := &PointVocabulary{specs: vocabulary}
	for _, s := range vocabulary {
		p := regexp.QuoteMeta(s.Pattern)
		p = strings.ReplaceAll(p, `\.N\.`, `\.[1-9][0-9]*\.`)
		p = strings.ReplaceAll(p, `\.M\.`, `\.[1-9][0-9]*\.`)
		v.res = append(v.res, regexp.MustCompile("^"+p+"$"))
	}
	return v
}

var stringPrefix = regexp.MustCompile(`^battery\.string\.[1-9][0-9]*\.`)

// Lookup returns the spec of a point name, and false when the name is not
// in the contract vocabulary. battery.string.S.<suffix> is accepted for any
// battery.<suffix> in the table.
func (v *PointVocabulary) Lookup(name string) (PointSpec, bool) {
	if loc := stringPrefix.FindStringIndex(name); loc != nil {
		name = "battery." + name[loc[1]:]
	}
	for i, re := range v.res {
		if re.MatchString(name) {
			return v.specs[i], true
		}
	}
	return PointSpec{}, false
}

// Specs returns a copy of the vocabulary table.
func (v *PointVocabulary) Specs() []PointSpec {
	return append([]PointSpec(nil), v.specs...)
}
