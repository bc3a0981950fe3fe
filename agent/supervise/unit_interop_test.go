//go:build interop

package supervise

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/testbench/peers"
)

// TestUnitVerify runs systemd-analyze verify on the unit. verify wants the
// programs of Exec lines to exist, so they point at a stand-in script here; any
// warning (unknown key, bad value) fails the test, not only errors.
func TestUnitVerify(t *testing.T) {
	tool := peers.Require(t, "systemd-analyze", "systemd")
	dir := t.TempDir()
	bin := filepath.Join(dir, "emberwatch")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, "emberwatch.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(string(text), "/usr/bin/emberwatch", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := peers.Run(context.Background(), 30*time.Second, tool, "verify", unit)
	if err != nil || strings.TrimSpace(out) != "" {
		t.Fatalf("systemd-analyze verify %s: %v\n%s", unitPath, err, out)
	}

	// A broken copy must be caught, or the check above proves nothing.
	bad := filepath.Join(dir, "broken.service")
	os.WriteFile(bad, []byte(strings.Replace(string(text), "WatchdogSec=30", "WatchdogSec=thirty\nWatchdogSecs=30", 1)), 0o644)
	out, err = peers.Run(context.Background(), 30*time.Second, tool, "verify", bad)
	if err == nil && !strings.Contains(out, "WatchdogSecs") {
		t.Fatalf("systemd-analyze verify accepted a broken unit:\n%s", out)
	}
}
