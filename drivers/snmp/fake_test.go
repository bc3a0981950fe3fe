package snmp

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// fakeAgent is a map-backed Conn. It answers tooBig above maxVarbinds,
// speaks v1 error semantics when version is Version1, and fails any
// request that touches an OID in fail.
type fakeAgent struct {
	version     gosnmp.SnmpVersion
	vals        map[string]gosnmp.SnmpPDU
	maxVarbinds int
	fail        map[string]error
	bulkErr     map[uint32]bool // max-repetitions that answer genErr
	corrupt     bool            // GETBULK repeats the first varbind
	sorted      []string
	log         []string // "GET n", "BULK n r", "NEXT n", "SET n"
	sets        []gosnmp.SnmpPDU
	onSet       func(f *fakeAgent, oid string, v any)
}

func newFake(v gosnmp.SnmpVersion) *fakeAgent {
	return &fakeAgent{version: v, vals: map[string]gosnmp.SnmpPDU{}, fail: map[string]error{}, bulkErr: map[uint32]bool{}}
}

func (f *fakeAgent) set(oid string, t gosnmp.Asn1BER, v any) *fakeAgent {
	f.vals[oid] = gosnmp.SnmpPDU{Name: "." + oid, Type: t, Value: v}
	f.sorted = nil
	return f
}

func (f *fakeAgent) keys() []string {
	if f.sorted == nil {
		for k := range f.vals {
			f.sorted = append(f.sorted, k)
		}
		sort.Slice(f.sorted, func(i, j int) bool { return oidLess(parseOID(f.sorted[i]), parseOID(f.sorted[j])) })
	}
	return f.sorted
}

func (f *fakeAgent) next(oid string) (gosnmp.SnmpPDU, bool) {
	p := parseOID(oid)
	for _, k := range f.keys() {
		if oidLess(p, parseOID(k)) {
			return f.vals[k], true
		}
	}
	return gosnmp.SnmpPDU{Name: "." + oid, Type: gosnmp.EndOfMibView}, false
}

func (f *fakeAgent) check(oids []string) error {
	for _, o := range oids {
		if err := f.fail[o]; err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeAgent) Get(_ context.Context, oids []string) (*gosnmp.SnmpPacket, error) {
	f.log = append(f.log, "GET "+itoa(len(oids)))
	if err := f.check(oids); err != nil {
		return nil, err
	}
	if f.maxVarbinds > 0 && len(oids) > f.maxVarbinds {
		return &gosnmp.SnmpPacket{Error: gosnmp.TooBig}, nil
	}
	pkt := &gosnmp.SnmpPacket{}
	for i, o := range oids {
		v, ok := f.vals[o]
		if !ok {
			if f.version == gosnmp.Version1 {
				return &gosnmp.SnmpPacket{Error: gosnmp.NoSuchName, ErrorIndex: uint8(i + 1)}, nil
			}
			v = gosnmp.SnmpPDU{Name: "." + o, Type: gosnmp.NoSuchObject}
		}
		pkt.Variables = append(pkt.Variables, v)
	}
	return pkt, nil
}

func (f *fakeAgent) GetNext(_ context.Context, oids []string) (*gosnmp.SnmpPacket, error) {
	f.log = append(f.log, "NEXT "+itoa(len(oids)))
	if err := f.check(oids); err != nil {
		return nil, err
	}
	pkt := &gosnmp.SnmpPacket{}
	for i, o := range oids {
		v, ok := f.next(o)
		if !ok && f.version == gosnmp.Version1 {
			return &gosnmp.SnmpPacket{Error: gosnmp.NoSuchName, ErrorIndex: uint8(i + 1)}, nil
		}
		pkt.Variables = append(pkt.Variables, v)
	}
	return pkt, nil
}

func (f *fakeAgent) GetBulk(_ context.Context, oids []string, reps uint32) (*gosnmp.SnmpPacket, error) {
	f.log = append(f.log, "BULK "+itoa(len(oids))+" "+itoa(int(reps)))
	if f.version == gosnmp.Version1 {
		return nil, errors.New("GETBULK on v1")
	}
	if err := f.check(oids); err != nil {
		return nil, err
	}
	if f.bulkErr[reps] {
		return &gosnmp.SnmpPacket{Error: gosnmp.GenErr}, nil
	}
	cur := append([]string(nil), oids...)
	pkt := &gosnmp.SnmpPacket{}
	for r := uint32(0); r < reps; r++ {
		for i := range cur {
			v, _ := f.next(cur[i])
			if f.corrupt && reps > 1 && r > 0 {
				v = f.vals[strings.TrimPrefix(pkt.Variables[0].Name, ".")]
			}
			pkt.Variables = append(pkt.Variables, v)
			cur[i] = strings.TrimPrefix(v.Name, ".")
		}
	}
	return pkt, nil
}

func (f *fakeAgent) Set(_ context.Context, pdus []gosnmp.SnmpPDU) (*gosnmp.SnmpPacket, error) {
	f.log = append(f.log, "SET "+itoa(len(pdus)))
	f.sets = append(f.sets, pdus...)
	for _, p := range pdus {
		o := strings.TrimPrefix(p.Name, ".")
		f.vals[o] = gosnmp.SnmpPDU{Name: "." + o, Type: p.Type, Value: p.Value}
		if f.onSet != nil {
			f.onSet(f, o, p.Value)
		}
	}
	return &gosnmp.SnmpPacket{Variables: pdus}, nil
}

func (f *fakeAgent) Version() gosnmp.SnmpVersion { return f.version }
func (f *fakeAgent) String() string              { return "fake://agent" }

func itoa(n int) string { return strconv.Itoa(n) }
