//go:build interop

package physics

import (
	"encoding/csv"
	"math"
	"os"
	"sort"
	"strconv"
	"testing"

	"github.com/emberwatch/emberwatch/testbench/peers"
)

// The deciles in Databank are those of the NREL/NASA Battery Failure
// Databank file in ../shared/data.
func TestDatabankDeciles(t *testing.T) {
	p := peers.SharedData(t, "thermal-runaway/BatteryFailureDatabankV2__Fractional_Calorimetry_Data.csv")
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd := csv.NewReader(f)
	rd.FieldsPerRecord = -1
	rows, err := rd.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	hdr := rows[1] // the header is on the second row, first column empty
	col := func(name string) int {
		for i, h := range hdr {
			if h == name {
				return i
			}
		}
		t.Fatalf("no column %s", name)
		return -1
	}
	trig, mech := col("Avg-Cell-Temp-At-Trigger-degC"), col("Trigger-Mechanism")
	var heater, isc []float64
	for _, r := range rows[2:] {
		v, err := strconv.ParseFloat(r[trig], 64)
		if err != nil {
			continue
		}
		switch r[mech] {
		case "Heater (Non-ISC)":
			heater = append(heater, v)
		case "Heater (ISC)":
			isc = append(isc, v)
		}
	}
	check := func(name string, v []float64, want [9]float64, lo, hi float64) {
		sort.Float64s(v)
		if math.Abs(v[0]-lo) > 1 || math.Abs(v[len(v)-1]-hi) > 1 {
			t.Errorf("%s: range %.0f..%.0f, Databank says %.0f..%.0f", name, v[0], v[len(v)-1], lo, hi)
		}
		for k := 1; k <= 9; k++ {
			// the exclusive-method quantile, as the deciles were taken
			pos := float64(k) / 10 * float64(len(v)+1)
			i := int(pos)
			q := v[i-1] + (pos-float64(i))*(v[i]-v[i-1])
			if math.Abs(q-want[k-1]) > 1 {
				t.Errorf("%s decile %d: %.1f in the file, %.0f in Databank", name, k, q, want[k-1])
			}
		}
		t.Logf("%s: %d tests", name, len(v))
	}
	check("heater", heater, Databank.HeaterDeciles, Databank.HeaterMin, Databank.HeaterMax)
	check("internal short", isc, Databank.ISCDeciles, Databank.ISCMin, Databank.ISCMax)
}
