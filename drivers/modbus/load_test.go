package modbus

import (
	"errors"
	"math"
	"strings"
	"testing"
	"testing/fstest"
)

const goodProfile = `name: test-bms
source: written for the tests
byte_order: CDAB
max_gap: 4
unreadable:
  - {register: holding, start: 200, end: 209}
registers:
  - point: battery.voltage
    address: 0
    type: u16
    scale: 0.1
    unit: V
  - point: battery.current
    address: 1
    type: s32
    order: ABCD
    scale: 0.01
  - point: battery.module.{n}.cell.{m}.voltage
    address: 100
    type: u16
    scale: 0.001
    repeat:
      - {var: n, count: 2}
      - {var: m, count: 3}
  - point: device.model
    register: input
    address: 10
    type: string
    length: 4
  - point: ups.status
    address: 50
    type: bit
    bit: 3
    enum: {0: OL, 1: OB}
`

func TestParseProfile(t *testing.T) {
	p, err := ParseProfile("test.yaml", []byte(goodProfile))
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "test-bms" || p.ByteOrder != "CDAB" || *p.MaxGap != 4 || p.MaxRegisters != 125 {
		t.Errorf("profile header = %q %q %d %d", p.Name, p.ByteOrder, *p.MaxGap, p.MaxRegisters)
	}
	want := []struct {
		point string
		table Table
		addr  uint16
		typ   Type
		unit  string
	}{
		{"battery.voltage", Holding, 0, Uint16, "V"},
		{"battery.current", Holding, 1, Int32, "A"},
		{"battery.module.1.cell.1.voltage", Holding, 100, Uint16, "V"},
		{"battery.module.1.cell.2.voltage", Holding, 101, Uint16, "V"},
		{"battery.module.1.cell.3.voltage", Holding, 102, Uint16, "V"},
		{"battery.module.2.cell.1.voltage", Holding, 103, Uint16, "V"},
		{"battery.module.2.cell.2.voltage", Holding, 104, Uint16, "V"},
		{"battery.module.2.cell.3.voltage", Holding, 105, Uint16, "V"},
		{"device.model", Input, 10, String, ""},
		{"ups.status", Holding, 50, Bit, ""},
	}
	if len(p.Points) != len(want) {
		t.Fatalf("%d points, want %d", len(p.Points), len(want))
	}
	for i, w := range want {
		g := p.Points[i]
		if g.Point != w.point || g.Table != w.table || g.Address != w.addr || g.Type != w.typ || g.Unit != w.unit {
			t.Errorf("point %d = %s %s %d %s %q, want %+v", i, g.Point, g.Table, g.Address, g.Type, g.Unit, w)
		}
	}
}

func TestParseProfileErrors(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string // substrings, each must appear in one error
	}{
		{"unknown top key", "name: x\nfoo: 1\nregisters:\n  - {point: battery.voltage, address: 0}\n",
			[]string{"p.yaml:2: foo: unknown field"}},
		{"unknown register key", "registers:\n  - point: battery.voltage\n    adress: 0\n",
			[]string{"p.yaml:3: adress: unknown field"}},
		{"unknown repeat key", "registers:\n  - point: battery.cell.{n}.voltage\n    repeat:\n      - {var: n, cnt: 2}\n",
			[]string{"p.yaml:4: cnt: unknown field"}},
		{"unknown point", "registers:\n  - point: battery.volts\n    address: 0\n",
			[]string{`p.yaml:2: point: unknown point "battery.volts"`}},
		{"wrong unit", "registers:\n  - point: battery.voltage\n    address: 0\n    unit: mV\n",
			[]string{`p.yaml:4: unit: unit "mV" is not the unit of battery.voltage`}},
		{"unknown type", "registers:\n  - point: battery.voltage\n    type: u24\n",
			[]string{`p.yaml:3: type: unknown type "u24"`}},
		{"unknown order", "byte_order: ADBC\nregisters:\n  - point: battery.voltage\n    order: XY\n",
			[]string{`p.yaml:1: byte_order: unknown byte order "ADBC"`, `p.yaml:4: order: unknown byte order "XY"`}},
		{"string without length", "registers:\n  - point: device.model\n    type: string\n",
			[]string{"p.yaml:3: length: STRING needs a length"}},
		{"bit out of range", "registers:\n  - point: ups.status\n    type: bit\n    bit: 16\n    enum: {0: OL}\n",
			[]string{"p.yaml:4: bit: bit 16 is outside 0..15"}},
		{"overlap", "registers:\n  - point: battery.voltage\n    type: u32\n    address: 10\n  - point: battery.current\n    address: 11\n",
			[]string{"p.yaml:6: address: point battery.current (holding 11..11) overlaps battery.voltage (10..11, line 4)"}},
		{"overflow", "registers:\n  - point: battery.voltage\n    type: f32\n    address: 65535\n",
			[]string{"p.yaml:4: address: point battery.voltage at 65535..65536 overflows"}},
		{"repeat overflow", "registers:\n  - point: battery.cell.{n}.voltage\n    address: 65530\n    repeat: [{var: n, count: 10}]\n",
			[]string{"p.yaml:3: address: point battery.cell.7.voltage at 65536..65536 overflows"}},
		{"unreadable", "unreadable:\n  - {start: 5, end: 9}\nregisters:\n  - point: battery.voltage\n    address: 8\n",
			[]string{"p.yaml:5: address: point battery.voltage at 8..8 is inside the unreadable range 5..9 (line 2)"}},
		{"duplicate", "registers:\n  - point: battery.voltage\n    address: 0\n  - point: battery.voltage\n    address: 1\n",
			[]string{"p.yaml:4: point: duplicate point battery.voltage (first on line 2)"}},
		{"repeat duplicate", "registers:\n  - point: battery.cell.1.voltage\n    address: 0\n  - point: battery.cell.{n}.voltage\n    address: 1\n    repeat: [{var: n, count: 2}]\n",
			[]string{"p.yaml:4: point: duplicate point battery.cell.1.voltage"}},
		{"bad value type", "registers:\n  - point: battery.voltage\n    address: many\n",
			[]string{"p.yaml:3: yaml: cannot unmarshal !!str `many`"}},
		{"syntax", "registers: [\n", []string{"p.yaml:1: yaml:"}},
		{"empty", "", []string{"p.yaml:1: profile: empty profile"}},
		{"no registers", "name: x\n", []string{"p.yaml:0: registers: no registers"}},
		{"text point numeric type", "registers:\n  - point: ups.status\n    address: 0\n",
			[]string{"p.yaml:2: type: point ups.status is text"}},
		{"scale zero", "registers:\n  - point: battery.voltage\n    scale: 0\n",
			[]string{"p.yaml:3: scale: scale must be a finite non-zero number"}},
		{"unused var", "registers:\n  - point: battery.cell.1.voltage\n    repeat: [{var: n, count: 2}]\n",
			[]string{`p.yaml:2: point: point "battery.cell.1.voltage" does not use {n}`}},
		{"coil type", "registers:\n  - point: battery.voltage\n    register: coil\n    type: f32\n",
			[]string{"p.yaml:4: type: a coil holds single bits"}},
		{"many errors", "registers:\n  - point: nope\n  - point: battery.voltage\n    type: xx\n",
			[]string{`p.yaml:2: point: unknown point "nope"`, `p.yaml:4: type: unknown type "xx"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseProfile("p.yaml", []byte(tc.yaml))
			if err == nil {
				t.Fatalf("no error; points %+v", p.Points)
			}
			var pe *ProfileError
			if !errors.As(err, &pe) {
				t.Errorf("error is not a *ProfileError: %v", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error\n%v\nlacks %q", err, w)
				}
			}
		})
	}
}

func TestBitsShareRegister(t *testing.T) {
	y := "registers:\n  - {point: outlet.1.status, address: 5, type: bit, bit: 0, enum: {0: off, 1: on}}\n" +
		"  - {point: outlet.2.status, address: 5, type: bit, bit: 1, enum: {0: off, 1: on}}\n"
	if _, err := ParseProfile("p.yaml", []byte(y)); err != nil {
		t.Fatal(err)
	}
}

func TestLoadProfile(t *testing.T) {
	fsys := fstest.MapFS{"modbus/x.yaml": {Data: []byte(goodProfile)}}
	p, err := LoadProfile(fsys, "modbus/x.yaml")
	if err != nil || p.File != "modbus/x.yaml" {
		t.Fatalf("LoadProfile = %v, %v", p, err)
	}
	if _, err := LoadProfile(fsys, "modbus/missing.yaml"); err == nil || !strings.Contains(err.Error(), "modbus/missing.yaml:0: profile:") {
		t.Errorf("missing profile error = %v", err)
	}
}

func FuzzParseProfile(f *testing.F) {
	f.Add([]byte(goodProfile))
	f.Add([]byte("registers:\n  - {point: battery.cell.{n}.voltage, repeat: [{var: n, count: 3}]}\n"))
	f.Add([]byte("registers: [\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParseProfile("f.yaml", data)
		if err != nil {
			for _, e := range unwrapAll(err) {
				var pe *ProfileError
				if !errors.As(e, &pe) {
					t.Fatalf("error %v is not a *ProfileError", e)
				}
			}
			return
		}
		for _, pt := range p.Points {
			if int(pt.Address)+pt.Words()-1 > math.MaxUint16 {
				t.Fatalf("point %s overflows", pt.Point)
			}
		}
		_ = Plan(p)
	})
}

func unwrapAll(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
