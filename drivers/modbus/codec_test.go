package modbus

import (
	"math"
	"testing"
)

func ptr(f float64) *float64 { return &f }

func TestDecode(t *testing.T) {
	cases := []struct {
		name  string
		r     Register
		order string
		words []uint16
		want  float64
		text  string
	}{
		{"u16", Register{Type: Uint16, Scale: ptr(0.1)}, "", []uint16{535}, 53.5, ""},
		{"s16 negative", Register{Type: Int16, Scale: ptr(0.1)}, "", []uint16{0xFF9C}, -10, ""},
		{"s16 invalid 0x7FFF", Register{Type: Int16, Scale: ptr(0.1), Invalid: []int64{0x7FFF}}, "", []uint16{0x7FFF}, math.NaN(), ""},
		{"u32 ABCD", Register{Type: Uint32}, "ABCD", []uint16{0x0001, 0x0002}, 65538, ""},
		{"u32 CDAB", Register{Type: Uint32}, "CDAB", []uint16{0x0002, 0x0001}, 65538, ""},
		{"s32 BADC", Register{Type: Int32}, "BADC", []uint16{0xFFFF, 0xFEFF}, -2, ""},
		{"s32 DCBA", Register{Type: Int32}, "DCBA", []uint16{0xFEFF, 0xFFFF}, -2, ""},
		{"f32 ABCD", Register{Type: Float32}, "ABCD", []uint16{0x4248, 0x0000}, 50, ""},
		{"f32 CDAB", Register{Type: Float32}, "CDAB", []uint16{0x0000, 0x4248}, 50, ""},
		{"f32 order override", Register{Type: Float32, Order: "ABCD"}, "CDAB", []uint16{0x4248, 0x0000}, 50, ""},
		{"f32 NaN", Register{Type: Float32}, "", []uint16{0x7FC0, 0}, math.NaN(), ""},
		{"offset", Register{Type: Int16, Scale: ptr(0.1), Offset: -40}, "", []uint16{650}, 25, ""},
		{"above max", Register{Type: Uint16, Max: ptr(100)}, "", []uint16{101}, math.NaN(), ""},
		{"bit", Register{Type: Bit, Bit: 3}, "", []uint16{0x0008}, 1, ""},
		{"enum", Register{Type: Uint16, Enum: map[int64]string{2: "OL"}}, "", []uint16{2}, math.NaN(), "OL"},
		{"string", Register{Type: String, Length: 3}, "CDAB", []uint16{0x534D, 0x5431, 0x3030}, math.NaN(), "SMT100"},
		{"string padded", Register{Type: String, Length: 3}, "", []uint16{0x4142, 0x2000, 0}, math.NaN(), "AB"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, text, err := tc.r.Decode(tc.words, tc.order)
			if err != nil {
				t.Fatal(err)
			}
			if text != tc.text || !(v == tc.want || math.IsNaN(v) && math.IsNaN(tc.want) || math.Abs(v-tc.want) < 1e-9) {
				t.Errorf("Decode = %v %q, want %v %q", v, text, tc.want, tc.text)
			}
			if math.IsNaN(tc.want) && tc.text == "" {
				return
			}
			words, err := tc.r.Encode(tc.want, tc.text, tc.order)
			if err != nil {
				t.Fatal(err)
			}
			v2, text2, _ := tc.r.Decode(words, tc.order)
			if text2 != tc.text || (!math.IsNaN(tc.want) && math.Abs(v2-tc.want) > 1e-9) {
				t.Errorf("Decode(Encode) = %v %q", v2, text2)
			}
		})
	}
}

func TestDecodeShort(t *testing.T) {
	r := Register{Type: Float32}
	if _, _, err := r.Decode([]uint16{1}, ""); err == nil {
		t.Error("no error for one register of a FLOAT32")
	}
	s := Register{Type: String, Length: 4}
	if _, _, err := s.Decode([]uint16{1}, ""); err == nil {
		t.Error("no error for a short STRING")
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(uint8(0), uint8(0), []byte{0x42, 0x48, 0, 0})
	f.Add(uint8(5), uint8(1), []byte{0xFF, 0xFF, 0xFF, 0xFE, 1, 2, 3, 4})
	types := []Type{Uint16, Int16, Uint32, Int32, Float32, Uint64, Int64, Float64, String, Bit}
	orders := []string{"", "ABCD", "CDAB", "BADC", "DCBA"}
	f.Fuzz(func(t *testing.T, ti, oi uint8, data []byte) {
		words := make([]uint16, len(data)/2)
		for i := range words {
			words[i] = uint16(data[2*i])<<8 | uint16(data[2*i+1])
		}
		r := Register{Type: types[int(ti)%len(types)], Length: len(words), Bit: int(ti) % 16, Invalid: []int64{0x7FFF}}
		v, text, err := r.Decode(words, orders[int(oi)%len(orders)])
		if err != nil {
			if len(words) >= r.Words() && r.Type != String {
				t.Fatalf("error with enough registers: %v", err)
			}
			return
		}
		if math.IsInf(v, 0) {
			t.Fatalf("infinite value from %x", words)
		}
		_ = text
	})
}
