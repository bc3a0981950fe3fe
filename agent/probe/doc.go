// Package probe holds what the probe verb needs besides the drivers: the
// probe URL of a Modbus device (a device address, as drivers/modbus parses
// it, that names its profile), and the natural order and text format of the
// readings it prints.
package probe
