// Command emberwatch is the Emberwatch agent and its tools: it polls UPS
// battery systems, PDUs and sensors, detects developing thermal runaway,
// and publishes telemetry, alerts and shed commands over MQTT.
//
// Each verb lives in its own file; main only dispatches. Exit codes: 0 on
// success, 2 for usage and input errors, 1 for runtime failures.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// verb is one sub-command.
type verb struct {
	name  string
	short string
	run   func(ctx context.Context, env *env, args []string) error
}

// env carries the process's streams, so verbs are testable in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
}

// inputError marks usage and input errors (exit code 2).
type inputError struct{ err error }

func (e inputError) Error() string { return e.err.Error() }
func (e inputError) Unwrap() error { return e.err }

// usagef returns an input error.
func usagef(format string, a ...any) error { return inputError{fmt.Errorf(format, a...)} }

func verbs() []verb {
	return []verb{
		{"run", "run the agent: poll, detect, publish, shed", runCmd},
		{"demo", "a simulated rack with an embedded broker and a console view", demoCmd},
		{"replay", "run the detector over a recorded trace", replayCmd},
		{"check", "validate a site config and its profiles", checkCmd},
		{"probe", "read one device once, for commissioning", probeCmd},
		{"keygen", "make an Ed25519 key pair for signing shed and operator commands", keygenCmd},
		{"host", "the shed listener on a rack host: verify, acknowledge, shut down", hostCmd},
		{"version", "print version, commit, Go version and platform", versionCmd},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: emberwatch VERB [flags] [args]")
	fmt.Fprintln(w, "\nverbs:")
	for _, v := range verbs() {
		fmt.Fprintf(w, "  %-8s %s\n", v.name, v.short)
	}
	fmt.Fprintln(w, "\n'emberwatch VERB -h' shows a verb's flags.")
}

func main() {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := dispatch(ctx, e, os.Args[1:])
	stop()
	os.Exit(code)
}

// dispatch runs the verb named by args[0] and returns the exit code.
func dispatch(ctx context.Context, e *env, args []string) int {
	if len(args) == 0 {
		usage(e.stderr)
		return 2
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(e.stdout)
		return 0
	}
	for _, v := range verbs() {
		if v.name != args[0] {
			continue
		}
		err := v.run(ctx, e, args[1:])
		return exitCode(e, v.name, err)
	}
	fmt.Fprintf(e.stderr, "emberwatch: unknown verb %q\n", args[0])
	usage(e.stderr)
	return 2
}

func exitCode(e *env, name string, err error) int {
	if err == nil {
		return 0
	}
	if errors.Is(err, errHelp) {
		return 0
	}
	fmt.Fprintf(e.stderr, "emberwatch %s: %v\n", name, err)
	var ie inputError
	if errors.As(err, &ie) {
		return 2
	}
	return 1
}
