// Package ads1115 drives the Texas Instruments ADS1115 16-bit ADC over
// I²C, the converter behind Emberwatch's analog gas sensors (an H2, CO or
// VOC transmitter with a voltage output).
//
// Datasheet: https://www.ti.com/lit/ds/symlink/ads1115.pdf (SBAS444).
//
// Each Read writes the config register (datasheet 9.6.3) with the input
// multiplexer, programmable gain (full-scale range) and data rate in
// single-shot mode with OS=1, waits one conversion period (1/DR plus the
// 10 % oscillator tolerance), polls OS until the conversion is done and
// reads the conversion register. Volts are raw * FSR / 32768; a code at
// either end of the range (0x7FFF, 0x8000) means the input is clipped and
// is an error. Scaling volts to ppm belongs to the caller (drivers/i2c does
// it from the profile).
//
// A Dev borrows its i2c.Bus: the application opens and closes the bus. A
// Dev is not safe for concurrent use.
package ads1115
