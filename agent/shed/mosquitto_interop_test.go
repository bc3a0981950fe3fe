//go:build interop

package shed

import (
	"testing"

	"github.com/emberwatch/emberwatch/testbench/peers"
)

// TestChainMosquitto is acceptance test 1 against mosquitto.
func TestChainMosquitto(t *testing.T) { runChain(t, peers.StartMosquitto(t).URL) }
