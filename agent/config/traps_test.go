package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTraps(t *testing.T) {
	head := "site: s\ngateway: g\nmqtt: {broker: \"tcp://h:1883\"}\n"
	tests := []struct {
		name, yaml string
		want       string // a line of the errors; "" for none
		listen     string
	}{
		{"off by default", head, "", DefaultTrapListen},
		{"off keeps its settings unchecked", head + "traps: {listen: nowhere, communities: [\"\"]}\n", "", "nowhere"},
		{"default listen", head + "traps: {enabled: true, communities: [public]}\n", "", DefaultTrapListen},
		{"accepts nothing", head + "traps: {enabled: true}\n", "site.yaml:4: traps: enabled, but accepts nothing", ""},
		{"listen host name", head + "traps: {enabled: true, listen: \"gw.example:162\", communities: [c]}\n",
			`site.yaml:4: traps.listen: "gw.example:162": the host must be an IP address`, ""},
		{"v3 user without auth", head + "traps:\n  enabled: true\n  users:\n    - user: u\n",
			"site.yaml:7: traps.users[0]: set auth_password_file or auth_password_env", ""},
		{"wrong type", head + "traps: {enabled: yes please}\n", `traps.enabled: want true or false, got "yes please"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("site.yaml", []byte(tt.yaml))
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := c.TrapListen(); got != tt.listen {
					t.Errorf("listen %q, want %q", got, tt.listen)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("errors:\n%v\nwant a line containing %q", err, tt.want)
			}
		})
	}
}

func TestTrapCredentials(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "auth.pass"), []byte("auth-phrase-1\r\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "short.pass"), []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	site := `site: s
gateway: g
mqtt: {broker: "tcp://h:1883"}
traps:
  enabled: true
  users:
    - {user: a, auth_password_file: auth.pass, priv_password_env: PRIV}
    - {user: b, auth_password_env: AUTH_B}
    - {user: c, auth_password_file: short.pass}
    - {user: d, auth_password_env: UNSET}
`
	c, err := Parse(filepath.Join(dir, "site.yaml"), []byte(site))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"PRIV": "priv-phrase-1", "AUTH_B": "auth-phrase-b"}
	getenv := func(k string) string { return env[k] }
	for i, want := range []struct {
		cred TrapCredentials
		err  string
	}{
		{TrapCredentials{User: "a", AuthPassword: "auth-phrase-1", PrivPassword: "priv-phrase-1"}, ""},
		{TrapCredentials{User: "b", AuthPassword: "auth-phrase-b"}, ""},
		{TrapCredentials{}, "traps.users[2].auth_password: user \"c\": the pass phrase must have at least 8 characters"},
		{TrapCredentials{}, "traps.users[3].auth_password_env: environment variable UNSET is empty or unset"},
	} {
		got, err := c.Credentials(i, getenv)
		if want.err != "" {
			if err == nil || err.Error() != want.err {
				t.Errorf("user %d: err %v, want %q", i, err, want.err)
			}
			if err != nil && (strings.Contains(err.Error(), "short") && !strings.Contains(err.Error(), "short.pass")) {
				t.Errorf("user %d: the pass phrase is in the error: %v", i, err)
			}
			continue
		}
		if err != nil || got != want.cred {
			t.Errorf("user %d: %+v, %v; want %+v", i, got, err, want.cred)
		}
	}
}
