package main

import (
	"context"
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
		if err := run(t.Context(), args); err == nil {
			t.Errorf("run %q: no error", strings.Join(args, " "))
		}
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	const profile = "../../../../firmware-config/profiles/modbus/generic-rack-bms.yaml"
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := run(ctx, []string{"-profile", profile, "-rtu-tcp", "127.0.0.1:0", "-pty", "-every", "50ms", "-speed", "600", "-hot", "2"})
	if err != nil && strings.Contains(err.Error(), "no such file") {
		t.Skipf("profile not in this checkout: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
}
