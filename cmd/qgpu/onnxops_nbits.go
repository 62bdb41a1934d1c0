package main

import (
	"fmt"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// com.microsoft MatMulNBits: blocked low-bit weights (engine MatMulNBits).

func init() {
	onnxOps["MatMulNBits"] = &onnxOp{
		inputs:  []string{"A", "B", "scales", "zero_points?", "g_idx?", "bias?"},
		outputs: []string{"Y"},
		attrs: map[string]attrSpec{
			"K":              {attrInt, "", "input features, A's last dimension (required)"},
			"N":              {attrInt, "", "output features (required)"},
			"bits":           {attrInt, "4", "weight bits: 4 or 8"},
			"block_size":     {attrInt, "", "weights per block along K, a power of two from 16 to 256 (required)"},
			"accuracy_level": {attrInt, "0", "0 to 3: float32 activations; 4: activations quantized to int8 per row and block"},
		},
		about: "ONNX Runtime's com.microsoft MatMulNBits: Y = A x dequantize(B)^T + bias with B uint8 [N][blocks][block_size*bits/8] " +
			"(packed low first), scales [N*blocks] or [N, blocks], packed uint8 zero_points (default 2^(bits-1)); float32 A, scales and bias; " +
			"the summation order of docs/semantics.md (MatMulNBits)",
		evaluate: evalMatMulNBits,
	}
}

func evalMatMulNBits(r *opRun) ([]*qtensor.Tensor, error) {
	for _, k := range []string{"K", "N", "block_size"} {
		if !r.given[k] {
			return nil, usagef("attribute %s is required (--attr %s=...)", k, k)
		}
	}
	K, N, bits, bs, level := r.ints["K"], r.ints["N"], r.ints["bits"], r.ints["block_size"], r.ints["accuracy_level"]
	if K < 1 || N < 1 {
		return nil, usagef("K = %d and N = %d must be at least 1", K, N)
	}
	if level < 0 || level > 4 {
		return nil, usagef("accuracy_level %d, want 0 to 4", level)
	}
	if bits != 4 && bits != 8 {
		return nil, fmt.Errorf("bits = %d: %w (4 and 8 are supported)", bits, engine.ErrUnsupported)
	}
	if bs < engine.MinNBitsBlock || bs > engine.MaxNBitsBlock || bs&(bs-1) != 0 {
		return nil, usagef("block_size %d, want a power of two from %d to %d", bs, engine.MinNBitsBlock, engine.MaxNBitsBlock)
	}
	a := r.in[0]
	if err := r.wantType(0, qtensor.Float32); err != nil {
		return nil, err
	}
	if len(a.Shape) == 0 || a.Shape[len(a.Shape)-1] != K {
		return nil, r.inErr(0, "has shape %v, want [..., K] with K = %d", a.Shape, K)
	}
	blocks, blob := (K+bs-1)/bs, bs*bits/8
	if err := r.wantType(1, qtensor.Uint8); err != nil {
		return nil, err
	}
	if s := r.in[1].Shape; !(len(s) == 3 && s[0] == N && s[1] == blocks && s[2] == blob) && !(len(s) == 2 && s[0] == N && s[1] == blocks*blob) {
		return nil, r.inErr(1, "has shape %v, want [N, blocks, blob] = [%d, %d, %d]", s, N, blocks, blob)
	}
	scales, err := r.floats(2)
	if err != nil {
		return nil, err
	}
	if s := r.in[2].Shape; !(len(s) == 1 && s[0] == N*blocks) && !(len(s) == 2 && s[0] == N && s[1] == blocks) {
		return nil, r.inErr(2, "has shape %v, want [%d] or [%d, %d] (N x blocks)", s, N*blocks, N, blocks)
	}
	var zps []byte
	if z := r.in[3]; z != nil {
		if z.DType == qtensor.Float32 {
			return nil, fmt.Errorf("input 3 (zero_points, %s): float zero points are %w (uint8 packed ones are)", r.files[3], engine.ErrUnsupported)
		}
		if err := r.wantType(3, qtensor.Uint8); err != nil {
			return nil, err
		}
		zrow := (blocks*bits + 7) / 8
		if z.Len() != N*zrow || len(z.Shape) > 2 || (len(z.Shape) == 2 && z.Shape[0] != N) {
			return nil, r.inErr(3, "has shape %v, want [%d] or [%d, %d] (N x ceil(blocks x bits / 8))", z.Shape, N*zrow, N, zrow)
		}
		zps = z.Data
	}
	if r.in[4] != nil {
		return nil, fmt.Errorf("input 4 (g_idx, %s): g_idx (deprecated by ONNX Runtime) is %w", r.files[4], engine.ErrUnsupported)
	}
	var bias []float32
	if r.in[5] != nil {
		if bias, err = r.floats(5); err != nil {
			return nil, err
		}
		if s := r.in[5].Shape; len(s) != 1 || s[0] != N {
			return nil, r.inErr(5, "has shape %v, want [%d] (N)", s, N)
		}
	}
	w, err := qtensor.MatMulNBitsWeights(N, K, bits, bs, r.in[1].Data, scales, zps)
	if err != nil {
		return nil, err
	}
	da, err := r.upload(a)
	if err != nil {
		return nil, err
	}
	dw, err := r.upload(w)
	if err != nil {
		return nil, err
	}
	b := r.eng.NewBatch()
	y, err := b.MatMulNBits(da, dw, engine.NBitsOptions{Int8Activations: level == 4, Bias: bias})
	if err != nil {
		return nil, err
	}
	out, err := r.runAndDownload(b, y)
	return []*qtensor.Tensor{out}, err
}
