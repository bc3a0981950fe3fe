// Package modbussim is a Modbus slave simulator for tests, the demo and
// commissioning: a Sim serves one device profile (drivers/modbus.Profile)
// from a Source of point values, such as the rack model of testbench/rack
// or a fixed Map, encoding every point with the profile's Register.Encode so
// that what is served has exactly the profile's types, scales and byte
// orders.
//
// Transports:
//
//   - Modbus TCP: ServeTCP answers on 127.0.0.1 with
//     github.com/simonvetter/modbus's server doing the MBAP framing and
//     function-code handling; a thin relay in front of it injects the
//     connection-level faults.
//   - Modbus RTU: ServeRTU serves RTU frames on any byte stream, typically
//     the server end of a pty pair from OpenPTY whose tty path a client opens
//     like a serial port; ServeRTUOverTCP serves the same framing on TCP
//     connections, as the serial device servers in front of RS-485 buses
//     do. The RTU server paces every byte it writes at the line's speed (11
//     bits a character) and ends a request frame at 3.5 characters of
//     silence, as a real slave does. Several slaves share one line through
//     a Bus.
//
// Values are snapshots: a Sim encodes its source when built and on Refresh,
// and only then. Values and Texts return exactly what is being served,
// decoded back with Register.Decode, so a test can compare a client's
// readings with them.
//
// Faults are set per slave at run time with SetFault: no reply, an
// exception for a range of addresses, the connection closed mid-reply, a
// late reply, and a dead slave. The profile's unreadable ranges always
// answer exception 2 (illegal data address). Counters tell how many
// requests each slave saw and how many registers it served.
//
// Every Sim and Bus method is safe for concurrent use. A Source is only
// read from New and Refresh, in the caller's goroutine.
package modbussim
