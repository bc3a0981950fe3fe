// Package trace reads and writes recorded readings in the CSV trace format
// of the Emberwatch contracts (section 3):
//
//	time,device,point,value
//	2026-03-01T00:00:00Z,bms-1,battery.module.1.temperature,24.6
//
// time is RFC 3339 UTC with optional fractional seconds, rows are in time
// order, "nan" marks an invalid or unavailable value, and blank lines and
// lines starting with # are ignored. The reader names the line of every
// error and keeps memory independent of the trace's length.
package trace
