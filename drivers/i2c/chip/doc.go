// Package chip holds what the I²C chip drivers under drivers/i2c share: the
// error classes a poll loop counts (bus, CRC, out of physical range, not
// ready), the Sensirion CRC-8, and a sleep that honours a context.
//
// It imports nothing of Emberwatch, so every chip package can use it and
// drivers/i2c can classify their errors with errors.Is.
package chip
