// Package testbench holds the simulated hardware Emberwatch is tested and
// demonstrated against; the code lives in its sub-packages:
//
//   - rack: a small, deterministic model of a battery string (modules of
//     cells, their temperatures and voltages, the room air and off-gas),
//     with a knob that heats one module so a fault can be shown developing.
//   - modbussim: a Modbus slave that serves a device profile from a value
//     source such as the rack, over Modbus TCP, RTU on a pty pair and RTU
//     over TCP, paced at the line's speed, with faults switchable at run time.
//   - sunspecsim: a SunSpec battery (models 1, 802-805, several strings,
//     modules and cells, non-trivial scale factors) on a Modbus TCP server.
//   - physics: the detailed rack model the detector is judged on: cells as
//     lumped heat capacities, conduction, module and cabinet air, Joule
//     heat, internal shorts, overcharge, Arrhenius self-heating calibrated
//     to the NREL/NASA Battery Failure Databank, venting with off-gas, VRLA
//     float current, and sensors that lag, drift, stick, spike and drop out.
//   - scenario: seeded runaway and nuisance stories on physics racks, with
//     ground truth; cmd/scenario writes one as a trace, cmd/benchdetect
//     scores the detector against threshold alarms on a fixed set, and
//     cmd/footprint measures the agent polling 50 simulated devices.
//   - variant: rewrites a scenario's readings as another rack would give
//     them (other point naming, points missing or stamped late, misreading
//     room, off-gas, current and voltage instruments), for cmd/benchdetect
//     -variant.
//   - peers: finds and starts the real protocol peers (mosquitto, snmpd,
//     qemu-user) interop tests run against, and the shared device recordings.
//
// Nothing outside tests, the demo and commissioning tools imports these
// packages; the agent never does.
package testbench
