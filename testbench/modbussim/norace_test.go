//go:build !race

package modbussim

// raceEnabled tells timing tests that the race detector slows everything
// down: they then check only what no slowness can break.
const raceEnabled = false
