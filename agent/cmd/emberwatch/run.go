package main

import (
	"context"
	"errors"
)

// runCmd is wired by its owner; until then it reports that it is missing.
func runCmd(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "run", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return errors.New("run: not built yet")
}
