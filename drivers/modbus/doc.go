// Package modbus is the generic, profile-driven Modbus driver: it reads the
// registers a Profile maps to contract points over Modbus TCP, RTU on a
// serial line, or RTU framing over a TCP socket, in as few requests as the
// profile's gaps allow, and decodes every type and byte order.
//
// Profiles are YAML data under firmware-config/profiles/modbus; no device
// knowledge lives in this package.
package modbus
