package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// result is what one run measured.
type result struct {
	Opts options

	RSS, HWM           int64 // bytes, /proc/self/status at the end
	MaxRSS             int64 // largest VmRSS sampled during the run
	CPU                time.Duration
	User, Sys          time.Duration
	Wall               time.Duration // measured span (after warmup)
	Mallocs            uint64        // in the measured span
	AllocBytes         uint64        // in the measured span
	HeapInuse, HeapSys uint64        // runtime.MemStats at the end
	Goroutines         int           // at the end, before stopping
	MaxGoroutines      int

	Polls, Errors, Overruns uint64 // in the measured span
	AllPolls                uint64 // whole run
	Readings                uint64 // whole run
	Events                  uint64 // alert events, whole run
	TelemetrySent           uint64
	TelemetryDropped        uint64
	AlertsSent              uint64
	Connected               bool

	Child                   bool
	ChildRSS, ChildHWM      int64
	ChildCPU                time.Duration
	Binaries                []binary
	GOMAXPROCS, NumCPU      int
	GoVersion, GOOS, GOARCH string
}

type binary struct {
	Path string
	Size int64
}

// snapshot is the process's counters at one moment.
type snapshot struct {
	at         time.Time
	user, sys  time.Duration
	mallocs    uint64
	allocBytes uint64
	polls      uint64
	errs, over uint64
	childCPU   time.Duration
}

func measure(ctx context.Context, o options, stderr io.Writer) (*result, error) {
	level := slog.LevelError + 1
	if o.Verbose {
		level = slog.LevelWarn
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	var tb *testbed
	childPID := 0
	var child *exec.Cmd
	var childIn io.WriteCloser
	if o.InProcess {
		var err error
		tb, err = startTestbed(ctx, o.Devices, o.Interval)
		if err != nil {
			return nil, err
		}
		defer tb.wait()
		defer cancel()
	} else {
		exe, err := os.Executable()
		if err != nil {
			return nil, err
		}
		child = exec.Command(exe, "-serve", "-devices", strconv.Itoa(o.Devices), "-interval", o.Interval.String(),
			"-duration", o.Duration.String(), "-warmup", o.Warmup.String())
		child.Stderr = stderr
		childIn, err = child.StdinPipe()
		if err != nil {
			return nil, err
		}
		out, err := child.StdoutPipe()
		if err != nil {
			return nil, err
		}
		if err := child.Start(); err != nil {
			return nil, fmt.Errorf("testbed child: %w", err)
		}
		defer func() {
			childIn.Close() // the child stops when its stdin closes
			done := make(chan error, 1)
			go func() { done <- child.Wait() }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				_ = child.Process.Kill()
				<-done
			}
		}()
		childPID = child.Process.Pid
		tb, err = readTestbed(bufio.NewReader(out))
		if err != nil {
			return nil, err
		}
		go func() { _, _ = io.Copy(io.Discard, out) }()
	}

	a, err := newAgent(tb, o.Interval, log)
	if err != nil {
		return nil, err
	}
	runCtx, stopAgent := context.WithCancel(ctx)
	defer stopAgent()
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = a.run(runCtx) })

	res := &result{Opts: o, Child: !o.InProcess, GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU(),
		GoVersion: runtime.Version(), GOOS: runtime.GOOS, GOARCH: runtime.GOARCH}
	take := func() snapshot {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		u, s := rusage()
		p, e, ov := a.polls()
		snap := snapshot{at: time.Now(), user: u, sys: s, mallocs: ms.Mallocs, allocBytes: ms.TotalAlloc, polls: p, errs: e, over: ov}
		if childPID != 0 {
			snap.childCPU = procCPU(childPID)
		}
		return snap
	}
	sample := func() {
		if st, err := procStatus("self"); err == nil && st["VmRSS"] > res.MaxRSS {
			res.MaxRSS = st["VmRSS"]
		}
		if g := runtime.NumGoroutine(); g > res.MaxGoroutines {
			res.MaxGoroutines = g
		}
	}

	var first snapshot
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	warm := time.After(o.Warmup)
	end := time.After(o.Duration)
	if o.Warmup == 0 {
		first = take()
	}
loop:
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-warm:
			first = take()
		case <-tick.C:
			sample()
		case <-end:
			break loop
		}
	}
	sample()
	last := take()
	res.Goroutines = runtime.NumGoroutine()
	st, err := procStatus("self")
	if err != nil {
		return nil, err
	}
	res.RSS, res.HWM = st["VmRSS"], st["VmHWM"]
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapInuse, res.HeapSys = ms.HeapInuse, ms.Sys
	if childPID != 0 {
		if cs, err := procStatus(strconv.Itoa(childPID)); err == nil {
			res.ChildRSS, res.ChildHWM = cs["VmRSS"], cs["VmHWM"]
		}
		res.ChildCPU = last.childCPU - first.childCPU
	}
	ps := a.pub.Stats()
	res.TelemetrySent, res.TelemetryDropped, res.AlertsSent, res.Connected = ps.TelemetrySent, ps.TelemetryDropped, ps.AlertsSent, ps.Connected

	stopAgent()
	wg.Wait()
	if runErr != nil {
		return nil, runErr
	}
	res.Wall = last.at.Sub(first.at)
	res.User, res.Sys = last.user-first.user, last.sys-first.sys
	res.CPU = res.User + res.Sys
	res.Mallocs = last.mallocs - first.mallocs
	res.AllocBytes = last.allocBytes - first.allocBytes
	res.Polls, res.Errors, res.Overruns = last.polls-first.polls, last.errs-first.errs, last.over-first.over
	res.AllPolls, _, _ = a.polls()
	res.Readings = a.stage.Readings()
	res.Events = a.stage.Events()
	res.Binaries = binaries(o.Dist)
	return res, nil
}

// rusage returns this process's user and system CPU time.
func rusage() (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}

// procStatus returns the Vm* lines of /proc/PID/status in bytes.
func procStatus(pid string) (map[string]int64, error) {
	f, err := os.Open(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseStatus(f)
}

func parseStatus(r io.Reader) (map[string]int64, error) {
	m := map[string]int64{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || !strings.HasPrefix(k, "Vm") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("/proc status %s: %w", k, err)
		}
		m[k] = n * 1024
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if _, ok := m["VmRSS"]; !ok {
		return nil, fmt.Errorf("/proc status: no VmRSS")
	}
	return m, nil
}

// clockTick is the kernel's USER_HZ, 100 on every Linux this runs on.
const clockTick = 100

// procCPU returns utime+stime of another process from /proc/PID/stat.
func procCPU(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	return parseStatCPU(string(b))
}

func parseStatCPU(stat string) time.Duration {
	// The command name may hold spaces and parentheses: fields start
	// after the last ')'. utime and stime are fields 14 and 15.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 13 {
		return 0
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	s, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0
	}
	return time.Duration(u+s) * time.Second / clockTick
}

// binaries lists the cross-built binaries in dir (emberwatch-*, not the
// packages); an empty dir means the module's dist folder.
func binaries(dir string) []binary {
	if dir == "" {
		dir = moduleDist()
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "emberwatch-*"))
	var out []binary
	for _, p := range paths {
		if strings.HasSuffix(p, ".gz") || strings.HasSuffix(p, ".deb") {
			continue
		}
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			out = append(out, binary{p, st.Size()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func share(cpu, wall time.Duration) float64 {
	if wall <= 0 {
		return 0
	}
	return 100 * cpu.Seconds() / wall.Seconds()
}

func (r *result) print(w io.Writer) {
	o := r.Opts
	who := "agent"
	if !r.Child {
		who = "agent+testbed"
	}
	fmt.Fprintf(w, "footprint: %d devices x 40 points every %s, detection and MQTT on, for %s (first %s left out of CPU and allocations)\n",
		o.Devices, o.Interval, o.Duration, o.Warmup)
	fmt.Fprintf(w, "machine:   %s %s/%s, %d CPUs, GOMAXPROCS %d\n", r.GoVersion, r.GOOS, r.GOARCH, r.NumCPU, r.GOMAXPROCS)
	fmt.Fprintf(w, "%-14s RSS %s at the end, peak %s (VmHWM), largest sampled %s\n", who, mib(r.RSS), mib(r.HWM), mib(r.MaxRSS))
	fmt.Fprintf(w, "%-14s Go heap in use %s, from the OS %s\n", who, mib(int64(r.HeapInuse)), mib(int64(r.HeapSys)))
	fmt.Fprintf(w, "%-14s CPU %.2f %% of one core (user %.2fs + system %.2fs over %.1fs)\n", who,
		share(r.CPU, r.Wall), r.User.Seconds(), r.Sys.Seconds(), r.Wall.Seconds())
	perPoll, bytesPerPoll := 0.0, 0.0
	if r.Polls > 0 {
		perPoll = float64(r.Mallocs) / float64(r.Polls)
		bytesPerPoll = float64(r.AllocBytes) / float64(r.Polls)
	}
	fmt.Fprintf(w, "%-14s allocations %.0f per poll (%.1f KiB per poll; %d polls measured)\n", who, perPoll, bytesPerPoll/1024, r.Polls)
	fmt.Fprintf(w, "%-14s goroutines %d at the end, %d at most\n", who, r.Goroutines, r.MaxGoroutines)
	rate := 0.0
	if r.Wall > 0 {
		rate = float64(r.Polls) / r.Wall.Seconds()
	}
	fmt.Fprintf(w, "polls          %d in all, %.1f/s measured (%d errors, %d overruns); %d readings; %d alert events\n",
		r.AllPolls, rate, r.Errors, r.Overruns, r.Readings, r.Events)
	fmt.Fprintf(w, "mqtt           connected %v, telemetry sent %d, dropped %d, alerts sent %d\n",
		r.Connected, r.TelemetrySent, r.TelemetryDropped, r.AlertsSent)
	if r.Child {
		fmt.Fprintf(w, "testbed child  (simulators and broker, not the agent) RSS %s, peak %s, CPU %.2f %% of one core\n",
			mib(r.ChildRSS), mib(r.ChildHWM), share(r.ChildCPU, r.Wall))
	}
	if len(r.Binaries) == 0 {
		fmt.Fprintln(w, "binaries       none in dist/ (make cross builds them)")
	}
	for _, b := range r.Binaries {
		fmt.Fprintf(w, "binary         %-34s %10d bytes  %s\n", b.Path, b.Size, mib(b.Size))
	}
}

// moduleDist returns the dist folder at the root of the module the working
// directory is in, or "dist".
func moduleDist() string {
	dir, err := os.Getwd()
	if err != nil {
		return "dist"
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "dist")
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "dist"
		}
		dir = up
	}
}
