package modbussim

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/emberwatch/emberwatch/drivers/modbus"
	gb "github.com/goburrow/modbus"
	sv "github.com/simonvetter/modbus"
)

func f64(v float64) *float64 { return &v }

// everyType is a profile holding every type, byte order and table.
func everyType() *modbus.Profile {
	p := &modbus.Profile{
		Name:       "every-type",
		ByteOrder:  "ABCD",
		Unreadable: []modbus.Range{{Table: modbus.Holding, Start: 100, End: 109}},
		Points: []modbus.Register{
			{Point: "battery.voltage", Address: 0, Type: modbus.Uint16, Scale: f64(0.01)},
			{Point: "battery.current", Address: 1, Type: modbus.Int16, Scale: f64(0.1)},
			{Point: "battery.charge", Address: 2, Type: modbus.Uint32, Order: "CDAB", Scale: f64(0.001)},
			{Point: "battery.module.1.temperature", Address: 4, Type: modbus.Int32, Order: "BADC", Scale: f64(0.01)},
			{Point: "battery.module.1.voltage", Address: 6, Type: modbus.Float32, Order: "DCBA"},
			{Point: "battery.module.2.voltage", Address: 8, Type: modbus.Float32},
			{Point: "battery.runtime", Address: 10, Type: modbus.Uint64},
			{Point: "battery.module.2.temperature", Address: 14, Type: modbus.Int64, Order: "CDAB", Scale: f64(0.001)},
			{Point: "ambient.temperature", Address: 18, Type: modbus.Float64, Order: "BADC"},
			{Point: "device.model", Address: 22, Type: modbus.String, Length: 8},
			{Point: "ups.status", Address: 30, Type: modbus.Uint16, Enum: map[int64]string{1: "OL", 2: "OB"}},
			{Point: "gas.h2", Address: 31, Type: modbus.Int16, Invalid: []int64{0x7FFF}},
			{Point: "ups.load", Address: 32, Type: modbus.Bit, Bit: 3},
			{Point: "ups.temperature", Address: 32, Type: modbus.Bit, Bit: 0},
			{Point: "battery.temperature", Address: 33, Type: modbus.Int16, Scale: f64(0.1), Offset: -40},
			{Point: "input.voltage", Table: modbus.Input, Address: 0, Type: modbus.Uint16, Scale: f64(0.1)},
			{Point: "output.voltage", Table: modbus.Input, Address: 1, Type: modbus.Float32, Order: "CDAB"},
			{Point: "input.frequency", Table: modbus.Coil, Address: 3},
			{Point: "output.frequency", Table: modbus.Discrete, Address: 5},
		},
	}
	return p
}

func everyValue() Map {
	return Map{
		Values: map[string]float64{
			"battery.voltage":              53.127, // served as 53.13
			"battery.current":              -12.34, // -12.3
			"battery.charge":               87.6543,
			"battery.module.1.temperature": -3.14159,
			"battery.module.1.voltage":     13.3125,
			"battery.module.2.voltage":     -0.1,
			"battery.runtime":              1 << 40,
			"battery.module.2.temperature": 27.125,
			"ambient.temperature":          21.123456789,
			"ups.load":                     1,
			"ups.temperature":              1,
			"battery.temperature":          25.56,
			"input.voltage":                230.04,
			"output.voltage":               229.5,
			"input.frequency":              1,
			"output.frequency":             1,
		},
		Text: map[string]string{"device.model": "SIM-RACK", "ups.status": "OB"},
	}
}

// served is what everyValue must read back as, after quantisation.
var served = map[string]float64{
	"battery.voltage":              53.13,
	"battery.current":              -12.3,
	"battery.charge":               87.654,
	"battery.module.1.temperature": -3.14,
	"battery.module.1.voltage":     13.3125,
	"battery.module.2.voltage":     float64(float32(-0.1)),
	"battery.runtime":              1 << 40,
	"battery.module.2.temperature": 27.125,
	"ambient.temperature":          21.123456789,
	"gas.h2":                       math.NaN(),
	"ups.load":                     1,
	"ups.temperature":              1,
	"battery.temperature":          25.6,
	"input.voltage":                230.0,
	"output.voltage":               229.5,
	"input.frequency":              1,
	"output.frequency":             1,
}

func newSim(t testing.TB, p *modbus.Profile, src Source) *Sim {
	t.Helper()
	s, err := New(p, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// client reads a table as a Modbus master.
type client interface {
	read(table modbus.Table, addr, n uint16) ([]uint16, error)
}

type goburrowClient struct{ c gb.Client }

func (g goburrowClient) read(table modbus.Table, addr, n uint16) ([]uint16, error) {
	var b []byte
	var err error
	switch table {
	case modbus.Input:
		b, err = g.c.ReadInputRegisters(addr, n)
	case modbus.Coil, modbus.Discrete:
		if table == modbus.Coil {
			b, err = g.c.ReadCoils(addr, n)
		} else {
			b, err = g.c.ReadDiscreteInputs(addr, n)
		}
		if err != nil {
			return nil, err
		}
		w := make([]uint16, n)
		for i := range w {
			w[i] = uint16(b[i/8]>>(i%8)) & 1
		}
		return w, nil
	default:
		b, err = g.c.ReadHoldingRegisters(addr, n)
	}
	if err != nil {
		return nil, err
	}
	w := make([]uint16, len(b)/2)
	for i := range w {
		w[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	return w, nil
}

type simonvetterClient struct{ c *sv.ModbusClient }

func (s simonvetterClient) read(table modbus.Table, addr, n uint16) ([]uint16, error) {
	bits := func(b []bool, err error) ([]uint16, error) {
		if err != nil {
			return nil, err
		}
		w := make([]uint16, len(b))
		for i, v := range b {
			if v {
				w[i] = 1
			}
		}
		return w, nil
	}
	switch table {
	case modbus.Input:
		return s.c.ReadRegisters(addr, n, sv.INPUT_REGISTER)
	case modbus.Coil:
		return bits(s.c.ReadCoils(addr, n))
	case modbus.Discrete:
		return bits(s.c.ReadDiscreteInputs(addr, n))
	}
	return s.c.ReadRegisters(addr, n, sv.HOLDING_REGISTER)
}

// excCode returns the Modbus exception code carried by a client error, or 0.
func excCode(err error) byte {
	var me *gb.ModbusError
	if errors.As(err, &me) {
		return me.ExceptionCode
	}
	for c, e := range exceptionErr {
		if errors.Is(err, e) {
			return c
		}
	}
	return 0
}

func tcpClient(t testing.TB, addr string, unit byte, timeout time.Duration) client {
	t.Helper()
	h := gb.NewTCPClientHandler(addr)
	h.SlaveId = unit
	h.Timeout = timeout
	if err := h.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return goburrowClient{gb.NewClient(h)}
}

func rtuClient(t *testing.T, path string, baud int, unit byte, timeout time.Duration) client {
	t.Helper()
	h := gb.NewRTUClientHandler(path)
	h.BaudRate = baud
	h.DataBits = 8
	h.Parity = "E"
	h.StopBits = 1
	h.SlaveId = unit
	h.Timeout = timeout
	if err := h.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return goburrowClient{gb.NewClient(h)}
}

func rtuOverTCPClient(t *testing.T, addr string, baud int, unit byte, timeout time.Duration) client {
	t.Helper()
	c, err := sv.NewClient(&sv.ClientConfiguration{URL: "rtuovertcp://" + addr, Speed: uint(baud), Timeout: timeout})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Open(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetUnitId(unit)
	t.Cleanup(func() { _ = c.Close() })
	return simonvetterClient{c}
}

// transportNames are the transports a Sim serves.
var transportNames = []string{"tcp", "rtu-pty", "rtu-over-tcp"}

// serve serves s on the named transport until ctx is done and returns a
// client for it; RTU lines run at 115200 baud.
func serve(t *testing.T, ctx context.Context, s *Sim, transport string, unit byte, timeout time.Duration) client {
	t.Helper()
	switch transport {
	case "tcp":
		addr, err := s.ServeTCP(ctx, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return tcpClient(t, addr.String(), unit, timeout)
	case "rtu-pty":
		pty, err := OpenPTY()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pty.Close() })
		go func() { _ = s.ServeRTU(ctx, pty.Server, 115200) }()
		return rtuClient(t, pty.Path, 115200, unit, timeout)
	case "rtu-over-tcp":
		addr, err := s.ServeRTUOverTCP(ctx, "127.0.0.1:0", 115200)
		if err != nil {
			t.Fatal(err)
		}
		return rtuOverTCPClient(t, addr.String(), 115200, unit, timeout)
	}
	t.Fatalf("unknown transport %q", transport)
	return nil
}

// transports serves s on every transport and returns a client for each.
func transports(t *testing.T, ctx context.Context, s *Sim, unit byte, timeout time.Duration) map[string]client {
	t.Helper()
	out := map[string]client{}
	for _, name := range transportNames {
		out[name] = serve(t, ctx, s, name, unit, timeout)
	}
	return out
}

func same(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(a))
}

func TestValuesAreWhatIsServed(t *testing.T) {
	s := newSim(t, everyType(), everyValue())
	got := s.Values()
	for name, want := range served {
		if !same(got[name], want) {
			t.Errorf("Values()[%s] = %v, want %v", name, got[name], want)
		}
	}
	if tx := s.Texts(); tx["device.model"] != "SIM-RACK" || tx["ups.status"] != "OB" {
		t.Errorf("Texts() = %v", tx)
	}
	if w := s.Registers(modbus.Holding, 32, 1)[0]; w != 0b1001 {
		t.Errorf("two bits in register 32 = %#b, want 0b1001", w)
	}
}

func TestEveryTypeOnEveryTransport(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	p := everyType()
	s := newSim(t, p, everyValue())
	want, texts := s.Values(), s.Texts()
	for name, c := range transports(t, ctx, s, 1, 2*time.Second) {
		t.Run(name, func(t *testing.T) {
			for _, r := range p.Points {
				words, err := c.read(tableOf(r.Table), r.Address, uint16(r.Words()))
				if err != nil {
					t.Fatalf("%s: read %s %d: %v", r.Point, tableOf(r.Table), r.Address, err)
				}
				var v float64
				var text string
				if r.Table == modbus.Coil || r.Table == modbus.Discrete {
					v = float64(words[0])
				} else if v, text, err = r.Decode(words, p.ByteOrder); err != nil {
					t.Fatalf("%s: decode: %v", r.Point, err)
				}
				if text != texts[r.Point] {
					t.Errorf("%s: read %q, served %q", r.Point, text, texts[r.Point])
				}
				if !same(v, want[r.Point]) {
					t.Errorf("%s (%s %s): read %v, served %v", r.Point, r.Type, r.Order, v, want[r.Point])
				}
				if sv, ok := served[r.Point]; ok && !same(v, sv) {
					t.Errorf("%s: read %v, want %v", r.Point, v, sv)
				}
			}
			// One request across the whole holding block, as a planner
			// reads it: the unmapped gap reads as zero.
			words, err := c.read(modbus.Holding, 0, 40)
			if err != nil {
				t.Fatal(err)
			}
			if w := s.Registers(modbus.Holding, 0, 40); !slices.Equal(words, w) {
				t.Errorf("block read %v, served %v", words, w)
			}
		})
	}
	if c := s.Counters(); c.Requests != 3*(uint64(len(p.Points))+1) {
		t.Errorf("counters %+v, want %d requests", c, 3*(len(p.Points)+1))
	}
}

// stepper is a Source whose values change only when stepped.
type stepper struct{ n float64 }

func (s *stepper) Points() map[string]float64 { return map[string]float64{"battery.voltage": 50 + s.n} }

func TestValuesChangeOnlyOnRefresh(t *testing.T) {
	src := &stepper{}
	p := &modbus.Profile{Name: "one", Points: []modbus.Register{{Point: "battery.voltage", Type: modbus.Uint16, Scale: f64(0.1)}}}
	s := newSim(t, p, src)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	addr, err := s.ServeTCP(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	c := tcpClient(t, addr.String(), 1, time.Second)
	read := func() uint16 {
		w, err := c.read(modbus.Holding, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		return w[0]
	}
	src.n = 1 // the model moved on, the simulator has not refreshed
	if got := read(); got != 500 || s.Values()["battery.voltage"] != 50 {
		t.Errorf("before Refresh: served %d, Values %v", got, s.Values())
	}
	if err := s.Refresh(); err != nil {
		t.Fatal(err)
	}
	if got := read(); got != 510 || s.Values()["battery.voltage"] != 51 {
		t.Errorf("after Refresh: served %d, Values %v", got, s.Values())
	}
}

func TestNewRejectsUnencodableText(t *testing.T) {
	p := &modbus.Profile{Name: "enum", Points: []modbus.Register{{Point: "ups.status", Type: modbus.Uint16, Enum: map[int64]string{1: "OL"}}}}
	if _, err := New(p, Map{Text: map[string]string{"ups.status": "XX"}}, Options{}); err == nil {
		t.Error("New accepted a text outside the enum")
	}
}
