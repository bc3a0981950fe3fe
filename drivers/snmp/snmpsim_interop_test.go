//go:build interop

package snmp

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/testbench/peers"
)

// snmpsim is an snmpsimd playing the shared recordings read in place.
type snmpsim struct {
	Addr string
	log  *strings.Builder
}

// startSnmpsim starts snmpsimd on a free 127.0.0.1 UDP port over a folder
// of symlinks to ../shared/data/snmprec; the community of a recording is
// its file name without .snmprec. It is stopped when the test ends.
func startSnmpsim(t *testing.T, extra ...string) *snmpsim {
	t.Helper()
	bin := peers.Require(t, "snmpsimd", "snmpsim")
	src := peers.SharedData(t, "snmprec")
	dir, err := os.MkdirTemp("", "emberwatch-snmpsim-")
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
	// snmpsimd refuses to run as root; it drops to nobody, who must read
	// the folders and write the index cache.
	for _, d := range []string{dir, data} {
		os.Chmod(d, 0o755)
	}
	os.Chmod(cache, 0o777)
	files, _ := filepath.Glob(filepath.Join(src, "*.snmprec"))
	if len(files) == 0 {
		t.Fatalf("no recordings in %s", src)
	}
	for _, f := range files {
		abs, _ := filepath.Abs(f)
		if err := os.Symlink(abs, filepath.Join(data, filepath.Base(f))); err != nil {
			t.Fatal(err)
		}
	}
	port := peers.FreeUDPPort(t)
	s := &snmpsim{Addr: fmt.Sprintf("127.0.0.1:%d", port), log: &strings.Builder{}}
	args := []string{"--data-dir=" + data, "--cache-dir=" + cache,
		"--agent-udpv4-endpoint=" + s.Addr, "--logging-method=null"}
	if os.Geteuid() == 0 {
		args = append(args, "--process-user=nobody", "--process-group=nogroup")
	}
	args = append(args, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start snmpsimd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	// Ready when it answers.
	c, err := Dial(Config{Target: s.Addr, Community: "apc_smt750x-nmc2", Timeout: 300 * time.Millisecond, Retries: -1, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		pkt, err := c.Get(context.Background(), []string{OIDSysObjectID})
		if err == nil && len(pkt.Variables) == 1 {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("snmpsimd not answering on %s: %v\n%s", s.Addr, err, s.log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// dialSim returns a fast Client for one recording.
func (s *snmpsim) dial(t *testing.T, community string) *Client {
	t.Helper()
	c, err := Dial(Config{Target: s.Addr, Community: community, Timeout: time.Second, RateLimit: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestRateLimit: the default Client sends at most 5 requests in any
// second, one at a time, even with several goroutines asking.
func TestRateLimit(t *testing.T) {
	sim := startSnmpsim(t)
	c, err := Dial(Config{Target: sim.Addr, Community: "apc_smt750x-nmc2"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var mu sync.Mutex
	var times []time.Time
	var wg sync.WaitGroup
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 4; i++ {
				if _, err := c.Get(context.Background(), []string{OIDSysObjectID}); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				times = append(times, time.Now())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	// 12 requests: the 6th can end no sooner than 1 s after the 1st began.
	for i := 5; i < len(times); i++ {
		if d := times[i].Sub(times[i-5]); d < 900*time.Millisecond {
			t.Errorf("requests %d..%d within %v: more than 5 a second", i-5, i, d)
		}
	}
	t.Logf("12 requests in %v", times[len(times)-1].Sub(times[0]))
}

// TestTooBigAgainstSnmpsim: an agent that takes few varbinds a request
// still yields every value; the working size is learnt and kept.
func TestTooBigAgainstSnmpsim(t *testing.T) {
	sim := startSnmpsim(t, "--max-varbinds=4")
	ps, err := DefaultProfiles()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := ps.Get("apc-ups")
	c := sim.dial(t, "apc_smt750x-nmc2")
	d := NewDevice("ups", p, c, Options{})
	for i := 0; i < 2; i++ {
		rs, err := d.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		checkWant(t, byPoint(rs), map[string]any{"battery.temperature": 23.4, "battery.voltage": 54.7, "ambient.1.temperature": 20.0})
	}
	st := d.Stats()
	t.Logf("stats after two polls: %+v", st)
	if st.MaxOIDs > 4 {
		t.Errorf("MaxOIDs = %d, want at most 4", st.MaxOIDs)
	}
}
