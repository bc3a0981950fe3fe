// Package mcp9808 drives the Microchip MCP9808 ±0.25 °C digital temperature
// sensor over I²C.
//
// Datasheet: https://ww1.microchip.com/downloads/en/DeviceDoc/25095A.pdf
// (DS25095).
//
// New checks the manufacturer ID (0x0054) and device ID (0x04), takes the
// chip out of shutdown, sets the resolution and waits one conversion. The
// chip then converts continuously; Sense reads the ambient temperature
// register with its alert flags (TA >= TCRIT, TA > TUPPER, TA < TLOWER).
//
// A Dev borrows its i2c.Bus: the application opens and closes the bus. A
// Dev is not safe for concurrent use.
package mcp9808
