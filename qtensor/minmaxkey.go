package qtensor

import "math"

// MinMaxKey maps a float32 to a uint32 whose unsigned order is the float
// order (-0 and +0 map to the key of +0). It is the form in which MinMax
// outputs and GPU atomics compare floats.
func MinMaxKey(f float32) uint32 {
	if f == 0 {
		f = 0
	}
	b := math.Float32bits(f)
	if b>>31 != 0 {
		return ^b
	}
	return b | 0x80000000
}

// MinMaxFromKey inverts MinMaxKey.
func MinMaxFromKey(k uint32) float32 {
	if k>>31 != 0 {
		return math.Float32frombits(k &^ 0x80000000)
	}
	return math.Float32frombits(^k)
}
