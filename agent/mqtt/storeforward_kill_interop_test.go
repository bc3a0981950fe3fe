//go:build interop

package mqtt

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/testbench/peers"
)

// TestStoreForwardKillChild is the agent side of TestStoreForwardKill,
// run in a child process: it publishes alerts through a spool as fast as
// it can fsync them, printing "Q <device> <id>" once each is spooled, until
// it is killed.
func TestStoreForwardKillChild(t *testing.T) {
	spool, broker, run := os.Getenv("EMBERWATCH_KILL_SPOOL"), os.Getenv("EMBERWATCH_KILL_BROKER"), os.Getenv("EMBERWATCH_KILL_RUN")
	if spool == "" {
		t.Skip("run by TestStoreForwardKill")
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	p, err := New(Options{Broker: broker, Site: "dc1", Gateway: "gw-1", SpoolDir: spool, Logger: log, ReconnectMax: 200 * time.Millisecond, Window: 16})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	devices := []string{"bms-1", "bms-2", "bms-3"}
	for n := 0; ; n++ {
		dev := devices[n%len(devices)]
		id := fmt.Sprintf("r%s-%05d", run, n)
		ev := fmt.Appendf(nil, `{"id":%q,"device":%q,"kind":"thermal_runaway","level":"critical","state":"raised"}`, id, dev)
		if err := p.PublishAlert(dev, ev); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(os.Stdout, "Q %s %s\n", dev, id)
		time.Sleep(time.Millisecond)
	}
}

// TestStoreForwardKill kills a publisher with SIGKILL at random moments,
// 20 times, while it spools and sends alerts to mosquitto; each run
// starts on the spool the last one left; every third run finds no broker,
// so that alerts pile up in the spool for the next runs. After a last, clean start every
// alert that had been spooled has arrived, in order per device;
// duplicates carry the same id.
func TestStoreForwardKill(t *testing.T) {
	m := peers.StartMosquitto(t, "max_queued_messages 0", "max_inflight_messages 0")
	rec := subscribe(t, m.URL, "emberwatch/v1/dc1/gw-1/alert/#")
	spool := t.TempDir()
	runs := 20
	confirmed := map[string][]string{} // device -> ids, spooled in this order
	total := 0
	var recoveries []string
	took := regexp.MustCompile(`msg="queue recovered".* pending=(\d+) .*took=(\S+)`)
	away := fmt.Sprintf("tcp://127.0.0.1:%d", peers.FreePort(t)) // nobody listens: alerts pile up
	for run := range runs {
		broker := m.URL
		if run%3 == 1 {
			broker = away
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestStoreForwardKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "EMBERWATCH_KILL_SPOOL="+spool, "EMBERWATCH_KILL_BROKER="+broker, fmt.Sprintf("EMBERWATCH_KILL_RUN=%02d", run))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		var lines []string
		read := make(chan struct{})
		go func() {
			defer close(read)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				mu.Lock()
				lines = append(lines, sc.Text())
				mu.Unlock()
			}
		}()
		time.Sleep(time.Duration(100+rand.IntN(700)) * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		<-read
		_ = cmd.Wait()
		for _, l := range lines {
			f := strings.Fields(l)
			if len(f) == 3 && f[0] == "Q" {
				confirmed[f[1]] = append(confirmed[f[1]], f[2])
				total++
			}
		}
		if mm := took.FindStringSubmatch(stderr.String()); mm != nil {
			recoveries = append(recoveries, mm[1]+" pending in "+mm[2])
		}
		if strings.Contains(stderr.String(), "panic") || strings.Contains(stderr.String(), "FAIL") {
			t.Fatalf("run %d: %s", run, stderr.String())
		}
	}
	// a last, clean start delivers what is left
	p := newPublisher(t, m.URL, func(o *Options) { o.SpoolDir = spool; o.Logger = quiet() })
	deadline := time.Now().Add(30 * time.Second)
	for p.Stats().AlertsQueued > 0 || !p.Stats().Connected {
		if time.Now().After(deadline) {
			t.Fatalf("spool not drained: %+v", p.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Acked by the broker is not yet delivered to the subscriber: wait
	// until every confirmed id has reached it (the order is judged below).
	arrived := func() bool {
		for dev, want := range confirmed {
			seen := map[string]bool{}
			for _, b := range rec.get(p.Topics().Alert(dev)) {
				var e struct{ ID string }
				if json.Unmarshal(b, &e) == nil {
					seen[e.ID] = true
				}
			}
			for _, id := range want {
				if !seen[id] {
					return false
				}
			}
		}
		return true
	}
	for deadline := time.Now().Add(10 * time.Second); !arrived() && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}

	dups, extra := 0, 0
	for dev, want := range confirmed {
		var ids []string
		seen := map[string]bool{}
		for _, b := range rec.get(p.Topics().Alert(dev)) {
			var e struct{ ID string }
			if err := json.Unmarshal(b, &e); err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			if seen[e.ID] {
				dups++
				continue
			}
			seen[e.ID] = true
			ids = append(ids, e.ID)
		}
		// the spooled alerts, in order; alerts spooled but not yet
		// confirmed when the child died may come between them, in order
		i := 0
		for _, id := range ids {
			if i < len(want) && id == want[i] {
				i++
			} else {
				extra++
			}
		}
		if i != len(want) {
			t.Errorf("%s: %d of %d spooled alerts arrived in order; the first missing or out of order: %s", dev, i, len(want), want[i])
		}
		for k := 1; k < len(ids); k++ {
			if ids[k] < ids[k-1] {
				t.Errorf("%s: %s after %s", dev, ids[k], ids[k-1])
				break
			}
		}
	}
	t.Logf("%d runs killed with SIGKILL: %d alerts spooled and confirmed, all arrived in order; %d more spooled before the kill and delivered; %d duplicates (same id); recoveries: %s",
		runs, total, extra, dups, strings.Join(recoveries, ", "))
}
