package modeltest

import (
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/qgpu/qgpu/onnx"
	"github.com/qgpu/qgpu/onnx/onnxpb"
	"github.com/qgpu/qgpu/qtensor"
)

// Blocked low-bit weights: ONNX Runtime's com.microsoft MatMulNBits and
// the opset 21 QDQ form (a blocked int4 DequantizeLinear feeding MatMul).

// Packed4 adds an INT4 (signed) or UINT4 initializer of the given dims
// holding v (already in range), packed two per byte, low nibble first.
func (b *Builder) Packed4(dims []int, signed bool, v []int8) string {
	name := b.name("c")
	raw := make([]byte, (len(v)+1)/2)
	for i, x := range v {
		raw[i/2] |= (byte(x) & 15) << (4 * (i % 2))
	}
	dt := onnx.Uint4
	if signed {
		dt = onnx.Int4
	}
	d64 := make([]int64, len(dims))
	for i, d := range dims {
		d64[i] = int64(d)
	}
	b.inits = append(b.inits, &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(dt)), Dims: d64, RawData: raw})
	return name
}

// MatMulNBits adds a com.microsoft MatMulNBits of x ([..., K]) with random
// weights of the given bits and block size (zero points when zp, a bias
// when bias) and returns its output.
func (b *Builder) MatMulNBits(x string, K, N, bits, bs int, zp, bias bool, level int) string {
	blocks := (K + bs - 1) / bs
	raw := make([]uint8, N*blocks*bs*bits/8)
	for i := range raw {
		raw[i] = uint8(b.Rand.IntN(256))
	}
	scales := make([]float32, N*blocks)
	for i := range scales {
		scales[i] = 0.01 * float32(0.5+b.Rand.Float64())
	}
	ins := []string{x, initT(b, []int{N, blocks, bs * bits / 8}, raw), b.F32([]int{N, blocks}, scales...)}
	if zp || bias {
		z := ""
		if zp {
			zb := make([]uint8, N*((blocks*bits+7)/8))
			for i := range zb {
				zb[i] = uint8(b.Rand.IntN(256))
			}
			z = initT(b, []int{len(zb)}, zb)
		}
		ins = append(ins, z)
	}
	if bias {
		bv := make([]float32, N)
		for i := range bv {
			bv[i] = float32(b.Rand.NormFloat64())
		}
		ins = append(ins, "", b.F32([]int{N}, bv...))
	}
	return b.MSNode("MatMulNBits", ins, AInt("K", int64(K)), AInt("N", int64(N)), AInt("bits", int64(bits)),
		AInt("block_size", int64(bs)), AInt("accuracy_level", int64(level)))
}

// BlockedWeights adds DequantizeLinear (opset 21) of random 4-bit weights
// [K, N] quantized in blocks of bs along K (axis 0), int4 or uint4, with
// random zero points, and returns its output, the values and the params
// (as a [K, N] qtensor's, blocks along axis 0).
func (b *Builder) BlockedWeights(K, N, bs int, signed bool) (string, []int8, qtensor.Params) {
	lo, hi := 0, 15
	if signed {
		lo, hi = -8, 7
	}
	v := make([]int8, K*N)
	for i := range v {
		v[i] = int8(lo + b.Rand.IntN(hi-lo+1))
	}
	blocks := (K + bs - 1) / bs
	p := qtensor.Params{Granularity: qtensor.PerBlock, Axis: 0, BlockSize: bs, Scales: make([]float32, blocks*N), ZeroPoints: make([]int32, blocks*N)}
	zv := make([]int8, blocks*N)
	for i := range p.Scales {
		p.Scales[i] = 0.02 * float32(0.5+b.Rand.Float64())
		zv[i] = int8(lo + b.Rand.IntN(hi-lo+1))
		p.ZeroPoints[i] = int32(zv[i])
	}
	out := b.Node("DequantizeLinear", []string{b.Packed4([]int{K, N}, signed, v), b.F32([]int{blocks, N}, p.Scales...), b.Packed4([]int{blocks, N}, signed, zv)},
		AInt("axis", 0), AInt("block_size", int64(bs)))
	return out, v, p
}

// NBitsMLP is an LLM-style block on float activations x [2, 3, 64]:
// MatMulNBits (uint4, block 32, zero points, float activations), a Relu
// on the host, MatMulNBits (block 16, a bias, int8 activations), then a
// MatMul with int4 weights in blocks of 16 along K through an opset 21
// DequantizeLinear (lowered to MatMulNBits) and MatMulNBits with 8-bit
// weights.
func NBitsMLP(t testing.TB) *onnxpb.ModelProto {
	b := NewBuilder(t, 106)
	b.Opset = 21
	x := b.Input("x", 2, 3, 64)
	h := b.MatMulNBits(x, 64, 48, 4, 32, true, false, 0)
	h = b.Node("Relu", []string{h})
	h = b.MatMulNBits(h, 48, 40, 4, 16, false, true, 4)
	w, _, _ := b.BlockedWeights(40, 24, 16, true)
	h = b.Node("MatMul", []string{h, w})
	y := b.MatMulNBits(h, 24, 10, 8, 16, true, true, 0)
	b.Output(y)
	return b.Model()
}
