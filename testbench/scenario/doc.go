// Package scenario is a library of simulated rack histories for testing
// and benchmarking the thermal-runaway detector: runaways that must be
// caught before the first cell vents, and nuisances that must never raise
// a thermal_runaway alert.
//
// Every scenario is a family name and a seed. The seed draws the rack
// (chemistry, strings, modules, cells, sensor placement, sampling period,
// noise and resolution) and the family's parameters, so the detector is not
// tuned to one shape of rack. Run drives a physics.Rack through the
// family's story and emits the readings a BMS, an environment probe and an
// off-gas detector would report, in the contract point names, as trace rows.
// Truth is the ground truth written beside a trace as JSON: the family,
// its parameters, the faulted module, and the fault, onset, first venting
// and runaway times.
//
// Runaway families: soft_short, hard_short, loose_busbar, overcharge,
// aged_cell_discharge, neighbour_heat, vrla_float. Nuisance families:
// normal_float, utility_outage, hvac_failure, hot_aisle, module_replaced,
// sensor_faults, comms_loss, string_test (one string of several
// discharged for a test while the others float), boost_charge (the
// charger raised to an equalising or top-up voltage for hours). Q30
// converts the Samsung 30Q 4C discharge recordings of the shared data
// into a trace.
//
// A Scenario is not safe for concurrent use; run scenarios in parallel by
// building one per goroutine.
package scenario
