package glrt

import "syscall"

// threadID identifies the calling OS thread, so that a call from the owner
// thread to itself is reported instead of deadlocking.
func threadID() int { return syscall.Gettid() }
