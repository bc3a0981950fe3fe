//go:build interop

package host

import (
	"testing"

	"github.com/emberwatch/emberwatch/testbench/peers"
)

// The same checks against mosquitto: forged, tampered, replayed and stale
// commands are refused and the refusals published; a killed listener's
// will says offline.
func TestMosquittoRejects(t *testing.T) { testRejects(t, peers.StartMosquitto(t).URL) }

func TestMosquittoWill(t *testing.T) { testWill(t, peers.StartMosquitto(t).URL) }
