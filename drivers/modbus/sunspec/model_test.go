package sunspec_test

import (
	"strings"
	"testing"

	"github.com/emberwatch/emberwatch/drivers/modbus/sunspec"
)

func TestDefaultModels(t *testing.T) {
	ms, err := sunspec.DefaultModels()
	if err != nil {
		t.Fatal(err)
	}
	// Fixed block (ID and L included) and group lengths, from the public
	// model definitions.
	for _, tc := range []struct {
		id, fixed, group int
		count            string
	}{
		{1, 68, 0, ""},
		{802, 64, 0, ""},
		{803, 28, 32, "NStr"},
		{804, 48, 16, "NMod"},
		{805, 44, 4, ""},
	} {
		m, ok := ms.Model(tc.id)
		if !ok {
			t.Errorf("model %d missing", tc.id)
			continue
		}
		if m.FixedLen() != tc.fixed {
			t.Errorf("model %d: fixed block %d registers, want %d", tc.id, m.FixedLen(), tc.fixed)
		}
		g := 0
		count := ""
		if len(m.Groups) > 0 {
			g, count = m.Groups[0].Len(), m.Groups[0].Count
		}
		if g != tc.group || count != tc.count {
			t.Errorf("model %d: group of %d registers counted by %q, want %d by %q", tc.id, g, count, tc.group, tc.count)
		}
	}
}

const good = `
id: 900
name: test
scope: module
index: {str: StrIdx, mod: ModIdx}
points:
  - {name: ID, offset: 0, type: uint16}
  - {name: L, offset: 1, type: uint16}
  - {name: StrIdx, offset: 2, type: uint16}
  - {name: ModIdx, offset: 3, type: uint16}
  - {name: V, offset: 4, type: uint16, sf: V_SF, units: V, point: "battery.module.{mod}.voltage"}
  - {name: V_SF, offset: 5, type: sunssf}
groups:
  - name: cell
    index: cell
    points:
      - {name: CellTmp, offset: 0, type: int16, sf: V_SF, units: C, point: "battery.module.{mod}.cell.{cell}.temperature"}
`

func TestParseModel(t *testing.T) {
	if _, err := sunspec.ParseModel([]byte(good)); err != nil {
		t.Fatalf("good model: %v", err)
	}
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"offset does not follow", "{name: V_SF, offset: 5", "{name: V_SF, offset: 6", "point V_SF: offset 6, the sizes before it give 5"},
		{"unknown type", "offset: 3, type: uint16", "offset: 3, type: uint17", `point ModIdx: unknown type "uint17"`},
		{"scale factor missing", "sf: V_SF, units: V,", "sf: A_SF, units: V,", "scale factor A_SF is not a sunssf point"},
		{"not a contract point", "battery.module.{mod}.voltage", "battery.module.{mod}.volts", "not in the contract vocabulary"},
		{"unit mismatch", "units: C", "units: V", `unit "V", the contract says "°C"`},
		{"index variable unknown", "cell.{cell}.temperature", "cell.{pack}.temperature", "{pack} is not an index"},
		{"group index in the fixed block", "battery.module.{mod}.voltage", "battery.module.{cell}.voltage", "{cell} is not an index"},
		{"unknown key", "index: cell", "index: cell\n    repeat: 4", "field repeat not found"},
		{"count point missing", "index: cell", "index: cell\n    count: NCell", "count point NCell not in the fixed block"},
		{"string without size", "offset: 2, type: uint16", "offset: 2, type: string", "point StrIdx: string needs a size"},
		{"bad scope", "scope: module", "scope: rack", `scope "rack"`},
		{"no ID first", "{name: ID, offset: 0", "{name: Id, offset: 0", "must start with ID and L"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := strings.Replace(good, tc.old, tc.new, 1)
			if src == good {
				t.Fatalf("%q not in the model", tc.old)
			}
			_, err := sunspec.ParseModel([]byte(src))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}
