// Package poll runs one loop per device: each device is polled on its own
// goroutine at its own interval, so a slow or dead device never delays the
// others. Readings go to a Sink; failures are counted per device, logged
// at a limited rate, and a device with no good poll for a while is marked
// stale.
//
// The scheduler knows devices only through the Device interface; the run
// verb wraps protocol drivers to fit it.
package poll
