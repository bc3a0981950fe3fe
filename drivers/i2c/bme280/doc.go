// Package bme280 drives the Bosch BME280 combined humidity, pressure and
// temperature sensor over I²C.
//
// Datasheet: https://www.bosch-sensortec.com/media/boschsensortec/downloads/datasheets/bst-bme280-ds002.pdf
// (BST-BME280-DS002).
//
// New checks the chip ID (0xD0 = 0x60; a BMP280, 0x58, has no humidity and
// is refused), waits for the NVM copy (status im_update), reads the
// trimming parameters (0x88-0xA1 and 0xE1-0xE7, datasheet 4.2.2) and sets
// oversampling and filter with the chip asleep. Each Sense starts one
// measurement in forced mode (3.3.3), waits the maximum measurement time
// of appendix 9.1, polls the status measuring bit and burst-reads
// 0xF7-0xFE; the values are compensated with the datasheet's integer
// formulas (4.2.3, 8.2).
//
// A Dev borrows its i2c.Bus: the application opens and closes the bus. A
// Dev is not safe for concurrent use.
package bme280
