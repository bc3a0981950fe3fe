// Package pipeline is the agent's alert stage: the poll sink that forwards
// each poll as telemetry (and to the NUT endpoint), feeds its numeric
// readings to the detector, passes the detector's events through the
// alert lifecycle, publishes what the lifecycle lets through on the alert
// topics and the retained active list, and hands it to the shed
// controller.
//
// The run verb builds one Stage per agent; the footprint benchmark
// measures the same Stage.
package pipeline
