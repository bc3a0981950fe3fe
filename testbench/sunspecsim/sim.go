package sunspecsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"strconv"
	"sync"

	"github.com/emberwatch/emberwatch/drivers/modbus"
	"github.com/emberwatch/emberwatch/drivers/modbus/sunspec"
	mbserver "github.com/simonvetter/modbus"
)

// Base selects where the SunS marker sits.
type Base int

// Marker positions. The zero value is the usual 40000.
const (
	Base40000 Base = iota
	Base0
	Base50000
)

// Opts configures a simulated battery. The zero value means defaults.
type Opts struct {
	// Strings, Modules (per string) and Cells (per module); default 2, 4, 8.
	Strings, Modules, Cells int
	// Base is where the SunS marker sits; default 40000.
	Base Base
	// Unit is the only unit id answered; default 1.
	Unit byte
	// Seed varies the values; the same seed gives the same values.
	Seed uint64
	// VendorLen, when positive, inserts after model 802 a vendor model
	// (ID VendorModel) of that length, which readers have no definition of.
	VendorLen int
}

// VendorModel is the ID of the vendor model Opts.VendorLen inserts.
const VendorModel = 64110

// Sim is a simulated SunSpec battery. Its methods are safe for concurrent
// use.
type Sim struct {
	mu       sync.Mutex
	base     uint16
	regs     []uint16
	unit     byte
	requests int
	values   map[string]float64
	texts    map[string]string
	srv      *mbserver.ModbusServer
	addr     string
}

// Scale factors served.
const (
	sfV     = -2 // battery, string and module voltage
	sfCellV = -3
	sfTmp   = -1 // module and cell temperatures
	sfA     = -1
	sfAh    = 1
)

// New builds the register map of a battery from the model definitions.
func New(models *sunspec.Models, opts *Opts) (*Sim, error) {
	o := Opts{}
	if opts != nil {
		o = *opts
	}
	if o.Strings <= 0 {
		o.Strings = 2
	}
	if o.Modules <= 0 {
		o.Modules = 4
	}
	if o.Cells <= 0 {
		o.Cells = 8
	}
	if o.Unit == 0 {
		o.Unit = 1
	}
	s := &Sim{unit: o.Unit, values: map[string]float64{}, texts: map[string]string{}}
	switch o.Base {
	case Base0:
		s.base = 0
	case Base50000:
		s.base = 50000
	default:
		s.base = 40000
	}
	if err := s.build(models, o); err != nil {
		return nil, err
	}
	if int(s.base)+len(s.regs) > 1<<16 {
		return nil, fmt.Errorf("sunspecsim: %d registers do not fit above %d", len(s.regs), s.base)
	}
	return s, nil
}

// mix is splitmix64: a deterministic value for a seed and a position.
func mix(seed uint64, a ...int) uint64 {
	x := seed
	for _, v := range a {
		x += 0x9e3779b97f4a7c15 + uint64(v)
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
		x = (x ^ (x >> 27)) * 0x94d049bb133111eb
		x ^= x >> 31
	}
	return x
}

// inst writes one model instance into the register map.
type inst struct {
	m    *sunspec.Model
	regs []uint16 // the instance, from its ID register
}

func (s *Sim) add(models *sunspec.Models, id, groups int) (*inst, error) {
	m, ok := models.Model(id)
	if !ok {
		return nil, fmt.Errorf("sunspecsim: no definition of model %d", id)
	}
	n := m.FixedLen()
	if len(m.Groups) > 0 {
		n += groups * m.Groups[0].Len()
	}
	start := len(s.regs)
	s.regs = append(s.regs, make([]uint16, n)...)
	in := &inst{m: m, regs: s.regs[start : start+n : start+n]}
	in.regs[0], in.regs[1] = uint16(id), uint16(n-2)
	return in, nil
}

// put writes raw into point name of the fixed block (k 0) or of group
// repetition k.
func (in *inst) put(k int, name string, raw int64) {
	var p sunspec.Point
	var ok bool
	off := 0
	if k == 0 {
		p, ok = in.m.Point(name)
	} else {
		g := &in.m.Groups[0]
		p, ok = g.Point(name)
		off = in.m.FixedLen() + (k-1)*g.Len()
	}
	if !ok {
		panic(fmt.Sprintf("sunspecsim: model %d has no point %s", in.m.ID, name))
	}
	w := in.regs[off+p.Offset:]
	switch p.Len() {
	case 1:
		w[0] = uint16(raw)
	case 2:
		w[0], w[1] = uint16(uint32(raw)>>16), uint16(raw)
	default:
		panic(fmt.Sprintf("sunspecsim: model %d point %s: put of %d registers", in.m.ID, name, p.Len()))
	}
}

// text writes a string point.
func (in *inst) text(name, v string) {
	p, ok := in.m.Point(name)
	if !ok || p.Type != "string" {
		panic(fmt.Sprintf("sunspecsim: model %d has no string %s", in.m.ID, name))
	}
	b := make([]byte, 2*p.Len())
	copy(b, v)
	for i := 0; i < p.Len(); i++ {
		in.regs[p.Offset+i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
}

// unimplemented is the int16 "not implemented" value.
const unimplemented = -0x8000

type cell struct{ mv, tmp int64 } // mV (sf -3), 0.1 °C (sf -1) or unimplemented

type module struct {
	cells                   []cell
	vMax, vMin, vAvg, v     int64 // cell V in mV; module V in 10 mV
	tMax, tMin, tAvg        int64 // 0.1 °C
	vMaxCell, vMinCell      int64
	tMaxCell, tMinCell, soc int64
}

func summarise(m *module) {
	m.vMax, m.vMin, m.tMax, m.tMin = math.MinInt64, math.MaxInt64, math.MinInt64, math.MaxInt64
	var vSum, tSum, tN int64
	for i, c := range m.cells {
		vSum += c.mv
		if c.mv > m.vMax {
			m.vMax, m.vMaxCell = c.mv, int64(i+1)
		}
		if c.mv < m.vMin {
			m.vMin, m.vMinCell = c.mv, int64(i+1)
		}
		if c.tmp == unimplemented {
			continue
		}
		tSum += c.tmp
		tN++
		if c.tmp > m.tMax {
			m.tMax, m.tMaxCell = c.tmp, int64(i+1)
		}
		if c.tmp < m.tMin {
			m.tMin, m.tMinCell = c.tmp, int64(i+1)
		}
	}
	m.vAvg = roundDiv(vSum, int64(len(m.cells)))
	m.tAvg = roundDiv(tSum, tN)
	m.v = roundDiv(vSum, 10)
}

// roundDiv divides rounding half away from zero.
func roundDiv(a, b int64) int64 {
	if b == 0 {
		return 0
	}
	return int64(math.Round(float64(a) / float64(b)))
}

func (s *Sim) build(models *sunspec.Models, o Opts) error {
	several := o.Strings > 1
	name := func(str int, suffix string) string {
		if several {
			return "battery.string." + strconv.Itoa(str) + "." + suffix
		}
		return "battery." + suffix
	}
	val := func(point string, raw int64, sf int) {
		if raw == unimplemented {
			s.values[point] = math.NaN()
			return
		}
		s.values[point] = sunspec.Scale(float64(raw), sf)
	}

	// The cells, then everything summarised from them.
	mods := make([][]*module, o.Strings)
	for st := range mods {
		mods[st] = make([]*module, o.Modules)
		for mi := range mods[st] {
			m := &module{cells: make([]cell, o.Cells), soc: 70 + int64(mix(o.Seed, st, mi, 0, 1)%25)}
			for c := range m.cells {
				h := mix(o.Seed, st, mi, c)
				m.cells[c] = cell{mv: 3200 + int64(h%150), tmp: 220 + int64((h>>16)%80)}
			}
			if st == 1 && mi == 2 && o.Cells >= 5 {
				m.cells[4].tmp = unimplemented // an open cell sensor
			}
			summarise(m)
			mods[st][mi] = m
		}
	}

	s.regs = []uint16{0x5375, 0x6e53}

	// Model 1, Common.
	common, err := s.add(models, 1, 0)
	if err != nil {
		return err
	}
	mn, md, vr, sn := "Emberwatch", fmt.Sprintf("SIM-LI-%dx%dx%d", o.Strings, o.Modules, o.Cells), "1.4.2", fmt.Sprintf("EW-%06d", mix(o.Seed, 9)%1000000)
	common.text("Mn", mn)
	common.text("Md", md)
	common.text("Vr", vr)
	common.text("SN", sn)
	common.put(0, "DA", int64(o.Unit))
	s.texts["device.mfr"], s.texts["device.model"], s.texts["device.firmware"], s.texts["device.serial"] = mn, md, vr, sn

	// Bank-wide figures.
	var cellMax, cellMin, tMax, tMin, tSum, tN int64 = math.MinInt64, math.MaxInt64, math.MinInt64, math.MaxInt64, 0, 0
	strV := make([]int64, o.Strings)
	strA := make([]int64, o.Strings)
	strSoC := make([]int64, o.Strings)
	var bankV, bankA, bankSoC int64
	for st, ms := range mods {
		var socSum int64
		for _, m := range ms {
			cellMax, cellMin = max(cellMax, m.vMax), min(cellMin, m.vMin)
			tMax, tMin = max(tMax, m.tAvg), min(tMin, m.tAvg)
			tSum += m.tAvg
			tN++
			strV[st] += m.v
			socSum += m.soc
		}
		strA[st] = -123 - 10*int64(st)
		strSoC[st] = roundDiv(socSum, int64(len(ms)))
		bankV += strV[st]
		bankA += strA[st]
		bankSoC += strSoC[st]
	}
	bankV = roundDiv(bankV, int64(o.Strings))
	bankSoC = roundDiv(bankSoC, int64(o.Strings))

	// Model 802, Battery Base.
	b, err := s.add(models, 802, 0)
	if err != nil {
		return err
	}
	for sf, v := range map[string]int64{"AHRtg_SF": sfAh, "WHRtg_SF": 2, "WChaDisChaMax_SF": 2, "DisChaRte_SF": 0,
		"SoC_SF": 0, "DoD_SF": 0, "SoH_SF": 0, "V_SF": sfV, "CellV_SF": sfCellV, "A_SF": sfA, "AMax_SF": 0, "W_SF": 0} {
		b.put(0, sf, v)
	}
	b.put(0, "AHRtg", 28)
	val("battery.capacity", 28, sfAh)
	b.put(0, "SoC", bankSoC)
	val("battery.charge", bankSoC, 0)
	b.put(0, "SoH", 98)
	val("battery.health", 98, 0)
	b.put(0, "V", bankV)
	val("battery.voltage", bankV, sfV)
	b.put(0, "A", bankA)
	val("battery.current", bankA, sfA)
	b.put(0, "CellVMax", cellMax)
	val("battery.cell.max.voltage", cellMax, sfCellV)
	b.put(0, "CellVMin", cellMin)
	val("battery.cell.min.voltage", cellMin, sfCellV)
	b.put(0, "State", 3)
	s.texts["battery.status"] = "CONNECTED"
	b.put(0, "Typ", 4)
	b.put(0, "DoD", 0xFFFF)
	b.put(0, "W", int64(bankV*bankA/1000))

	if o.VendorLen > 0 {
		v := make([]uint16, 2+o.VendorLen)
		v[0], v[1] = VendorModel, uint16(o.VendorLen)
		for i := 2; i < len(v); i++ {
			v[i] = uint16(mix(o.Seed, 64110, i))
		}
		s.regs = append(s.regs, v...)
	}

	// Model 803, Lithium-Ion Bank, one group per string.
	bank, err := s.add(models, 803, o.Strings)
	if err != nil {
		return err
	}
	for sf, v := range map[string]int64{"CellV_SF": sfCellV, "ModTmp_SF": sfTmp, "A_SF": sfA, "SoH_SF": 0, "SoC_SF": 0, "V_SF": sfV} {
		bank.put(0, sf, v)
	}
	bank.put(0, "NStr", int64(o.Strings))
	bank.put(0, "NStrCon", int64(o.Strings))
	bank.put(0, "ModTmpMax", tMax)
	val("battery.module.max.temperature", tMax, sfTmp)
	bank.put(0, "ModTmpMin", tMin)
	val("battery.module.min.temperature", tMin, sfTmp)
	bank.put(0, "ModTmpAvg", roundDiv(tSum, tN))
	val("battery.temperature", roundDiv(tSum, tN), sfTmp)
	for st := range mods {
		k := st + 1
		bank.put(k, "StrNMod", int64(o.Modules))
		bank.put(k, "StrSoC", strSoC[st])
		bank.put(k, "StrA", strA[st])
	}

	// One 804 per string, one group per module.
	for st, ms := range mods {
		str, err := s.add(models, 804, len(ms))
		if err != nil {
			return err
		}
		for sf, v := range map[string]int64{"SoC_SF": 0, "SoH_SF": 0, "DoD_SF": 0, "A_SF": sfA, "V_SF": sfV, "CellV_SF": sfCellV, "ModTmp_SF": sfTmp} {
			str.put(0, sf, v)
		}
		str.put(0, "Idx", int64(st+1))
		str.put(0, "NMod", int64(len(ms)))
		var sMax, sMin, stMax, stMin, stSum int64 = math.MinInt64, math.MaxInt64, math.MinInt64, math.MaxInt64, 0
		for _, m := range ms {
			sMax, sMin = max(sMax, m.vMax), min(sMin, m.vMin)
			stMax, stMin = max(stMax, m.tAvg), min(stMin, m.tAvg)
			stSum += m.tAvg
		}
		soh := int64(97 - st%5)
		if several {
			val(name(st+1, "charge"), strSoC[st], 0)
			val(name(st+1, "health"), soh, 0)
			val(name(st+1, "current"), strA[st], sfA)
			val(name(st+1, "voltage"), strV[st], sfV)
			val(name(st+1, "cell.max.voltage"), sMax, sfCellV)
			val(name(st+1, "cell.min.voltage"), sMin, sfCellV)
			val(name(st+1, "module.max.temperature"), stMax, sfTmp)
			val(name(st+1, "module.min.temperature"), stMin, sfTmp)
			val(name(st+1, "temperature"), roundDiv(stSum, int64(len(ms))), sfTmp)
		}
		str.put(0, "SoC", strSoC[st])
		str.put(0, "SoH", soh)
		str.put(0, "A", strA[st])
		str.put(0, "V", strV[st])
		str.put(0, "CellVMax", sMax)
		str.put(0, "CellVMin", sMin)
		str.put(0, "CellVAvg", 0xFFFF)
		str.put(0, "ModTmpMax", stMax)
		str.put(0, "ModTmpMin", stMin)
		str.put(0, "ModTmpAvg", roundDiv(stSum, int64(len(ms))))
		for mi, m := range ms {
			k := mi + 1
			mod := func(suffix string) string { return name(st+1, "module."+strconv.Itoa(k)+"."+suffix) }
			str.put(k, "ModNCell", int64(len(m.cells)))
			str.put(k, "ModSoC", m.soc)
			val(mod("charge"), m.soc, 0)
			str.put(k, "ModSoH", 0xFFFF)
			str.put(k, "ModCellVMax", m.vMax)
			val(mod("cell.max.voltage"), m.vMax, sfCellV)
			str.put(k, "ModCellVMaxCell", m.vMaxCell)
			str.put(k, "ModCellVMin", m.vMin)
			val(mod("cell.min.voltage"), m.vMin, sfCellV)
			str.put(k, "ModCellVMinCell", m.vMinCell)
			str.put(k, "ModCellVAvg", m.vAvg)
			val(mod("cell.avg.voltage"), m.vAvg, sfCellV)
			str.put(k, "ModCellTmpMax", m.tMax)
			val(mod("cell.max.temperature"), m.tMax, sfTmp)
			str.put(k, "ModCellTmpMaxCell", m.tMaxCell)
			str.put(k, "ModCellTmpMin", m.tMin)
			val(mod("cell.min.temperature"), m.tMin, sfTmp)
			str.put(k, "ModCellTmpMinCell", m.tMinCell)
			str.put(k, "ModCellTmpAvg", m.tAvg)
			val(mod("temperature"), m.tAvg, sfTmp)
		}
	}

	// One 805 per module, one group per cell.
	for st, ms := range mods {
		for mi, m := range ms {
			in, err := s.add(models, 805, len(m.cells))
			if err != nil {
				return err
			}
			for sf, v := range map[string]int64{"SoC_SF": 0, "SoH_SF": 0, "DoD_SF": 0, "V_SF": sfV, "CellV_SF": sfCellV, "Tmp_SF": sfTmp} {
				in.put(0, sf, v)
			}
			mod := func(suffix string) string { return name(st+1, "module."+strconv.Itoa(mi+1)+"."+suffix) }
			in.put(0, "StrIdx", int64(st+1))
			in.put(0, "ModIdx", int64(mi+1))
			in.put(0, "NCell", int64(len(m.cells)))
			in.put(0, "SoC", m.soc)
			in.put(0, "V", m.v)
			val(mod("voltage"), m.v, sfV)
			in.put(0, "CellVMax", m.vMax)
			in.put(0, "CellVMin", m.vMin)
			in.put(0, "CellVAvg", m.vAvg)
			in.put(0, "CellTmpMax", m.tMax)
			in.put(0, "CellTmpMin", m.tMin)
			in.put(0, "CellTmpAvg", m.tAvg)
			in.put(0, "NCyc", 0xFFFFFFFF)
			for c, ce := range m.cells {
				k := c + 1
				in.put(k, "CellV", ce.mv)
				val(mod("cell."+strconv.Itoa(k)+".voltage"), ce.mv, sfCellV)
				in.put(k, "CellTmp", ce.tmp)
				val(mod("cell."+strconv.Itoa(k)+".temperature"), ce.tmp, sfTmp)
				in.put(k, "CellSt", 0)
			}
		}
	}
	s.regs = append(s.regs, 0xFFFF, 0)
	return nil
}

// Values returns the numeric values served, by contract point name; NaN
// where the device reports a value as not implemented.
func (s *Sim) Values() map[string]float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]float64, len(s.values))
	for k, v := range s.values {
		out[k] = v
	}
	return out
}

// Texts returns the text values served (device.*, battery.status).
func (s *Sim) Texts() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]string, len(s.texts))
	for k, v := range s.texts {
		out[k] = v
	}
	return out
}

// BaseAddr returns the address of the SunS marker.
func (s *Sim) BaseAddr() uint16 { return s.base }

// Len returns the number of registers served, marker and end marker
// included.
func (s *Sim) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.regs)
}

// Requests returns the number of read requests served so far.
func (s *Sim) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// Modbus exceptions the simulator answers with.
var (
	errAddress = mbserver.ErrIllegalDataAddress
	errFunc    = mbserver.ErrIllegalFunction
	errUnit    = mbserver.ErrGWTargetFailedToRespond
)

// ReadRegisters serves a read in-process, as the Modbus server does, so
// that tests can use the simulator without a socket.
func (s *Sim) ReadRegisters(ctx context.Context, unit byte, table modbus.Table, addr, count uint16) ([]uint16, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if table != modbus.Holding {
		return nil, errFunc
	}
	return s.read(unit, addr, count)
}

func (s *Sim) read(unit byte, addr, count uint16) ([]uint16, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if unit != s.unit {
		return nil, errUnit
	}
	if count == 0 || count > 125 {
		return nil, mbserver.ErrIllegalDataValue
	}
	lo := int(addr) - int(s.base)
	if lo < 0 || lo+int(count) > len(s.regs) {
		return nil, errAddress
	}
	s.requests++
	return append([]uint16(nil), s.regs[lo:lo+int(count)]...), nil
}

// handler adapts the simulator to simonvetter/modbus's server.
type handler struct{ s *Sim }

func (h handler) HandleCoils(*mbserver.CoilsRequest) ([]bool, error) { return nil, errFunc }

func (h handler) HandleDiscreteInputs(*mbserver.DiscreteInputsRequest) ([]bool, error) {
	return nil, errFunc
}

func (h handler) HandleHoldingRegisters(r *mbserver.HoldingRegistersRequest) ([]uint16, error) {
	if r.IsWrite {
		return nil, errFunc
	}
	return h.s.read(r.UnitId, r.Addr, r.Quantity)
}

func (h handler) HandleInputRegisters(*mbserver.InputRegistersRequest) ([]uint16, error) {
	return nil, errFunc
}

// Listen serves the battery over Modbus TCP on 127.0.0.1 at a free port and
// returns host:port. Close stops it.
func (s *Sim) Listen() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return s.addr, nil
	}
	var errs []error
	// The server cannot report the port it bound for port 0, so ask the
	// kernel for a free one and retry should another process take it first.
	for range 5 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return "", fmt.Errorf("sunspecsim: %w", err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		srv, err := mbserver.NewServer(&mbserver.ServerConfiguration{
			URL:        "tcp://" + addr,
			MaxClients: 16,
			Logger:     log.New(io.Discard, "", 0),
		}, handler{s})
		if err != nil {
			return "", fmt.Errorf("sunspecsim: %w", err)
		}
		if err := srv.Start(); err != nil {
			errs = append(errs, err)
			continue
		}
		s.srv, s.addr = srv, addr
		return addr, nil
	}
	return "", fmt.Errorf("sunspecsim: listen: %w", errors.Join(errs...))
}

// URL returns the probe URL of the running simulator.
func (s *Sim) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("modbus+tcp://%s?unit=%d&profile=sunspec", s.addr, s.unit)
}

// Close stops the server, if it runs.
func (s *Sim) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil
	}
	err := s.srv.Stop()
	s.srv = nil
	return err
}
