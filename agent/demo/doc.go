// Package demo runs a whole simulated gateway in one process, the way
// `emberwatch demo` shows it:
//
//   - a battery string (testbench/rack, eight modules of sixteen cells)
//     follows a scripted Scenario: module 5 develops an internal fault;
//   - a simulated BMS (testbench/modbussim, on simonvetter's Modbus server)
//     serves the rack over Modbus TCP on 127.0.0.1 with the
//     generic-rack-bms profile from firmware-config;
//   - the agent polls it every second of scenario time with the
//     profile-driven Modbus driver (drivers/modbus) under the poll
//     scheduler (agent/poll), feeds the detector (agent/detect, with
//     DetectorConfig's demo timings) and its events through the alert
//     tracker (agent/alert), and publishes telemetry, alerts and the
//     active alerts with the agent's publisher (agent/mqtt) on the
//     CONTRACTS section 5 topics;
//   - an embedded broker (agent/broker) carries them to the console view
//     (agent/console), which subscribes to the gateway's topics like any
//     other consumer.
//
// Everything listens on 127.0.0.1 with ports chosen by the system. Time in
// the scenario runs Speed times faster than the wall clock; readings and
// alert events carry scenario time.
//
// Two seams let a component be swapped without touching the others: a
// Poller reads the rack once (ModbusPoller, or DirectPoller in process),
// and a Publisher sends polls and alerts to the broker (AgentPublisher).
package demo
