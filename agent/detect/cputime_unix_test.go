//go:build unix

package detect

import (
	"syscall"
	"time"
)

// cpuTime is the process's user and system time, so throughput can be
// reported per CPU second on a busy machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
