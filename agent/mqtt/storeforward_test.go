package mqtt

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/emberwatch/emberwatch/drivers"
)

// TestAlertsInOrderThroughTheWindow: many alerts, published faster than
// the broker acknowledges them, arrive all and in order, through a window
// of unacknowledged publishes, with the connection cut twice meanwhile.
func TestAlertsInOrderThroughTheWindow(t *testing.T) {
	b := startBroker(t)
	rec := subscribe(t, b.URL(), "emberwatch/v1/dc1/gw-1/alert/#")
	px := newProxy(t, b.Addr(), true)
	p := newPublisher(t, px.URL(), func(o *Options) { o.SpoolDir = t.TempDir(); o.Window = 8 })
	waitFor(t, "connected", func() bool { return p.Stats().Connected })
	const n = 600
	for i := range n {
		if err := p.PublishAlert("bms-1", fmt.Appendf(nil, `{"id":"a%d"}`, i)); err != nil {
			t.Fatal(err)
		}
		if i == n/3 || i == 2*n/3 {
			// a new connection, not the lost-handler count: paho may
			// never call that handler for a client the sender already
			// replaced
			connects := p.Stats().Connects
			px.Cut()
			waitFor(t, "connected again", func() bool { s := p.Stats(); return s.Connected && s.Connects > connects })
		}
	}
	waitFor(t, "all alerts acknowledged", func() bool { return p.Stats().AlertsQueued == 0 })
	waitFor(t, "all alerts received", func() bool {
		seen := map[string]bool{}
		for _, m := range rec.get(p.Topics().Alert("bms-1")) {
			seen[string(m)] = true
		}
		return len(seen) == n
	})
	seen := map[string]bool{}
	next := 0
	for _, m := range rec.get(p.Topics().Alert("bms-1")) {
		id := string(m)
		if seen[id] {
			continue // a resend after the cut: the same bytes
		}
		seen[id] = true
		if want := fmt.Sprintf(`{"id":"a%d"}`, next); id != want {
			t.Fatalf("alert %d: got %s, want %s", next, id, want)
		}
		next++
	}
	if next != n {
		t.Errorf("%d distinct alerts arrived, want %d", next, n)
	}
	if s := p.Stats(); s.AlertsInFlight != 0 || s.Lost < 2 {
		t.Errorf("stats %+v", s)
	}
}

// TestTelemetryBufferedLateAndThinned: telemetry produced while the
// broker is away waits in the spool, is thinned per device when its
// budget is reached, and is sent oldest first marked late; alerts
// published meanwhile all arrive.
func TestTelemetryBufferedLateAndThinned(t *testing.T) {
	b := startBroker(t)
	rec := subscribe(t, b.URL(), "emberwatch/v1/dc1/gw-1/#")
	px := newProxy(t, b.Addr(), true)
	dir := t.TempDir()
	p := newPublisher(t, px.URL(), func(o *Options) { o.SpoolDir = dir; o.TelemetryBytes = 64 << 10 })
	top := p.Topics()
	waitFor(t, "connected", func() bool { return p.Stats().Connected })
	px.Set(false)
	px.Cut()
	waitFor(t, "connection loss noticed", func() bool { return !p.Stats().Connected })

	const polls = 2000
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range polls {
		for _, dev := range []string{"bms-1", "bms-2"} {
			p.Publish(dev, t0.Add(time.Duration(i)*time.Second), []drivers.Reading{{Point: "battery.voltage", Value: float64(i), Unit: "V"}})
		}
		if i%100 == 0 {
			if err := p.PublishAlert("bms-1", fmt.Appendf(nil, `{"id":"a%d"}`, i)); err != nil {
				t.Fatal(err)
			}
		}
	}
	s := p.Stats()
	if s.TelemetryThinned == 0 {
		t.Errorf("no thinning: %+v", s)
	}
	if du := dirSize(t, filepath.Join(dir, "telemetry")); du > 64<<10+8<<10 {
		t.Errorf("telemetry spool takes %d bytes, budget 64 KiB", du)
	}
	px.Set(true)
	waitFor(t, "alerts after the outage", func() bool { return len(rec.get(top.Alert("bms-1"))) >= 20 })
	waitFor(t, "buffered telemetry sent", func() bool { return p.Stats().TelemetryQueued == 0 })
	waitFor(t, "buffered telemetry received", func() bool {
		return uint64(len(rec.get(top.Telemetry("bms-1")))+len(rec.get(top.Telemetry("bms-2")))) == p.Stats().TelemetrySent
	})
	for _, dev := range []string{"bms-1", "bms-2"} {
		msgs := rec.get(top.Telemetry(dev))
		if len(msgs) < 10 || len(msgs) > polls/2 {
			t.Fatalf("%s: %d telemetry messages of %d polls after thinning", dev, len(msgs), polls)
		}
		last := time.Time{}
		for _, m := range msgs {
			var tm struct {
				Late bool      `json:"late"`
				Time time.Time `json:"time"`
			}
			if err := json.Unmarshal(m, &tm); err != nil || !tm.Late {
				t.Fatalf("%s: %s not marked late: %v", dev, m, err)
			}
			if !tm.Time.After(last) {
				t.Fatalf("%s: %v after %v: not oldest first", dev, tm.Time, last)
			}
			last = tm.Time
		}
		// thinning keeps the oldest sample of each run
		var first struct{ Time time.Time }
		_ = json.Unmarshal(msgs[0], &first)
		if !first.Time.Equal(t0) {
			t.Errorf("%s: first sample %v, want the oldest %v", dev, first.Time, t0)
		}
	}
	if got := len(rec.get(top.Alert("bms-1"))); got != 20 {
		t.Errorf("%d alerts, want 20", got)
	}
	// live telemetry is not late
	p.Publish("bms-1", time.Now(), []drivers.Reading{{Point: "battery.voltage", Value: 1, Unit: "V"}})
	waitFor(t, "live telemetry", func() bool { return !bytes.Contains([]byte(rec.last(top.Telemetry("bms-1"))), []byte(`"late"`)) })
}

func dirSize(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	_ = filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// TestSpoolMigration: alert files of the spool format before the queue
// are sent, oldest first, and removed.
func TestSpoolMigration(t *testing.T) {
	b := startBroker(t)
	rec := subscribe(t, b.URL(), "emberwatch/v1/dc1/gw-1/alert/#")
	dir := t.TempDir()
	for i, id := range []string{"old-1", "old-2"} {
		f := filepath.Join(dir, fmt.Sprintf("%020d-%06d.alert", 1000+i, i))
		if err := os.WriteFile(f, fmt.Appendf(nil, `{"topic":"emberwatch/v1/dc1/gw-1/alert/bms-1","payload":{"id":"%s"}}`, id), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := newPublisher(t, b.URL(), func(o *Options) { o.SpoolDir = dir })
	waitFor(t, "migrated alerts", func() bool { return len(rec.get(p.Topics().Alert("bms-1"))) == 2 })
	if got := rec.get(p.Topics().Alert("bms-1")); string(got[0]) != `{"id":"old-1"}` || string(got[1]) != `{"id":"old-2"}` {
		t.Errorf("got %q", got)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.alert")); len(m) != 0 {
		t.Errorf("left: %v", m)
	}
}

func TestMarkLate(t *testing.T) {
	for in, want := range map[string]string{
		`{"time":"x"}`: `{"late":true,"time":"x"}`,
		`{}`:           `{"late":true}`,
		`[1]`:          `[1]`,
	} {
		if got := string(markLate([]byte(in))); got != want {
			t.Errorf("markLate(%s) = %s, want %s", in, got, want)
		}
	}
}

func TestClassify(t *testing.T) {
	for _, c := range []struct {
		err  error
		want error
	}{
		{x509.UnknownAuthorityError{}, ErrUnknownAuthority},
		{fmt.Errorf("tls: %w", x509.CertificateInvalidError{Reason: x509.Expired}), ErrServerCertExpired},
		{x509.HostnameError{Certificate: &x509.Certificate{}, Host: "broker"}, ErrServerName},
		{packets.ErrorRefusedNotAuthorised, ErrNotAuthorized},
		{packets.ErrorRefusedBadUsernameOrPassword, ErrNotAuthorized},
		{errors.New("remote error: tls: certificate required"), ErrClientCertRejected},
		{errors.New("connection refused"), nil},
		{errors.New("write tcp 127.0.0.1:1->127.0.0.1:2: write: connection reset by peer"), ErrHandshakeClosed},
	} {
		got := classify("ssl://gw:secret@127.0.0.1:8883", tlsSide{on: true, clientCert: true}, c.err)
		if c.want != nil && !errors.Is(got, c.want) {
			t.Errorf("classify(%v) = %v, want %v", c.err, got, c.want)
		}
		if strings.Contains(got.Error(), "secret") {
			t.Errorf("password in %v", got)
		}
	}
}

func TestSpoolSurvivesCloseWithoutBroker(t *testing.T) {
	dir := t.TempDir()
	p := newPublisher(t, "tcp://127.0.0.1:1", func(o *Options) { o.SpoolDir = dir })
	if err := p.PublishReliable("rack-a", "emberwatch/v1/dc1/shed/rack-a", []byte(`{"seq":1}`), false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_ = p.Close(ctx)
	b := startBroker(t)
	rec := subscribe(t, b.URL(), "emberwatch/v1/dc1/shed/#")
	newPublisher(t, b.URL(), func(o *Options) { o.SpoolDir = dir; o.ClientID = "again" })
	waitFor(t, "spooled command", func() bool { return rec.last("emberwatch/v1/dc1/shed/rack-a") == `{"seq":1}` })
}
