// Package modbus is the generic, profile-driven Modbus driver: it reads the
// registers a Profile maps to contract points over Modbus TCP, RTU on a
// serial line, or RTU framing over a TCP socket, in as few requests as the
// profile's gaps allow, and decodes every type and byte order.
//
// Profiles are YAML data under firmware-config/profiles/modbus, loaded with
// ParseProfile or LoadProfile: unknown keys, point names outside the
// contract vocabulary, wrong units, overlapping registers and the like are
// reported as *ProfileError values ("file:line: field: message"), all of
// them at once. No device knowledge lives in this package.
//
// The pieces, from the wire up:
//
//   - Client (NewTCPClient, NewRTUClient, NewRTUOverTCPClient, or Open
//     with a parsed Address) carries requests to the units of one
//     connection or bus, one at a time, on github.com/goburrow/modbus:
//     its TCP handler, and its RTU packager over our own transporter,
//     which reads a reply as its bytes arrive instead of sleeping for the
//     longest possible reply. After a timeout or any framing error the
//     client drops the connection (a late reply is never read as the next
//     answer); on a serial line it skips frames from other units and
//     drains a timed-out unit's late reply.
//   - Plan turns a profile into read requests; Device executes the plan
//     for one unit, decodes the points into drivers.Reading values, retries
//     busy exceptions and transport errors with backoff, and polls a unit
//     that keeps failing only after an exponential backoff, so a dead slave
//     on a shared bus costs the others at most its timeout per poll.
//   - Buses shares one Client between the devices of one bus.
//
// Ownership: the application opens Clients (or a Buses) and closes them;
// Devices borrow a Reader and never close it. Clients and Buses are safe
// for concurrent use; a Device's Poll is called from one goroutine at a
// time, its Stats from any.
package modbus
