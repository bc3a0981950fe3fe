package main

import (
	"context"
	"errors"
)

// replayCmd is wired by its owner; until then it reports that it is missing.
func replayCmd(_ context.Context, e *env, args []string) error {
	fs := newFlags(e, "replay", "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	return errors.New("replay: not built yet")
}
