//go:build interop

package nutd

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/testbench/peers"
)

// TestUpsc talks to the endpoint with Debian's upsc (nut-client): it lists
// the UPS, its variables, and ups.status carries FSD after a shed.
func TestUpsc(t *testing.T) {
	upsc := peers.Require(t, "upsc", "nut-client")
	s, addr := serve(t)
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, upsc, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("upsc %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(strings.ReplaceAll(string(out), "Init SSL without certificate database\n", ""))
	}
	if got := run("-l", addr); got != "bms-1\nrack-a-web" {
		t.Errorf("upsc -l: %q", got)
	}
	if got := run("-L", addr); !strings.Contains(got, "bms-1: Rack A battery string") {
		t.Errorf("upsc -L: %q", got)
	}
	all := run("bms-1@" + addr)
	for _, want := range []string{"battery.charge: 97.25", "battery.voltage: 53.123", "ups.status: OL CHRG"} {
		if !strings.Contains(all, want) {
			t.Errorf("upsc bms-1 lacks %q:\n%s", want, all)
		}
	}
	if got := run("bms-1@"+addr, "ups.status"); got != "OL CHRG" {
		t.Errorf("status before shed %q", got)
	}
	s.SetFSD([]string{"bms-1", "rack-a-web"})
	if got := run("bms-1@"+addr, "ups.status"); got != "FSD OL CHRG" {
		t.Errorf("status after shed %q", got)
	}
	if got := run("rack-a-web@"+addr, "ups.status"); got != "FSD OL" {
		t.Errorf("group status after shed %q", got)
	}
	if got := run("-c", "bms-1@"+addr); got != "" {
		t.Logf("upsc -c: %q", got)
	}
}
