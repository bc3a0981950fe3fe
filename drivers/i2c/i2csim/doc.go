// Package i2csim simulates an I²C bus with the chips Emberwatch reads:
// TMP102, LM75/LM75A, MCP9808, SHT3x, SHT4x, BME280 and ADS1115. Each
// model answers the register sequences of its datasheet, so the real
// drivers of drivers/i2c run against it unchanged, for as many polls as a
// test or the demo needs (an i2ctest.Playback runs out after its script).
//
// Values are set while the bus is in use (SetTemperature, SetHumidity,
// SetVolts); faults are injected per address (SetNACK) or per chip
// (CorruptCRC on the Sensirion models). Conversions complete at once: the
// simulated chips are never busy.
//
// A Bus is safe for concurrent use. It is for tests and simulations; it
// never touches hardware.
package i2csim
