// Package snmp is the profile-driven SNMP driver: it polls UPSes, PDUs and
// environmental probes over SNMP v1, v2c and v3 and turns the values into
// contract readings (drivers.Reading).
//
// Device knowledge lives in YAML profiles (firmware-config/profiles/snmp):
// scalar OIDs and table columns mapped to contract points, with scale,
// enum and the vendor sentinels that mean "no such sensor". A profile also
// lists the sysObjectID prefixes it serves, so "profile: auto" picks one
// from the agent's sysObjectID (Profiles.Select).
//
// The driver is gentle with embedded agents: a Client sends at most one
// request at a time and at most RateLimit requests a second; a GET carries
// as many OIDs as the agent accepts (halved on tooBig, the working size
// remembered); tables are read by GETBULK with max-repetitions 10, falling
// back to 1 after an error or a corrupt answer. Missing objects
// (noSuchObject, noSuchInstance, endOfMibView, v1 noSuchName) drop only
// their own point.
//
// Ownership: a Client owns its UDP socket (Close it); a Device borrows a
// Conn and is safe for one poller at a time. Stats may be read concurrently.
//
// References: RFC 3416 (SNMPv2 PDUs), RFC 3414 (USM), RFC 1628 (UPS-MIB),
// APC PowerNet-MIB, Eaton XUPS-MIB and EATON-EPDU-MIB, Raritan PDU2-MIB,
// Sentry3-MIB, LIEBERT-GP-PDU-MIB, GEIST-V5-MIB, CPS-MIB.
package snmp
