package main

import (
	"context"
	"errors"
)

// probeCmd is wired by its owner; until then it reports that it is missing.
func probeCmd(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "probe", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return errors.New("probe: not built yet")
}
