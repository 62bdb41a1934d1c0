package onnx

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"strings"
	"testing"
)

// oracle reads a hash that testdata/gen.py computed with NumPy.
func oracle(t *testing.T, key string) string {
	t.Helper()
	f, err := os.Open("testdata/oracle.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), " "); ok && k == key {
			return v
		}
	}
	t.Fatalf("oracle.txt has no %s", key)
	return ""
}

func TestFloat16ToFloat32Patterns(t *testing.T) {
	for _, c := range []struct {
		h    uint16
		want uint32 // float32 bits
	}{
		{0x0000, 0x00000000}, // +0
		{0x8000, 0x80000000}, // -0
		{0x0001, math.Float32bits(5.9604644775390625e-08)}, // 2^-24, smallest subnormal
		{0x8001, math.Float32bits(-5.9604644775390625e-08)},
		{0x0200, math.Float32bits(3.0517578125e-05)},      // 2^-15
		{0x03ff, math.Float32bits(6.097555160522461e-05)}, // 1023 * 2^-24, largest subnormal
		{0x0400, math.Float32bits(6.103515625e-05)},       // 2^-14, smallest normal
		{0x3c00, math.Float32bits(1)},
		{0x3555, math.Float32bits(0.333251953125)},
		{0xc000, math.Float32bits(-2)},
		{0x7bff, math.Float32bits(65504)},
		{0x7c00, 0x7f800000}, // +Inf
		{0xfc00, 0xff800000}, // -Inf
		{0x7e00, 0x7fc00000}, // quiet NaN
		{0x7c01, 0x7f802000}, // signalling NaN, payload kept (NumPy does the same)
		{0xfd55, 0xffaaa000},
	} {
		if got := math.Float32bits(Float16ToFloat32(c.h)); got != c.want {
			t.Errorf("Float16ToFloat32(%#04x) = %#08x, want %#08x", c.h, got, c.want)
		}
	}
}

func TestFloat32ToFloat16Patterns(t *testing.T) {
	for _, c := range []struct {
		f    float32
		want uint16
	}{
		{0, 0x0000},
		{float32(math.Copysign(0, -1)), 0x8000},
		{1, 0x3c00},
		{65504, 0x7bff},
		{65519.996, 0x7bff}, // below the midpoint to 2^16
		{65520, 0x7c00},     // the midpoint, ties to even: Inf
		{1e10, 0x7c00},
		{-1e10, 0xfc00},
		{5.9604644775390625e-08, 0x0001},  // 2^-24
		{2.9802322387695312e-08, 0x0000},  // 2^-25: a tie, to even (zero)
		{2.9802326e-08, 0x0001},           // just above 2^-25
		{-2.9802322387695312e-08, 0x8000}, // -2^-25
		{8.940696716308594e-08, 0x0002},   // 1.5 * 2^-24: tie to even (2)
		{1.4901161193847656e-07, 0x0002},  // 2.5 * 2^-24: tie to even (2)
		{6.1005353927612305e-05, 0x0400},  // 1023.5 * 2^-24: tie, rounds to even 1024 (the smallest normal)
		{1.00048828125, 0x3c00},           // 1 + 2^-11: tie to even (1)
		{1.00146484375, 0x3c02},           // 1 + 3*2^-11: tie to even (1 + 2^-9)
		{1e-45, 0x0000},                   // float32 subnormal
		{float32(math.Inf(1)), 0x7c00},
		{float32(math.Inf(-1)), 0xfc00},
		{math.Float32frombits(0x7fc00000), 0x7e00},
		{math.Float32frombits(0x7f800001), 0x7c01}, // payload below 10 bits: NaN kept as payload 1
		{math.Float32frombits(0xffaaa000), 0xfd55},
	} {
		if got := Float32ToFloat16(c.f); got != c.want {
			t.Errorf("Float32ToFloat16(%g = %#08x) = %#04x, want %#04x", c.f, math.Float32bits(c.f), got, c.want)
		}
	}
}

// TestFloat16ToFloat32NumPy: every binary16 value converts as NumPy's
// astype(float32) does (hash from testdata/gen.py).
func TestFloat16ToFloat32NumPy(t *testing.T) {
	h := sha256.New()
	var b [4]byte
	for i := 0; i < 1<<16; i++ {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(Float16ToFloat32(uint16(i))))
		h.Write(b[:])
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), oracle(t, "float16_to_float32"); got != want {
		t.Fatalf("hash %s, NumPy's %s", got, want)
	}
}

// TestFloat32ToFloat16NumPy: Float32ToFloat16 agrees with NumPy's
// astype(float16) on a spread of 2^20 float32 bit patterns and on every
// rounding midpoint between binary16 values and its two float32
// neighbours, both signs (the inputs of testdata/gen.py).
func TestFloat32ToFloat16NumPy(t *testing.T) {
	var in []float32
	for i := uint64(0); i < 1<<20; i++ {
		in = append(in, math.Float32frombits(uint32(i*2654435761)))
	}
	var near []float32
	for h := 0; h < 0x7c00; h++ {
		lo, hi := float64(Float16ToFloat32(uint16(h))), 65536.0 // widening checked by TestFloat16ToFloat32NumPy
		if h+1 < 0x7c00 {
			hi = float64(Float16ToFloat32(uint16(h + 1)))
		}
		m := float32((lo + hi) / 2)
		near = append(near, math.Nextafter32(m, float32(math.Inf(-1))), m, math.Nextafter32(m, float32(math.Inf(1))))
	}
	in = append(in, near...)
	for _, x := range near {
		in = append(in, -x)
	}
	h := sha256.New()
	var b [2]byte
	for _, x := range in {
		binary.LittleEndian.PutUint16(b[:], Float32ToFloat16(x))
		h.Write(b[:])
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), oracle(t, "float32_to_float16"); got != want {
		t.Fatalf("hash %s, NumPy's %s", got, want)
	}
}

// TestFloat16RoundTrip: every binary16 value survives float32 and back,
// NaN payloads included.
func TestFloat16RoundTrip(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		if got := Float32ToFloat16(Float16ToFloat32(uint16(i))); got != uint16(i) {
			t.Fatalf("%#04x -> %#04x", i, got)
		}
	}
}
