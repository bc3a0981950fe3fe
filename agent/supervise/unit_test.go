package supervise

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// unitPath is the systemd unit shipped in the packages.
var unitPath = filepath.Join("..", "..", "firmware-config", "systemd", "emberwatch.service")

// readUnit returns the unit's assignments per section, in order.
func readUnit(t *testing.T) map[string][][2]string {
	t.Helper()
	f, err := os.Open(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sections := map[string][][2]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s:%d: not an assignment: %q", unitPath, n, line)
			}
			sections[section] = append(sections[section], [2]string{k, v})
		}
	}
	return sections
}

// TestUnit pins what the agent and the packages rely on in the unit.
func TestUnit(t *testing.T) {
	u := readUnit(t)
	want := []struct{ section, key, value string }{
		{"Service", "Type", "notify"},
		{"Service", "NotifyAccess", "main"},
		{"Service", "WatchdogSec", "30"},
		{"Service", "Restart", "on-failure"},
		{"Service", "RestartPreventExitStatus", "2"},
		{"Service", "User", "emberwatch"},
		{"Service", "ExecStart", "/usr/bin/emberwatch run -c /etc/emberwatch/site.yaml"},
		{"Service", "NoNewPrivileges", "yes"},
		{"Service", "ProtectSystem", "strict"},
		{"Service", "StateDirectory", "emberwatch"},
		{"Service", "ConfigurationDirectory", "emberwatch"},
		{"Service", "ReadWritePaths", "/var/lib/emberwatch"},
		{"Install", "WantedBy", "multi-user.target"},
	}
	for _, w := range want {
		var got []string
		for _, kv := range u[w.section] {
			if kv[0] == w.key {
				got = append(got, kv[1])
			}
		}
		if len(got) != 1 || got[0] != w.value {
			t.Errorf("[%s] %s = %q, want exactly %q", w.section, w.key, got, w.value)
		}
	}
}
