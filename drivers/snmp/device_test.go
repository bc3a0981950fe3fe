package snmp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/emberwatch/emberwatch/drivers"
	"github.com/gosnmp/gosnmp"
)

// testProfile is an APC-like UPS: a high-precision battery temperature in
// tenths with an integer fallback, a status enum, and a probe table whose
// absent probe reports -1.
const testProfile = `
name: test-ups
sys_object_id: [1.3.6.1.4.1.318.1.3.27]
scalars:
  - point: battery.temperature
    oid: 1.3.6.1.4.1.318.1.1.1.2.3.2.0
    scale: 0.1
    sentinels: [-1, -410, 65535]
  - point: battery.temperature
    oid: 1.3.6.1.4.1.318.1.1.1.2.2.2.0
    sentinels: [-1]
  - point: battery.voltage
    oid: 1.3.6.1.4.1.318.1.1.1.2.3.4.0
    scale: 0.1
  - point: battery.runtime
    oid: 1.3.6.1.4.1.318.1.1.1.2.2.3.0
    ticks: true
  - point: ups.status
    oid: 1.3.6.1.4.1.318.1.1.1.4.1.1.0
    enum: {2: OL, 3: OB}
  - point: input.voltage
    oid: 1.3.6.1.4.1.318.1.1.1.3.3.1.0
    scale: 0.1
tables:
  - name: probes
    index: position
    columns:
      - point: ambient.N.temperature
        oid: 1.3.6.1.4.1.318.1.1.10.2.3.2.1.3
        sentinels: [-1]
        fahrenheit_when: {oid: 1.3.6.1.4.1.318.1.1.10.2.3.2.1.4, values: [2]}
`

func mustProfile(t *testing.T, src string) *Profile {
	t.Helper()
	p, err := ParseProfile("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func upsAgent(v gosnmp.SnmpVersion) *fakeAgent {
	f := newFake(v)
	f.set("1.3.6.1.4.1.318.1.1.1.2.3.2.0", gosnmp.Gauge32, uint(234)).
		set("1.3.6.1.4.1.318.1.1.1.2.2.2.0", gosnmp.Gauge32, uint(23)).
		set("1.3.6.1.4.1.318.1.1.1.2.3.4.0", gosnmp.Integer, 547).
		set("1.3.6.1.4.1.318.1.1.1.2.2.3.0", gosnmp.TimeTicks, uint32(10976200)).
		set("1.3.6.1.4.1.318.1.1.1.4.1.1.0", gosnmp.Integer, 3).
		set("1.3.6.1.4.1.318.1.1.10.2.3.2.1.3.1", gosnmp.Integer, 23).
		set("1.3.6.1.4.1.318.1.1.10.2.3.2.1.3.2", gosnmp.Integer, -1).
		set("1.3.6.1.4.1.318.1.1.10.2.3.2.1.3.3", gosnmp.Integer, 77).
		set("1.3.6.1.4.1.318.1.1.10.2.3.2.1.4.1", gosnmp.Integer, 1).
		set("1.3.6.1.4.1.318.1.1.10.2.3.2.1.4.2", gosnmp.Integer, 1).
		set("1.3.6.1.4.1.318.1.1.10.2.3.2.1.4.3", gosnmp.Integer, 2).
		set("1.3.6.1.4.1.318.1.1.10.2.3.2.1.5.1", gosnmp.Integer, 2)
	return f
}

func byPoint(rs []drivers.Reading) map[string]drivers.Reading {
	m := map[string]drivers.Reading{}
	for _, r := range rs {
		m[r.Point] = r
	}
	return m
}

func TestPoll(t *testing.T) {
	for _, v := range []gosnmp.SnmpVersion{gosnmp.Version1, gosnmp.Version2c} {
		t.Run(v.String(), func(t *testing.T) {
			f := upsAgent(v)
			d := NewDevice("ups-1", mustProfile(t, testProfile), f, Options{})
			rs, err := d.Poll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got := byPoint(rs)
			want := map[string]float64{
				"battery.temperature":   23.4,
				"battery.voltage":       54.7,
				"battery.runtime":       109762,
				"ambient.1.temperature": 23,
				"ambient.2.temperature": math.NaN(),
				"ambient.3.temperature": 25,
			}
			for p, w := range want {
				r, ok := got[p]
				if !ok {
					t.Errorf("%s missing", p)
					continue
				}
				if math.IsNaN(w) != math.IsNaN(r.Value) || (!math.IsNaN(w) && math.Abs(r.Value-w) > 1e-9) {
					t.Errorf("%s = %v, want %v", p, r.Value, w)
				}
			}
			if got["ups.status"].Text != "OB" {
				t.Errorf("ups.status = %q, want OB", got["ups.status"].Text)
			}
			if _, ok := got["input.voltage"]; ok {
				t.Errorf("input.voltage: absent object became a reading")
			}
			if got["battery.temperature"].Unit != "°C" {
				t.Errorf("unit %q", got["battery.temperature"].Unit)
			}
			if len(rs) != 7 {
				t.Errorf("%d readings, want 7: %v", len(rs), rs)
			}
			t.Logf("requests: %v", f.log)
		})
	}
}

func TestPollFallbackAndSentinels(t *testing.T) {
	tests := []struct {
		name string
		hp   any // high-precision value, nil for absent
		want float64
	}{
		{"precise", 234, 23.4},
		{"precise absent: integer fallback", nil, 23},
		{"precise -1: fallback", -1, 23},
		{"precise -410: fallback, never -41", -410, 23},
		{"precise 65535: fallback", 65535, 23},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := upsAgent(gosnmp.Version2c)
			if tc.hp == nil {
				delete(f.vals, "1.3.6.1.4.1.318.1.1.1.2.3.2.0")
			} else {
				f.set("1.3.6.1.4.1.318.1.1.1.2.3.2.0", gosnmp.Integer, tc.hp)
			}
			rs, err := NewDevice("ups", mustProfile(t, testProfile), f, Options{}).Poll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if r := byPoint(rs)["battery.temperature"]; r.Value != tc.want {
				t.Errorf("battery.temperature = %v, want %v", r.Value, tc.want)
			}
		})
	}
	t.Run("both sentinels: NaN", func(t *testing.T) {
		f := upsAgent(gosnmp.Version2c)
		f.set("1.3.6.1.4.1.318.1.1.1.2.3.2.0", gosnmp.Integer, -410)
		f.set("1.3.6.1.4.1.318.1.1.1.2.2.2.0", gosnmp.Null, nil)
		rs, _ := NewDevice("ups", mustProfile(t, testProfile), f, Options{}).Poll(context.Background())
		if r, ok := byPoint(rs)["battery.temperature"]; !ok || !math.IsNaN(r.Value) {
			t.Errorf("battery.temperature = %+v, want NaN", r)
		}
	})
}

func TestTooBigHalvesAndRemembers(t *testing.T) {
	f := upsAgent(gosnmp.Version2c)
	f.maxVarbinds = 2
	d := NewDevice("ups", mustProfile(t, testProfile), f, Options{})
	for i := 0; i < 2; i++ {
		rs, err := d.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 7 {
			t.Fatalf("poll %d: %d readings", i, len(rs))
		}
	}
	if d.Stats().MaxOIDs != 2 {
		t.Errorf("MaxOIDs = %d, want 2", d.Stats().MaxOIDs)
	}
	// Second poll: no tooBig any more, 3 GETs of at most 2 OIDs for 6 scalars.
	gets := 0
	for _, l := range f.log[len(f.log)/2:] {
		if strings.HasPrefix(l, "GET") {
			gets++
		}
	}
	if gets != 3 {
		t.Errorf("second poll: %d GETs, want 3 (%v)", gets, f.log)
	}
}

func TestBulkFallsBackToOne(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*fakeAgent)
	}{
		{"genErr at 10", func(f *fakeAgent) { f.bulkErr[10] = true }},
		{"corrupt answer", func(f *fakeAgent) { f.corrupt = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := upsAgent(gosnmp.Version2c)
			tc.mod(f)
			d := NewDevice("ups", mustProfile(t, testProfile), f, Options{})
			rs, err := d.Poll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got := byPoint(rs)
			if got["ambient.3.temperature"].Value != 25 || !math.IsNaN(got["ambient.2.temperature"].Value) {
				t.Errorf("probes: %v", rs)
			}
			if last := f.log[len(f.log)-1]; !strings.HasSuffix(last, " 1") {
				t.Errorf("last request %q, want max-repetitions 1", last)
			}
		})
	}
}

func TestPollFailsOnlyWithoutAnswer(t *testing.T) {
	f := upsAgent(gosnmp.Version2c)
	for o := range f.vals {
		f.fail[o] = errors.New("request timeout")
	}
	f.fail["1.3.6.1.4.1.318.1.1.10.2.3.2.1.3"] = errors.New("request timeout")
	f.fail["1.3.6.1.4.1.318.1.1.1.2.3.2.0"] = errors.New("request timeout")
	_, err := NewDevice("ups-1", mustProfile(t, testProfile), f, Options{}).Poll(context.Background())
	if err == nil || !strings.Contains(err.Error(), "ups-1") || !strings.Contains(err.Error(), "1.3.6.1.4.1.318.1.1.1.2.3.2.0") {
		t.Fatalf("err = %v, want the device and the OID named", err)
	}

	// A table that fails alone leaves the scalars.
	f = upsAgent(gosnmp.Version2c)
	f.fail["1.3.6.1.4.1.318.1.1.10.2.3.2.1.3"] = errors.New("request timeout")
	d := NewDevice("ups-1", mustProfile(t, testProfile), f, Options{})
	rs, err := d.Poll(context.Background())
	if err != nil || byPoint(rs)["battery.voltage"].Value != 54.7 {
		t.Fatalf("partial poll: %v, %v", rs, err)
	}
	if d.Stats().Errors == 0 {
		t.Errorf("errors not counted")
	}
}

func TestInventoryEvery(t *testing.T) {
	f := upsAgent(gosnmp.Version2c)
	f.set("1.3.6.1.4.1.318.1.1.1.1.1.1.0", gosnmp.OctetString, []byte("Smart-UPS X 750"))
	src := testProfile + "\n" // device.model as a scalar
	src = strings.Replace(src, "scalars:\n", "scalars:\n  - point: device.model\n    oid: 1.3.6.1.4.1.318.1.1.1.1.1.1.0\n", 1)
	d := NewDevice("ups", mustProfile(t, src), f, Options{InventoryEvery: 3})
	var seen []bool
	for i := 0; i < 4; i++ {
		rs, err := d.Poll(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		r, ok := byPoint(rs)["device.model"]
		seen = append(seen, ok && r.Text == "Smart-UPS X 750")
	}
	if want := []bool{true, false, false, true}; fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("device.model read on polls %v, want %v", seen, want)
	}
}
