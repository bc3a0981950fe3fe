package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emberwatch/emberwatch/agent/command"
)

func TestKeygen(t *testing.T) {
	prefix := filepath.Join(t.TempDir(), "gw-1")
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if err := keygenCmd(context.Background(), e, []string{"-o", prefix}); err != nil {
		t.Fatal(err)
	}
	pub, err := command.LoadPublicKey(prefix + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := command.LoadPrivateKey(prefix + ".key"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout.String(), command.KeyID(pub)) {
		t.Errorf("output %q does not name the key id", stdout.String())
	}
	if st, _ := os.Stat(prefix + ".key"); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode().Perm())
	}

	cases := []struct {
		name string
		args []string
		code int
	}{
		{"no prefix", nil, 2},
		{"extra argument", []string{"-o", prefix + "2", "x"}, 2},
		{"exists", []string{"-o", prefix}, 1},
		{"help", []string{"-h"}, 0},
	}
	for _, tc := range cases {
		err := keygenCmd(context.Background(), e, tc.args)
		if got := exitCode(e, "keygen", err); got != tc.code {
			t.Errorf("%s: exit %d (%v), want %d", tc.name, got, err, tc.code)
		}
	}
	var ie inputError
	if err := keygenCmd(context.Background(), e, nil); !errors.As(err, &ie) {
		t.Errorf("no -o: %v is not an input error", err)
	}
}
