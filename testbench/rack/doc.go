// Package rack is a small, deterministic model of a battery string in a
// rack: N modules in series, each of M cells in series, with one string
// current, a state of charge per module, a temperature per module and a
// voltage per cell, in a room whose air temperature and off-gas
// concentrations it also reports.
//
// The thermal model is a chain of lumped masses: each module has a heat
// capacity, exchanges heat by conduction with its neighbours (modules with
// adjacent indices touch) and by convection with the room air, and is heated
// by I²R in its cells and by any extra power set with HeatModule, the knob a
// demo turns to show a fault developing. Cell voltages follow an LFP
// open-circuit curve of the module's state of charge plus the I·R drop and a
// fixed per-cell offset drawn from the seed. Off-gas appears in the cabinet
// air as a module passes the venting temperatures and decays with the
// ventilation.
//
// The model is deterministic: two racks built from the same Config and
// stepped with the same durations report the same points, noise included.
// It is intentionally simple; detailed cell physics belongs elsewhere.
//
// A Rack is not safe for concurrent use: step it and read its points from
// one goroutine, or guard it with a lock.
package rack
