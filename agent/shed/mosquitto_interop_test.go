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

// BenchmarkCriticalToHostMosquitto is BenchmarkCriticalToHost through
// mosquitto with set_tcp_nodelay true, as a shedding site should run it.
func BenchmarkCriticalToHostMosquitto(b *testing.B) {
	benchLatency(b, peers.StartMosquitto(b, "set_tcp_nodelay true").URL)
}

// BenchmarkCriticalToHostMosquittoNagle is the same with mosquitto's
// default (Nagle's algorithm on): small messages wait for delayed ACKs and
// the tail grows by tens of milliseconds.
func BenchmarkCriticalToHostMosquittoNagle(b *testing.B) {
	benchLatency(b, peers.StartMosquitto(b).URL)
}
