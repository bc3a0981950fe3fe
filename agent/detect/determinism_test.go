package detect

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/determinism.golden")

// replayAll runs every simulated scenario through a fresh detector and
// returns the events as JSON lines.
func replayAll(t testing.TB) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for _, c := range simCases() {
		r := newSimRack(12, 7)
		if c.setup != nil {
			c.setup(r)
		}
		d := New(DefaultConfig())
		r.run(c.dur, c.change, func(s Sample) {
			for _, e := range d.Observe(s) {
				if err := enc.Encode(e); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
	return buf.Bytes()
}

// TestDeterminism checks that the same input gives byte-identical events,
// run to run and platform to platform: the digest of every scenario's
// events is kept in testdata/determinism.golden (written on amd64 with
// -update) and checked under qemu for arm and arm64 by make cross-check.
func TestDeterminism(t *testing.T) {
	a, b := replayAll(t), replayAll(t)
	if !bytes.Equal(a, b) {
		t.Fatal("two runs over the same input differ")
	}
	sum := sha256.Sum256(a)
	got := hex.EncodeToString(sum[:])
	path := filepath.Join("testdata", "determinism.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestDeterminism -update once)", err)
	}
	if strings.TrimSpace(string(want)) != got {
		t.Errorf("events digest %s, golden %s: the detector's output changed or differs on this platform (%d lines)",
			got, strings.TrimSpace(string(want)), bytes.Count(a, []byte("\n")))
	}
}
