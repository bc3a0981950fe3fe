package sunspec_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers"
	"github.com/emberwatch/emberwatch/drivers/modbus"
	"github.com/emberwatch/emberwatch/drivers/modbus/sunspec"
	"github.com/emberwatch/emberwatch/testbench/sunspecsim"
	mb "github.com/simonvetter/modbus"
)

func models(t testing.TB) *sunspec.Models {
	t.Helper()
	ms, err := sunspec.DefaultModels()
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

// compare checks that the readings are exactly what the simulator serves:
// every value, no more, no less.
func compare(t *testing.T, sim *sunspecsim.Sim, rs []drivers.Reading) {
	t.Helper()
	want := sim.Values()
	texts := sim.Texts()
	got := map[string]bool{}
	lookup := sunspec.Lookup()
	for _, r := range rs {
		if got[r.Point] {
			t.Errorf("%s read twice", r.Point)
		}
		got[r.Point] = true
		spec, ok := lookup(r.Point)
		if !ok {
			t.Errorf("%s is not a contract point", r.Point)
		} else if r.Unit != spec.Unit {
			t.Errorf("%s: unit %q, want %q", r.Point, r.Unit, spec.Unit)
		}
		if tx, ok := texts[r.Point]; ok {
			if r.Text != tx {
				t.Errorf("%s = %q, want %q", r.Point, r.Text, tx)
			}
			continue
		}
		w, ok := want[r.Point]
		switch {
		case !ok:
			t.Errorf("%s = %v: not served", r.Point, r.Value)
		case math.IsNaN(w) != math.IsNaN(r.Value) || (!math.IsNaN(w) && w != r.Value):
			t.Errorf("%s = %v, want %v", r.Point, r.Value, w)
		}
	}
	for p := range want {
		if !got[p] {
			t.Errorf("%s served but not read", p)
		}
	}
	for p := range texts {
		if !got[p] {
			t.Errorf("%s served but not read", p)
		}
	}
}

func TestReadMatchesSimulator(t *testing.T) {
	ms := models(t)
	for _, tc := range []struct {
		name string
		opts sunspecsim.Opts
	}{
		{"2x4x8 at 40000", sunspecsim.Opts{}},
		{"one string at 0", sunspecsim.Opts{Strings: 1, Modules: 3, Cells: 5, Base: sunspecsim.Base0}},
		{"3x2x4 at 50000", sunspecsim.Opts{Strings: 3, Modules: 2, Cells: 4, Base: sunspecsim.Base50000, Seed: 7}},
		{"12 modules of 16 cells, unit 7", sunspecsim.Opts{Strings: 2, Modules: 12, Cells: 16, Unit: 7, Seed: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim, err := sunspecsim.New(ms, &tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			unit := tc.opts.Unit
			if unit == 0 {
				unit = 1
			}
			now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
			d := sunspec.New(sim, ms, &sunspec.Opts{Unit: unit, Now: func() time.Time { return now }})
			rs, err := d.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if d.Base() != sim.BaseAddr() {
				t.Errorf("base %d, want %d", d.Base(), sim.BaseAddr())
			}
			for _, r := range rs {
				if !r.Time.Equal(now) {
					t.Fatalf("%s stamped %v", r.Point, r.Time)
				}
			}
			compare(t, sim, rs)
		})
	}
}

func TestReadUsesFewestRequests(t *testing.T) {
	ms := models(t)
	sim, err := sunspecsim.New(ms, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := sunspec.New(sim, ms, &sunspec.Opts{Unit: 1})
	chain, err := d.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// 1, 802, 803, two 804 and eight 805.
	if len(chain) != 13 {
		t.Fatalf("%d models discovered, want 13", len(chain))
	}
	before := sim.Requests()
	if _, err := d.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	span := sim.Len() - 4 // marker and end marker
	want := (span + 124) / 125
	if got := sim.Requests() - before; got != want {
		t.Errorf("%d requests for %d registers, want %d", got, span, want)
	}
	t.Logf("%d models, %d registers, %d requests a read", len(chain), span, want)
}

// fence refuses reads that span more than one model, as some devices do.
type fence struct {
	sunspec.Registers
	starts  map[uint16]bool
	refused int
}

func (f *fence) ReadRegisters(ctx context.Context, unit byte, table modbus.Table, addr, count uint16) ([]uint16, error) {
	for a := addr + 1; a < addr+count; a++ {
		if f.starts[a] {
			f.refused++
			return nil, errors.New("illegal data address")
		}
	}
	return f.Registers.ReadRegisters(ctx, unit, table, addr, count)
}

func TestReadFallsBackToOneModelARequest(t *testing.T) {
	ms := models(t)
	sim, err := sunspecsim.New(ms, &sunspecsim.Opts{Strings: 1, Modules: 2, Cells: 4})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := sunspec.New(sim, ms, &sunspec.Opts{Unit: 1}).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	f := &fence{Registers: sim, starts: map[uint16]bool{}}
	for _, h := range chain {
		f.starts[h.Addr] = true
	}
	rs, err := sunspec.New(f, ms, &sunspec.Opts{Unit: 1}).Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if f.refused == 0 {
		t.Error("no request spanned models; the test proves nothing")
	}
	compare(t, sim, rs)
}

// patch overwrites one register of what the device answers.
type patch struct {
	sunspec.Registers
	addr uint16
	val  uint16
}

func (p patch) ReadRegisters(ctx context.Context, unit byte, table modbus.Table, addr, count uint16) ([]uint16, error) {
	w, err := p.Registers.ReadRegisters(ctx, unit, table, addr, count)
	if err == nil && p.addr >= addr && p.addr < addr+count {
		w[p.addr-addr] = p.val
	}
	return w, err
}

func TestReadErrors(t *testing.T) {
	ms := models(t)
	sim, err := sunspecsim.New(ms, &sunspecsim.Opts{Strings: 2, Modules: 2, Cells: 2})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := sunspec.New(sim, ms, &sunspec.Opts{Unit: 1}).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	at := func(id uint16) uint16 {
		for _, h := range chain {
			if h.ID == id {
				return h.Addr
			}
		}
		t.Fatalf("no model %d", id)
		return 0
	}
	for _, tc := range []struct {
		name string
		r    sunspec.Registers
		opts sunspec.Opts
		want []string
	}{
		{"no marker", patch{sim, 40000, 0}, sunspec.Opts{Unit: 1}, []string{"no SunS marker", "at 40000", "at 0", "at 50000"}},
		{"wrong unit", sim, sunspec.Opts{Unit: 2}, []string{"unit 2", "no SunS marker"}},
		{"module count beyond the model", patch{sim, at(804) + 3, 9}, sunspec.Opts{Unit: 1},
			[]string{fmt.Sprintf("model 804 at %d", at(804)), "point NMod", "9 repetitions"}},
		{"string index 0", patch{sim, at(805) + 2, 0}, sunspec.Opts{Unit: 1},
			[]string{fmt.Sprintf("model 805 at %d", at(805)), "point StrIdx"}},
		{"chain runs off the map", patch{sim, at(805) + 1, 60000}, sunspec.Opts{Unit: 1},
			[]string{"model 805", "past address 65535"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sunspec.New(tc.r, ms, &tc.opts).Read(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

func TestReadNotImplementedIsNaN(t *testing.T) {
	ms := models(t)
	sim, err := sunspecsim.New(ms, &sunspecsim.Opts{Strings: 1, Modules: 1, Cells: 2})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := sunspec.New(sim, ms, &sunspec.Opts{Unit: 1}).Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var m802, m805 sunspec.Header
	for _, h := range chain {
		switch h.ID {
		case 802:
			m802 = h
		case 805:
			m805 = h
		}
	}
	def, _ := ms.Model(802)
	vsf, _ := def.Point("V_SF")
	soh, _ := def.Point("SoH")
	def805, _ := ms.Model(805)
	cellTmp := m805.Addr + uint16(def805.FixedLen()) + 1 // cell 1
	for _, tc := range []struct {
		name  string
		addr  uint16
		val   uint16
		point string
	}{
		{"scale factor 0x8000", m802.Addr + uint16(vsf.Offset), 0x8000, "battery.voltage"},
		{"uint16 0xFFFF", m802.Addr + uint16(soh.Offset), 0xFFFF, "battery.health"},
		{"int16 0x8000", cellTmp, 0x8000, "battery.module.1.cell.1.temperature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := sunspec.New(patch{sim, tc.addr, tc.val}, ms, &sunspec.Opts{Unit: 1}).Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				if r.Point == tc.point {
					if !math.IsNaN(r.Value) || r.Valid() {
						t.Errorf("%s = %v, want NaN", r.Point, r.Value)
					}
					return
				}
			}
			t.Errorf("%s not read", tc.point)
		})
	}
}

// client adapts simonvetter/modbus's client to sunspec.Registers.
type client struct{ c *mb.ModbusClient }

func (c client) ReadRegisters(ctx context.Context, unit byte, table modbus.Table, addr, count uint16) ([]uint16, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.c.SetUnitId(unit); err != nil {
		return nil, err
	}
	rt := mb.HOLDING_REGISTER
	if table == modbus.Input {
		rt = mb.INPUT_REGISTER
	}
	return c.c.ReadRegisters(addr, count, rt)
}

func TestReadOverModbusTCP(t *testing.T) {
	ms := models(t)
	sim, err := sunspecsim.New(ms, &sunspecsim.Opts{Base: sunspecsim.Base50000})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := sim.Listen()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	c, err := mb.NewClient(&mb.ClientConfiguration{URL: "tcp://" + addr, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	d := sunspec.New(client{c}, ms, &sunspec.Opts{Unit: 1})
	for range 2 { // the second read reuses the discovered chain
		rs, err := d.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		compare(t, sim, rs)
	}
}

// swap answers as the first Registers until switched, then as the second.
type swap struct {
	a, b sunspec.Registers
	useB bool
}

func (s *swap) ReadRegisters(ctx context.Context, unit byte, table modbus.Table, addr, count uint16) ([]uint16, error) {
	if s.useB {
		return s.b.ReadRegisters(ctx, unit, table, addr, count)
	}
	return s.a.ReadRegisters(ctx, unit, table, addr, count)
}

// TestReadRediscoversAChangedDevice: a BMS replaced by one with more
// modules is noticed on the next read and read right on the one after.
func TestReadRediscoversAChangedDevice(t *testing.T) {
	ms := models(t)
	small, err := sunspecsim.New(ms, &sunspecsim.Opts{Strings: 1, Modules: 2, Cells: 4})
	if err != nil {
		t.Fatal(err)
	}
	big, err := sunspecsim.New(ms, &sunspecsim.Opts{Strings: 2, Modules: 3, Cells: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	sw := &swap{a: small, b: big}
	d := sunspec.New(sw, ms, &sunspec.Opts{Unit: 1})
	rs, err := d.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	compare(t, small, rs)
	sw.useB = true
	if _, err := d.Poll(context.Background()); err == nil || !strings.Contains(err.Error(), "chain changed") {
		t.Fatalf("error %v, want the chain changed", err)
	}
	rs, err = d.Poll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	compare(t, big, rs)
}

// TestReadThroughVendorModels: a model without a definition between wanted
// ones is read through when that saves a request, skipped when not.
func TestReadThroughVendorModels(t *testing.T) {
	ms := models(t)
	for _, tc := range []struct {
		vendor, want int
	}{
		{10, 9},   // read through: 1068 registers in 9 requests; around: 134 + 924 in 2 + 8
		{600, 10}, // around: 2 + 8 requests; through: 1658 registers in 14
	} {
		sim, err := sunspecsim.New(ms, &sunspecsim.Opts{VendorLen: tc.vendor})
		if err != nil {
			t.Fatal(err)
		}
		d := sunspec.New(sim, ms, &sunspec.Opts{Unit: 1})
		if _, err := d.Discover(context.Background()); err != nil {
			t.Fatal(err)
		}
		before := sim.Requests()
		rs, err := d.Read(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := sim.Requests() - before; got != tc.want {
			t.Errorf("vendor model of %d registers: %d requests, want %d", tc.vendor, got, tc.want)
		}
		compare(t, sim, rs)
	}
}

// silent answers nothing: every request times out.
type silent struct{ calls int }

func (s *silent) ReadRegisters(context.Context, byte, modbus.Table, uint16, uint16) ([]uint16, error) {
	s.calls++
	return nil, fmt.Errorf("modbus tcp://192.0.2.1:502 unit 1: %w", modbus.ErrTimeout)
}

func TestDiscoverGivesUpOnASilentDevice(t *testing.T) {
	s := &silent{}
	_, err := sunspec.New(s, models(t), &sunspec.Opts{Unit: 1}).Read(context.Background())
	if !errors.Is(err, modbus.ErrTimeout) {
		t.Fatalf("error %v, want a timeout", err)
	}
	if s.calls != 1 {
		t.Errorf("%d requests to a silent device, want 1", s.calls)
	}
}
