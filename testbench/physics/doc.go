// Package physics is a lumped thermal and electrical model of a battery
// rack, good enough to exercise a thermal-runaway detector with the signals
// a real rack gives.
//
// A Rack holds one or more strings of modules of series cells. Every cell is
// a lumped heat capacity (mass times specific heat) that conducts to its
// neighbours in the module, to the end cell of the adjacent module, and to
// the cabinet air, which exchanges heat and gas with the room. Heat sources
// per cell are Joule heating from the string current (I²R), an internal short
// (V²/Rshort, a resistance that can shrink as the separator fails and that
// collapses when the separator melts), overcharge side reactions, a loose
// terminal connection, an external heater, and the Arrhenius decomposition
// reactions of the cell (SEI, anode-electrolyte, cathode-electrolyte and
// electrolyte, after Kim et al. 2007), scaled so that the cell body releases
// the energy and reaches a self-heating rate of 1 °C/s at temperatures drawn
// from the NREL/NASA Battery Failure Databank (see Databank). Cells vent
// between the chemistry's vent temperatures, releasing electrolyte vapour,
// then H2, CO and VOC as they run away, into the cabinet air.
//
// Lead-acid (VRLA) cells follow a separate float model: the float current
// doubles for every 10 °C and all of it becomes heat, the classic VRLA
// thermal runaway watched through float current (IEEE 1491).
//
// The electrical side gives cell voltage from state of charge through an
// open-circuit-voltage curve plus IR drop, the voltage sag and rising float
// and balancing current of a soft short, and overcharge when a charger loses
// its voltage limit.
//
// Sensors (Thermistor, Channel) model what a BMS reports: thermistors between
// cells that see a lagged mix of cells and air, resolution, noise, drift,
// stuck values, spikes, open circuits and dropouts.
//
// Integration is explicit with a fixed outer step and automatic sub-steps
// when temperatures move fast; all randomness comes from a caller's seeded
// *rand.Rand, so a run is deterministic given its seed. Nothing here is safe
// for concurrent use; run one Rack per goroutine.
package physics
