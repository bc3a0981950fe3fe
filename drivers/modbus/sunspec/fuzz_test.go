package sunspec_test

import (
	"context"
	"encoding/binary"
	"strings"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers/modbus"
	"github.com/emberwatch/emberwatch/drivers/modbus/sunspec"
	"github.com/emberwatch/emberwatch/testbench/sunspecsim"
)

// image is a device whose holding registers from base are words and read
// 0xFFFF (an end marker) everywhere else. It fails the test on a request
// no device would answer, and past limit requests (a walk that does not
// end).
type image struct {
	t        *testing.T
	base     int
	words    []uint16
	max      int
	requests int
	limit    int
}

func (m *image) ReadRegisters(_ context.Context, unit byte, table modbus.Table, addr, count uint16) ([]uint16, error) {
	m.requests++
	if m.requests > m.limit {
		m.t.Fatalf("%d requests: the reader does not stop", m.requests)
	}
	if unit != 1 || table != modbus.Holding {
		m.t.Fatalf("read of unit %d table %s", unit, table)
	}
	if count == 0 || int(count) > m.max || int(addr)+int(count) > 1<<16 {
		m.t.Fatalf("read of %d registers at %d (at most %d a request)", count, addr, m.max)
	}
	w := make([]uint16, count)
	for i := range w {
		w[i] = 0xFFFF
		if k := int(addr) + i - m.base; k >= 0 && k < len(m.words) {
			w[i] = m.words[k]
		}
	}
	return w, nil
}

// simImage returns the registers of a simulated battery from its SunS
// marker to its end marker, as big-endian bytes.
func simImage(f *testing.F, ms *sunspec.Models, o sunspecsim.Opts) []byte {
	sim, err := sunspecsim.New(ms, &o)
	if err != nil {
		f.Fatal(err)
	}
	var b []byte
	for off := 0; off < sim.Len(); off += 125 {
		n := min(125, sim.Len()-off)
		w, err := sim.ReadRegisters(context.Background(), 1, modbus.Holding, sim.BaseAddr()+uint16(off), uint16(n))
		if err != nil {
			f.Fatal(err)
		}
		for _, x := range w {
			b = binary.BigEndian.AppendUint16(b, x)
		}
	}
	return b
}

// FuzzRead reads a device whose registers at 40000 hold arbitrary bytes
// (seeded with simulated batteries): discovery and decoding must never
// panic, never send a request outside the address space or over the
// request size, always end, and return only contract points in their
// units. Each read is done twice, the second time on the known chain.
func FuzzRead(f *testing.F) {
	ms, err := sunspec.DefaultModels()
	if err != nil {
		f.Fatal(err)
	}
	for _, o := range []sunspecsim.Opts{
		{Strings: 1, Modules: 2, Cells: 4},
		{Strings: 2, Modules: 2, Cells: 2, VendorLen: 10},
		{},
	} {
		f.Add(simImage(f, ms, o), uint8(65)) // 125 registers a request
	}
	f.Add([]byte{0x53, 0x75, 0x6e, 0x53, 0, 1, 0, 0}, uint8(0))
	f.Add([]byte{0x53, 0x75, 0x6e, 0x53, 3, 0x22, 0xff, 0xff}, uint8(7))
	lookup := sunspec.Lookup()
	f.Fuzz(func(t *testing.T, b []byte, maxRegs uint8) {
		if len(b) > 4096 {
			b = b[:4096]
		}
		words := make([]uint16, len(b)/2)
		for i := range words {
			words[i] = binary.BigEndian.Uint16(b[2*i:])
		}
		// Requests of 60 to 125 registers: a model may declare any length
		// up to the end of the address space, and is read to its end.
		max := 60 + int(maxRegs)%66
		// Three walks (Discover, then after a failed Read each) of at
		// most a request a model, and two reads of at most a request a
		// model and one a full request.
		models := len(words)/2 + 2
		dev := &image{t: t, base: 40000, words: words, max: max, limit: 3*models + 2*(models+(1<<16)/max+1)}
		now := time.Unix(1_800_000_000, 0)
		d := sunspec.New(dev, ms, &sunspec.Opts{Unit: 1, Bases: []uint16{40000}, MaxRegisters: max, Now: func() time.Time { return now }})
		chain, err := d.Discover(context.Background())
		if err == nil {
			next := 40002
			for _, h := range chain {
				if int(h.Addr) != next || next+2+int(h.Len) > 1<<16 {
					t.Fatalf("chain %v: model %d at %d, want it at %d", chain, h.ID, h.Addr, next)
				}
				next += 2 + int(h.Len)
			}
		}
		for range 2 {
			rs, err := d.Read(context.Background())
			if err != nil {
				continue
			}
			for _, r := range rs {
				spec, ok := lookup(r.Point)
				if !ok {
					t.Fatalf("%s is not a contract point", r.Point)
				}
				if r.Unit != spec.Unit {
					t.Fatalf("%s: unit %q, want %q", r.Point, r.Unit, spec.Unit)
				}
				if !r.Time.Equal(now) {
					t.Fatalf("%s: time %v", r.Point, r.Time)
				}
			}
		}
	})
}

// TestModelPastLongest checks what fuzzing found: a model definition
// whose points run past the longest model (here a string of the largest
// size) is refused, where it used to overflow the reader's bounds check
// and panic it.
func TestModelPastLongest(t *testing.T) {
	def := "id: 9\nname: x\nscope: device\npoints:\n  - {name: ID, offset: 0, type: uint16}\n  - {name: L, offset: 1, type: uint16}\n"
	for _, p := range []string{
		"  - {name: S, offset: 2, type: string, size: 9223372036854775807}\n",
		"  - {name: S, offset: 2, type: string, size: 65535}\n",
	} {
		if _, err := sunspec.ParseModel([]byte(def + p)); err == nil || !strings.Contains(err.Error(), "65535") {
			t.Errorf("%s: err = %v, want one naming the longest model", p, err)
		}
	}
	if _, err := sunspec.ParseModel([]byte(def + "  - {name: S, offset: 2, type: string, size: 8}\n")); err != nil {
		t.Errorf("a short string refused: %v", err)
	}
}
