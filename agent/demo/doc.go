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
//   - the alerts drive load shedding (Shedder): the shed controller
//     (agent/shed) with the plan in shed.yaml sends signed shutdown
//     commands to dry-run host listeners (agent/host), which acknowledge
//     and take HostStop (60 s of scenario time) to go offline; each tier's
//     outlets of a PDU simulated in memory then go off. The web tier
//     overlaps the database tier, so the room goes dark about one host
//     shutdown after the critical alert. The run measures this (Timeline)
//     and, unless Forever, ends DarkTail after the room is dark.
//
// Everything listens on 127.0.0.1 with ports chosen by the system. Time in
// the scenario runs Speed times faster than the wall clock; readings and
// alert events carry scenario time. Shed commands carry the wall clock's
// issue time, which the hosts check, so the shed controller runs on the
// wall clock with the plan's deadlines and HostStop divided by Speed.
//
// Two seams let a component be swapped without touching the others: a
// Poller reads the rack once (ModbusPoller, or DirectPoller in process),
// and a Publisher sends polls and alerts to the broker (AgentPublisher).
package demo
