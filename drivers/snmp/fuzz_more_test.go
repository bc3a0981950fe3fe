package snmp

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseProfile feeds arbitrary bytes to the SNMP profile parser: it
// must never panic; every problem is a *ProfileError naming the file at a
// line the file has; a profile it accepts has numeric OIDs without a
// leading dot, its limits filled and kept, and can be selected by its
// sysObjectIDs.
func FuzzParseProfile(f *testing.F) {
	seeds := []string{
		"name: x\nscalars:\n  - point: battery.voltage\n    oid: 1.3.6.1.2.1.33.1.2.5.0\n    scale: 0.1\n",
		"sys_object_id: [.1.3.6.1.4.1.318.1.3.27]\ntables:\n  - name: t\n    where: {oid: 1.3.6.1.4.1.1, equals: 1}\n    columns:\n      - point: ambient.N.temperature\n        oid: 1.3.6.1.4.1.2\n",
		"scalars:\n  - point: battery.voltage\n    oid: 1.3.6.1.4.1.1.0\ntraps:\n  - oid: 1.3.6.1.4.1.1.0.1\n    kind: thermal_runaway\n    level: warning\n",
		"scalars: [\n",
		"",
	}
	const dir = "../../firmware-config/profiles/snmp"
	if ents, err := os.ReadDir(dir); err == nil {
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".yaml") {
				if b, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
					seeds = append(seeds, string(b))
				}
			}
		}
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		const file = "f.yaml"
		p, err := ParseProfile(file, data)
		// at most: YAML ends a line at CR, LF, NEL, LS and PS too
		lines := 1 + bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) +
			bytes.Count(data, []byte("\u0085")) + bytes.Count(data, []byte("\u2028")) + bytes.Count(data, []byte("\u2029"))
		if err != nil {
			if p != nil {
				t.Fatal("a profile and an error")
			}
			errs := []error{err}
			if j, ok := err.(interface{ Unwrap() []error }); ok {
				errs = j.Unwrap()
			}
			for _, e := range errs {
				var pe *ProfileError
				if !errors.As(e, &pe) {
					t.Fatalf("error %T %q is not a *ProfileError", e, e)
				}
				if pe.File != file || pe.Line < 0 || pe.Line > lines {
					t.Fatalf("error %q: file %q line %d of %d", pe, pe.File, pe.Line, lines)
				}
			}
			return
		}
		if p.Name == "" || p.File != file {
			t.Fatalf("name %q, file %q", p.Name, p.File)
		}
		if p.MaxOIDs < 1 || p.MaxOIDs > 128 {
			t.Fatalf("max_oids %d accepted", p.MaxOIDs)
		}
		oid := func(what, s string) {
			if !oidRe.MatchString(s) || strings.HasPrefix(s, ".") {
				t.Fatalf("%s: OID %q accepted as it is", what, s)
			}
		}
		for _, s := range p.Scalars {
			oid("scalar", s.OID)
			if s.Scale == 0 {
				t.Fatalf("scalar %s: scale 0", s.OID)
			}
		}
		for _, tb := range p.Tables {
			if tb.Name == "" || tb.MaxRows <= 0 || len(tb.Columns) == 0 {
				t.Fatalf("table %+v accepted", tb)
			}
			for _, c := range tb.Columns {
				oid("column", c.OID)
			}
		}
		for _, tr := range p.Traps {
			oid("trap", tr.OID)
			if tr.State != "raised" && tr.State != "cleared" {
				t.Fatalf("trap %s: state %q", tr.OID, tr.State)
			}
		}
		ps := NewProfiles(p)
		if got, ok := ps.Get(p.Name); !ok || got != p {
			t.Fatalf("Get(%q) = %v, %v", p.Name, got, ok)
		}
		for _, s := range p.SysObjectID {
			oid("sys_object_id", s)
			if _, ok := ps.Select(s); !ok {
				t.Fatalf("Select(%q) found nothing", s)
			}
		}
	})
}

// FuzzParseURL feeds arbitrary strings to the snmp:// URL parser: it must
// never panic, and a URL it accepts names a host and a port 1-65535, a
// positive timeout if any, and a rate the client can size its window by
// (finite, at most MaxRate: a float too large for an int converts to the
// largest int on ARM, and the window would be that long).
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"snmp://public@10.0.0.9:161?version=2c&profile=apc-rpdu",
		"snmp://127.0.0.1?version=1&timeout=2s&retries=0&rate=2.5",
		"snmp://ops@h?version=3&level=authPriv&auth=SHA&auth_pass=longpassword&priv=AES&priv_pass=longpassword&context=c",
		"snmp://[::1]:1161", "snmp://h?rate=NaN", "snmp://h?rate=1e300", "snmp://h:0", "snmp://h?colour=red", "http://h",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		cfg, _, err := ParseURL(s)
		if err != nil {
			return
		}
		g, err := gosnmpFor(cfg)
		if err != nil {
			t.Fatalf("%q accepted, but %v", s, err)
		}
		if g.Target == "" || g.Port == 0 {
			t.Fatalf("%q: target %q port %d", s, g.Target, g.Port)
		}
		if cfg.Timeout < 0 || cfg.RateLimit < 0 || cfg.RateLimit > MaxRate || math.IsNaN(cfg.RateLimit) {
			t.Fatalf("%q: timeout %v rate %v", s, cfg.Timeout, cfg.RateLimit)
		}
	})
}
