package snmp

import (
	"math"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// Absence of a value, as opposed to a value that is not available.
//
// An object the agent does not have (noSuchObject, noSuchInstance,
// endOfMibView) yields no reading at all. An object it has but whose value
// is a sentinel or Null yields a NaN reading.

// present reports whether pdu carries an object the agent has.
func present(pdu gosnmp.SnmpPDU) bool {
	switch pdu.Type {
	case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView, gosnmp.UnknownType:
		return false
	}
	return true
}

// rawNumber returns the number a varbind carries: integers and counters as
// they are, Opaque floats, and octet strings that spell a decimal number
// (some agents send "23.4"). ok is false for Null, OIDs and other text.
func rawNumber(pdu gosnmp.SnmpPDU) (v float64, ok bool) {
	switch x := pdu.Value.(type) {
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float32:
		return float64(x), !math.IsNaN(float64(x)) && !math.IsInf(float64(x), 0)
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case []byte:
		if pdu.Type != gosnmp.OctetString {
			return 0, false
		}
		return parseNumber(string(x))
	case string:
		return parseNumber(x)
	}
	return 0, false
}

// parseNumber reads a decimal number sent as text, with optional spaces.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 32 {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// decoded is the outcome of decoding one varbind.
type decoded struct {
	value float64 // NaN for a sentinel, Null or an implausible value
	text  string  // the enum token of a text point
	ok    bool    // false: no reading at all (absent object, unknown enum)
}

// rowExtra carries facts from other columns of the same table row.
type rowExtra struct {
	fahrenheit bool
	decimals   int
}

// decodeValue turns a varbind into a value following v. It never returns
// a number for a sentinel, for Null, or for a value outside Min..Max.
func decodeValue(v *Value, pdu gosnmp.SnmpPDU, x rowExtra) decoded {
	if !present(pdu) {
		return decoded{}
	}
	raw, isNum := rawNumber(pdu)
	if len(v.Enum) > 0 {
		if !isNum || raw != math.Trunc(raw) {
			return decoded{}
		}
		t, ok := v.Enum[int64(raw)]
		if !ok {
			return decoded{}
		}
		return decoded{value: math.NaN(), text: t, ok: true}
	}
	if v.text {
		b, ok := pdu.Value.([]byte)
		if !ok || pdu.Type != gosnmp.OctetString {
			return decoded{}
		}
		t := printable(b)
		if t == "" {
			return decoded{}
		}
		return decoded{value: math.NaN(), text: t, ok: true}
	}
	if !isNum {
		// Null, or text where a number belongs: the device answered
		// without a usable value.
		return decoded{value: math.NaN(), ok: true}
	}
	for _, s := range v.Sentinels {
		if raw == s {
			return decoded{value: math.NaN(), ok: true}
		}
	}
	f := raw
	if v.Ticks {
		f /= 100
	}
	if inv := 1 / v.Scale; v.Scale < 1 && inv == math.Trunc(inv) {
		f /= inv // 234 / 10 is 23.4 exactly; 234 * 0.1 is not
	} else {
		f *= v.Scale
	}
	f += v.Offset
	if x.decimals > 0 && x.decimals < 10 {
		f /= math.Pow10(x.decimals)
	}
	if v.Fahrenheit || x.fahrenheit {
		f = (f - 32) * 5 / 9
	}
	if (v.Min != nil && f < *v.Min) || (v.Max != nil && f > *v.Max) {
		return decoded{value: math.NaN(), ok: true}
	}
	return decoded{value: f, ok: true}
}

// printable returns the text of an octet string, trimmed, with control
// and non-UTF-8 bytes dropped, at most 128 bytes.
func printable(b []byte) string {
	if len(b) > 128 {
		b = b[:128]
	}
	s := strings.ToValidUTF8(string(b), "")
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}
