package main

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

func TestRunRejectsBadFlags(t *testing.T) {
	const profile = "../../../../firmware-config/profiles/modbus/generic-rack-bms.yaml"
	for _, args := range [][]string{
		{},
		{"-profile", "no-such-file.yaml"},
		{"-profile", profile, "extra"},
		{"-profile", profile, "-unit", "0"},
		{"-profile", profile, "-fault", "gremlins"},
		{"-profile", profile, "-fault", "exception", "-fault-code", "7"},
		{"-profile", profile, "-hot", "99"},
	} {
		if err := run(t.Context(), args, strings.NewReader(""), io.Discard); err == nil {
			t.Errorf("run %q: no error", strings.Join(args, " "))
		}
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	const profile = "../../../../firmware-config/profiles/modbus/generic-rack-bms.yaml"
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	var out strings.Builder
	in := strings.NewReader("hot 3 500\nfault exception code=6 from=10 to=20\nfault gremlins\nstatus\n")
	err := run(ctx, []string{"-profile", profile, "-rtu-tcp", "127.0.0.1:0", "-pty", "-every", "50ms", "-speed", "600", "-hot", "2"}, in, &out)
	if err != nil && strings.Contains(err.Error(), "no such file") {
		t.Skipf("profile not in this checkout: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"modbus tcp", "rtu over tcp", "rtu pty", "module 3 heated by 500 W",
		"fault exception", `error: unknown fault "gremlins"`, "fault=exception", "served "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		line string
		ok   bool
	}{
		{"", true},
		{"fault none", true},
		{"fault late-reply delay=2s times=3", true},
		{"fault exception code=0x06 from=100 to=199", true},
		{"fault exception code=300", false},
		{"fault exception color=red", false},
		{"fault", false},
		{"hot 3", false},
		{"hot 3 200", true},
		{"current -40", true},
		{"ambient warm", false},
		{"reboot", false},
	} {
		if _, err := parseCommand(tc.line); (err == nil) != tc.ok {
			t.Errorf("parseCommand(%q): %v", tc.line, err)
		}
	}
}
