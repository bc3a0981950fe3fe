package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/testbench/modbussim"
	"github.com/emberwatch/emberwatch/testbench/peers"
)

// TestRunSupervised runs the agent as systemd's Type=notify service with a
// watchdog would: it says READY=1 once started, feeds the watchdog while
// it polls, and says STOPPING=1 on the way out; the metrics endpoint
// named in the site file serves the poll counters.
func TestRunSupervised(t *testing.T) {
	dir := siteDir(t)
	sock := filepath.Join(dir, "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var mu sync.Mutex
	var msgs []string
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			msgs = append(msgs, strings.Split(string(buf[:n]), "\n")...)
			mu.Unlock()
		}
	}()
	count := func(state string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, m := range msgs {
			if m == state {
				n++
			}
		}
		return n
	}

	b := startBroker(t)
	ctx := t.Context()
	addr := serveSim(t, ctx, modbussim.Map{Values: map[string]float64{"battery.voltage": 53, "battery.module.1.temperature": 25}})
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", peers.FreePort(t))
	site := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(site, []byte(fmt.Sprintf(`site: dc1
gateway: gw-1
mqtt: {broker: %q}
profiles_dir: profiles
devices:
  - {name: bms-1, driver: modbus, address: "tcp://%s", profile: test-bms, interval: 100ms, timeout: 100ms}
metrics: {listen: %q}
`, b.URL(), addr, metricsAddr)), 0o644); err != nil {
		t.Fatal(err)
	}
	log, stop := agent(t, site, runOptions{}, "NOTIFY_SOCKET", sock, "WATCHDOG_USEC", "200000")
	waitFor(t, 5*time.Second, "READY=1 and watchdog pings", log, func() bool { return count("READY=1") == 1 && count("WATCHDOG=1") >= 3 })

	var body string
	waitFor(t, 5*time.Second, "metrics", log, func() bool {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		bb, _ := io.ReadAll(resp.Body)
		body = string(bb)
		return strings.Contains(body, `emberwatch_polls_total{device="bms-1"}`) &&
			strings.Contains(body, "emberwatch_mqtt_connected 1")
	})
	stop()
	waitFor(t, 2*time.Second, "STOPPING=1", log, func() bool { return count("STOPPING=1") == 1 })
}
