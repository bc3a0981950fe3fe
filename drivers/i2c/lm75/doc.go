// Package lm75 drives the LM75 family of digital temperature sensors over
// I²C: the original 9-bit LM75 and the 11-bit LM75A/LM75B.
//
// Datasheets: https://www.ti.com/lit/ds/symlink/lm75b.pdf (LM75, 9-bit,
// 0.5 °C) and https://www.nxp.com/docs/en/data-sheet/LM75A.pdf (LM75A,
// 11-bit, 0.125 °C).
//
// The chip converts continuously, once every 100 ms; Sense reads the
// latest conversion. New takes the chip out of shutdown when it finds it
// there and waits one conversion before the first read.
//
// A Dev borrows its i2c.Bus: the application opens and closes the bus. A
// Dev is not safe for concurrent use.
package lm75
