package mqtt

import (
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emberwatch/emberwatch/drivers"
)

// appendTelemetry appends the JSON of NewTelemetry(device, t, rs) to b,
// byte for byte what encoding/json writes for it (points in name order,
// floats as json formats them, strings escaped alike), without building
// the map or reflecting: a poll of a large rack pays microseconds, not
// a millisecond, on a gateway's small ARM core. A point named twice keeps
// its last reading, as the map does.
func appendTelemetry(b []byte, device string, t time.Time, rs []drivers.Reading) []byte {
	idx := make([]int, 0, len(rs))
	for i := range rs {
		idx = append(idx, i)
	}
	slices.SortStableFunc(idx, func(a, c int) int { return strings.Compare(rs[a].Point, rs[c].Point) })
	b = append(b, `{"time":"`...)
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","device":`...)
	b = appendString(b, device)
	b = append(b, `,"points":{`...)
	first := true
	for k, i := range idx {
		if k+1 < len(idx) && rs[idx[k+1]].Point == rs[i].Point {
			continue // a later reading of the same point wins
		}
		r := &rs[i]
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, r.Point)
		b = append(b, ':', '{')
		switch {
		case r.Text != "":
			b = append(b, `"text":`...)
			b = appendString(b, r.Text)
			if r.Unit != "" {
				b = append(b, `,"unit":`...)
				b = appendString(b, r.Unit)
			}
		default:
			b = append(b, `"value":`...)
			if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
				b = append(b, "null"...)
			} else {
				b = appendFloat(b, r.Value)
			}
			if r.Unit != "" {
				b = append(b, `,"unit":`...)
				b = appendString(b, r.Unit)
			}
		}
		b = append(b, '}')
	}
	return append(b, "}}"...)
}

// appendFloat formats f as encoding/json does (ES6 number formatting).
func appendFloat(b []byte, f float64) []byte {
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const hexDigits = "0123456789abcdef"

// appendString quotes s as encoding/json does, HTML escaping included.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
