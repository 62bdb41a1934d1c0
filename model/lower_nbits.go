package model

import (
	"fmt"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/model/graph"
	"github.com/qgpu/qgpu/qtensor"
)

// Blocked low-bit weights (engine MatMulNBits, docs/semantics.md): ONNX
// Runtime's com.microsoft MatMulNBits with constant weights, and its QDQ
// form, a MatMul whose weights are a DequantizeLinear of constant int4,
// uint4, int8 or uint8 data quantized in blocks along K (opset 21) - the
// pattern ONNX Runtime's DQMatMulToMatMulNBits transformer fuses into
// MatMulNBits. Both take float32 activations (a quantized twin is
// dequantized on the engine first) and give float32 results.

// lowerMatMulNBits lowers com.microsoft MatMulNBits whose B, scales, zero
// points and bias are constants.
func lowerMatMulNBits(p *plan, i int) (*group, string) {
	n := p.node(i)
	K, N := int(attrInt(n, "K", 0)), int(attrInt(n, "N", 0))
	bits, bs := int(attrInt(n, "bits", 4)), int(attrInt(n, "block_size", 0))
	b, s := p.constant(input(n, 1)), p.constant(input(n, 2))
	if b == nil || s == nil || b.DType != graph.Uint8 || s.DType != graph.Float32 {
		return nil, "B and scales are not uint8 and float32 constants"
	}
	var zp []byte
	if input(n, 3) != "" {
		z := p.constant(input(n, 3))
		if z == nil || z.DType != graph.Uint8 {
			return nil, "zero_points are not a uint8 constant"
		}
		zp = z.U8
	}
	if input(n, 4) != "" {
		return nil, "g_idx"
	}
	bias, why := p.nbitsBias(input(n, 5))
	if why != "" {
		return nil, why
	}
	w, err := qtensor.MatMulNBitsWeights(N, K, bits, bs, b.U8, s.F32, zp)
	if err != nil {
		return nil, err.Error()
	}
	return p.nbitsGroup(i, w, attrInt(n, "accuracy_level", 0) == 4, bias)
}

// nbitsBias reads a constant float32 bias (v "" : none).
func (p *plan) nbitsBias(v string) ([]float32, string) {
	if v == "" {
		return nil, ""
	}
	t := p.constant(v)
	if t == nil || t.DType != graph.Float32 {
		return nil, "the bias is not a float32 constant"
	}
	return t.F32, ""
}

// nbitsGroup lowers node i to one engine MatMulNBits of its input 0 with
// the weights w, float32 output.
func (p *plan) nbitsGroup(i int, w *qtensor.Tensor, int8Act bool, bias []float32) (*group, string) {
	n := p.node(i)
	a, out := n.Inputs[0], n.Outputs[0]
	gr := newGroup(i)
	key := out + "#nbits"
	p.weights[key] = w
	opts := engine.NBitsOptions{Int8Activations: int8Act, Bias: bias}
	mode := "float"
	if int8Act {
		mode = "int8"
	}
	op := fmt.Sprintf("MatMulNBits(float32,%v/%d,%s->float32)", w.DType, w.Params.BlockSize, mode)
	in, deq := a, false
	if t, _ := p.twinOf(a); t != nil {
		// A quantized activation: dequantized on the engine.
		gr.reads = []string{a}
		in, deq = t.name, true
		op = fmt.Sprintf("Dequantize(%v->float32) + %s", t.p.dt, op)
	}
	gr.covers[i] = "float32 activations and output"
	st := &step{node: i, ins: []string{in}, outs: []string{out}, ops: []string{op},
		record: func(b *engine.Batch, ins []*engine.Tensor, keep func(*engine.Tensor)) ([]*engine.Tensor, error) {
			x := ins[0]
			if deq {
				var err error
				if x, err = b.Dequantize(x); err != nil {
					return nil, err
				}
				keep(x)
			}
			y, err := b.MatMulNBits(x, p.wdev[key], opts)
			return []*engine.Tensor{y}, err
		}}
	gr.steps, gr.outDev = []*step{st}, []string{out}
	return gr, ""
}

// lowerMatMulBlocked lowers a MatMul of float activations and a
// DequantizeLinear of constant weights [K, N] quantized in blocks along K
// (axis 0, block_size a power of two from 16 to 256) to engine
// MatMulNBits. ok is false when the weights are not such a blocked
// DequantizeLinear (the node is then the ordinary MatMul lowering's).
func lowerMatMulBlocked(p *plan, i int) (gr *group, why string, ok bool) {
	n := p.node(i)
	j, found := p.prod[n.Inputs[1]]
	for found && isDefault(p.node(j).Domain) && p.node(j).OpType == "Identity" {
		j, found = p.prod[p.node(j).Inputs[0]]
	}
	if !found || !isDefault(p.node(j).Domain) || p.node(j).OpType != "DequantizeLinear" || attrInt(p.node(j), "block_size", 0) == 0 {
		return nil, "", false
	}
	dq := p.node(j)
	bs := int(attrInt(dq, "block_size", 0))
	x, s := p.constant(dq.Inputs[0]), p.constant(dq.Inputs[1])
	if x == nil || s == nil || (x.DType != graph.Int8 && x.DType != graph.Uint8) {
		return nil, "weights: a blocked DequantizeLinear of non-constant or non-8/4-bit data", true
	}
	if len(x.Shape) != 2 {
		return nil, fmt.Sprintf("blocked weights of shape %v (MatMulNBits takes 2-D [K, N] weights)", x.Shape), true
	}
	if ax := attrInt(dq, "axis", 1); ax != 0 && ax != -2 {
		return nil, fmt.Sprintf("weights blocked along axis %d, not K (axis 0)", ax), true
	}
	if bs < engine.MinNBitsBlock || bs > engine.MaxNBitsBlock || bs&(bs-1) != 0 {
		return nil, fmt.Sprintf("block_size %d (the engine takes powers of two from 16 to 256)", bs), true
	}
	var zps []int64
	if input(dq, 2) != "" {
		z := p.constant(dq.Inputs[2])
		if z == nil {
			return nil, "the weights' zero points are not a constant", true
		}
		zps, _ = z.Ints()
	}
	w, err := blockedWeights(x, s.F32, zps, bs)
	if err != nil {
		return nil, "weights: " + err.Error(), true
	}
	gr, why = p.nbitsGroup(i, w, false, nil)
	if gr != nil {
		gr.reads = append(gr.reads, n.Inputs[1])
		gr.covers[i] = "a blocked DequantizeLinear's weights as MatMulNBits (its summation order, not the float MatMul's)"
	}
	return gr, why, true
}

// blockedWeights turns the constant x [K, N] of a DequantizeLinear with
// scales s and zero points zps ([ceil(K/bs), N], zps nil: 0) in blocks of
// bs along K into MatMulNBits weights [N, blocks*bs] (transposed, rows
// padded with the zero point): int4 or uint4 when every value and zero
// point fits 4 bits (the ONNX type INT4 or UINT4 arrives widened to 8),
// else int8 or uint8.
func blockedWeights(x *graph.Tensor, s []float32, zps []int64, bs int) (*qtensor.Tensor, error) {
	K, N := x.Shape[0], x.Shape[1]
	nb := (K + bs - 1) / bs
	if len(s) != nb*N || (zps != nil && len(zps) != nb*N) {
		return nil, fmt.Errorf("%w: %d scales for [%d, %d] in blocks of %d", ErrParams, len(s), K, N, bs)
	}
	vals := make([]int32, K*N)
	for i := range vals {
		if x.DType == graph.Int8 {
			vals[i] = int32(x.I8[i])
		} else {
			vals[i] = int32(x.U8[i])
		}
	}
	d := qtensor.Int4
	if x.DType == graph.Uint8 {
		d = qtensor.Uint4
	}
	fits := func(v int64) bool { return v >= int64(d.QMin()) && v <= int64(d.QMax()) }
	for _, v := range vals {
		if !fits(int64(v)) {
			d = map[qtensor.DType]qtensor.DType{qtensor.Int4: qtensor.Int8, qtensor.Uint4: qtensor.Uint8}[d]
			break
		}
	}
	for _, v := range zps {
		if d.Bits() == 4 && !fits(v) {
			d = map[qtensor.DType]qtensor.DType{qtensor.Int4: qtensor.Int8, qtensor.Uint4: qtensor.Uint8}[d]
			break
		}
	}
	ts, tz := make([]float32, N*nb), make([]int32, N*nb)
	for b := range nb {
		for n := range N {
			ts[n*nb+b] = s[b*N+n]
			if zps != nil {
				tz[n*nb+b] = int32(zps[b*N+n])
			}
		}
	}
	w, err := qtensor.New(d, []int{N, nb * bs}, qtensor.BlockParams(1, bs, ts, tz))
	if err != nil {
		return nil, err
	}
	for n := range N {
		for k := range nb * bs {
			v := tz[n*nb+k/bs]
			if k < K {
				v = vals[k*N+n]
			}
			w.Set(n*nb*bs+k, v)
		}
	}
	return w, nil
}
