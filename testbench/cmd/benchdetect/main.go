// Command benchdetect benchmarks the thermal-runaway detector against two
// threshold alarms on a fixed-seed set of testbench scenarios
// (`make bench-detect`).
//
// It simulates every runaway family over several seeds and the nuisance
// families for at least -years rack-years, feeds each trace's readings
// in-process to the detector (agent/detect) and to the baselines (a 60 °C
// module over-temperature alarm and a plain 1 °C/min rate-of-rise alarm),
// and prints one table: per runaway family, the share of runaways warned
// before the first cell vented and the median and worst lead of the first
// thermal_runaway warning (level warning or critical) before venting and
// before runaway; per nuisance family, the false thermal_runaway warnings
// per rack-year; the baselines beside each figure.
//
// The fixed set can be varied to try the detector on racks unlike its
// own: -modules and -strings change the rack size, -sample, -voltage-period,
// -noise, -resolution, -dropout, -air, -tau and -drift the sensors, and
// -variant rewrites the readings (other point naming, points missing or
// stamped late, misreading room, off-gas, current and voltage instruments;
// -variant list names them). A varied run prints which variation it is above the table.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/agent/trace"
	"github.com/emberwatch/emberwatch/testbench/peers"
	"github.com/emberwatch/emberwatch/testbench/scenario"
	"github.com/emberwatch/emberwatch/testbench/variant"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchdetect:", err)
		if errors.As(err, new(usageError)) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// options are the command's flags.
type options struct {
	seeds   int
	years   float64
	workers int
	base    uint64
	verbose bool
	q30     bool
	// variations of the fixed set
	modules, strings int
	sensors          scenario.Sensors
	variants         []string
}

// variation describes how o varies the fixed set, or "" when it does not.
func (o options) variation() string {
	var parts []string
	add := func(name string, v float64) {
		if v != 0 {
			parts = append(parts, fmt.Sprintf("%s %g", name, v))
		}
	}
	add("modules per string", float64(o.modules))
	add("strings", float64(o.strings))
	s := o.sensors
	add("sample s", s.SampleS)
	add("voltage period s", s.VoltageS)
	add("noise ×", s.NoiseScale)
	add("resolution °C", s.ResolutionC)
	add("dropout", s.Dropout)
	add("thermistor air mix", s.AirMix)
	add("thermistor lag ×", s.TauScale)
	add("drift ×", s.DriftScale)
	if len(o.variants) > 0 {
		parts = append(parts, "variants "+strings.Join(o.variants, ","))
	}
	return strings.Join(parts, ", ")
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchdetect", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.IntVar(&o.seeds, "seeds", 12, "seeds per runaway family")
	fs.Float64Var(&o.years, "years", 5.05, "rack-years of nuisance traces")
	fs.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "scenarios simulated in parallel")
	fs.Uint64Var(&o.base, "seed", 1, "first seed of the fixed set")
	fs.BoolVar(&o.verbose, "v", false, "print one line per scenario")
	fs.BoolVar(&o.q30, "q30", true, "add the Samsung 30Q 4C discharge recordings when ../shared/data has them")
	fs.IntVar(&o.modules, "modules", 0, "modules per string in every scenario (default: drawn)")
	fs.IntVar(&o.strings, "strings", 0, "strings in every scenario (default: drawn)")
	fs.Float64Var(&o.sensors.SampleS, "sample", 0, "temperature and string sampling period, s (default: drawn)")
	fs.Float64Var(&o.sensors.VoltageS, "voltage-period", 0, "module and cell voltage period, s (default: drawn)")
	fs.Float64Var(&o.sensors.NoiseScale, "noise", 0, "multiply thermistor noise by this")
	fs.Float64Var(&o.sensors.ResolutionC, "resolution", 0, "thermistor resolution, °C (default: drawn)")
	fs.Float64Var(&o.sensors.Dropout, "dropout", 0, "probability a thermistor sample is missing; negative: none (default: drawn)")
	fs.Float64Var(&o.sensors.AirMix, "air", 0, "thermistors' share of module air, 0-1 (default: drawn)")
	fs.Float64Var(&o.sensors.TauScale, "tau", 0, "multiply thermistor time constants by this")
	fs.Float64Var(&o.sensors.DriftScale, "drift", 0, "multiply thermistor drift by this")
	variants := fs.String("variant", "", "comma-separated reading variants, or list to print them")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if o.seeds < 1 || o.years < 0 || o.workers < 1 {
		return usageError{"-seeds and -workers must be positive, -years not negative"}
	}
	if *variants == "list" {
		for _, v := range variant.Names() {
			fmt.Fprintf(stdout, "%-18s %s\n", v[0], v[1])
		}
		fmt.Fprintf(stdout, "%-18s %s\n", "drop:SUFFIX", "leave out every point ending in SUFFIX")
		return nil
	}
	if *variants != "" {
		o.variants = strings.Split(*variants, ",")
		if _, err := variant.New(o.variants, time.Time{}, 0, 0); err != nil {
			return usageError{err.Error()}
		}
	}
	if o.modules < 0 || o.strings < 0 {
		return usageError{"-modules and -strings must not be negative"}
	}
	t0 := time.Now()
	jobs, err := plan(o)
	if err != nil {
		return err
	}
	results := make([]result, len(jobs))
	var wg sync.WaitGroup
	next := make(chan int)
	errs := make(chan error, o.workers)
	for range o.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r, err := jobs[i].run(ctx)
				if err != nil {
					errs <- err
					return
				}
				results[i] = r
				if o.verbose {
					fmt.Fprintln(stderr, r.line())
				}
			}
		}()
	}
feed:
	for i := range jobs {
		select {
		case next <- i:
		case err := <-errs:
			close(next)
			wg.Wait()
			return err
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return err
	default:
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	report(stdout, o, results, time.Since(t0))
	return nil
}

// job is one trace to judge.
type job struct {
	sc       *scenario.Scenario
	q30      string // path of a Q30 recording instead of a scenario
	name     string
	variants []string
}

// plan lists the fixed scenario set: seeds per runaway family, nuisance
// families in turn until the rack-years are reached, and the Q30 runs.
func plan(o options) ([]job, error) {
	var jobs []job
	so := scenario.Options{Modules: o.modules, Strings: o.strings, Sensors: o.sensors}
	for _, f := range scenario.RunawayFamilies() {
		for k := range o.seeds {
			s, err := scenario.New(f, o.base+uint64(k), so)
			if err != nil {
				return nil, usageError{err.Error()}
			}
			jobs = append(jobs, job{sc: s, name: f, variants: o.variants})
		}
	}
	fams := scenario.NuisanceFamilies()
	total := 0.0
	target := o.years * 365.25 * 86400
	for i := 0; total < target; i++ {
		f := fams[i%len(fams)]
		s, err := scenario.New(f, o.base+uint64(i/len(fams)), so)
		if err != nil {
			return nil, usageError{err.Error()}
		}
		total += s.Planned().Seconds()
		jobs = append(jobs, job{sc: s, name: f, variants: o.variants})
	}
	if o.q30 {
		for _, n := range []string{"Q30_S001_4C.csv", "Q30_S002_4C.csv", "Q30_S003_4C.csv"} {
			if p, ok := peers.FindSharedData(filepath.Join("thermal-runaway", n)); ok {
				jobs = append(jobs, job{q30: p, name: "q30_discharge (real)"})
			}
		}
	}
	return jobs, nil
}

// result is what the judges made of one trace.
type result struct {
	name   string
	truth  scenario.Truth
	judges [nJudges]verdict
	kinds  map[string]bool // kinds the detector raised at any level
	rows   int
	wall   time.Duration
}

// verdict is one judge's alarms on a trace.
type verdict struct {
	first  time.Time   // first thermal_runaway warning (or baseline alarm)
	raised int         // distinct alarms raised
	times  []time.Time // when each was raised (the first few)
}

// raise records an alarm raised at t.
func (v *verdict) raise(t time.Time) {
	v.raised++
	if v.first.IsZero() {
		v.first = t
	}
	if len(v.times) < 64 {
		v.times = append(v.times, t)
	}
}

// firstAfter returns the first alarm at or after t, and how many came
// before it.
func (v *verdict) firstAfter(t time.Time) (time.Time, int) {
	for i, x := range v.times {
		if !x.Before(t) {
			return x, i
		}
	}
	return time.Time{}, len(v.times)
}

const (
	jDetector = iota
	j60C
	jRoR
	nJudges
)

var judgeNames = [nJudges]string{"detector", "60C", "1C/min"}

func (j job) run(ctx context.Context) (result, error) {
	t0 := time.Now()
	res := result{name: j.name, kinds: map[string]bool{}}
	det := detect.New(detect.DefaultConfig())
	base60 := newOverTemp(60, 58)
	ror := newRateOfRise(1.0, 5*time.Minute)
	ids := map[string]bool{}
	var last time.Time
	handle := func(evs []detect.Event) {
		for i := range evs {
			e := &evs[i]
			res.kinds[e.Kind] = true
			if e.Kind != detect.KindThermalRunaway || e.State == detect.StateCleared {
				continue
			}
			if e.Level != detect.LevelWarning && e.Level != detect.LevelCritical {
				continue
			}
			if !ids[e.ID] {
				ids[e.ID] = true
				res.judges[jDetector].raise(e.Time)
			}
		}
	}
	var vf *variant.Filter
	if j.sc != nil && len(j.variants) > 0 {
		t := j.sc.Truth()
		var err error
		if vf, err = variant.New(j.variants, t.Start, t.Seed, t.Rack.Cells); err != nil {
			return res, err
		}
	}
	observe := func(r trace.Row) error {
		res.rows++
		last = r.Time
		s := detect.Sample{Time: r.Time, Device: r.Device, Point: r.Point, Value: r.Value}
		handle(det.Observe(s))
		base60.observe(s, &res.judges[j60C])
		ror.observe(s, &res.judges[jRoR])
		return nil
	}
	emit := observe
	if vf != nil {
		emit = func(r trace.Row) error { return vf.Pass(r, observe) }
	}
	if j.q30 != "" {
		f, err := os.Open(j.q30)
		if err != nil {
			return res, err
		}
		defer f.Close()
		pr, pw := io.Pipe()
		go func() {
			_, err := scenario.ConvertQ30(f, trace.NewWriter(pw), scenario.Q30Options{Name: filepath.Base(j.q30)})
			pw.CloseWithError(err)
		}()
		rd := trace.NewReader(pr)
		for {
			row, err := rd.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return res, fmt.Errorf("%s: %w", j.q30, err)
			}
			_ = emit(row)
		}
		res.truth = scenario.Truth{Family: res.name, Class: scenario.Nuisance, Duration: 0}
		res.truth.Start = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
		res.truth.Duration = last.Sub(res.truth.Start).Seconds()
	} else {
		tr, err := j.sc.Run(ctx, emit)
		if err != nil {
			return res, err
		}
		res.truth = tr
	}
	if vf != nil {
		_ = vf.Flush(observe)
	}
	handle(det.Advance(last.Add(time.Minute)))
	res.wall = time.Since(t0)
	return res, nil
}

func (r result) line() string {
	s := fmt.Sprintf("%-22s seed %3d %-5s %7d rows %6.1fh %6.1fs", r.name, r.truth.Seed, r.truth.Rack.Chemistry, r.rows, r.truth.Duration/3600, r.wall.Seconds())
	for k := range nJudges {
		v := r.judges[k]
		s += fmt.Sprintf("  %s:", judgeNames[k])
		if v.first.IsZero() {
			s += "-"
		} else {
			s += v.first.Sub(r.truth.Start).Round(time.Second).String()
		}
		if r.truth.Class == scenario.Nuisance {
			s += fmt.Sprintf("(%d)", v.raised)
		}
	}
	if r.truth.FirstVentTime != nil {
		s += "  vent:" + r.truth.FirstVentTime.Sub(r.truth.Start).Round(time.Second).String()
	}
	if r.truth.RunawayTime != nil {
		s += "  runaway:" + r.truth.RunawayTime.Sub(r.truth.Start).Round(time.Second).String()
	}
	return s
}
