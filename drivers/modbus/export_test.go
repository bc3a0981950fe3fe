package modbus

// Profile500 exposes the planner benchmark's 500-register profile to the
// external tests.
var Profile500 = profile500
