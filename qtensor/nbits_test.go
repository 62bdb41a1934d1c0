package qtensor

import (
	"errors"
	"slices"
	"testing"
)

// TestMatMulNBitsWeights checks the conversion from ONNX Runtime's
// MatMulNBits inputs against values written out by hand, and the round
// trip through MatMulNBitsInputs.
func TestMatMulNBitsWeights(t *testing.T) {
	// N = 2, K = 20, bits 4, block 16: 2 blocks of 8 bytes per row.
	b := make([]byte, 2*2*8)
	for i := range b {
		b[i] = byte(i*37 + 5)
	}
	scales := []float32{0.5, 0.25, 2, 4}
	// Packed zero points, one byte per row (2 blocks of 4 bits): row 0
	// blocks 3 (low nibble) and 12, row 1 blocks 0 and 15.
	zp := []byte{0xC3, 0xF0}
	w, err := MatMulNBitsWeights(2, 20, 4, 16, b, scales, zp)
	if err != nil {
		t.Fatal(err)
	}
	if w.DType != Uint4 || !slices.Equal(w.Shape, []int{2, 32}) || w.Params.BlockSize != 16 || w.Params.Axis != 1 {
		t.Fatalf("got %v%v %+v", w.DType, w.Shape, w.Params)
	}
	if !slices.Equal(w.Params.ZeroPoints, []int32{3, 12, 0, 15}) || !slices.Equal(w.Params.Scales, scales) {
		t.Fatalf("params %+v", w.Params)
	}
	// Element 33 (row 1, k = 1) is the high nibble of byte 16.
	if got, want := w.At(33), int32(b[16]>>4); got != want {
		t.Fatalf("element 33 = %d, want %d", got, want)
	}
	bits, b2, s2, z2, err := MatMulNBitsInputs(w)
	if err != nil || bits != 4 || !slices.Equal(b2, b) || !slices.Equal(s2, scales) || !slices.Equal(z2, zp) {
		t.Fatalf("round trip: %d % x %v % x %v", bits, b2, s2, z2, err)
	}
	// No zero points: 8 for 4 bits, 128 for 8 bits; 8 bits, 3 blocks.
	w, err = MatMulNBitsWeights(1, 40, 8, 16, make([]byte, 48), []float32{1, 1, 1}, nil)
	if err != nil || w.DType != Uint8 || !slices.Equal(w.Params.ZeroPoints, []int32{128, 128, 128}) {
		t.Fatalf("8 bits: %v %v", w, err)
	}
	w, err = MatMulNBitsWeights(1, 16, 4, 16, make([]byte, 8), []float32{1}, nil)
	if err != nil || w.Params.ZeroPoints[0] != 8 {
		t.Fatalf("default zero point: %v %v", w, err)
	}
	for _, c := range []struct {
		name                  string
		N, K, bits, bs, nb, s int
		zp                    []byte
		want                  error
	}{
		{"bits 3", 1, 16, 3, 16, 6, 1, nil, ErrUnsupported},
		{"block 8", 1, 16, 4, 8, 8, 2, nil, ErrParams},
		{"block 48", 1, 48, 4, 48, 24, 1, nil, ErrParams},
		{"short B", 1, 16, 4, 16, 7, 1, nil, ErrShape},
		{"scales", 1, 16, 4, 16, 8, 2, nil, ErrShape},
		{"zero points", 2, 16, 4, 16, 16, 2, []byte{1}, ErrShape},
		{"bad scale", 1, 16, 4, 16, 8, 1, nil, ErrParams},
	} {
		s := make([]float32, c.s)
		for i := range s {
			s[i] = 1
		}
		if c.name == "bad scale" {
			s[0] = -1
		}
		if _, err := MatMulNBitsWeights(c.N, c.K, c.bits, c.bs, make([]byte, c.nb), s, c.zp); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}
