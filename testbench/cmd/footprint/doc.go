// Command footprint measures the agent's resource footprint on this machine:
// the agent polls 50 simulated Modbus TCP devices of 40 points each every
// second, feeds every reading to the detector and publishes telemetry over
// MQTT to an embedded broker, for a set time (default 2 minutes):
//
//	go run ./testbench/cmd/footprint -duration 2m
//
// It prints the agent's resident memory (VmRSS now and its peak VmHWM, from
// /proc/self/status), its CPU time as a share of one core (getrusage), heap
// allocations per poll (runtime.MemStats.Mallocs over polls), goroutines, the
// poll and publish counts, and the sizes of the binaries in dist/ when a
// cross build has made them.
//
// The simulators and the broker are not the agent: by default they run in a
// child process (this program re-executed with -serve), so the figures are
// the agent's alone; the child's own figures are printed apart. -in-process
// runs everything in one process (the test does, for speed). The first
// -warmup of the run (connections, first allocations) is left out of the CPU
// and allocation figures; the memory figures cover the whole run.
//
// -agent PATH measures a built agent instead (bin/emberwatch, exactly as
// shipped): it runs "PATH run -c site.yaml" against the testbed and reads
// its RSS and CPU time from /proc/PID; the telemetry and alerts it
// publishes are counted on the broker. Allocations cannot be seen from the
// outside, so that report has none.
//
// The in-process pipeline is the run verb's, built from the same packages:
// drivers/modbus devices on modbus.Buses, agent/poll's scheduler, the
// alert stage of agent/pipeline (the detector of agent/detect and the alert
// lifecycle), agent/mqtt's publisher. One rack in ten has a module that has
// been heating for a quarter of an hour, so the detector has alerts to
// raise.
package main
