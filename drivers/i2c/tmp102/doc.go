// Package tmp102 drives the Texas Instruments TMP102 digital temperature
// sensor over I²C.
//
// Datasheet: https://www.ti.com/lit/ds/symlink/tmp102.pdf (SBOS397).
//
// The driver keeps the chip in shutdown mode and starts a one-shot
// conversion on every Sense (datasheet 7.5.3.1.1 and 7.5.3.1.5): the chip
// does not heat itself between polls and each value is fresh. In extended
// mode (EM=1, 13-bit) the chip measures up to 150 °C; in normal mode
// (12-bit) up to 128 °C. Both resolve 0.0625 °C.
//
// A Dev borrows its i2c.Bus: the application opens and closes the bus. A
// Dev is not safe for concurrent use.
package tmp102
