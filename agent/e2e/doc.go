// Package e2e holds the end-to-end tests of the agent (build tag
// interop): the emberwatch binary, built by the tests, polls simulated
// Modbus devices (testbench/modbussim) over Modbus TCP, RTU on a pty pair
// and RTU over TCP, and publishes to a mosquitto broker the tests start; a
// subscriber checks that the telemetry carries exactly what the simulators
// served, for every type and byte order, and that faulty devices are
// reported while the healthy ones keep their poll interval.
//
// Run them with: go test -tags interop ./agent/e2e/
package e2e
