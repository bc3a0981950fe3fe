//go:build interop

package shed

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/emberwatch/emberwatch/testbench/peers"
)

// TestChainMosquitto is acceptance test 1 against mosquitto; after the
// shed, Debian's upsc sees FSD on the battery string that feeds the shed
// groups.
func TestChainMosquitto(t *testing.T) {
	nut := runChain(t, peers.StartMosquitto(t).URL)
	upsc := peers.Require(t, "upsc", "nut-client")
	out, err := exec.Command(upsc, "bms-1@"+serveNUT(t, nut), "ups.status").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "FSD OL") {
		t.Errorf("upsc after the shed: %q, %v", out, err)
	}
}
