// Package supervise speaks the systemd service manager's notification
// protocol (sd_notify(3)) without cgo and without libsystemd: it tells
// systemd when the agent is ready, what it is doing and when it stops, and
// keeps the service watchdog fed only while the agent is healthy.
//
// A Notifier writes datagrams to the socket named by $NOTIFY_SOCKET (a path,
// or an abstract name written with a leading '@'). When the variable is
// unset, as when the agent runs outside systemd or under Type=simple, every
// method is a no-op that returns nil, so callers never need to check.
//
// The watchdog (WatchdogSec= in the unit, seen by the process as
// $WATCHDOG_USEC and $WATCHDOG_PID) is kept by Watchdog: it sends WATCHDOG=1
// every half period, but only while a health function reports the poll loop
// healthy. A wedged scheduler therefore stops the pings and systemd restarts
// the service after WatchdogSec, which is the point of having one.
//
// Ownership and concurrency: a Notifier opens no connection until the first
// message and is safe for concurrent use. Close releases its socket.
package supervise
