package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden expected.out files of the check testcases")

// TestCheckTestcases runs every folder of agent/config/testdata/broken/testcases
// through the check verb: each holds a site.yaml (and the profiles it
// names) and expected.out, the verb's output with the case folder's path
// removed and its exit code on the last line.
func TestCheckTestcases(t *testing.T) {
	root := filepath.Join("..", "..", "config", "testdata", "broken", "testcases")
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(dirs) == 0 {
		t.Fatal("no testcases")
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		t.Run(d.Name(), func(t *testing.T) {
			dir := filepath.Join(root, d.Name())
			// git keeps no file modes but the executable bit; private keys
			// must not be readable by others.
			keys, _ := filepath.Glob(filepath.Join(dir, "*.key"))
			for _, k := range keys {
				if err := os.Chmod(k, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var stdout, stderr bytes.Buffer
			e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
			code := dispatch(context.Background(), e, []string{"check", "-c", filepath.Join(dir, "site.yaml")})
			got := stdout.String() + stderr.String() + fmt.Sprintf("exit %d\n", code)
			got = strings.ReplaceAll(got, dir+string(filepath.Separator), "")
			golden := filepath.Join(dir, "expected.out")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestCheckTestcases -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("check %s:\n--- got\n%s--- want\n%s", d.Name(), got, want)
			}
		})
	}
}

func TestCheckUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := dispatch(context.Background(), e, []string{"check"}); code != 2 {
		t.Errorf("check without -c: exit %d, want 2", code)
	}
	if code := dispatch(context.Background(), e, []string{"check", "-c", "no/such/site.yaml"}); code != 2 {
		t.Errorf("check of a missing file: exit %d, want 2", code)
	}
	if !strings.Contains(stderr.String(), "no/such/site.yaml: no such file") {
		t.Errorf("stderr: %s", stderr.String())
	}
}

// TestCheckExampleSite: the shipped example passes check, with the
// built-in profiles.
func TestCheckExampleSite(t *testing.T) {
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := dispatch(context.Background(), e, []string{"check", "-c", "../../../firmware-config/site.example.yaml"}); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
}
