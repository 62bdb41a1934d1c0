//go:build !linux

package main

import (
	"runtime"
	"time"
)

// busy is a stub off Linux: the contention column reads 0.
type busy struct{ t time.Time }

func startBusy(float64) busy        { return busy{t: time.Now()} }
func (busy) others(float64) float64 { return 0 }
func loadAvg() string               { return "unknown" }
func readCPUInfo() cpuInfo          { return cpuInfo{Model: runtime.GOARCH, CPUs: runtime.NumCPU()} }
