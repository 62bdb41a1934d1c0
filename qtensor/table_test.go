package qtensor

import (
	"errors"
	"math"
	"testing"
)

// TestActivationTable checks tables against values worked out by hand.
func TestActivationTable(t *testing.T) {
	// uint8 (0.5, 10) -> identity -> uint8 (1, 0): q 10 is 0.0 -> 0; q 13 is
	// 1.5 -> rint(1.5) = 2; q 11 is 0.5 -> rint(0.5) = 0 (ties to even); q 0
	// is -5 -> saturates at 0; q 255 is 122.5 -> 122.
	tab, err := RequantizeTable(Uint8, 0.5, 10, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	for b, want := range map[int]byte{10: 0, 13: 2, 11: 0, 0: 0, 255: 122, 15: 2} {
		if tab[b] != want {
			t.Errorf("uint8 requantize table[%d] = %d, want %d", b, tab[b], want)
		}
	}
	// int8 (1, 0) -> ReLU -> int8 (2, -128): byte 0xFF is -1 -> 0.0 -> -128;
	// byte 5 is 5 -> rint(2.5) - 128 = -126; byte 127 -> rint(63.5) - 128 = -64.
	relu := func(x float32) float32 { return max(x, 0) }
	tab, err = ActivationTable(Int8, 1, 0, Int8, 2, -128, relu)
	if err != nil {
		t.Fatal(err)
	}
	for b, want := range map[int]int8{0xFF: -128, 5: -126, 127: -64, 0x80: -128} {
		if int8(tab[b]) != want {
			t.Errorf("int8 relu table[%#x] = %d, want %d", b, int8(tab[b]), want)
		}
	}
	// NaN from f maps to the output zero point, +Inf saturates.
	tab, _ = ActivationTable(Uint8, 1, 0, Uint8, 1, 7, func(x float32) float32 {
		if x == 0 {
			return float32(math.NaN())
		}
		return float32(math.Inf(1))
	})
	if tab[0] != 7 || tab[1] != 255 {
		t.Errorf("NaN/Inf entries %d %d", tab[0], tab[1])
	}
	for _, c := range []struct {
		in, out DType
		sx      float32
	}{{Int4, Uint8, 1}, {Uint8, Int32, 1}, {Uint8, Uint8, 0}} {
		if _, err := ActivationTable(c.in, c.sx, 0, c.out, 1, 0, relu); !errors.Is(err, ErrParams) {
			t.Errorf("%v -> %v scale %g: %v", c.in, c.out, c.sx, err)
		}
	}
}
