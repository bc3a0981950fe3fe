package snmp

import (
	"math"
	"testing"

	"github.com/gosnmp/gosnmp"
)

// encode builds a GetResponse datagram carrying one varbind, as seeds.
func encode(t testing.TB, pdu gosnmp.SnmpPDU) []byte {
	p := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.GetResponse, Variables: []gosnmp.SnmpPDU{pdu}}
	b, err := p.MarshalMsg()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzDecodeValue feeds arbitrary datagrams to the response decoder and
// every varbind to the value decoding of a temperature entry with
// sentinels: it must never panic, and a sentinel or non-number must never
// come out as a number.
func FuzzDecodeValue(f *testing.F) {
	seeds := []gosnmp.SnmpPDU{
		{Name: ".1.3.6.1.2.1.33.1.2.7.0", Type: gosnmp.Integer, Value: -410},
		{Name: ".1.3.6.1.2.1.33.1.2.7.0", Type: gosnmp.Integer, Value: 234},
		{Name: ".1.3.6.1.2.1.33.1.2.7.0", Type: gosnmp.Gauge32, Value: uint(65535)},
		{Name: ".1.3.6.1.2.1.33.1.2.7.0", Type: gosnmp.OctetString, Value: []byte("23.4")},
		{Name: ".1.3.6.1.2.1.33.1.2.7.0", Type: gosnmp.Null, Value: nil},
		{Name: ".1.3.6.1.2.1.33.1.2.7.0", Type: gosnmp.NoSuchInstance, Value: nil},
		{Name: ".1.3.6.1.2.1.33.1.2.7.0", Type: gosnmp.TimeTicks, Value: uint32(10976200)},
		{Name: ".1.3.6.1.2.1.33.1.2.7.0", Type: gosnmp.Counter64, Value: uint64(1 << 62)},
	}
	for _, s := range seeds {
		f.Add(encode(f, s))
	}
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x01})
	values := []Value{
		{Point: "battery.temperature", Scale: 0.1, Sentinels: []float64{-1, -410, 65535}},
		{Point: "battery.runtime", Scale: 1, Ticks: true},
		{Point: "ambient.temperature", Scale: 0.1, Fahrenheit: true, Sentinels: []float64{-1}},
		{Point: "ups.status", Scale: 1, Enum: map[int64]string{2: "OL", 3: "OB"}},
		{Point: "device.model", Scale: 1, text: true},
	}
	g := &gosnmp.GoSNMP{Version: gosnmp.Version2c, Logger: gosnmp.NewLogger(nil)}
	f.Fuzz(func(t *testing.T, data []byte) {
		pkt, err := func() (p *gosnmp.SnmpPacket, err error) {
			defer func() {
				if r := recover(); r != nil {
					p, err = nil, nil // the library's own panic: contained by the driver's callers
				}
			}()
			return g.SnmpDecodePacket(data)
		}()
		if err != nil || pkt == nil {
			return
		}
		for _, pdu := range pkt.Variables {
			for i := range values {
				v := &values[i]
				d := decodeValue(v, pdu, rowExtra{decimals: len(data) % 4})
				if !d.ok {
					continue
				}
				if len(v.Enum) > 0 || v.text {
					if d.text == "" || !math.IsNaN(d.value) {
						t.Fatalf("text decode %+v from %+v", d, pdu)
					}
					continue
				}
				if math.IsInf(d.value, 0) {
					t.Fatalf("infinite value from %+v", pdu)
				}
				raw, isNum := rawNumber(pdu)
				if !isNum && !math.IsNaN(d.value) {
					t.Fatalf("number %v from a non-number %+v", d.value, pdu)
				}
				for _, s := range v.Sentinels {
					if isNum && raw == s && !math.IsNaN(d.value) {
						t.Fatalf("sentinel %v decoded as %v", s, d.value)
					}
				}
			}
		}
	})
}

// FuzzTrapDecode feeds arbitrary datagrams to the trap receiver's parser
// and mapper: malformed packets must be refused, never panic.
func FuzzTrapDecode(f *testing.F) {
	ps := NewProfiles(mustProfileF(f, testProfile))
	r, err := NewTrapReceiver(TrapConfig{
		Communities: []string{"public"},
		Users:       []Config{{User: "trapper", AuthPass: "emberwatch-auth", PrivPass: "emberwatch-priv"}},
		Profiles:    ps,
	}, nil)
	if err != nil {
		f.Fatal(err)
	}
	trap := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: "public", PDUType: gosnmp.SNMPv2Trap,
		Variables: []gosnmp.SnmpPDU{
			{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.TimeTicks, Value: uint32(5)},
			{Name: "." + OIDSnmpTrapOID, Type: gosnmp.ObjectIdentifier, Value: ".1.3.6.1.2.1.33.2.1"},
		}}
	if b, err := trap.MarshalMsg(); err == nil {
		f.Add(b)
	}
	inform := *trap
	inform.PDUType = gosnmp.InformRequest
	if b, err := inform.MarshalMsg(); err == nil {
		f.Add(b)
	}
	f.Add([]byte{0x30, 0x81, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		pkt, err := r.decode(data)
		if err != nil {
			return
		}
		ev := r.event(pkt, "127.0.0.1")
		if ev.Known && ev.Kind == "" {
			t.Fatalf("known trap without kind: %+v", ev)
		}
	})
}

func mustProfileF(f *testing.F, src string) *Profile {
	p, err := ParseProfile("test.yaml", []byte(src))
	if err != nil {
		f.Fatal(err)
	}
	return p
}
