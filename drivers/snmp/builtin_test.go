package snmp

import (
	"testing"

	firmwareconfig "github.com/emberwatch/emberwatch/firmware-config"
)

// TestBuiltinProfiles parses every built-in profile strictly.
func TestBuiltinProfiles(t *testing.T) {
	ps, err := LoadProfiles(firmwareconfig.Profiles(), "snmp")
	if err != nil {
		t.Fatal(err)
	}
	if len(ps.All()) == 0 {
		t.Fatal("no built-in SNMP profiles")
	}
	for _, p := range ps.All() {
		t.Logf("%s: %d scalars, %d tables, sysObjectID %v", p.Name, len(p.Scalars), len(p.Tables), p.SysObjectID)
	}
}
