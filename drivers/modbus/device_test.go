package modbus

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
	firmwareconfig "github.com/emberwatch/emberwatch/firmware-config"
)

// shippedProfiles loads every Modbus profile in firmware-config (SunSpec
// model definitions aside).
func shippedProfiles(t testing.TB) []*Profile {
	t.Helper()
	fsys := firmwareconfig.Profiles()
	names, err := fs.Glob(fsys, "modbus/*.yaml")
	if err != nil || len(names) == 0 {
		t.Fatalf("no profiles: %v", err)
	}
	var out []*Profile
	for _, n := range names {
		p, err := LoadProfile(fsys, n)
		if err != nil {
			t.Fatalf("%s:\n%v", n, err)
		}
		if p.Name != strings.TrimSuffix(path.Base(n), ".yaml") {
			t.Errorf("%s: name %q is not the file's name", n, p.Name)
		}
		if p.Source == "" {
			t.Errorf("%s: no source", n)
		}
		out = append(out, p)
	}
	return out
}

// serveProfile fills unit of s with a distinct value for every point of p
// and returns the readings a poll must produce.
func serveProfile(t testing.TB, s *testServer, unit byte, p *Profile) map[string]drivers.Reading {
	t.Helper()
	want := map[string]drivers.Reading{}
	for i := range p.Points {
		pt := &p.Points[i]
		v, text := float64(i%50+10)*pt.scale(), ""
		switch {
		case pt.Type == String:
			text = fmt.Sprintf("P%d", i)
		case pt.Enum != nil:
			for _, e := range pt.Enum {
				text = e
				break
			}
		case pt.Type == Float32 || pt.Type == Float64:
			v = float64(i%50) + 0.5
		}
		words, err := pt.Encode(v, text, p.ByteOrder)
		if err != nil {
			t.Fatalf("%s: encode %s: %v", p.Name, pt.Point, err)
		}
		if isBitTable(pt.Table) {
			s.setBit(unit, pt.Address, words[0]&1 != 0)
		} else {
			s.setTable(unit, pt.Table, pt.Address, words...)
		}
		dv, dt, err := pt.Decode(words, p.ByteOrder)
		if err != nil {
			t.Fatal(err)
		}
		want[pt.Point] = drivers.Reading{Point: pt.Point, Value: dv, Text: dt, Unit: pt.Unit}
	}
	return want
}

func checkReadings(t *testing.T, got []drivers.Reading, want map[string]drivers.Reading) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d readings, want %d", len(got), len(want))
	}
	for _, r := range got {
		w, ok := want[r.Point]
		if !ok {
			t.Errorf("unexpected reading %s", r.Point)
			continue
		}
		same := r.Text == w.Text && (r.Value == w.Value || math.IsNaN(r.Value) && math.IsNaN(w.Value))
		if !same || r.Unit != w.Unit || r.Time.IsZero() {
			t.Errorf("%s = %v %q %s, want %v %q %s", r.Point, r.Value, r.Text, r.Unit, w.Value, w.Text, w.Unit)
		}
	}
}

// TestShippedProfilesEndToEnd serves every shipped profile and polls it
// over each transport: every type and byte order in the profiles decodes
// to what was served.
func TestShippedProfilesEndToEnd(t *testing.T) {
	for _, p := range shippedProfiles(t) {
		for _, k := range clientKinds {
			t.Run(p.Name+"/"+k.name, func(t *testing.T) {
				s := newTestServer()
				want := serveProfile(t, s, 3, p)
				c := k.dial(t, s, ClientOptions{})
				defer c.Close()
				d := NewDevice("dev-1", 3, p, c, Options{})
				got, err := d.Poll(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				checkReadings(t, got, want)
				if st := d.Stats(); st.Polls != 1 || st.Errors != 0 || int(s.reqs.Load()) != len(d.Plan()) {
					t.Errorf("stats %+v after %d requests, plan of %d", st, s.reqs.Load(), len(d.Plan()))
				}
			})
		}
	}
}

func TestRackBMSValues(t *testing.T) {
	p, err := LoadProfile(firmwareconfig.Profiles(), "modbus/generic-rack-bms.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(p.Points); n != 8+8*(3+16) {
		t.Errorf("%d points", n)
	}
	s := newTestServer()
	serveProfile(t, s, 1, p)
	s.set(1, 100+2*32, 0x7FFF)   // module 3 temperature sensor open
	s.set(1, 100+4*32, 0x00F5)   // module 5 at 24.5 C
	s.set(1, 12, 0xFF38, 0xFFFF) // -2.00 A, INT32 CDAB
	d := NewDevice("bms-1", 1, p, NewTCPClient(listenTCP(t, s), ClientOptions{}), Options{})
	got, err := d.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]drivers.Reading{}
	for _, r := range got {
		m[r.Point] = r
	}
	if v := m["battery.module.3.temperature"].Value; !math.IsNaN(v) {
		t.Errorf("open sensor = %v, want NaN", v)
	}
	if v := m["battery.module.5.temperature"].Value; math.Abs(v-24.5) > 1e-9 {
		t.Errorf("module 5 = %v, want 24.5", v)
	}
	if v := m["battery.current"].Value; math.Abs(v+2) > 1e-9 {
		t.Errorf("current = %v, want -2", v)
	}
	if m["device.model"].Text == "" {
		t.Error("no model string")
	}
	for _, rq := range d.Plan() {
		if int(rq.Start)+int(rq.Count) > 40 && rq.Start < 100 {
			t.Errorf("request %+v reads the reserved block", rq)
		}
	}
}

func TestDevicePartialAndRetries(t *testing.T) {
	p, err := ParseProfile("p.yaml", []byte("max_gap: 0\nregisters:\n"+
		"  - {point: battery.voltage, address: 0}\n"+
		"  - {point: battery.current, address: 10, type: s16}\n"+
		"  - {point: battery.charge, address: 20}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer()
	s.set(1, 0, 530)
	s.set(1, 10, 5)
	s.set(1, 20, 90)
	s.hook = func(n int, unit, fn byte, addr, count uint16) behaviour {
		switch {
		case addr == 10:
			return behaviour{exception: ExIllegalAddress}
		case addr == 20 && n < 5:
			return behaviour{exception: ExDeviceBusy}
		}
		return behaviour{}
	}
	d := NewDevice("bms-2", 1, p, NewTCPClient(listenTCP(t, s), ClientOptions{}), Options{RetryBackoff: time.Millisecond})
	got, err := d.Poll(context.Background())
	if len(got) != 2 || got[0].Point != "battery.voltage" || got[1].Point != "battery.charge" || got[1].Value != 90 {
		t.Errorf("partial readings = %+v", got)
	}
	var ee *ExceptionError
	if !errors.As(err, &ee) || ee.Code != ExIllegalAddress || ee.Device != "bms-2" {
		t.Fatalf("error %v is not the illegal address exception of bms-2", err)
	}
	if want := "bms-2: holding 10..10 (battery.current)"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
	st := d.Stats()
	if st.Exceptions != 3 || st.Reconnects != 0 || st.Errors != 1 || st.ConsecutiveFailures != 0 {
		t.Errorf("stats = %+v, want 3 exceptions (1 illegal address, 2 busy retried), no reconnects", st)
	}
}

// TestSharedBusDeadSlave polls two healthy units and a dead one on one
// RTU bus, each device in its own loop: the healthy ones keep their
// interval, the dead one costs at most its timeout per poll and is then
// polled with backoff.
func TestSharedBusDeadSlave(t *testing.T) {
	p, err := ParseProfile("p.yaml", []byte("registers:\n  - {point: battery.voltage, address: 0}\n  - {point: battery.charge, address: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer()
	s.set(1, 0, 1, 2)
	s.set(2, 0, 3, 4)
	c := NewRTUClient(SerialConfig{Device: ptyBus(t, s, 115200), Baud: 115200}, ClientOptions{})
	defer c.Close()
	opts := Options{Timeout: 80 * time.Millisecond, FailAfter: 2, DeadBackoff: 400 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	healthy := opts
	healthy.Timeout = time.Second
	devs := []*Device{NewDevice("ok-1", 1, p, c, healthy), NewDevice("ok-2", 2, p, c, healthy), NewDevice("dead-9", 9, p, c, opts)}
	errs := make([]error, len(devs))
	const interval = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	times := make([][]time.Time, len(devs))
	durs := make([][]time.Duration, len(devs))
	var wg sync.WaitGroup
	for i, d := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(interval)
			defer tick.Stop()
			for {
				start := time.Now()
				got, err := d.Poll(ctx)
				if ctx.Err() != nil {
					return
				}
				durs[i] = append(durs[i], time.Since(start))
				if err == nil && len(got) == 2 {
					times[i] = append(times[i], start)
				} else if errs[i] == nil {
					errs[i] = err
				}
				select {
				case <-tick.C:
				case <-ctx.Done():
					return
				}
			}
		}()
	}
	wg.Wait()
	for i := 0; i < 2; i++ {
		ts := times[i]
		if len(ts) < 12 {
			t.Fatalf("%s: %d good polls in 2 s at a 100 ms interval; first error %v", devs[i].Name(), len(ts), errs[i])
		}
		// The first poll opens the line; measure from the second.
		ts = ts[1:]
		var worst time.Duration
		for k := 1; k < len(ts); k++ {
			worst = max(worst, ts[k].Sub(ts[k-1]))
		}
		mean := ts[len(ts)-1].Sub(ts[0]) / time.Duration(len(ts)-1)
		t.Logf("%s: %d polls, mean interval %v, worst %v", devs[i].Name(), len(ts), mean, worst)
		// Timing slack for a loaded machine and the race detector: a
		// healthy poll may wait behind one dead request (its timeout).
		if mean > interval*115/100 || worst > interval+2*opts.Timeout+50*time.Millisecond {
			t.Errorf("%s: mean interval %v, worst %v: the dead slave delays it", devs[i].Name(), mean, worst)
		}
	}
	dead := devs[2].Stats()
	t.Logf("dead slave: %+v", dead)
	// A dead poll costs its timeout plus the wait for the line; judge the
	// median, so one poll stalled by a loaded machine does not fail it.
	ds := slices.Clone(durs[2])
	slices.Sort(ds)
	if len(ds) > 0 {
		if med := ds[len(ds)/2]; med > opts.Timeout+80*time.Millisecond {
			t.Errorf("dead slave polls: median %v, more than its timeout %v (all %v)", med, opts.Timeout, ds)
		}
	}
	if dead.Timeouts == 0 || dead.Skipped == 0 || dead.Polls > 8 {
		t.Errorf("dead slave stats %+v: want timeouts, skipped polls and backoff", dead)
	}
}

// BenchmarkPollTCP500 polls the 500-register profile of BenchmarkPlan500
// over Modbus TCP on the loopback, and reports the requests of a poll.
func BenchmarkPollTCP500(b *testing.B) {
	p := profile500()
	s := newTestServer()
	for _, pt := range p.Points {
		s.set(1, pt.Address, make([]uint16, pt.Words())...)
	}
	c := NewTCPClient(listenTCP(b, s), ClientOptions{})
	defer c.Close()
	d := NewDevice("bms-bench", 1, p, c, Options{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		got, err := d.Poll(ctx)
		if err != nil || len(got) != len(p.Points) {
			b.Fatalf("%d readings, %v", len(got), err)
		}
	}
	b.ReportMetric(float64(len(d.Plan())), "requests/poll")
}

func TestDeviceBits(t *testing.T) {
	p, err := ParseProfile("pdu.yaml", []byte(`registers:
  - point: outlet.{n}.status
    register: coil
    type: bit
    enum: {0: "off", 1: "on"}
    repeat: [{var: n, count: 3}]
  - point: ups.status
    register: discrete
    address: 40
    type: bit
    enum: {0: OL, 1: OB}
`))
	if err != nil {
		t.Fatal(err)
	}
	s := newTestServer()
	s.set(1, 0, 0) // the unit exists
	s.setBit(1, 1, true)
	s.setBit(1, 40, true)
	d := NewDevice("pdu-1", 1, p, NewTCPClient(listenTCP(t, s), ClientOptions{}), Options{})
	got, err := d.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var s2 []string
	for _, r := range got {
		s2 = append(s2, r.Point+"="+r.Text)
	}
	if want := "[outlet.1.status=off outlet.2.status=on outlet.3.status=off ups.status=OB]"; fmt.Sprint(s2) != want {
		t.Errorf("readings %v, want %s", s2, want)
	}
}
