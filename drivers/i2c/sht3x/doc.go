// Package sht3x drives the Sensirion SHT30/SHT31/SHT35 humidity and
// temperature sensors over I²C.
//
// Datasheet: https://sensirion.com/media/documents/213E6A3B/63A5A569/Datasheet_SHT3x_DIS.pdf
// (SHT3x-DIS).
//
// Each Sense sends a single-shot measurement command with clock stretching
// disabled (datasheet 4.3, table 9), waits the maximum measurement duration
// of the chosen repeatability (table 4) and reads temperature and humidity,
// each word checked against its CRC-8 (polynomial 0x31, init 0xFF, 4.12).
// New probes the chip by reading its status register, CRC included.
//
// A Dev borrows its i2c.Bus: the application opens and closes the bus. A
// Dev is not safe for concurrent use.
package sht3x
