package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoadConfig loads a listener config file of arbitrary bytes: it must
// never panic; an error names the file; a config it accepts validates,
// names its broker, site, group and host (no topic wildcards in the
// names) and at least one public key, and has no negative duration.
func FuzzLoadConfig(f *testing.F) {
	for _, s := range []string{
		"broker: tcp://127.0.0.1:1883\nsite: dc-1\ngroup: rack-a\nhost: web-1\npublic_keys: [gw.pub]\nmax_age: 30s\n",
		"broker: tcp://127.0.0.1:1883\nsite: dc-1\ngroup: rack-a\nhost: web-1\npublic_keys: [gw.pub]\nshutdown: [systemctl, poweroff]\ndelay: 5s\nstate_file: seq.json\n",
		"broker: x\nsite: s\ngroup: g\nhost: h\npublic_keys: [k]\ndry_run: true\ndry_run_offline_after: 2s\nmax_skew: -1s\n",
		"broker: x\nsite: s\ngroup: g\nhost: h\npublic_keys: [k]\nshutdwon: [halt]\n",
		"broker: x\nsite: s\ngroup: g/+\nhost: h\npublic_keys: [k]\n",
		"broker: x\nsite: s\ngroup: g\nhost: h\npublic_keys: [k]\nmax_age: soon\n",
		"broker: [\n",
		"",
	} {
		f.Add([]byte(s))
	}
	path := filepath.Join(f.TempDir(), "host.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(path)
		if err != nil {
			if !strings.HasPrefix(err.Error(), path+": ") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		if verr := c.Validate(); verr != nil {
			t.Fatalf("accepted a config that does not validate: %v", verr)
		}
		for _, v := range []string{c.Site, c.Group, c.Host} {
			if v == "" || strings.ContainsAny(v, "/+#") {
				t.Fatalf("name %q accepted", v)
			}
		}
		if c.Broker == "" || len(c.PublicKeys) == 0 {
			t.Fatalf("broker %q, keys %q accepted", c.Broker, c.PublicKeys)
		}
		if c.MaxAge < 0 || c.MaxSkew < 0 || c.Delay < 0 || c.DryRunOfflineAfter < 0 {
			t.Fatalf("negative duration accepted: %+v", c)
		}
	})
}
