package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWritesTraceAndTruth(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "trace.csv")
	var so, se bytes.Buffer
	if err := run(context.Background(), []string{"-family", "comms_loss", "-seed", "7", "-duration", "1h", "-o", out}, &so, &se); err != nil {
		t.Fatalf("%v: %s", err, se.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "time,device,point,value\n") {
		t.Errorf("no trace header in %.200s", b)
	}
	var truth map[string]any
	j, err := os.ReadFile(filepath.Join(dir, "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(j, &truth); err != nil {
		t.Fatal(err)
	}
	if truth["family"] != "comms_loss" || truth["class"] != "nuisance" {
		t.Errorf("truth %v", truth)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{}, {"-family", "nope"}, {"-bogus"}} {
		var so, se bytes.Buffer
		err := run(context.Background(), args, &so, &se)
		if _, ok := err.(usageError); !ok {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

func TestList(t *testing.T) {
	var so, se bytes.Buffer
	if err := run(context.Background(), []string{"-list"}, &so, &se); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(so.String(), "soft_short runaway") || !strings.Contains(so.String(), "hvac_failure nuisance") {
		t.Errorf("list:\n%s", so.String())
	}
}
