//go:build linux

package main

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// busy is a snapshot of the CPU time used by every process on the machine
// and by this one and its children, to tell how much others used.
type busy struct {
	total, own float64 // seconds
	t          time.Time
	torch      float64
}

// startBusy takes the snapshot at the start of a window; torchCPU is the
// torch server's CPU seconds so far.
func startBusy(torchCPU float64) busy {
	return busy{total: procStatBusy(), own: ownCPU(), t: time.Now(), torch: torchCPU}
}

// others returns the cores that other processes used, on average, since
// the snapshot; torchCPU is the CPU seconds the torch server reported so
// far (it is a child that has not exited, so rusage does not count it).
func (b busy) others(torchCPU float64) float64 {
	wall := time.Since(b.t).Seconds()
	if wall <= 0 || b.total < 0 {
		return 0
	}
	d := procStatBusy() - b.total - (ownCPU() - b.own) - (torchCPU - b.torch)
	return max(0, d/wall)
}

// procStatBusy returns the busy seconds of all CPUs from /proc/stat
// (everything but idle and iowait), or -1.
func procStatBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return -1
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return -1
	}
	var sum float64
	for i := 1; i < len(f) && i <= 8; i++ {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return -1
		}
		if i == 4 || i == 5 { // idle, iowait
			continue
		}
		sum += v
	}
	return sum / 100 // USER_HZ
}

// ownCPU returns the CPU seconds of this process and its waited-for children.
func ownCPU() float64 {
	var s float64
	for _, who := range []int{syscall.RUSAGE_SELF, syscall.RUSAGE_CHILDREN} {
		var ru syscall.Rusage
		if syscall.Getrusage(who, &ru) == nil {
			s += float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
		}
	}
	return s
}

// loadAvg returns the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// readCPUInfo reads the CPU model, family and the SIMD flags that matter
// here from /proc/cpuinfo.
func readCPUInfo() cpuInfo {
	c := cpuInfo{CPUs: runtime.NumCPU()}
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return c
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case k == "model name" && c.Model == "":
			c.Model = v
		case k == "cpu family" && c.Family == "":
			c.Family = v
		case k == "model" && c.ModelNum == "":
			c.ModelNum = v
		case k == "flags" && c.Flags == nil:
			have := map[string]bool{}
			for _, f := range strings.Fields(v) {
				have[f] = true
			}
			for _, f := range []string{"avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "hypervisor"} {
				if have[f] {
					c.Flags = append(c.Flags, f)
				}
			}
		}
	}
	return c
}
