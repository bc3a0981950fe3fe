//go:build interop

package main

import (
	"testing"

	"github.com/emberwatch/emberwatch/testbench/peers"
)

// TestRunI2CAndModbusMosquitto is TestRunI2CAndModbus through Debian's
// mosquitto. It lives here rather than in agent/e2e because the simulated
// I2C buses are injected into the agent's wiring, which the built binary
// of agent/e2e cannot take.
func TestRunI2CAndModbusMosquitto(t *testing.T) {
	testRunI2CAndModbus(t, peers.StartMosquitto(t).URL)
}

// TestRunShedsOnRunawayMosquitto is TestRunShedsOnRunaway through
// mosquitto.
func TestRunShedsOnRunawayMosquitto(t *testing.T) {
	testRunShedsOnRunaway(t, peers.StartMosquitto(t).URL)
}
