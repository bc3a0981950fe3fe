package modbus

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// wordBytes lays the registers out as bytes in the order the value's byte
// order names, so that the result reads as a big-endian (ABCD) value.
//
// Register words arrive as big-endian byte pairs (A B) (C D) ... ABCD keeps
// them; CDAB swaps words; BADC swaps bytes within each word; DCBA does both.
func wordBytes(words []uint16, order string) []byte {
	return wordBytesInto(make([]byte, 2*len(words)), words, order)
}

// wordBytesInto is wordBytes writing into b, which holds 2*len(words) bytes.
func wordBytesInto(b []byte, words []uint16, order string) []byte {
	n := len(words)
	swapWords := order == "CDAB" || order == "DCBA"
	swapBytes := order == "BADC" || order == "DCBA" || order == "BA"
	for i, w := range words {
		j := i
		if swapWords {
			j = n - 1 - i
		}
		hi, lo := byte(w>>8), byte(w)
		if swapBytes {
			hi, lo = lo, hi
		}
		b[2*j], b[2*j+1] = hi, lo
	}
	return b
}

// bytesToWords is the inverse of wordBytes.
func bytesToWords(b []byte, order string) []uint16 {
	n := len(b) / 2
	words := make([]uint16, n)
	swapWords := order == "CDAB" || order == "DCBA"
	swapBytes := order == "BADC" || order == "DCBA" || order == "BA"
	for i := range words {
		j := i
		if swapWords {
			j = n - 1 - i
		}
		hi, lo := b[2*j], b[2*j+1]
		if swapBytes {
			hi, lo = lo, hi
		}
		words[i] = uint16(hi)<<8 | uint16(lo)
	}
	return words
}

// raw decodes the integer or float held by words, before scaling.
// isInt tells whether iv (rather than fv) holds the value.
func raw(r *Register, words []uint16, order string) (iv int64, fv float64, isInt bool, err error) {
	if len(words) < r.Words() {
		return 0, 0, false, fmt.Errorf("%d registers, %s needs %d", len(words), r.Type, r.Words())
	}
	var buf [8]byte // the widest numeric type: no allocation per value
	b := wordBytesInto(buf[:2*r.Words()], words[:r.Words()], order)
	switch r.Type {
	case Uint16:
		return int64(binary.BigEndian.Uint16(b)), 0, true, nil
	case Int16:
		return int64(int16(binary.BigEndian.Uint16(b))), 0, true, nil
	case Uint32:
		return int64(binary.BigEndian.Uint32(b)), 0, true, nil
	case Int32:
		return int64(int32(binary.BigEndian.Uint32(b))), 0, true, nil
	case Uint64:
		u := binary.BigEndian.Uint64(b)
		if u > math.MaxInt64 {
			return 0, float64(u), false, nil
		}
		return int64(u), 0, true, nil
	case Int64:
		return int64(binary.BigEndian.Uint64(b)), 0, true, nil
	case Float32:
		return 0, float64(math.Float32frombits(binary.BigEndian.Uint32(b))), false, nil
	case Float64:
		return 0, math.Float64frombits(binary.BigEndian.Uint64(b)), false, nil
	case Bit:
		return int64(binary.BigEndian.Uint16(b)>>uint(r.Bit)) & 1, 0, true, nil
	}
	return 0, 0, false, fmt.Errorf("type %s has no numeric value", r.Type)
}

// Decode turns the registers of one value into its scaled value, or its
// text for STRING and enum points. A raw value listed as invalid, a NaN or
// infinite float, or a value outside [Min, Max] decodes to NaN.
func (r *Register) Decode(words []uint16, profileOrder string) (value float64, text string, err error) {
	order := r.order(profileOrder)
	if r.Type == String {
		if len(words) < r.Length {
			return math.NaN(), "", fmt.Errorf("%d registers, STRING needs %d", len(words), r.Length)
		}
		b := wordBytes(words[:r.Length], strings.Replace(order, "CDAB", "ABCD", 1))
		s := strings.TrimRight(string(b), "\x00 ")
		return math.NaN(), strings.ToValidUTF8(s, "?"), nil
	}
	iv, fv, isInt, err := raw(r, words, order)
	if err != nil {
		return math.NaN(), "", err
	}
	if isInt {
		for _, bad := range r.Invalid {
			if iv == bad || (r.Words() == 1 && uint16(iv) == uint16(bad)) {
				return math.NaN(), "", nil
			}
		}
		if r.Enum != nil {
			if t, ok := r.Enum[iv]; ok {
				return math.NaN(), t, nil
			}
			return math.NaN(), fmt.Sprintf("unknown(%d)", iv), nil
		}
		fv = float64(iv)
	}
	if math.IsNaN(fv) || math.IsInf(fv, 0) {
		return math.NaN(), "", nil
	}
	v := applyScale(fv, r.scale()) + r.Offset
	if (r.Min != nil && v < *r.Min) || (r.Max != nil && v > *r.Max) {
		return math.NaN(), "", nil
	}
	return v, "", nil
}

// Encode is the inverse of Decode: the registers that hold value (or text,
// for STRING and enum points). Simulators use it to serve a profile.
func (r *Register) Encode(value float64, text string, profileOrder string) ([]uint16, error) {
	order := r.order(profileOrder)
	n := r.Words()
	b := make([]byte, 2*n)
	if r.Type == String {
		copy(b, text)
		return bytesToWords(b, strings.Replace(order, "CDAB", "ABCD", 1)), nil
	}
	if r.Enum != nil && text != "" {
		for k, t := range r.Enum {
			if t == text {
				value = float64(k)
				goto encode
			}
		}
		return nil, fmt.Errorf("point %s: %q is not in the enum", r.Point, text)
	}
	value = (value - r.Offset) / r.scale()
encode:
	ri := int64(math.Round(value))
	switch r.Type {
	case Uint16, Int16:
		binary.BigEndian.PutUint16(b, uint16(ri))
	case Bit:
		if ri != 0 {
			binary.BigEndian.PutUint16(b, 1<<uint(r.Bit))
		}
	case Uint32, Int32:
		binary.BigEndian.PutUint32(b, uint32(ri))
	case Uint64, Int64:
		binary.BigEndian.PutUint64(b, uint64(ri))
	case Float32:
		binary.BigEndian.PutUint32(b, math.Float32bits(float32(value)))
	case Float64:
		binary.BigEndian.PutUint64(b, math.Float64bits(value))
	default:
		return nil, fmt.Errorf("point %s: cannot encode type %s", r.Point, r.Type)
	}
	return bytesToWords(b, order), nil
}

func (r *Register) order(profileOrder string) string {
	if r.Order != "" {
		return r.Order
	}
	if profileOrder != "" {
		return profileOrder
	}
	return "ABCD"
}

// applyScale multiplies by scale, dividing instead when scale is the
// inverse of a whole number: 239 / 10 is 23.9 exactly, 239 * 0.1 is not.
func applyScale(v, scale float64) float64 {
	if inv := 1 / scale; scale < 1 && scale > 0 && inv == math.Trunc(inv) {
		return v / inv
	}
	return v * scale
}

func (r *Register) scale() float64 {
	if r.Scale == nil {
		return 1
	}
	return *r.Scale
}
