// Package detect is the streaming thermal-runaway detector: it is fed
// readings one at a time (Observe) and told when time passes without one
// (Advance), and returns alert events in the shape of the Emberwatch
// contracts (section 4).
//
// The detector is pure: no I/O, no wall clock, no goroutines. Time is taken
// from the samples, so the same sequence of samples always gives the same
// events, byte for byte, on every architecture (the arithmetic avoids
// fused multiply-add and transcendental functions on decision paths).
// Memory is bounded by the number of distinct devices and points, never by
// the length of the stream.
//
// How it decides, per device and subject (a module, a cell, a string):
//
//   - Glitch filter. Each sensor's samples pass a plausibility range and a
//     jump filter: a jump larger than Config.SpikeJump is held until the
//     next sample confirms it, so one-sample spikes (85, 127, -40) are
//     rejected and reported as sensor_fault; NaN (open circuit) and values
//     stuck while their neighbours move are sensor_fault too. A faulty
//     sensor never feeds the runaway verdict.
//   - Differential rise. Each battery temperature is smoothed and compared
//     with the median of the other sensors of its group (its neighbours),
//     or, when it has none, with the room air. A one-sided CUSUM accumulates
//     the rise of that difference beyond what is expected: a slow drift
//     allowance plus a share of the common-mode and room temperature
//     changes. Common-mode heating (a discharge warms every module, an HVAC
//     failure warms every module and the room) therefore accumulates
//     nothing, a constant offset (hot-aisle end modules) accumulates
//     nothing, and a warm module cooling down accumulates nothing.
//   - Self-heating. A sensor without neighbours cannot tell Joule heating
//     from a runaway by its level; it is judged by acceleration (a runaway
//     heats faster as it gets hotter, a loaded cell heats slower as it
//     approaches equilibrium) and by the onset temperature.
//   - Corroboration. A cell or module voltage sagging against its group,
//     off-gas (gas.h2, gas.co, gas.voc) rising above its baseline in the
//     room, and a VRLA float current climbing with temperature each raise
//     the verdict by one level when thermal evidence exists, and alone give
//     an advisory.
//   - Fast events follow GB 38031-2025: a rise of at least Config.FastRate
//     sustained longer than Config.FastHold, with a voltage drop or above
//     the over-temperature limit, is critical at once.
//   - Fusion and hysteresis. Each alert needs its level to hold for
//     Config.Confirm before it is raised or escalated, and its evidence to
//     be gone for Config.Clear before it is cleared. Event IDs derive from
//     device, subject, kind and raise time, so escalated and cleared events
//     carry the ID of the raised one.
//
// Separate kinds: over_temperature (absolute module limits), environment
// (room air rising or too hot), offgas, cell_imbalance, sensor_fault and
// comms_lost.
package detect
