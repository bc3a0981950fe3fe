// Package drivers holds the types every device driver shares: a Reading of
// one point, and the point vocabulary of the Emberwatch contracts (NUT-style
// names such as battery.module.3.temperature, with their SI units).
//
// Protocol drivers live in the sub-packages (drivers/modbus, drivers/snmp,
// drivers/i2c/...). Nothing under drivers/ imports agent/.
package drivers
