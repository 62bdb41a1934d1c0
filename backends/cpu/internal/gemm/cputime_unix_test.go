//go:build unix

package gemm

import (
	"syscall"
	"time"
)

// cpuTime returns the user+system CPU time consumed by this process (all
// threads). On a shared machine, ops per CPU-second is less disturbed by
// other processes than ops per wall-second.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
