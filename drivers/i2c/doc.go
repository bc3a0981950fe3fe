// Package i2c polls the sensors wired to a gateway's own I²C buses:
// temperature (TMP102, LM75/LM75A, MCP9808), temperature and humidity
// (SHT3x, SHT4x, BME280) and analog off-gas detectors read through an
// ADS1115 ADC. The chip drivers live in the sub-packages, one per chip, in
// the style of periph.io/x/devices; this package is the generic part.
//
// A profile (YAML under firmware-config/profiles/i2c) lists sensors: the
// chip, its bus and address, its conversion settings and the contract
// point each value feeds. ParseProfile decodes one strictly, with
// "file:line: field: message" errors. NewDevice turns a profile into a
// Device whose Poll reads every sensor once; NewSensor does the same for a
// single entry. The wiring of chip names to drivers is the table returned
// by Kinds, built in a function: there is no registry.
//
// Failures never produce a number that looks real. A NACK, a bus error, a
// CRC mismatch or a value outside the chip's physical range yields NaN
// readings for that sensor and is counted in Stats by class (bus, crc,
// range, not_ready, id). Device.Poll returns an error only when no sensor
// answered at all (every failure a bus error), which the agent's poll loop
// reports as a lost device; otherwise the NaN readings are published.
//
// Ownership: a Device borrows its buses. Buses come from a Buses
// implementation: HostBuses opens Linux /dev/i2c-N through periph.io's
// host drivers (OpenBus) and closes them; tests pass a BusMap of
// periph.io/x/conn/v3/i2c/i2ctest fakes. Probe is the one-shot read behind
// "emberwatch probe i2c:///dev/i2c-1?addr=0x48&sensor=tmp102".
package i2c
