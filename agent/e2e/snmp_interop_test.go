//go:build interop

package e2e

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers/snmp"
	"github.com/emberwatch/emberwatch/testbench/peers"
)

// startSnmpsim starts snmpsimd on a free 127.0.0.1 UDP port playing the
// shared recordings in place (the community of a recording is its file
// name without .snmprec), and returns host:port.
func startSnmpsim(t *testing.T) string {
	t.Helper()
	bin := peers.Require(t, "snmpsimd", "snmpsim")
	src := peers.SharedData(t, "snmprec")
	dir, err := os.MkdirTemp("", "emberwatch-e2e-snmpsim-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	data, cache := filepath.Join(dir, "data"), filepath.Join(dir, "cache")
	for _, d := range []string{data, cache} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// snmpsimd will not run as root: it drops to nobody, who must read the
	// folders and write the index cache.
	_ = os.Chmod(dir, 0o755)
	_ = os.Chmod(cache, 0o777)
	files, _ := filepath.Glob(filepath.Join(src, "*.snmprec"))
	for _, f := range files {
		abs, _ := filepath.Abs(f)
		if err := os.Symlink(abs, filepath.Join(data, filepath.Base(f))); err != nil {
			t.Fatal(err)
		}
	}
	addr := fmt.Sprintf("127.0.0.1:%d", peers.FreeUDPPort(t))
	args := []string{"--data-dir=" + data, "--cache-dir=" + cache, "--agent-udpv4-endpoint=" + addr, "--logging-method=null"}
	if os.Geteuid() == 0 {
		args = append(args, "--process-user=nobody", "--process-group=nogroup")
	}
	var log strings.Builder
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start snmpsimd: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	c, err := snmp.Dial(snmp.Config{Target: addr, Community: "apc_smt750x-nmc2", Timeout: 300 * time.Millisecond, Retries: -1, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pkt, err := c.Get(context.Background(), []string{snmp.OIDSysObjectID})
		if err == nil && len(pkt.Variables) == 1 {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("snmpsimd not answering on %s: %v\n%s", addr, err, log.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSNMPDevice: the agent polls a recorded APC Smart-UPS (its profile
// chosen from its sysObjectID) served by snmpsimd, and the telemetry
// carries the recording's battery temperature and voltage (SOURCES.md:
// upsHighPrecBatteryTemperature 234 = 23.4 °C, voltage 547 = 54.7 V).
func TestSNMPDevice(t *testing.T) {
	m := peers.StartMosquitto(t)
	addr := startSnmpsim(t)
	sub := subscribe(t, m.URL)
	a := startAgent(t, m.URL, []deviceLine{
		{name: "ups-1", driver: "snmp", address: "snmp://apc_smt750x-nmc2@" + addr + "?version=2c", interval: 2 * time.Second, timeout: time.Second},
	})
	sub.waitMessages(t, 1, 30*time.Second, "ups-1")
	a.stop(t)
	tm := sub.messages("ups-1")[0]
	for point, want := range map[string]float64{"battery.temperature": 23.4, "battery.voltage": 54.7} {
		if got := tm.Points[point].Float(); math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, recorded %v", point, got, want)
		}
	}
	t.Logf("ups-1: %d points, e.g. battery.charge %v", len(tm.Points), tm.Points["battery.charge"].Float())
	if !strings.Contains(a.log.String(), "profile=apc-ups") {
		t.Errorf("the agent did not log choosing apc-ups")
	}
}
