//go:build !linux

package glrt

// threadID returns 0 where the thread id is not available; self-calls from
// the owner thread then deadlock as documented instead of being reported.
func threadID() int { return 0 }
