package main

import (
	"context"
	"fmt"

	"github.com/emberwatch/emberwatch/agent/command"
)

// keygenCmd writes an Ed25519 key pair for signing shed and operator
// commands: PREFIX.key (mode 0600) and PREFIX.pub, one line of base64 each.
func keygenCmd(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "keygen", "-o PREFIX")
	out := fs.String("o", "", "write `PREFIX`.key (private, mode 0600) and PREFIX.pub (public)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		fs.Usage()
		return usagef("keygen needs -o PREFIX and no arguments")
	}
	pub, err := command.GenerateKeyFiles(*out, nil)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s.key and %s.pub (key id %s)\n", *out, *out, command.KeyID(pub))
	return nil
}
