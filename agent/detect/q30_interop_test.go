//go:build interop

package detect

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/testbench/peers"
)

// TestQ30Discharge replays the real Samsung 30Q 4C discharges (a cell
// heating 23 -> 65 °C in 15 minutes while its voltage sags): they may
// raise over_temperature, never thermal_runaway. Columns (no header, UTF-8
// BOM, 1 Hz): time s, current A, voltage V, power W, surface temperature
// °C, strain, ambient °C. The cell is fed as a module with and without its
// current, voltage and room temperature.
func TestQ30Discharge(t *testing.T) {
	for _, name := range []string{"Q30_S001_4C.csv", "Q30_S002_4C.csv", "Q30_S003_4C.csv", "Q30_S001_3C.csv"} {
		path := peers.SharedData(t, "thermal-runaway/"+name)
		for _, variant := range []string{"all", "temperature-and-room", "temperature-only"} {
			t.Run(name+"/"+variant, func(t *testing.T) {
				f, err := os.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				d := New(DefaultConfig())
				t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
				sc := bufio.NewScanner(f)
				overTemp := false
				for sc.Scan() {
					fs := strings.Split(strings.TrimPrefix(sc.Text(), "\xef\xbb\xbf"), ",")
					if len(fs) < 7 {
						continue
					}
					var v [7]float64
					for i := range v {
						if v[i], err = strconv.ParseFloat(fs[i], 64); err != nil {
							t.Fatalf("%s: %v", name, err)
						}
					}
					at := t0.Add(time.Duration(v[0] * float64(time.Second)))
					samples := []Sample{{at, "cell", "battery.module.1.temperature", v[4]}}
					if variant != "temperature-only" {
						samples = append(samples, Sample{at, "cell", "ambient.temperature", v[6]})
					}
					if variant == "all" {
						samples = append(samples, Sample{at, "cell", "battery.current", v[1]},
							Sample{at, "cell", "battery.module.1.voltage", v[2]})
					}
					for _, s := range samples {
						for _, e := range d.Observe(s) {
							if e.Kind == KindThermalRunaway {
								t.Errorf("%s %s: %s %s %s", at.Format(time.TimeOnly), e.Kind, e.Level, e.State, e.Message)
							}
							overTemp = overTemp || e.Kind == KindOverTemperature
						}
					}
				}
				if strings.HasSuffix(name, "4C.csv") && !overTemp {
					t.Errorf("%s: no over_temperature for a cell past 60 °C", name)
				}
			})
		}
	}
}
