package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

func TestDemoUsage(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		want string // in stdout or stderr
	}{
		{"help", []string{"-h"}, 0, "--speed"},
		{"help names the duration", []string{"-h"}, 0, "every host is down and every outlet off"},
		{"speed zero", []string{"--speed", "0"}, 2, "--speed 0"},
		{"speed negative", []string{"--speed", "-3"}, 2, "--speed -3"},
		{"speed too high", []string{"--speed", "101"}, 2, "at most 100"},
		{"speed not a number", []string{"--speed", "fast"}, 2, "fast"},
		{"negative duration", []string{"--duration", "-1s"}, 2, "--duration"},
		{"argument", []string{"now"}, 2, `"now"`},
		{"unknown flag", []string{"--bogus"}, 2, "bogus"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr, code := runVerb(t, "", append([]string{"demo"}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if !strings.Contains(stdout+stderr, tc.want) {
				t.Errorf("output lacks %q:\nstdout:\n%s\nstderr:\n%s", tc.want, stdout, stderr)
			}
		})
	}
}

// TestDemoReportsShedTimes runs the demo verb at 20 times real speed (fast,
// yet slow enough for a loaded machine under the race detector) and checks
// it ends by itself once the room is dark and prints the measured times.
func TestDemoReportsShedTimes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for a few seconds")
	}
	stdout, stderr, code := runVerb(t, "", "demo", "--speed", "20")
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s\nstdout:\n%s", code, stderr, stdout)
	}
	m := regexp.MustCompile(`every host down and every outlet off ([0-9.]+) s after the first critical alert`).FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no measured shed time in the output:\n%s", stdout)
	}
	dark, _ := strconv.ParseFloat(m[1], 64)
	t.Logf("room dark %.1f s of scenario after the critical alert", dark)
	if dark >= 150 || dark < 55 {
		t.Errorf("room dark %.1f s after the critical alert, want 55..150 (hosts take 60 s)", dark)
	}
	for _, want := range []string{"tier 1 web", "tier 2 db", "(hosts down)"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}
