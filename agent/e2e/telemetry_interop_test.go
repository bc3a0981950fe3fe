//go:build interop

package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/agent/mqtt"
	"github.com/emberwatch/emberwatch/drivers/modbus"
	"github.com/emberwatch/emberwatch/testbench/modbussim"
	"github.com/emberwatch/emberwatch/testbench/peers"
)

// rawFor is a raw integer for a type whose bytes all differ, so that any
// swap of bytes or words changes the value.
func rawFor(tp modbus.Type) int64 {
	switch tp {
	case modbus.Uint16:
		return 0x0102
	case modbus.Int16:
		return -0x0102
	case modbus.Uint32:
		return 0x01020304
	case modbus.Int32:
		return -0x01020304
	case modbus.Uint64: // below 2^53, so that a float64 carries it exactly
		return 0x0001020304050607
	case modbus.Int64:
		return -0x0001020304050607
	case modbus.Bit:
		return 1
	}
	return 0
}

// sourceFor gives every point of p a value its type can carry (within the
// profile's bounds, avoiding its invalid markers) and a text to text
// points.
func sourceFor(p *modbus.Profile) modbussim.Map {
	m := modbussim.Map{Values: map[string]float64{}, Text: map[string]string{}}
	for i, pt := range p.Points {
		scale := 1.0
		if pt.Scale != nil {
			scale = *pt.Scale
		}
		switch {
		case pt.Type == modbus.String:
			m.Text[pt.Point] = strings.ToUpper(fmt.Sprintf("EW%dX%s", i, strings.Repeat("Z", 2*pt.Length)))[:2*pt.Length-1]
			continue
		case pt.Enum != nil:
			keys := make([]int64, 0, len(pt.Enum))
			for k := range pt.Enum {
				keys = append(keys, k)
			}
			sort.Slice(keys, func(a, b int) bool { return keys[a] < keys[b] })
			m.Text[pt.Point] = pt.Enum[keys[len(keys)/2]]
			continue
		case pt.Type == modbus.Float32:
			m.Values[pt.Point] = 1234.5678*scale + pt.Offset
			continue
		case pt.Type == modbus.Float64:
			m.Values[pt.Point] = -12345.678901234*scale + pt.Offset
			continue
		}
		raw := rawFor(pt.Type)
		if pt.Min != nil || pt.Max != nil || scale != 1 {
			// shipped profiles: small distinct values in range
			raw = int64(i%40 + 3)
			if pt.Type == modbus.Int16 || pt.Type == modbus.Int32 {
				raw = -raw
			}
			if pt.Min != nil && pt.Max != nil {
				raw = int64(math.Round(((*pt.Min+*pt.Max)/2 - pt.Offset) / scale))
			}
		}
		for _, bad := range pt.Invalid {
			if raw == bad {
				raw++
			}
		}
		m.Values[pt.Point] = float64(raw)*scale + pt.Offset
	}
	return m
}

// orderBytes lays big-endian bytes b out in a byte order, independently
// of the driver's codec: ABCD as is, DCBA reversed, BADC bytes swapped in
// each word, CDAB words in reverse order.
func orderBytes(b []byte, order string) []byte {
	out := make([]byte, len(b))
	n := len(b) / 2
	for i := 0; i < n; i++ {
		hi, lo := b[2*i], b[2*i+1]
		j := i
		if order == "CDAB" || order == "DCBA" {
			j = n - 1 - i
		}
		if order == "BADC" || order == "DCBA" {
			hi, lo = lo, hi
		}
		out[2*j], out[2*j+1] = hi, lo
	}
	return out
}

// checkLayout compares the registers the simulator serves for the
// all-types profile with the layout computed here from the raw values, so
// that a byte-order mistake shared by the simulator's encoder and the
// driver's decoder cannot pass unseen.
func checkLayout(t *testing.T, p *modbus.Profile, sim *modbussim.Sim, src modbussim.Map) {
	t.Helper()
	for _, pt := range p.Points {
		if pt.Scale != nil || pt.Type == modbus.String || pt.Type == modbus.Bit {
			continue
		}
		order := pt.Order
		if order == "" {
			order = p.ByteOrder
		}
		v := src.Values[pt.Point]
		b := make([]byte, 2*pt.Words())
		switch pt.Type {
		case modbus.Uint16, modbus.Int16:
			binary.BigEndian.PutUint16(b, uint16(int64(v)))
		case modbus.Uint32, modbus.Int32:
			binary.BigEndian.PutUint32(b, uint32(int64(v)))
		case modbus.Uint64, modbus.Int64:
			binary.BigEndian.PutUint64(b, uint64(rawFor(pt.Type)))
		case modbus.Float32:
			binary.BigEndian.PutUint32(b, math.Float32bits(float32(v)))
		case modbus.Float64:
			binary.BigEndian.PutUint64(b, math.Float64bits(v))
		}
		b = orderBytes(b, order)
		served := sim.Registers(pt.Table, pt.Address, pt.Words())
		for i, w := range served {
			if want := binary.BigEndian.Uint16(b[2*i:]); w != want {
				t.Errorf("%s (%s %s): register %d is %#04x, want %#04x", pt.Point, pt.Type, order, int(pt.Address)+i, w, want)
			}
		}
	}
}

// compare checks one telemetry message against what the simulator served
// (exactly) and against the values it was given (to the register's
// resolution). A partial message (a poll of which a request timed out)
// is checked on the points it carries.
func compare(t *testing.T, device string, tm mqtt.Telemetry, p *modbus.Profile, sim *modbussim.Sim, src modbussim.Map, partial bool) {
	t.Helper()
	vals, texts := sim.Values(), sim.Texts()
	servedPoints := map[string]bool{}
	for k := range vals {
		servedPoints[k] = true
	}
	for k := range texts {
		servedPoints[k] = true
	}
	if len(tm.Points) != len(servedPoints) && !partial {
		t.Errorf("%s: %d points in telemetry, the simulator serves %d", device, len(tm.Points), len(servedPoints))
	}
	for _, pt := range p.Points {
		got, ok := tm.Points[pt.Point]
		if !ok {
			if !partial {
				t.Errorf("%s: %s missing from telemetry", device, pt.Point)
			}
			continue
		}
		if text, isText := texts[pt.Point]; isText {
			if got.Text != text || got.Text != src.Text[pt.Point] {
				t.Errorf("%s: %s = %q, served %q (given %q)", device, pt.Point, got.Text, text, src.Text[pt.Point])
			}
			continue
		}
		want := vals[pt.Point]
		g := got.Float()
		if !(g == want || math.IsNaN(g) && math.IsNaN(want)) {
			t.Errorf("%s: %s (%s) = %v, served %v", device, pt.Point, pt.Type, g, want)
		}
		given := src.Values[pt.Point]
		tol := 1e-6 * math.Abs(given)
		if pt.Scale != nil {
			tol += math.Abs(*pt.Scale) / 2
		}
		if math.Abs(g-given) > tol {
			t.Errorf("%s: %s (%s %s) = %v, the simulator was given %v", device, pt.Point, pt.Type, pt.Order, g, given)
		}
	}
}

// TestTelemetryMatchesSimulator: every shipped profile and the all-types
// fixture, each served over Modbus TCP (one gateway, a unit per profile),
// RTU on a pty pair and RTU over TCP (a bus, a slave per profile), polled
// by the agent and published through mosquitto: the subscriber's
// telemetry equals what the simulators served.
func TestTelemetryMatchesSimulator(t *testing.T) {
	m := peers.StartMosquitto(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	names := []string{"all-types"}
	shipped, _ := filepath.Glob("../../firmware-config/profiles/modbus/*.yaml")
	for _, f := range shipped {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".yaml"))
	}
	profiles := map[string]*modbus.Profile{}
	for _, n := range names {
		file := filepath.Join("testdata/profiles/modbus", n+".yaml")
		if n != "all-types" {
			file = filepath.Join("../../firmware-config/profiles/modbus", n+".yaml")
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		p, err := modbus.ParseProfile(file, data)
		if err != nil {
			t.Fatal(err)
		}
		profiles[n] = p
	}

	const baud = 115200
	type served struct {
		sim *modbussim.Sim
		src modbussim.Map
		p   *modbus.Profile
	}
	sims := map[string]served{}
	var devices []deviceLine
	pty, err := modbussim.OpenPTY()
	if err != nil {
		t.Fatalf("pty: %v", err)
	}
	defer pty.Close()
	for _, tr := range []string{"tcp", "rtu", "rtutcp"} {
		bus := modbussim.NewBus()
		for i, n := range names {
			p := profiles[n]
			src := sourceFor(p)
			sim, err := modbussim.New(p, src, modbussim.Options{Name: tr + "-" + n})
			if err != nil {
				t.Fatal(err)
			}
			if err := bus.Add(uint8(i+1), sim); err != nil {
				t.Fatal(err)
			}
			if n == "all-types" {
				checkLayout(t, p, sim, src)
			}
			sims[tr+"-"+n] = served{sim, src, p}
		}
		var address string
		switch tr {
		case "tcp":
			a, err := bus.ServeTCP(ctx, "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			address = "tcp://" + a.String()
		case "rtu":
			go func() { _ = bus.ServeRTU(ctx, pty.Server, baud) }()
			address = fmt.Sprintf("rtu://%s?baud=%d", pty.Path, baud)
		case "rtutcp":
			a, err := bus.ServeRTUOverTCP(ctx, "127.0.0.1:0", baud)
			if err != nil {
				t.Fatal(err)
			}
			address = "rtutcp://" + a.String()
		}
		for i, n := range names {
			devices = append(devices, deviceLine{name: tr + "-" + n, address: address, unit: i + 1, profile: n,
				interval: time.Second, timeout: 500 * time.Millisecond})
		}
	}

	sub := subscribe(t, m.URL)
	a := startAgent(t, m.URL, devices)
	// Two complete polls of every device. On a loaded machine a request
	// now and then takes longer than its 500 ms timeout (a paced reply of
	// a few milliseconds stalled mid-way in a parallel interop run), and
	// that poll's message lacks the points of that request: it is checked
	// on the points it carries, and its failure must be a timeout.
	complete := func(d string) []mqtt.Telemetry {
		var out []mqtt.Telemetry
		for _, tm := range sub.messages(d) {
			if len(tm.Points) == len(sims[d].p.Points) {
				out = append(out, tm)
			}
		}
		return out
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var missing []string
		for _, d := range devices {
			if len(complete(d.name)) < 2 {
				missing = append(missing, d.name)
			}
		}
		if len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 30s, fewer than 2 complete telemetry messages from %v", missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
	a.stop(t)

	for _, d := range devices {
		s := sims[d.name]
		ms := sub.messages(d.name)
		for _, tm := range ms {
			compare(t, d.name, tm, s.p, s.sim, s.src, len(tm.Points) != len(s.p.Points))
		}
		t.Logf("%s: %d messages, %d complete, %d points each, all equal to what was served", d.name, len(ms), len(complete(d.name)), len(s.p.Points))
	}
	failed := regexp.MustCompile(`msg="poll failed" device=(\S+) err="((?:[^"\\]|\\.)*)"`)
	for _, m := range failed.FindAllStringSubmatch(a.log.String(), -1) {
		if !strings.Contains(m[2], "timeout") && !strings.Contains(m[2], "deadline exceeded") {
			t.Errorf("%s: a poll failed other than by a timeout: %s", m[1], m[2])
		}
	}
	for dev, st := range a.deviceStats() {
		if st[1] != 0 {
			t.Logf("%s: %d timed-out polls of %d", dev, st[1], st[0])
		}
	}
	if len(sub.bad) > 0 {
		t.Errorf("undecodable telemetry: %v", sub.bad)
	}
}
