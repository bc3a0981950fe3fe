package main

import (
	"bufio"
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/config"
)

// TestInProcess runs a short benchmark with a few devices in one process
// and checks that the agent polled, decoded and published.
func TestInProcess(t *testing.T) {
	o := options{Devices: 3, Interval: 200 * time.Millisecond, Duration: 1500 * time.Millisecond, Warmup: 500 * time.Millisecond, InProcess: true, Dist: t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	r, err := measure(ctx, o, &stderr)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	// About 15 polls fall in the measured second on an idle machine; a
	// parallel test run can hold the process off the CPU for most of it
	// (2 polls were seen) and time out a poll in flight, so only polling,
	// mostly without errors, is required here: the figures themselves
	// are the benchmark's.
	t.Logf("polls %d, errors %d in the measured second (about 15 when idle)", r.Polls, r.Errors)
	if r.Polls < 1 || r.Errors*2 > r.Polls {
		t.Errorf("polls %d, errors %d in the measured second: want some, mostly good", r.Polls, r.Errors)
	}
	if r.Readings < 40 || r.Readings > r.AllPolls*40 {
		t.Errorf("readings %d over %d polls, want up to 40 per poll and one whole poll at least", r.Readings, r.AllPolls)
	}
	if r.TelemetrySent == 0 || !r.Connected {
		t.Errorf("telemetry sent %d, connected %v", r.TelemetrySent, r.Connected)
	}
	if r.RSS <= 0 || r.HWM < r.RSS || r.Goroutines <= 0 || r.Wall <= 0 {
		t.Errorf("implausible figures: %+v", r)
	}
	var out bytes.Buffer
	r.print(&out)
	for _, want := range []string{"RSS", "of one core", "per poll", "goroutines", "binaries       none"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

func TestParseStatus(t *testing.T) {
	m, err := parseStatus(strings.NewReader("Name:\tfootprint\nVmPeak:\t  800000 kB\nVmHWM:\t   20480 kB\nVmRSS:\t   10240 kB\nThreads:\t9\n"))
	if err != nil {
		t.Fatal(err)
	}
	if m["VmRSS"] != 10240*1024 || m["VmHWM"] != 20480*1024 {
		t.Fatalf("got %v", m)
	}
	if _, err := parseStatus(strings.NewReader("Name:\tx\n")); err == nil {
		t.Fatal("no error without VmRSS")
	}
}

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		stat string
		want time.Duration
	}{
		{"4242 (footprint) S 1 4242 4242 0 -1 4194560 900 0 0 0 250 130 0 0 20 0 9 0", 3800 * time.Millisecond},
		{"4242 (a (b) c) R 1 4242 4242 0 -1 4194560 900 0 0 0 1 2 0 0 20 0 9 0", 30 * time.Millisecond},
		{"garbage", 0},
	}
	for _, tt := range tests {
		if got := parseStatCPU(tt.stat); got != tt.want {
			t.Errorf("parseStatCPU(%q) = %v, want %v", tt.stat, got, tt.want)
		}
	}
}

func TestReadTestbed(t *testing.T) {
	tb, err := readTestbed(bufio.NewReader(strings.NewReader("broker tcp://127.0.0.1:1\ndevice 127.0.0.1:2\ndevice 127.0.0.1:3\nready\n")))
	if err != nil || tb.BrokerURL != "tcp://127.0.0.1:1" || len(tb.Addrs) != 2 {
		t.Fatalf("got %+v, %v", tb, err)
	}
	for _, bad := range []string{"", "ready\n", "broker x\nwhat\n", "broker x\ndevice y\n"} {
		if _, err := readTestbed(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"-devices", "0"}, {"-interval", "1ms"}, {"-duration", "5s", "-warmup", "5s"}, {"extra"}} {
		var out, errb bytes.Buffer
		err := run(context.Background(), args, strings.NewReader(""), &out, &errb)
		if _, ok := err.(usageError); !ok {
			t.Errorf("%q: err %v, want a usage error", args, err)
		}
	}
}

// TestSiteFile: the site file given to the agent binary is one the
// config package accepts, with every device of the testbed.
func TestSiteFile(t *testing.T) {
	tb := &testbed{BrokerURL: "tcp://127.0.0.1:1883", Addrs: []string{"127.0.0.1:5020", "127.0.0.1:5021"}}
	dir := t.TempDir()
	text := siteFile(tb, dir, time.Second)
	c, err := config.Parse("site.yaml", []byte(text))
	if err != nil {
		t.Fatalf("%v\n%s", err, text)
	}
	if len(c.Devices) != 2 || c.Devices[1].Name != "bms-02" || c.Devices[1].Profile != "footprint-bms" || c.Site != site {
		t.Fatalf("parsed %+v from\n%s", c, text)
	}
}
