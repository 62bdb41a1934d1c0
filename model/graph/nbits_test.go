package graph

import (
	"testing"

	"github.com/qgpu/qgpu/onnx/onnxpb"
)

// TestMatMulNBitsOp checks com.microsoft MatMulNBits on values computed by
// hand (the engine's formula: docs/semantics.md, MatMulNBits).
func TestMatMulNBitsOp(t *testing.T) {
	// K = 3 of one block of 16, N = 2, 4 bits: row 0 codes 9, 6, 15 (then
	// padding), row 1 codes 0, 1, 2. Zero points packed one byte per row:
	// 8 and 1. Scales 0.5 and 2.
	b := make([]uint8, 2*8)
	b[0], b[1] = 0x69, 0x0F
	b[8], b[9] = 0x10, 0x02
	A := f32s([]int{1, 3}, 1, 2, 0.25)
	ms := "com.microsoft"
	y := evalOp(t, ms, "MatMulNBits", []*Tensor{A, u8s([]int{2, 1, 8}, b...), f32s([]int{2}, 0.5, 2), u8s([]int{2}, 8, 1), nil, f32s([]int{2}, 10, 0)},
		"K", 3, "N", 2, "block_size", 16)
	// Row 0: w = 1, -2, 7: s = 1 - 4 + 1.75 = -1.25, y = -0.625 + 10.
	// Row 1: w = -1, 0, 1: s = -1 + 0 + 0.25 = -0.75, y = -1.5.
	if y.F32[0] != 9.375 || y.F32[1] != -1.5 {
		t.Fatalf("float mode: %v", y.F32)
	}
	// Level 4: amax 2, sa = 2/127, qa = 64, 127, 16 (63.5 ties to even,
	// 15.875 rounds up). Row 0: isum = 64 - 254 + 112 = -78.
	y = evalOp(t, ms, "MatMulNBits", []*Tensor{A, u8s([]int{2, 1, 8}, b...), f32s([]int{2}, 0.5, 2), u8s([]int{2}, 8, 1)},
		"K", 3, "N", 2, "block_size", 16, "accuracy_level", 4)
	sa := float32(2) / 127
	if want0, want1 := float32(sa*0.5)*-78, float32(sa*2)*(-64+16); y.F32[0] != want0 || y.F32[1] != want1 {
		t.Fatalf("level 4: %v, want %v %v", y.F32, want0, want1)
	}
}

// TestDequantizeBlocked: opset 21 DequantizeLinear with block_size along
// either axis, values by hand.
func TestDequantizeBlocked(t *testing.T) {
	x := i8s([]int{2, 3}, 1, 2, 3, -1, -2, -3)
	// Blocks of 2 along axis 1: pairs (0,1) and (2) of each row.
	y := evalOp(t, "", "DequantizeLinear", []*Tensor{x, f32s([]int{2, 2}, 0.5, 2, 1, 4), i8s([]int{2, 2}, 1, 0, 0, 1)}, "axis", 1, "block_size", 2)
	want := []float32{0, 0.5, 6, -1, -2, -16}
	for i, w := range want {
		if y.F32[i] != w {
			t.Fatalf("axis 1: %v, want %v", y.F32, want)
		}
	}
	// Blocks of 16 along axis 0 of [2, 3]: one block row.
	y = evalOp(t, "", "DequantizeLinear", []*Tensor{x, f32s([]int{1, 3}, 1, 2, 3)}, "axis", 0, "block_size", 16)
	want = []float32{1, 4, 9, -1, -4, -9}
	for i, w := range want {
		if y.F32[i] != w {
			t.Fatalf("axis 0: %v, want %v", y.F32, want)
		}
	}
}

// TestInt4Initializer: INT4 and UINT4 tensors are read widened to int8 and
// uint8.
func TestInt4Initializer(t *testing.T) {
	for _, c := range []struct {
		code int32
		want []int64
	}{{22, []int64{-7, 3, 7, -8, 0}}, {21, []int64{9, 3, 7, 8, 0}}} {
		tp := &onnxpb.TensorProto{DataType: &c.code, Dims: []int64{5}, RawData: []byte{0x39, 0x87, 0x00}}
		tt, err := TensorFromProto(tp)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := tt.Ints()
		for i := range v {
			if v[i] != c.want[i] {
				t.Fatalf("code %d: %v, want %v", c.code, v, c.want)
			}
		}
	}
}
