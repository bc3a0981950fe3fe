package main

import (
	"io"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/emberwatch/emberwatch/agent/config"
)

func TestSpoolDir(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := t.TempDir()
	tests := []struct {
		name, spool, state, want string
	}{
		{"site file wins", "/var/spool/ew", "/var/lib/emberwatch", "/var/spool/ew"},
		{"systemd state directory", "", "/var/lib/emberwatch", "/var/lib/emberwatch/spool"},
		{"first of several state directories", "", "/var/lib/a:/var/lib/b", "/var/lib/a/spool"},
		{"memory only", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			site := "site: s\ngateway: g\nmqtt:\n  broker: tcp://127.0.0.1:1883\n"
			if tt.spool != "" {
				site += "  spool_dir: " + tt.spool + "\n"
			}
			cfg, err := config.Parse(filepath.Join(dir, "site.yaml"), []byte(site))
			if err != nil {
				t.Fatal(err)
			}
			getenv := func(k string) string {
				if k == "STATE_DIRECTORY" {
					return tt.state
				}
				return ""
			}
			if got := spoolDir(cfg, getenv, log); got != tt.want {
				t.Errorf("spoolDir = %q, want %q", got, tt.want)
			}
		})
	}
}
