package command

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testKey is a fixed key, so tests are repeatable.
func testKey(b byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

var t0 = time.Date(2026, 3, 1, 1, 2, 3, 500_000_000, time.UTC)

func shutdown() Command {
	return Command{Group: "rack-a", Tier: 1, Action: ActionShutdown,
		Reason: Reason{ID: "a1", Kind: "thermal_runaway", Level: "critical", Device: "bms-1"}}
}

func TestCanonical(t *testing.T) {
	cases := []struct {
		name, in, want string
		bad            bool
	}{
		{name: "sorted and compact", in: ` { "b" : 1, "a" : [ true, null, "x" ] } `, want: `{"a":[true,null,"x"],"b":1}`},
		{name: "nested sorted", in: `{"z":{"y":1,"x":2},"a":{}}`, want: `{"a":{},"z":{"x":2,"y":1}}`},
		{name: "escapes", in: `{"s":"\u0041\u00e9\n\t\u0001\"\\\/<"}`, want: "{\"s\":\"Aé\\n\\t\\u0001\\\"\\\\/<\"}"},
		{name: "negative", in: `{"n":-42}`, want: `{"n":-42}`},
		{name: "byte order of names", in: `{"é":1,"z":2,"Z":3}`, want: `{"Z":3,"z":2,"é":1}`},
		{name: "fraction", in: `{"n":1.5}`, bad: true},
		{name: "exponent", in: `{"n":1e3}`, bad: true},
		{name: "too big", in: `{"n":9007199254740992}`, bad: true},
		{name: "duplicate", in: `{"a":1,"a":2}`, bad: true},
		{name: "trailing", in: `{"a":1} {}`, bad: true},
		{name: "invalid utf8", in: "{\"a\":\"\xff\"}", bad: true},
		{name: "truncated", in: `{"a":`, bad: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Canonical([]byte(tc.in), "")
			if tc.bad {
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("Canonical(%s) = %s, %v; want ErrMalformed", tc.in, got, err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("Canonical(%s) = %s, %v; want %s", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestSignIsCanonicalAndVerifies(t *testing.T) {
	key := testKey(1)
	c := shutdown()
	c.Site, c.Gateway, c.Seq, c.Issued = "dc-1", "gw-1", 7, t0
	data, err := Sign(&c, key)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"action":"shutdown","gateway":"gw-1","group":"rack-a","issued":"2026-03-01T01:02:03.5Z","key":"` + c.Key +
		`","reason":{"device":"bms-1","id":"a1","kind":"thermal_runaway","level":"critical"},"seq":7,"sig":"` + c.Sig + `","site":"dc-1","tier":1}`
	if string(data) != want {
		t.Fatalf("wire form\n got %s\nwant %s", data, want)
	}
	v, err := NewVerifier(VerifierOptions{Keys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := v.Verify(data, t0.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 7 || got.Group != "rack-a" || !got.Issued.Equal(t0) {
		t.Fatalf("verified %+v", got)
	}
	// The same command re-indented still verifies: the signature covers
	// the canonical form, not the bytes.
	var buf bytes.Buffer
	if err := json.Indent(&buf, data, "", "  "); err != nil {
		t.Fatal(err)
	}
	c.Seq = 8
	data8, _ := Sign(&c, key)
	buf.Reset()
	_ = json.Indent(&buf, data8, "", "  ")
	if _, err := v.Verify(buf.Bytes(), t0.Add(time.Second)); err != nil {
		t.Fatalf("indented command rejected: %v", err)
	}
}

func TestVerifierRejects(t *testing.T) {
	key, other := testKey(1), testKey(2)
	pub := key.Public().(ed25519.PublicKey)
	sign := func(k ed25519.PrivateKey, seq int64, issued time.Time, edit func(*Command)) []byte {
		c := shutdown()
		c.Site, c.Gateway, c.Seq, c.Issued = "dc-1", "gw-1", seq, issued
		if edit != nil {
			edit(&c)
		}
		b, err := Sign(&c, k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	now := t0.Add(2 * time.Second)
	good := sign(key, 10, t0, nil)
	forgedKey := sign(other, 11, t0, nil)
	// forgedID claims the trusted key's id but is signed by another key.
	forgedID := bytes.Replace(forgedKey, []byte(KeyID(other.Public().(ed25519.PublicKey))), []byte(KeyID(pub)), 1)
	tampered := bytes.Replace(sign(key, 12, t0, nil), []byte(`"tier":1`), []byte(`"tier":2`), 1)
	cases := []struct {
		name string
		data []byte
		want error
	}{
		{"good", good, nil},
		{"replayed", good, ErrReplay},
		{"older", sign(key, 9, t0, nil), ErrReplay},
		{"unknown key", forgedKey, ErrUnknownKey},
		{"forged", forgedID, ErrBadSignature},
		{"tampered", tampered, ErrBadSignature},
		{"stale", sign(key, 13, now.Add(-DefaultMaxAge-time.Second), nil), ErrStale},
		{"future", sign(key, 14, now.Add(DefaultMaxSkew+time.Second), nil), ErrFuture},
		{"unknown member", []byte(strings.Replace(string(sign(key, 15, t0, nil)), `"site"`, `"extra":1,"site"`, 1)), ErrMalformed},
		{"case-folded member", []byte(strings.Replace(string(sign(key, 16, t0, nil)), `"site"`, `"Site"`, 1)), ErrMalformed},
		{"no signature", []byte(`{"site":"dc-1","gateway":"gw-1","action":"shutdown","reason":{},"seq":17,"issued":"2026-03-01T01:02:03Z","key":"x"}`), ErrMalformed},
		{"not json", []byte("shutdown now"), ErrMalformed},
		{"still accepts newer", sign(key, 20, t0, nil), nil},
	}
	v, err := NewVerifier(VerifierOptions{Keys: []ed25519.PublicKey{pub}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		_, err := v.Verify(tc.data, now)
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%s: Verify = %v, want %v", tc.name, err, tc.want)
		}
	}
	if got := v.Last("gw-1"); got != 20 {
		t.Errorf("last seq %d, want 20", got)
	}
}

func TestSequencePersists(t *testing.T) {
	dir := t.TempDir()
	key := testKey(3)
	pub := key.Public().(ed25519.PublicKey)
	signer, err := NewSigner(key, "dc-1", "gw-1", filepath.Join(dir, "signer.json"))
	if err != nil {
		t.Fatal(err)
	}
	data1, c1, err := signer.Sign(shutdown(), t0)
	if err != nil {
		t.Fatal(err)
	}
	data2, c2, _ := signer.Sign(shutdown(), t0) // same millisecond: still rises
	if c2.Seq != c1.Seq+1 || c1.Seq != t0.UnixMilli() {
		t.Fatalf("seqs %d, %d", c1.Seq, c2.Seq)
	}
	// A restarted signer whose clock went back keeps rising.
	signer2, _ := NewSigner(key, "dc-1", "gw-1", filepath.Join(dir, "signer.json"))
	_, c3, _ := signer2.Sign(shutdown(), t0.Add(-time.Hour))
	if c3.Seq != c2.Seq+1 {
		t.Fatalf("seq after restart %d, want %d", c3.Seq, c2.Seq+1)
	}

	stateFile := filepath.Join(dir, "verifier.json")
	opts := VerifierOptions{Keys: []ed25519.PublicKey{pub}, StateFile: stateFile}
	v, _ := NewVerifier(opts)
	if _, err := v.Verify(data2, t0); err != nil {
		t.Fatal(err)
	}
	// After a restart, the older command is still refused.
	v2, err := NewVerifier(opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v2.Verify(data1, t0); !errors.Is(err, ErrReplay) {
		t.Fatalf("after restart: %v, want ErrReplay", err)
	}
	if _, err := v2.Verify(data2, t0); !errors.Is(err, ErrReplay) {
		t.Fatalf("after restart: %v, want ErrReplay", err)
	}
}

func TestKeyFiles(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "gw")
	pub, err := GenerateKeyFiles(prefix, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(prefix + ".key")
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", st.Mode().Perm(), err)
	}
	priv, err := LoadPrivateKey(prefix + ".key")
	if err != nil {
		t.Fatal(err)
	}
	pub2, err := LoadPublicKey(prefix + ".pub")
	if err != nil || !pub2.Equal(pub) || !priv.Public().(ed25519.PublicKey).Equal(pub) {
		t.Fatalf("keys differ: %v", err)
	}
	if _, err := GenerateKeyFiles(prefix, nil); err == nil {
		t.Fatal("overwrote an existing key")
	}
	if err := os.Chmod(prefix+".key", 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPrivateKey(prefix + ".key"); err == nil {
		t.Fatal("loaded a world-readable private key")
	}
}

func FuzzParse(f *testing.F) {
	key := testKey(1)
	c := shutdown()
	c.Site, c.Gateway, c.Seq, c.Issued = "dc-1", "gw-1", 7, t0
	good, _ := Sign(&c, key)
	f.Add(good)
	f.Add([]byte(`{"a":[1,{"b":null}]}`))
	f.Add([]byte(`{"site":"x","Site":"y"}`))
	f.Add([]byte(`[]`))
	v, _ := NewVerifier(VerifierOptions{Keys: []ed25519.PublicKey{key.Public().(ed25519.PublicKey)}})
	f.Fuzz(func(t *testing.T, data []byte) {
		canon, err := Canonical(data, "")
		if err == nil {
			again, err := Canonical(canon, "")
			if err != nil || !bytes.Equal(again, canon) {
				t.Fatalf("canonical form not stable: %s -> %s (%v)", canon, again, err)
			}
		}
		if _, _, err := Parse(data); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("Parse error %v does not wrap ErrMalformed", err)
		}
		if _, err := v.Verify(data, t0); err == nil && !bytes.Equal(canonOrNil(data), canonOrNil(good)) {
			t.Fatalf("accepted a command that is not the signed one: %s", data)
		}
	})
}

func canonOrNil(b []byte) []byte {
	c, _ := Canonical(b, "")
	return c
}

func TestConfig(t *testing.T) {
	dir := t.TempDir()
	gw, op := filepath.Join(dir, "gw"), filepath.Join(dir, "op")
	if _, err := GenerateKeyFiles(gw, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateKeyFiles(op, nil); err != nil {
		t.Fatal(err)
	}
	c := Config{Key: gw + ".key", OperatorKeys: []string{op + ".pub"}}
	s, err := c.Signer("dc-1", "gw-1")
	if err != nil {
		t.Fatal(err)
	}
	opKey, _ := LoadPrivateKey(op + ".key")
	opSigner, _ := NewSigner(opKey, "dc-1", "console", "")
	v, err := c.OperatorVerifier(nil)
	if err != nil {
		t.Fatal(err)
	}
	wire, _, _ := opSigner.Sign(Command{Action: ActionAcknowledge, Reason: Reason{ID: "a1"}}, t0)
	if _, err := v.Verify(wire, t0); err != nil {
		t.Errorf("operator command: %v", err)
	}
	gwWire, _, _ := s.Sign(Command{Action: ActionCancel}, t0)
	if _, err := v.Verify(gwWire, t0); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("gateway key accepted for operator commands: %v", err)
	}
	if _, err := (Config{}).Signer("dc-1", "gw-1"); err == nil {
		t.Error("signer without a key")
	}
	if _, err := (Config{}).OperatorVerifier(nil); err == nil {
		t.Error("verifier without keys")
	}
}
