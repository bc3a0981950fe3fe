// Package probe holds what the probe verb needs besides the drivers: the
// device URL grammar (modbus+tcp, modbus+rtu, modbus+rtutcp; snmp and i2c
// are recognised but not supported yet), a Modbus client over
// github.com/simonvetter/modbus, and the natural order and text format of
// the readings it prints.
package probe
