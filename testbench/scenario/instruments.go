package scenario

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/emberwatch/emberwatch/agent/trace"
	"github.com/emberwatch/emberwatch/testbench/physics"
)

// instruments are the rack's sensors and the points they report.
type instruments struct {
	rng    *rand.Rand
	sample float64 // temperature and string sampling period, s
	volt   int     // module voltages every volt samples
	cellV  int     // cell voltages every cellV samples; 0 = not reported
	amb    int     // ambient every amb samples
	gasN   int     // gas every gasN samples; 0 = no gas sensors
	n      int     // samples taken

	device, envDevice, gasDevice string

	modules []modSensors
	strs    []strSensors
	ambient physics.Channel
	ambTh   float64 // lagged room probe
	gas     [3]physics.Channel
	gasLag  [3]float64
	// silent windows of the whole battery device (comms loss), s
	silent [][2]float64
	vals   []float64
}

type modSensors struct {
	prefix string // battery.module.N. or battery.string.S.module.N.
	th     []*physics.Thermistor
	tch    []physics.Channel
	// pCellT, when set, names each thermistor as a cell temperature
	// (a BMS that reports its probes one by one) instead of a module mean
	pCellT  []string
	vch     physics.Channel
	cellCh  []physics.Channel
	mod     int
	cellIdx []int
	// point names, built once
	pTemp, pMax, pMin, pVolt string
	pCell                    []string
}

type strSensors struct {
	prefix               string
	cur, volt, charge    physics.Channel
	st                   int
	pCur, pVolt, pCharge string
	cells                []int
}

func (in *instruments) isTemp(p string) bool {
	return strings.HasSuffix(p, ".temperature") && strings.HasPrefix(p, "battery.")
}

// newInstruments places sensors on the rack. perModule thermistors per
// module at random positions between cells.
func newInstruments(s *Scenario, r *physics.Rack, perModule int, tau, air, res, noise float64) *instruments {
	rng := s.rng
	in := &instruments{rng: rng, device: s.truth.Device}
	cfg := r.Cfg
	for st := 0; st < cfg.Strings; st++ {
		pre := pointPrefix(cfg.Strings, st)
		in.strs = append(in.strs, strSensors{prefix: pre, st: st,
			cur:    physics.Channel{Noise: 0.05, Resolution: 0.1},
			volt:   physics.Channel{Noise: 0.02, Resolution: 0.01},
			charge: physics.Channel{Resolution: 1},
			pCur:   pre + "current", pVolt: pre + "voltage", pCharge: pre + "charge",
		})
		for c := r.Index(st, 0, 0); c < r.Index(st+1, 0, 0); c++ {
			in.strs[st].cells = append(in.strs[st].cells, c)
		}
		for m := 0; m < cfg.Modules; m++ {
			gm := st*cfg.Modules + m
			ms := modSensors{prefix: pre + "module." + strconv.Itoa(m+1) + ".", mod: gm}
			ms.pTemp, ms.pMax, ms.pMin = ms.prefix+"temperature", ms.prefix+"cell.max.temperature", ms.prefix+"cell.min.temperature"
			ms.pVolt = ms.prefix + "voltage"
			for k := 0; k < perModule; k++ {
				// sensors spread along the module, each at a random gap
				// between cells of its share
				share := max(1, cfg.Cells/perModule)
				pos := k*share + rng.IntN(max(1, share-1))
				ms.th = append(ms.th, physics.NewThermistor(r, gm, pos, air*(0.7+0.6*rng.Float64()), tau*(0.7+0.6*rng.Float64())))
				ms.tch = append(ms.tch, physics.Channel{Noise: noise, Resolution: res, Min: -40, Max: 150,
					DriftPerDay: rng.NormFloat64() * 0.01})
			}
			ms.vch = physics.Channel{Noise: 0.003 * float64(cfg.Cells), Resolution: 0.01}
			for c := 0; c < cfg.Cells; c++ {
				ms.cellIdx = append(ms.cellIdx, r.Index(st, m, c))
				ms.cellCh = append(ms.cellCh, physics.Channel{Noise: 0.0015, Resolution: 0.001})
				ms.pCell = append(ms.pCell, ms.prefix+"cell."+strconv.Itoa(c+1)+".voltage")
			}
			in.modules = append(in.modules, ms)
		}
	}
	in.ambient = physics.Channel{Noise: 0.05, Resolution: 0.1}
	for g := range in.gas {
		in.gas[g] = physics.Channel{Noise: []float64{0.5, 0.3, 2}[g], Resolution: 1}
	}
	return in
}

// probesAsCells replaces the thermistors of every module by n probes
// spread evenly along it, each reported as the temperature of the cell
// it sits after (battery.module.N.cell.M.temperature), as a BMS that
// reports its probes one by one does. The probes keep the module's
// channel quality; rng draws their placement details.
func (in *instruments) probesAsCells(r *physics.Rack, n int, rng *rand.Rand) {
	cells := r.Cfg.Cells
	n = max(1, min(n, cells-1))
	for i := range in.modules {
		ms := &in.modules[i]
		th0, ch0 := ms.th[0], ms.tch[0]
		ms.th, ms.tch, ms.pCellT = nil, nil, nil
		for k := range n {
			pos := k * (cells - 1) / n
			ms.th = append(ms.th, physics.NewThermistor(r, ms.mod, pos, th0.AirWeight*(0.7+0.6*rng.Float64()), th0.Tau*(0.7+0.6*rng.Float64())))
			ch := ch0
			ch.DriftPerDay = rng.NormFloat64() * 0.01
			ms.tch = append(ms.tch, ch)
			ms.pCellT = append(ms.pCellT, ms.prefix+"cell."+strconv.Itoa(pos+1)+".temperature")
		}
	}
}

// adjust applies the sensor overrides o and records them in info.
func (in *instruments) adjust(o Sensors, info *RackInfo) {
	if o == (Sensors{}) {
		return
	}
	periods := func(n int, k float64) int {
		if n == 0 {
			return 0
		}
		return max(1, int(float64(n)*k+0.5))
	}
	if o.SampleS > 0 {
		k := in.sample / o.SampleS
		in.volt, in.cellV, in.amb, in.gasN = periods(in.volt, k), periods(in.cellV, k), periods(in.amb, k), periods(in.gasN, k)
		in.sample = o.SampleS
	}
	if o.VoltageS > 0 {
		k := o.VoltageS / (float64(in.volt) * in.sample)
		in.volt = max(1, int(o.VoltageS/in.sample+0.5))
		in.cellV = periods(in.cellV, k)
	}
	for i := range in.modules {
		ms := &in.modules[i]
		for _, th := range ms.th {
			if o.AirMix > 0 {
				th.AirWeight = o.AirMix
			}
			if o.TauScale > 0 {
				th.Tau *= o.TauScale
			}
		}
		for k := range ms.tch {
			ch := &ms.tch[k]
			if o.NoiseScale > 0 {
				ch.Noise *= o.NoiseScale
			}
			if o.DriftScale > 0 {
				ch.DriftPerDay *= o.DriftScale
			}
			if o.ResolutionC > 0 {
				ch.Resolution = o.ResolutionC
			}
			switch {
			case o.Dropout > 0:
				ch.Dropout = o.Dropout
			case o.Dropout < 0:
				ch.Dropout = 0
			}
		}
	}
	info.SampleS, info.VoltageS, info.CellVoltageS = in.sample, float64(in.volt)*in.sample, float64(in.cellV)*in.sample
	if o.NoiseScale > 0 {
		info.NoiseC *= o.NoiseScale
	}
	if o.ResolutionC > 0 {
		info.ResolutionC = o.ResolutionC
	}
	if o.AirMix > 0 {
		info.ThermistorAirMix = o.AirMix
	}
	if o.TauScale > 0 {
		info.ThermistorTauS *= o.TauScale
	}
}

// sample1 emits the readings due at t.
func (in *instruments) sample1(t float64, start time.Time, r *physics.Rack, emit func(trace.Row) error) error {
	at := start.Add(dur(t))
	dt := in.sample
	first := in.n == 0
	if first {
		dt = 0
	}
	in.n++
	silent := false
	for _, w := range in.silent {
		if t >= w[0] && t < w[1] {
			silent = true
		}
	}
	row := func(dev, p string, v float64) error {
		return emit(trace.Row{Time: at, Device: dev, Point: p, Value: v})
	}
	// thermistors update whether or not the bus answers
	for mi := range in.modules {
		ms := &in.modules[mi]
		for _, th := range ms.th {
			th.Update(r, dt)
		}
	}
	if !silent {
		for si := range in.strs {
			ss := &in.strs[si]
			st := &r.Strings[ss.st]
			if v, ok := ss.cur.Read(t, st.I, in.rng); ok {
				if err := row(in.device, ss.pCur, v); err != nil {
					return err
				}
			}
			if v, ok := ss.volt.Read(t, st.V, in.rng); ok {
				if err := row(in.device, ss.pVolt, v); err != nil {
					return err
				}
			}
			if (in.n-1)%max(1, in.volt*3) == 0 {
				soc := 0.0
				for _, i := range ss.cells {
					soc += r.Cells[i].SoC
				}
				if v, ok := ss.charge.Read(t, 100*max(0, min(1, soc/float64(len(ss.cells)))), in.rng); ok {
					if err := row(in.device, ss.pCharge, v); err != nil {
						return err
					}
				}
			}
		}
		for mi := range in.modules {
			ms := &in.modules[mi]
			vals := in.vals[:0]
			for k, th := range ms.th {
				v, ok := ms.tch[k].Read(t, th.Value(), in.rng)
				if ok && ms.pCellT != nil {
					if err := row(in.device, ms.pCellT[k], v); err != nil {
						return err
					}
				} else if ok {
					vals = append(vals, v)
				}
			}
			in.vals = vals
			if err := ms.emitTemps(vals, func(p string, v float64) error { return row(in.device, p, v) }); err != nil {
				return err
			}
			if (in.n-1)%in.volt == 0 {
				if v, ok := ms.vch.Read(t, r.ModuleVoltage(ms.mod), in.rng); ok {
					if err := row(in.device, ms.pVolt, v); err != nil {
						return err
					}
				}
			}
			if in.cellV > 0 && (in.n-1)%in.cellV == 0 {
				for c, idx := range ms.cellIdx {
					if v, ok := ms.cellCh[c].Read(t, r.Cells[idx].V, in.rng); ok {
						if err := row(in.device, ms.pCell[c], v); err != nil {
							return err
						}
					}
				}
			}
		}
	}
	// room probe: a lagged reading of the room air
	if first {
		in.ambTh = r.Room
	} else {
		in.ambTh += (r.Room - in.ambTh) * (1 - math.Exp(-dt/120))
	}
	if (in.n-1)%in.amb == 0 && !(silent && in.envDevice == in.device) {
		if v, ok := in.ambient.Read(t, in.ambTh, in.rng); ok {
			if err := row(in.envDevice, "ambient.temperature", v); err != nil {
				return err
			}
		}
	}
	if in.gasN > 0 {
		ppm := r.GasPPM()
		for g := range in.gasLag {
			if first {
				in.gasLag[g] = ppm[g]
			}
			in.gasLag[g] += (ppm[g] - in.gasLag[g]) * (1 - math.Exp(-dt/30))
		}
		if (in.n-1)%in.gasN == 0 && !(silent && in.gasDevice == in.device) {
			base := [3]float64{0.5, 0.3, 3}
			for g, name := range []string{"gas.h2", "gas.co", "gas.voc"} {
				if v, ok := in.gas[g].Read(t, base[g]+in.gasLag[g], in.rng); ok {
					if err := row(in.gasDevice, name, max(0, v)); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// emitTemps reports the thermistors of a module: one as the module
// temperature; several as their mean plus cell.max/cell.min temperatures.
func (ms *modSensors) emitTemps(vals []float64, emit func(string, float64) error) error {
	switch len(vals) {
	case 0:
		return nil
	case 1:
		return emit(ms.pTemp, vals[0])
	}
	lo, hi, sum := math.Inf(1), math.Inf(-1), 0.0
	nan := false
	for _, v := range vals {
		if math.IsNaN(v) {
			nan = true
			continue
		}
		lo, hi, sum = min(lo, v), max(hi, v), sum+v
	}
	if nan {
		// a BMS reports the sensors it can read; one open reads as nan
		// in the maximum, as many do.
		if err := emit(ms.pMax, math.NaN()); err != nil {
			return err
		}
		if math.IsInf(lo, 1) {
			return emit(ms.pTemp, math.NaN())
		}
		return emit(ms.pTemp, lo)
	}
	mean := math.Round(sum/float64(len(vals))*10) / 10
	if err := emit(ms.pTemp, mean); err != nil {
		return err
	}
	if err := emit(ms.pMax, hi); err != nil {
		return err
	}
	return emit(ms.pMin, lo)
}
