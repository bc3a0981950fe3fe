package main

import (
	"context"
	"errors"
)

// checkCmd is wired by its owner; until then it reports that it is missing.
func checkCmd(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "check", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return errors.New("check: not built yet")
}
