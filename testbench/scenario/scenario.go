package scenario

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/emberwatch/emberwatch/agent/trace"
	"github.com/emberwatch/emberwatch/testbench/physics"
)

// Class tells runaways from nuisances.
type Class string

// Classes of scenario.
const (
	Runaway  Class = "runaway"
	Nuisance Class = "nuisance"
)

// Truth is the ground truth of one scenario, written beside its trace.
// Times are absent (nil) when the event did not happen.
type Truth struct {
	Family string `json:"family"`
	Class  Class  `json:"class"`
	Seed   uint64 `json:"seed"`
	// Start and End bound the trace; Duration is End-Start in seconds.
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Duration float64   `json:"duration_s"`
	// Device is the battery device; Subject the faulted module in contract
	// names (battery.module.N or battery.string.S.module.N), String and
	// Module its 1-based indices; empty for nuisances.
	Device  string `json:"device"`
	Subject string `json:"subject,omitempty"`
	String  int    `json:"string,omitempty"`
	Module  int    `json:"module,omitempty"`
	// Rack describes the simulated rack and its sensors.
	Rack RackInfo `json:"rack"`
	// Params are the family's drawn parameters.
	Params map[string]float64 `json:"params"`
	// FaultTime is when the fault began; OnsetTime when a cell first
	// passed 80 °C, where self-heating starts (VRLA: when the float current
	// first doubled); FirstVentTime when the first cell vented;
	// RunawayTime when a cell's self-heating first passed 1 °C/s (VRLA:
	// when a cell reached the chemistry's runaway temperature).
	FaultTime     *time.Time `json:"fault_time,omitempty"`
	OnsetTime     *time.Time `json:"onset_time,omitempty"`
	FirstVentTime *time.Time `json:"first_vent_time,omitempty"`
	RunawayTime   *time.Time `json:"runaway_time,omitempty"`
	// PeakCellTemp and PeakSensorTemp are the highest cell and reported
	// module temperatures, °C (sensor glitches excluded).
	PeakCellTemp   float64 `json:"peak_cell_temp"`
	PeakSensorTemp float64 `json:"peak_sensor_temp"`
	// ExpectKinds are alert kinds a good detector raises on this trace;
	// ForbidKinds kinds it must not raise.
	ExpectKinds []string `json:"expect_kinds,omitempty"`
	ForbidKinds []string `json:"forbid_kinds,omitempty"`
	// Rows is the number of readings emitted.
	Rows int `json:"rows"`
}

// RackInfo describes the rack and sensors of a scenario.
type RackInfo struct {
	Chemistry      string  `json:"chemistry"`
	Strings        int     `json:"strings"`
	Modules        int     `json:"modules"`
	Cells          int     `json:"cells"`
	SampleS        float64 `json:"sample_s"`
	VoltageS       float64 `json:"voltage_s"`
	CellVoltageS   float64 `json:"cell_voltage_s,omitempty"`
	ThermistorsPer int     `json:"thermistors_per_module"`
	// CellProbes, when not 0, replaces ThermistorsPer: that many probes a
	// module reported as cell temperatures.
	CellProbes       int     `json:"cell_probes,omitempty"`
	ResolutionC      float64 `json:"resolution_c"`
	NoiseC           float64 `json:"noise_c"`
	GasSensors       bool    `json:"gas_sensors"`
	AmbientDevice    string  `json:"ambient_device"`
	PhysicsStepS     float64 `json:"physics_step_s"`
	ThermistorTauS   float64 `json:"thermistor_tau_s"`
	ThermistorAirMix float64 `json:"thermistor_air_mix"`
}

// Families returns every family name, runaways first.
func Families() []string { return append(RunawayFamilies(), NuisanceFamilies()...) }

// RunawayFamilies returns the families that end in a thermal runaway.
func RunawayFamilies() []string {
	return []string{"soft_short", "hard_short", "loose_busbar", "overcharge", "aged_cell_discharge", "neighbour_heat", "vrla_float"}
}

// NuisanceFamilies returns the families that must not raise thermal_runaway.
func NuisanceFamilies() []string {
	return []string{"normal_float", "utility_outage", "hvac_failure", "hot_aisle", "module_replaced", "sensor_faults", "comms_loss", "string_test", "boost_charge"}
}

// Options adjust a scenario; the zero value means the family's defaults.
type Options struct {
	// Duration overrides the length of a nuisance trace.
	Duration time.Duration
	// Modules overrides the number of modules (VRLA monoblocs) per string,
	// to try the detector on rack sizes the draw does not make.
	Modules int
	// Strings overrides the number of strings, likewise.
	Strings int
	// Sensors overrides the qualities of the sensors the draw places.
	Sensors Sensors
}

// Sensors overrides the sensor qualities a scenario draws, to try the
// detector on racks instrumented otherwise. The zero value of each field
// keeps the draw, and a zero Sensors leaves the scenario byte for byte as
// it was.
type Sensors struct {
	// SampleS is the period of the temperatures and the string's current
	// and voltage, s. The other instruments keep their periods in
	// seconds (as near as whole samples allow).
	SampleS float64
	// VoltageS is the period of the module and cell voltages, s.
	VoltageS float64
	// NoiseScale and DriftScale multiply every thermistor channel's
	// noise and drift.
	NoiseScale, DriftScale float64
	// ResolutionC is every thermistor channel's reporting step, °C.
	ResolutionC float64
	// Dropout is the probability a thermistor sample is missing; a
	// negative value means none is.
	Dropout float64
	// AirMix is every thermistor's share of its module's air (the rest is
	// the cells about it), 0 to 1.
	AirMix float64
	// TauScale multiplies every thermistor's time constant.
	TauScale float64
}

// validate checks the overrides are physical.
func (o Sensors) validate() error {
	switch {
	case o.SampleS < 0 || o.VoltageS < 0 || o.NoiseScale < 0 || o.DriftScale < 0 || o.ResolutionC < 0 || o.TauScale < 0:
		return fmt.Errorf("sensor overrides must not be negative: %+v", o)
	case o.Dropout >= 1 || o.AirMix > 1 || o.AirMix < 0:
		return fmt.Errorf("sensor overrides: dropout must be below 1 and air mix within 0-1: %+v", o)
	}
	return nil
}

// Scenario is one family and seed, ready to run.
type Scenario struct {
	truth  Truth
	rng    *rand.Rand
	rack   *physics.Rack
	dt     float64
	dur    float64
	room   func(t float64) float64
	step   func(t float64, r *physics.Rack) // the family's story, before each physics step
	stopAt func(t float64, r *physics.Rack) bool
	inst   *instruments
	fault  float64 // fault time, s; <0 none
	subj   int     // rack-wide module index of the subject, -1 none
	baseI  float64
	opt    Options
}

// New builds the scenario of family and seed.
func New(family string, seed uint64, opt Options) (*Scenario, error) {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15^uint64(len(family))<<32^hash(family)))
	s := &Scenario{rng: rng, fault: -1, subj: -1, opt: opt}
	s.truth = Truth{Family: family, Seed: seed, Device: "bms-1", Params: map[string]float64{},
		ForbidKinds: nil}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(24*60)) * time.Minute)
	s.truth.Start = start
	b, ok := builders[family]
	if !ok {
		return nil, fmt.Errorf("scenario: unknown family %q (have %v)", family, Families())
	}
	if err := opt.Sensors.validate(); err != nil {
		return nil, fmt.Errorf("scenario %s seed %d: %w", family, seed, err)
	}
	if err := b(s, opt); err != nil {
		return nil, fmt.Errorf("scenario %s seed %d: %w", family, seed, err)
	}
	s.inst.adjust(opt.Sensors, &s.truth.Rack)
	for _, f := range RunawayFamilies() {
		if f == family {
			s.truth.Class = Runaway
		}
	}
	if s.truth.Class == "" {
		s.truth.Class = Nuisance
		s.truth.ForbidKinds = []string{"thermal_runaway"}
	}
	return s, nil
}

func hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// Truth returns the ground truth; complete after Run.
func (s *Scenario) Truth() Truth { return s.truth }

// Run simulates the scenario and calls emit for every reading in time
// order. It returns the ground truth.
func (s *Scenario) Run(ctx context.Context, emit func(trace.Row) error) (Truth, error) {
	r := s.rack
	in := s.inst
	start := s.truth.Start
	pt := 0.0 // physics time
	onset := -1.0
	var err error
	rows := 0
	wrap := func(row trace.Row) error {
		rows++
		if !math.IsNaN(row.Value) && in.isTemp(row.Point) && row.Value > s.truth.PeakSensorTemp && row.Value != 85 && row.Value != 127 {
			s.truth.PeakSensorTemp = row.Value
		}
		return emit(row)
	}
	s.truth.PeakSensorTemp = -273
	r.Room = s.room(0)
	r.Step(0) // voltages and currents before the first sample
	last := 0.0
	for t := 0.0; t <= s.dur; t += in.sample {
		if int(t/in.sample)%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return s.truth, err
			}
		}
		for pt+s.dt <= t+1e-9 {
			r.Room = s.room(pt)
			if s.step != nil {
				s.step(pt, r)
			}
			r.Step(s.dt)
			pt += s.dt
			if onset < 0 && s.fault >= 0 && pt >= s.fault {
				if r.Chem.LeadAcid {
					if s.baseI > 0 && r.Strings[0].I >= 2*s.baseI {
						onset = pt
					}
				} else if r.Cells[r.Hottest()].T >= 80 {
					onset = pt
				}
			}
			for i := range r.Cells {
				s.truth.PeakCellTemp = max(s.truth.PeakCellTemp, r.Cells[i].T)
			}
		}
		if s.stopAt != nil && s.stopAt(t, r) {
			last = t
			break
		}
		if err = in.sample1(t, start, r, wrap); err != nil {
			return s.truth, err
		}
		last = t
	}
	s.truth.End = start.Add(dur(last))
	s.truth.Duration = last
	s.truth.Rows = rows
	at := func(v float64) *time.Time {
		if v < 0 {
			return nil
		}
		x := start.Add(dur(v))
		return &x
	}
	if s.fault >= 0 {
		s.truth.FaultTime = at(s.fault)
	}
	s.truth.OnsetTime = at(onset)
	vent, run := -1.0, -1.0
	runCell := -1
	for i := range r.Cells {
		c := &r.Cells[i]
		if c.Vented && (vent < 0 || c.VentAt < vent) {
			vent = c.VentAt
		}
		if c.Runaway && (run < 0 || c.RunawayAt < run) {
			run, runCell = c.RunawayAt, i
		}
	}
	s.truth.FirstVentTime = at(vent)
	s.truth.RunawayTime = at(run)
	if s.subj < 0 && runCell >= 0 {
		s.subj = r.Module(runCell)
	}
	if s.subj >= 0 && s.truth.Class == Runaway {
		st, m := s.subj/r.Cfg.Modules, s.subj%r.Cfg.Modules
		s.truth.String, s.truth.Module = st+1, m+1
		s.truth.Subject = pointPrefix(r.Cfg.Strings, st) + "module." + strconv.Itoa(m+1)
	}
	return s.truth, nil
}

func dur(s float64) time.Duration { return time.Duration(math.Round(s*1e3)) * time.Millisecond }

// pointPrefix is the point prefix of string st (0-based): "battery." for a
// single-string rack, "battery.string.S." otherwise.
func pointPrefix(n, st int) string {
	if n <= 1 {
		return "battery."
	}
	return "battery.string." + strconv.Itoa(st+1) + "."
}

// WriteTrace runs a scenario into w as a CSV trace with a comment header.
func (s *Scenario) WriteTrace(ctx context.Context, w *trace.Writer) (Truth, error) {
	if err := w.Comment(fmt.Sprintf("emberwatch testbench scenario %s seed %d", s.truth.Family, s.truth.Seed)); err != nil {
		return s.truth, err
	}
	t, err := s.Run(ctx, w.Write)
	if err != nil {
		return t, err
	}
	return t, w.Flush()
}

// uniform draws from [lo, hi).
func (s *Scenario) uniform(lo, hi float64) float64 { return lo + s.rng.Float64()*(hi-lo) }

// pick draws one of the values.
func pick[T any](s *Scenario, v ...T) T { return v[s.rng.IntN(len(v))] }

// param records and returns a drawn parameter.
func (s *Scenario) param(name string, v float64) float64 {
	s.truth.Params[name] = v
	return v
}

// Planned returns the simulated length the scenario will run at most.
func (s *Scenario) Planned() time.Duration { return dur(s.dur) }
