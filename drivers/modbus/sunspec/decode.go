package sunspec

import (
	"math"
	"strings"
)

// rawValue returns the integer held by words for point p and whether the
// device implements it (false for the type's "not implemented" value).
// Floats come back in f with isFloat set.
func rawValue(p *Point, w []uint16) (i int64, f float64, isFloat, ok bool) {
	u32 := func() uint32 { return uint32(w[0])<<16 | uint32(w[1]) }
	u64 := func() uint64 {
		return uint64(w[0])<<48 | uint64(w[1])<<32 | uint64(w[2])<<16 | uint64(w[3])
	}
	switch p.Type {
	case "uint16", "enum16", "bitfield16", "count":
		return int64(w[0]), 0, false, w[0] != 0xFFFF
	case "int16", "sunssf":
		return int64(int16(w[0])), 0, false, w[0] != 0x8000
	case "acc16":
		return int64(w[0]), 0, false, w[0] != 0
	case "pad":
		return 0, 0, false, false
	case "uint32", "enum32", "bitfield32":
		v := u32()
		return int64(v), 0, false, v != 0xFFFFFFFF
	case "int32":
		v := u32()
		return int64(int32(v)), 0, false, v != 0x80000000
	case "acc32":
		v := u32()
		return int64(v), 0, false, v != 0
	case "float32":
		v := float64(math.Float32frombits(u32()))
		return 0, v, true, !math.IsNaN(v) && !math.IsInf(v, 0)
	case "uint64":
		v := u64()
		return 0, float64(v), true, v != math.MaxUint64
	case "int64":
		v := u64()
		return int64(v), 0, false, v != 1<<63
	case "acc64":
		v := u64()
		return 0, float64(v), true, v != 0
	}
	return 0, 0, false, false
}

// Scale returns raw scaled by 10^sf, dividing for negative sf so that the
// result is the float nearest to the decimal the device meant (3312 with
// sf -3 is exactly 3.312, not 3.3120000000000003).
func Scale(raw float64, sf int) float64 {
	if sf < 0 {
		return raw / math.Pow10(-sf)
	}
	return raw * math.Pow10(sf)
}

// text decodes a SunSpec string: two characters a register, high byte
// first, padded with NULs; all NULs means not implemented.
func text(w []uint16) string {
	b := make([]byte, 0, 2*len(w))
	for _, x := range w {
		b = append(b, byte(x>>8), byte(x))
	}
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		b = b[:i]
	}
	return strings.ToValidUTF8(strings.TrimSpace(string(b)), "?")
}
