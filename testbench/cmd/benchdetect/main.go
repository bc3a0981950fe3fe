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
	"sync"
	"time"

	"github.com/emberwatch/emberwatch/agent/detect"
	"github.com/emberwatch/emberwatch/agent/trace"
	"github.com/emberwatch/emberwatch/testbench/peers"
	"github.com/emberwatch/emberwatch/testbench/scenario"
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
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if o.seeds < 1 || o.years < 0 || o.workers < 1 {
		return usageError{"-seeds and -workers must be positive, -years not negative"}
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
	sc   *scenario.Scenario
	q30  string // path of a Q30 recording instead of a scenario
	name string
}

// plan lists the fixed scenario set: seeds per runaway family, nuisance
// families in turn until the rack-years are reached, and the Q30 runs.
func plan(o options) ([]job, error) {
	var jobs []job
	for _, f := range scenario.RunawayFamilies() {
		for k := range o.seeds {
			s, err := scenario.New(f, o.base+uint64(k), scenario.Options{})
			if err != nil {
				return nil, err
			}
			jobs = append(jobs, job{sc: s, name: f})
		}
	}
	fams := scenario.NuisanceFamilies()
	total := 0.0
	target := o.years * 365.25 * 86400
	for i := 0; total < target; i++ {
		f := fams[i%len(fams)]
		s, err := scenario.New(f, o.base+uint64(i/len(fams)), scenario.Options{})
		if err != nil {
			return nil, err
		}
		total += s.Planned().Seconds()
		jobs = append(jobs, job{sc: s, name: f})
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
	emit := func(r trace.Row) error {
		res.rows++
		last = r.Time
		s := detect.Sample{Time: r.Time, Device: r.Device, Point: r.Point, Value: r.Value}
		handle(det.Observe(s))
		base60.observe(s, &res.judges[j60C])
		ror.observe(s, &res.judges[jRoR])
		return nil
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
