// Package testbench holds the simulated hardware Emberwatch is tested and
// demonstrated against; the code lives in its sub-packages:
//
//   - rack: a small, deterministic model of a battery string (modules of
//     cells, their temperatures and voltages, the room air and off-gas),
//     with a knob that heats one module so a fault can be shown developing.
//   - modbussim: a Modbus slave that serves a device profile from a value
//     source such as the rack, over Modbus TCP, RTU on a pty pair and RTU
//     over TCP, paced at the line's speed, with faults switchable at run time.
//   - peers: finds and starts the real protocol peers (mosquitto, snmpd,
//     qemu-user) interop tests run against, and the shared device recordings.
//
// Nothing outside tests, the demo and commissioning tools imports these
// packages; the agent never does.
package testbench
