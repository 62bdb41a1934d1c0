package vec

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// StreamDequantize reports whether a dequantize of n elements (n bytes in,
// 4n out) should store its output with non-temporal stores: when its data
// do not fit the last-level cache. Non-temporal stores skip the read for
// ownership of the destination lines, but they send every line to memory,
// so an output that would have stayed in cache is written at memory speed
// and read back from memory by the next op.
//
// Measured on the development machine (Zen 4, 32 MiB L3; `qgpu bench
// dequantize --size N`, non-temporal against regular stores): 1Mi
// elements 155-161 against 53-68 us on one thread and 152-156 against
// 28 us on two; 4Mi (20 MiB in all) 617-627 against 192-234 us on two;
// from 8Mi elements (40 MiB) the non-temporal stores win or tie, 1264
// against 1665 us on one thread.
//
// Decide once per op, not per parallel chunk: the chunks of one op share
// the cache.
func StreamDequantize(n int) bool {
	return 5*n >= lastLevelCache()
}

// StreamQuantize is StreamDequantize for a quantize of n elements (4n
// bytes in, n out). Its output is a fifth of its traffic and the input
// stream evicts it from the cache well before the data outgrow the cache,
// so it streams from half the cache on: at 4Mi elements (20 MiB) the
// non-temporal stores took 522-528 us on one thread against 586-646 us
// for regular ones; at 2Mi and below the two tie.
func StreamQuantize(n int) bool {
	return 10*n >= lastLevelCache()
}

// defaultLLC is the last-level cache size assumed where the operating
// system does not say.
const defaultLLC = 16 << 20

// lastLevelCache returns the size in bytes of the largest data or unified
// cache of CPU 0 (Linux sysfs), or defaultLLC.
var lastLevelCache = sync.OnceValue(func() int {
	if n := largestCache("/sys/devices/system/cpu/cpu0/cache"); n > 0 {
		return n
	}
	return defaultLLC
})

// largestCache returns the size of the largest Data or Unified cache
// described under dir (index*/type and index*/size, as Linux's sysfs
// writes them: "Unified", "32768K"), or 0 when there is none.
func largestCache(dir string) int {
	idx, _ := filepath.Glob(filepath.Join(dir, "index*"))
	best := 0
	for _, d := range idx {
		typ, err1 := os.ReadFile(filepath.Join(d, "type"))
		size, err2 := os.ReadFile(filepath.Join(d, "size"))
		if err1 != nil || err2 != nil {
			continue
		}
		if t := strings.TrimSpace(string(typ)); t != "Data" && t != "Unified" {
			continue
		}
		if n := parseCacheSize(strings.TrimSpace(string(size))); n > best {
			best = n
		}
	}
	return best
}

// parseCacheSize parses a sysfs cache size: a decimal number of bytes with
// an optional K, M or G suffix (powers of 1024). It returns 0 for anything
// else.
func parseCacheSize(s string) int {
	mul := 1
	if s != "" {
		switch s[len(s)-1] {
		case 'K':
			mul = 1 << 10
		case 'M':
			mul = 1 << 20
		case 'G':
			mul = 1 << 30
		}
		if mul > 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 || n > (1<<40)/mul {
		return 0
	}
	return n * mul
}
