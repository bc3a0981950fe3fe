package scenario

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/emberwatch/emberwatch/agent/trace"
)

// Q30Options adjust ConvertQ30; the zero value is usable.
type Q30Options struct {
	// Name labels the truth (the recording's file name).
	Name string
	// Start is the trace time of the recording's first row; zero means
	// 2026-03-01T00:00:00Z.
	Start time.Time
	// Device is the device name; empty means "cell-1".
	Device string
}

// ConvertQ30 converts a Samsung 30Q discharge recording (the
// Q30_S00*_4C.csv files: no header, UTF-8 BOM, about 1 Hz; columns time s,
// current A, voltage V, power W, surface temperature °C, strain, ambient
// °C) into a trace of a one-cell module: battery.current, battery.voltage,
// battery.module.1.voltage, battery.module.1.temperature and
// ambient.temperature. The cell heats from about 23 to 65 °C under its 4C
// load while its voltage sags: a real nuisance that may raise
// over_temperature but never thermal_runaway.
func ConvertQ30(r io.Reader, w *trace.Writer, opt Q30Options) (Truth, error) {
	if opt.Start.IsZero() {
		opt.Start = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	}
	if opt.Device == "" {
		opt.Device = "cell-1"
	}
	truth := Truth{Family: "q30_discharge", Class: Nuisance, Start: opt.Start, Device: opt.Device,
		Rack:        RackInfo{Chemistry: "nmc-18650", Strings: 1, Modules: 1, Cells: 1, SampleS: 1, ThermistorsPer: 1},
		Params:      map[string]float64{},
		ForbidKinds: []string{"thermal_runaway"}, PeakSensorTemp: math.Inf(-1)}
	if opt.Name != "" {
		truth.Family += ":" + opt.Name
	}
	if err := w.Comment("Samsung 30Q 4C discharge, converted from " + opt.Name); err != nil {
		return truth, err
	}
	sc := bufio.NewScanner(r)
	line := 0
	last := -1.0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		s := strings.TrimSpace(string(b))
		if s == "" {
			continue
		}
		f := strings.Split(s, ",")
		if len(f) < 7 {
			return truth, fmt.Errorf("q30 line %d: %d columns, want 7", line, len(f))
		}
		var v [7]float64
		for i := range 7 {
			x, err := strconv.ParseFloat(strings.TrimSpace(f[i]), 64)
			if err != nil {
				return truth, fmt.Errorf("q30 line %d column %d: %w", line, i+1, err)
			}
			v[i] = x
		}
		if v[0] <= last {
			continue // keep rows in time order
		}
		last = v[0]
		at := opt.Start.Add(time.Duration(math.Round(v[0]*1e3)) * time.Millisecond)
		rows := []trace.Row{
			{Time: at, Device: opt.Device, Point: "battery.current", Value: v[1]},
			{Time: at, Device: opt.Device, Point: "battery.voltage", Value: v[2]},
			{Time: at, Device: opt.Device, Point: "battery.module.1.voltage", Value: v[2]},
			{Time: at, Device: opt.Device, Point: "battery.module.1.temperature", Value: v[4]},
			{Time: at, Device: opt.Device, Point: "ambient.temperature", Value: v[6]},
		}
		for _, row := range rows {
			if err := w.Write(row); err != nil {
				return truth, err
			}
		}
		truth.Rows += len(rows)
		truth.PeakSensorTemp = max(truth.PeakSensorTemp, v[4])
		truth.PeakCellTemp = truth.PeakSensorTemp
	}
	if err := sc.Err(); err != nil {
		return truth, fmt.Errorf("q30 line %d: %w", line+1, err)
	}
	truth.Duration = max(0, last)
	truth.End = opt.Start.Add(time.Duration(truth.Duration * float64(time.Second)))
	return truth, w.Flush()
}
