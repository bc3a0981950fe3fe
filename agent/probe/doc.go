// Package probe holds what the probe verb needs besides the drivers: the
// probe URL (a Modbus device address, as drivers/modbus parses it, that
// names its profile; snmp:// and i2c:// are recognised but not supported
// yet), and the natural order and text format of the readings it prints.
package probe
