package i2csim

import (
	"errors"
	"math"
	"sync"

	"github.com/emberwatch/emberwatch/drivers/i2c/bme280"
	"github.com/emberwatch/emberwatch/drivers/i2c/chip"
)

var errProtocol = errors.New("i2csim: transaction the chip does not understand")

// pointerChip models the register-pointer protocol of the TMP102, LM75,
// MCP9808 and ADS1115: the first byte written selects a register, further
// bytes write it, and reads return it.
type pointerChip struct {
	mu   sync.Mutex
	ptr  byte
	regs map[byte][]byte
	// read returns the register ptr; nil means regs[ptr].
	read func(ptr byte) []byte
	// write stores data into register ptr; nil means regs[ptr] = data.
	write func(ptr byte, data []byte)
}

func (c *pointerChip) Tx(w, r []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(w) > 0 {
		c.ptr = w[0]
		if len(w) > 1 {
			data := append([]byte(nil), w[1:]...)
			if c.write != nil {
				c.write(c.ptr, data)
			} else {
				c.regs[c.ptr] = data
			}
		}
	}
	if len(r) > 0 {
		var reg []byte
		if c.read != nil {
			reg = c.read(c.ptr)
		} else {
			reg = c.regs[c.ptr]
		}
		if reg == nil {
			return errProtocol
		}
		for i := range r {
			r[i] = reg[i%len(reg)]
		}
	}
	return nil
}

// Thermometer is a simulated temperature chip.
type Thermometer struct {
	pointerChip
	t value
}

// SetTemperature sets the temperature the chip measures, in °C.
func (t *Thermometer) SetTemperature(c float64) { t.t.set(c) }

func word(v int) []byte { return []byte{byte(v >> 8), byte(v)} }

// NewTMP102 returns a TMP102 at its reset state reading c °C.
func NewTMP102(c float64) *Thermometer {
	t := &Thermometer{}
	t.t.set(c)
	t.regs = map[byte][]byte{0x01: {0x60, 0xA0}, 0x02: word(75 << 8), 0x03: word(80 << 8)}
	t.write = func(ptr byte, data []byte) {
		if ptr == 0x01 && len(data) == 2 {
			// R1:R0 and AL are read-only; OS reads 1 once the one-shot is done.
			t.regs[1] = []byte{data[0]&^0x60 | 0x60 | 0x80, data[1]&^0x20 | 0x20}
		} else if ptr != 0x00 {
			t.regs[ptr] = data
		}
	}
	t.read = func(ptr byte) []byte {
		if ptr != 0x00 {
			return t.regs[ptr]
		}
		counts := int(math.Round(t.t.get() / 0.0625))
		if t.regs[1][1]&0x10 != 0 { // EM: 13 bits, bit 0 set
			return word(counts<<3 | 1)
		}
		return word(counts << 4)
	}
	return t
}

// NewLM75 returns an LM75A (11-bit) reading c °C. The 9-bit driver reads
// it as well.
func NewLM75(c float64) *Thermometer {
	t := &Thermometer{}
	t.t.set(c)
	t.regs = map[byte][]byte{0x01: {0x00}, 0x02: word(75 << 8), 0x03: word(80 << 8)}
	t.read = func(ptr byte) []byte {
		if ptr != 0x00 {
			return t.regs[ptr]
		}
		return word(int(math.Round(t.t.get()/0.125)) << 5)
	}
	return t
}

// NewMCP9808 returns an MCP9808 reading c °C.
func NewMCP9808(c float64) *Thermometer {
	t := &Thermometer{}
	t.t.set(c)
	t.regs = map[byte][]byte{0x01: {0, 0}, 0x06: {0x00, 0x54}, 0x07: {0x04, 0x00}, 0x08: {0x03}}
	t.read = func(ptr byte) []byte {
		if ptr != 0x05 {
			return t.regs[ptr]
		}
		return word(int(math.Round(t.t.get()*16)) & 0x1FFF)
	}
	return t
}

// Sensirion models an SHT3x or SHT4x: commands, then a read of words
// with their CRC-8.
type Sensirion struct {
	mu      sync.Mutex
	t, rh   float64
	pending []byte
	corrupt bool
	sht4    bool
}

// NewSHT3x returns an SHT3x measuring c °C and rh %RH.
func NewSHT3x(c, rh float64) *Sensirion { return &Sensirion{t: c, rh: rh} }

// NewSHT4x returns an SHT4x measuring c °C and rh %RH.
func NewSHT4x(c, rh float64) *Sensirion { return &Sensirion{t: c, rh: rh, sht4: true} }

// SetTemperature sets the temperature in °C.
func (s *Sensirion) SetTemperature(c float64) { s.mu.Lock(); s.t = c; s.mu.Unlock() }

// SetHumidity sets the relative humidity in %.
func (s *Sensirion) SetHumidity(rh float64) { s.mu.Lock(); s.rh = rh; s.mu.Unlock() }

// CorruptCRC makes the chip send wrong CRCs (true) or right ones.
func (s *Sensirion) CorruptCRC(on bool) { s.mu.Lock(); s.corrupt = on; s.mu.Unlock() }

func (s *Sensirion) words(ws ...uint16) []byte {
	var b []byte
	for _, w := range ws {
		d := []byte{byte(w >> 8), byte(w)}
		crc := chip.CRC8(d)
		if s.corrupt {
			crc ^= 0x01
		}
		b = append(b, d[0], d[1], crc)
	}
	return b
}

func ticks(x float64) uint16 {
	return uint16(math.Round(min(max(x, 0), 1) * 65535))
}

// Tx implements Chip.
func (s *Sensirion) Tx(w, r []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(w) > 0 {
		st := ticks((s.t + 45) / 175)
		var srh uint16
		if s.sht4 {
			srh = ticks((s.rh + 6) / 125)
		} else {
			srh = ticks(s.rh / 100)
		}
		switch {
		case !s.sht4 && len(w) == 2 && w[0] == 0xF3 && w[1] == 0x2D: // status
			s.pending = s.words(0x8010)
		case !s.sht4 && len(w) == 2 && w[0] == 0x24: // single shot
			s.pending = s.words(st, srh)
		case s.sht4 && len(w) == 1 && w[0] == 0x89: // serial number
			s.pending = s.words(0x1234, 0x5678)
		case s.sht4 && len(w) == 1 && (w[0] == 0xFD || w[0] == 0xF6 || w[0] == 0xE0):
			s.pending = s.words(st, srh)
		default:
			s.pending = nil
			return errProtocol
		}
	}
	if len(r) > 0 {
		if len(s.pending) < len(r) {
			return errProtocol // a read with nothing to send: NACK
		}
		copy(r, s.pending)
		s.pending = nil
	}
	return nil
}

// ADS1115 is a simulated ADC: set the volts on each input.
type ADS1115 struct {
	pointerChip
	volts [4]value
}

// NewADS1115 returns an ADS1115 with every input at 0 V.
func NewADS1115() *ADS1115 {
	a := &ADS1115{}
	a.regs = map[byte][]byte{0x00: {0, 0}, 0x01: {0x85, 0x83}}
	a.write = func(ptr byte, data []byte) {
		if ptr != 0x01 || len(data) != 2 {
			a.regs[ptr] = data
			return
		}
		a.regs[1] = []byte{data[0] | 0x80, data[1]} // converted at once: OS reads 1
		if data[0]&0x80 == 0 {
			return
		}
		mux := (data[0] >> 4) & 7
		fs := []float64{6.144, 4.096, 2.048, 1.024, 0.512, 0.256, 0.256, 0.256}[(data[0]>>1)&7]
		var v float64
		switch mux {
		case 0:
			v = a.volts[0].get() - a.volts[1].get()
		case 1:
			v = a.volts[0].get() - a.volts[3].get()
		case 2:
			v = a.volts[1].get() - a.volts[3].get()
		case 3:
			v = a.volts[2].get() - a.volts[3].get()
		default:
			v = a.volts[mux-4].get()
		}
		code := math.Round(v / fs * 32768)
		code = min(max(code, -32768), 32767)
		a.regs[0] = word(int(code))
	}
	return a
}

// SetVolts sets the voltage of input ch (0-3) against ground.
func (a *ADS1115) SetVolts(ch int, v float64) { a.volts[ch&3].set(v) }

// BME280 is a simulated BME280 with the trimming parameters of the
// datasheet's worked example.
type BME280 struct {
	pointerChip
	t, rh, p value
	cal      bme280.Calibration
}

// Calibration bytes at 0x88 and 0xE1 (datasheet example, BMP280 3.12).
var (
	bmeCalib1 = []byte{0x70, 0x6B, 0x43, 0x67, 0x18, 0xFC, 0x7D, 0x8E, 0x43, 0xD6, 0xD0, 0x0B, 0x27, 0x0B, 0x8C, 0x00, 0xF9, 0xFF, 0x8C, 0x3C, 0xF8, 0xC6, 0x70, 0x17, 0x00, 0x4B}
	bmeCalib2 = []byte{0x6A, 0x01, 0x00, 0x13, 0x29, 0x03, 0x1E}
)

// NewBME280 returns a BME280 measuring c °C, rh %RH and 101325 Pa.
func NewBME280(c, rh float64) *BME280 {
	b := &BME280{cal: bme280.ParseCalibration([26]byte(bmeCalib1), [7]byte(bmeCalib2))}
	b.t.set(c)
	b.rh.set(rh)
	b.p.set(101325)
	b.regs = map[byte][]byte{0xD0: {0x60}, 0xF3: {0x00}, 0xF2: {0}, 0xF4: {0}, 0xF5: {0}}
	b.write = func(ptr byte, data []byte) {
		// Writes are (register, value) pairs; the first register is ptr.
		pairs := append([]byte{ptr}, data...)
		for i := 0; i+1 < len(pairs); i += 2 {
			b.regs[pairs[i]] = []byte{pairs[i+1]}
		}
	}
	b.read = func(ptr byte) []byte {
		switch {
		case ptr == 0x88:
			return bmeCalib1
		case ptr == 0xE1:
			return bmeCalib2
		case ptr == 0xF7:
			return b.data()
		}
		return b.regs[ptr]
	}
	return b
}

// SetTemperature sets the temperature in °C.
func (b *BME280) SetTemperature(c float64) { b.t.set(c) }

// SetHumidity sets the relative humidity in %.
func (b *BME280) SetHumidity(rh float64) { b.rh.set(rh) }

// SetPressure sets the pressure in Pa.
func (b *BME280) SetPressure(pa float64) { b.p.set(pa) }

// data inverts the compensation by bisection: the ADC values whose
// compensated result is nearest the set values.
func (b *BME280) data() []byte {
	meas := func(t, p, h int32) bme280.Sample {
		s, err := b.cal.Compensate(t, p, h)
		if err != nil {
			return bme280.Sample{Temperature: math.NaN(), Pressure: math.NaN(), Humidity: math.NaN()}
		}
		return s
	}
	// search finds the first x in [lo, hi] where f(x) reaches want, for f
	// rising or falling; NaN (out of the chip's range) counts as the end of
	// the range on its side of pivot.
	search := func(lo, hi, pivot int32, rising bool, f func(int32) float64, want float64) int32 {
		for lo < hi {
			mid := lo + (hi-lo)/2
			v := f(mid)
			if math.IsNaN(v) {
				v = math.Inf(1)
				if (mid < pivot) == rising {
					v = math.Inf(-1)
				}
			}
			if (v < want) == rising {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		return lo
	}
	// Pivots: the datasheet example's adc_T and adc_P, mid-range values.
	at := search(0, 0xFFFFF, 519888, true, func(x int32) float64 { return meas(x, 0x80000, 0x8000).Temperature }, b.t.get())
	ap := search(0, 0xFFFFF, 415148, false, func(x int32) float64 { return meas(at, x, 0x8000).Pressure }, b.p.get())
	ah := search(0, 0xFFFF, 0x8000, true, func(x int32) float64 { return meas(at, 0x80000, x).Humidity }, b.rh.get())
	return []byte{
		byte(ap >> 12), byte(ap >> 4), byte(ap << 4),
		byte(at >> 12), byte(at >> 4), byte(at << 4),
		byte(ah >> 8), byte(ah),
	}
}
