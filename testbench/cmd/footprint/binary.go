package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

// binaryResult is what a run of the real agent binary measured, from the
// outside: /proc/PID figures and the telemetry it published.
type binaryResult struct {
	Path              string
	RSS, HWM, MaxRSS  int64
	CPU, Wall         time.Duration
	Threads           int64
	Telemetry, Alerts uint64 // messages seen on the broker in the measured span
	AllTelemetry      uint64
	ExitErr           error
}

// siteFile is the agent's site file for the testbed.
func siteFile(tb *testbed, profilesDir string, interval time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "site: %s\ngateway: %s\nmqtt:\n  broker: %s\nprofiles_dir: %s\ndevices:\n", site, gateway, tb.BrokerURL, profilesDir)
	for i, addr := range tb.Addrs {
		fmt.Fprintf(&b, "  - name: %s\n    driver: modbus\n    address: tcp://%s\n    unit: 1\n    profile: footprint-bms\n    interval: %s\n    timeout: %s\n",
			deviceName(i), addr, interval, interval/2)
	}
	return b.String()
}

// measureBinary runs "PATH run -c site.yaml" against an in-process testbed
// and measures that process: the agent exactly as shipped.
func measureBinary(ctx context.Context, o options, stderr io.Writer) (*binaryResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	tb, err := startTestbed(ctx, o.Devices, o.Interval)
	if err != nil {
		return nil, err
	}
	defer tb.wait()
	defer cancel()

	dir, err := os.MkdirTemp("", "footprint-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.MkdirAll(filepath.Join(dir, "profiles", "modbus"), 0o755); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "profiles", "modbus", "footprint-bms.yaml"), profileYAML, 0o644); err != nil {
		return nil, err
	}
	siteYAML := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(siteYAML, []byte(siteFile(tb, filepath.Join(dir, "profiles"), o.Interval)), 0o644); err != nil {
		return nil, err
	}

	// Count what the agent publishes, as a consumer would see it.
	var telemetry, alerts atomic.Uint64
	copts := paho.NewClientOptions().AddBroker(tb.BrokerURL).SetClientID("footprint-counter").SetAutoReconnect(true)
	client := paho.NewClient(copts)
	if t := client.Connect(); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		return nil, fmt.Errorf("counter: connect %s: %v", tb.BrokerURL, t.Error())
	}
	defer client.Disconnect(100)
	root := "emberwatch/v1/" + site + "/" + gateway + "/"
	if t := client.Subscribe(root+"#", 0, func(_ paho.Client, m paho.Message) {
		switch {
		case strings.HasPrefix(m.Topic(), root+"telemetry/"):
			telemetry.Add(1)
		case strings.HasPrefix(m.Topic(), root+"alert/"):
			alerts.Add(1)
		}
	}); !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		return nil, fmt.Errorf("counter: subscribe: %v", t.Error())
	}

	cmd := exec.Command(o.Binary, "run", "-c", siteYAML, "-log-level", "error", "-stats", "0")
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", o.Binary, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	pid := strconv.Itoa(cmd.Process.Pid)
	res := &binaryResult{Path: o.Binary}
	stop := func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case res.ExitErr = <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			res.ExitErr = fmt.Errorf("no exit 10s after SIGTERM: %w", <-exited)
		}
	}

	type snap struct {
		at       time.Time
		cpu      time.Duration
		messages uint64
		alerts   uint64
	}
	take := func() snap {
		return snap{at: time.Now(), cpu: procCPU(cmd.Process.Pid), messages: telemetry.Load(), alerts: alerts.Load()}
	}
	var first snap
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
			stop()
			return nil, ctx.Err()
		case err := <-exited:
			return nil, fmt.Errorf("%s exited during the run: %v", o.Binary, err)
		case <-warm:
			first = take()
		case <-tick.C:
			if st, err := procStatus(pid); err == nil && st["VmRSS"] > res.MaxRSS {
				res.MaxRSS = st["VmRSS"]
			}
		case <-end:
			break loop
		}
	}
	last := take()
	st, err := procStatus(pid)
	if err != nil {
		stop()
		return nil, err
	}
	res.RSS, res.HWM = st["VmRSS"], st["VmHWM"]
	res.Threads = threads(pid)
	res.CPU, res.Wall = last.cpu-first.cpu, last.at.Sub(first.at)
	res.Telemetry, res.Alerts = last.messages-first.messages, last.alerts
	res.AllTelemetry = last.messages
	stop()
	return res, nil
}

// threads returns the Threads: line of /proc/PID/status.
func threads(pid string) int64 {
	b, err := os.ReadFile(filepath.Join("/proc", pid, "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n
		}
	}
	return 0
}

func (r *binaryResult) print(w io.Writer, o options) {
	fmt.Fprintf(w, "footprint: %s run, %d devices x 40 points every %s, detection and MQTT on, for %s (first %s left out of CPU)\n",
		r.Path, o.Devices, o.Interval, o.Duration, o.Warmup)
	fmt.Fprintf(w, "agent binary   RSS %s at the end, peak %s (VmHWM), largest sampled %s\n", mib(r.RSS), mib(r.HWM), mib(r.MaxRSS))
	fmt.Fprintf(w, "agent binary   CPU %.2f %% of one core (%.2fs over %.1fs); %d threads\n", share(r.CPU, r.Wall), r.CPU.Seconds(), r.Wall.Seconds(), r.Threads)
	rate := 0.0
	if r.Wall > 0 {
		rate = float64(r.Telemetry) / r.Wall.Seconds()
	}
	fmt.Fprintf(w, "mqtt           telemetry messages seen %d in all, %.1f/s measured; alert events seen %d\n", r.AllTelemetry, rate, r.Alerts)
	if r.ExitErr != nil {
		fmt.Fprintf(w, "agent binary   exit after SIGTERM: %v\n", r.ExitErr)
	} else {
		fmt.Fprintln(w, "agent binary   exited 0 after SIGTERM")
	}
	bins := binaries(o.Dist)
	for _, b := range bins {
		fmt.Fprintf(w, "binary         %-34s %10d bytes  %s\n", b.Path, b.Size, mib(b.Size))
	}
}
