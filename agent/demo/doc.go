// Package demo runs a whole simulated gateway in one process: a battery
// rack (testbench/rack) following a scripted scenario, the agent polling it
// and publishing telemetry over MQTT, an embedded broker (agent/broker) and
// the console view (agent/console) subscribed through that broker.
//
// Everything listens on 127.0.0.1 with ports chosen by the system. Time in
// the scenario runs Speed times faster than the wall clock: the agent polls
// every second of scenario time, and the default run lasts 60 seconds of
// scenario time.
//
// The pieces meet at two seams, so that each can be replaced by the real
// component without touching the others: a Poller reads the rack once (in
// process, or over Modbus TCP through a simulator), and a Publisher sends
// a poll's readings to the broker on the CONTRACTS section 5 topics.
package demo
