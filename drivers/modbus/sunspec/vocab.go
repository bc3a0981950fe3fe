package sunspec

import (
	"regexp"
	"strings"

	"github.com/emberwatch/emberwatch/drivers"
)

// vocab matches point names against the contract vocabulary. It asks
// drivers.PointVocabulary first and falls back on its own matcher over the
// same table, which also matches indexed names (battery.module.N....):
// PointVocabulary.Lookup in this tree quotes the dots of a pattern before
// it looks for ".N.", so indexed names never match there.
type vocab struct {
	voc   *drivers.PointVocabulary
	specs []drivers.PointSpec
	res   []*regexp.Regexp
}

var stringPrefix = regexp.MustCompile(`^battery\.string\.[1-9][0-9]*\.`)

func newVocab() *vocab {
	v := &vocab{voc: drivers.NewVocabulary()}
	v.specs = v.voc.Specs()
	for _, s := range v.specs {
		p := regexp.QuoteMeta(s.Pattern)
		p = strings.ReplaceAll(p, `\.N\.`, `\.[1-9][0-9]*\.`)
		p = strings.ReplaceAll(p, `\.M\.`, `\.[1-9][0-9]*\.`)
		v.res = append(v.res, regexp.MustCompile("^"+p+"$"))
	}
	return v
}

// lookup returns the spec of a contract point name.
func (v *vocab) lookup(name string) (drivers.PointSpec, bool) {
	if s, ok := v.voc.Lookup(name); ok {
		return s, true
	}
	if loc := stringPrefix.FindStringIndex(name); loc != nil {
		name = "battery." + name[loc[1]:]
	}
	for i, re := range v.res {
		if re.MatchString(name) {
			return v.specs[i], true
		}
	}
	return drivers.PointSpec{}, false
}
