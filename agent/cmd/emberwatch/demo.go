package main

import (
	"context"
	"errors"
)

// demoCmd is wired by its owner; until then it reports that it is missing.
func demoCmd(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "demo", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return errors.New("demo: not built yet")
}
