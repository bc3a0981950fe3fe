// Package plot draws a recorded trace's temperatures as an SVG line chart
// with the detector's events marked, for a facility engineer to look at.
// It is pure Go with no dependencies; a Recorder keeps a bounded number of
// points per series however long the trace, by merging neighbouring points
// (keeping each pair's extreme) when a series fills up.
package plot
