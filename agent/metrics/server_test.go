package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/mqtt"
	"github.com/emberwatch/emberwatch/agent/poll"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestServer(t *testing.T) {
	r := NewRegistry()
	a := NewAgent(r, "v1.2.3")
	t0 := time.Unix(1772323200, 500_000_000)
	a.Bind(r, func() []poll.Stats {
		return []poll.Stats{
			{Device: "bms-1", Polls: 120, Errors: 2, LastDuration: 12 * time.Millisecond, LastSuccess: t0},
			{Device: "ups-1", Polls: 7, Errors: 7, ConsecutiveFailures: 7, Stale: true},
		}
	}, func() mqtt.Stats {
		return mqtt.Stats{Connected: true, Connects: 2, Lost: 1, TelemetrySent: 100, AlertsSent: 3, TelemetryQueued: 4, AlertsQueued: 1}
	})

	s, err := Listen("127.0.0.1:0", r, quiet())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()

	url := "http://" + s.Addr().String()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != ContentType {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, line := range []string{
		`emberwatch_polls_total{device="bms-1"} 120`,
		`emberwatch_poll_errors_total{device="ups-1"} 7`,
		`emberwatch_poll_duration_seconds{device="bms-1"} 0.012`,
		`emberwatch_poll_last_success_timestamp_seconds{device="bms-1"} 1.7723232005e+09`,
		`emberwatch_poll_last_success_timestamp_seconds{device="ups-1"} 0`,
		`emberwatch_device_stale{device="ups-1"} 1`,
		`emberwatch_poll_consecutive_failures{device="ups-1"} 7`,
		`emberwatch_mqtt_connected 1`,
		`emberwatch_mqtt_connections_lost_total 1`,
		`emberwatch_mqtt_sent_total{kind="alert"} 3`,
		`emberwatch_mqtt_queue_depth{kind="telemetry"} 4`,
		`emberwatch_build_info{version="v1.2.3",goversion="go`,
		`# TYPE emberwatch_polls_total counter`,
		`# TYPE go_goroutines gauge`,
	} {
		if !strings.Contains(string(body), "\n"+line) {
			t.Errorf("no line %q in\n%s", line, body)
		}
	}
	checkExposition(t, string(body))

	for _, tt := range []struct {
		method, path string
		status       int
	}{{"POST", "/metrics", 405}, {"GET", "/", 404}, {"HEAD", "/metrics", 200}} {
		req, _ := http.NewRequest(tt.method, url+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
		}
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Serve did not return")
	}
	if _, err := http.Get(url + "/metrics"); err == nil {
		t.Fatal("still serving after cancel")
	}
}

func TestListenError(t *testing.T) {
	_, err := Listen("127.0.0.1:notaport", NewRegistry(), quiet())
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:notaport") {
		t.Fatalf("err = %v, want one naming the address", err)
	}
}

// checkExposition checks the grammar of the text format: comment lines,
// then samples "name{labels} value" with every family TYPEd before its
// samples and no family split.
func checkExposition(t *testing.T, text string) {
	t.Helper()
	typed := map[string]bool{}
	done := map[string]bool{}
	current := ""
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		if strings.HasPrefix(line, "# ") {
			f := strings.Fields(line)
			if len(f) < 3 || (f[1] != "HELP" && f[1] != "TYPE") {
				t.Errorf("line %d: bad comment %q", i+1, line)
				continue
			}
			if f[1] == "TYPE" {
				if typed[f[2]] {
					t.Errorf("line %d: %s typed twice", i+1, f[2])
				}
				typed[f[2]] = true
			}
			if f[2] != current {
				done[current] = true
				current = f[2]
			}
			continue
		}
		name := line
		if j := strings.IndexAny(line, "{ "); j >= 0 {
			name = line[:j]
		}
		if !metricName.MatchString(name) || !typed[name] || done[name] || name != current {
			t.Errorf("line %d: sample %q out of its family", i+1, line)
		}
		if j := strings.LastIndexByte(line, ' '); j < 0 || j == len(line)-1 {
			t.Errorf("line %d: no value in %q", i+1, line)
		}
	}
}
