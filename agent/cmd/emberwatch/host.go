package main

import (
	"context"
	"fmt"

	"github.com/emberwatch/emberwatch/agent/host"
)

const hostSynopsis = `-c FILE [-dry-run] [-log-level LEVEL] [-log-format text|json]

Runs the shed listener on a host in the racks: subscribes to its group's
shed topic, verifies each signed command, runs the configured shutdown
(default: systemctl poweroff) and publishes acknowledgements on
emberwatch/v1/<site>/ack/<host>. -dry-run only logs and acknowledges.
Stops on SIGINT or SIGTERM after publishing its offline acknowledgement.
`

// hostCmd runs agent/host's listener from a listener config file.
func hostCmd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "host", hostSynopsis)
	file := fs.String("c", "", "listener config `FILE` (required)")
	dry := fs.Bool("dry-run", false, "only log and acknowledge, never run the shutdown command")
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	format := fs.String("log-format", "text", "log format: text or json")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *file == "" || fs.NArg() > 0 {
		fs.Usage()
		return usagef("host: -c FILE is required, and takes no arguments")
	}
	log, err := newLogger(e, *level, *format)
	if err != nil {
		return err
	}
	cfg, err := host.LoadConfig(*file)
	if err != nil {
		return inputError{err}
	}
	if *dry {
		cfg.DryRun = true
	}
	l, err := host.New(cfg, host.Options{Logger: log})
	if err != nil {
		return inputError{err}
	}
	if err := l.Run(ctx); err != nil {
		return fmt.Errorf("host %s: %w", cfg.Host, err)
	}
	return nil
}
