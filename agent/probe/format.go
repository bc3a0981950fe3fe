package probe

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/emberwatch/emberwatch/drivers"
)

// Less orders point names naturally: runs of digits compare as numbers, so
// battery.module.2 comes before battery.module.10.
func Less(a, b string) bool { return Compare(a, b) < 0 }

// Compare is the three-way form of Less.
func Compare(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na := strings.TrimLeft(a[:da], "0")
			nb := strings.TrimLeft(b[:db], "0")
			if c := cmpInt(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			if c := cmpInt(da, db); c != 0 { // 01 after 1
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmpInt(int(a[0]), int(b[0]))
		}
		a, b = a[1:], b[1:]
	}
	return cmpInt(len(a), len(b))
}

func digits(s string) int {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// FormatValue renders a reading's value: the shortest decimal that reads
// back as the same float, "nan" for an invalid value, text as it is
// (quoted when it holds spaces, quotes or unprintable characters).
func FormatValue(r drivers.Reading) string {
	if r.Text != "" {
		if strings.IndexFunc(r.Text, func(c rune) bool { return unicode.IsSpace(c) || c == '"' || !unicode.IsPrint(c) }) >= 0 {
			return strconv.Quote(r.Text)
		}
		return r.Text
	}
	if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
		return "nan"
	}
	return strconv.FormatFloat(r.Value, 'f', -1, 64)
}

// Write prints one "point value unit" line per reading, in natural order
// of the point names.
func Write(w io.Writer, rs []drivers.Reading) error {
	rs = slices.Clone(rs)
	slices.SortStableFunc(rs, func(a, b drivers.Reading) int { return Compare(a.Point, b.Point) })
	for _, r := range rs {
		line := r.Point + " " + FormatValue(r)
		if r.Unit != "" {
			line += " " + r.Unit
		}
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}
