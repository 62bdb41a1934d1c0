package tests

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/qgpu/qgpu/engine"
	"github.com/qgpu/qgpu/qtensor"
)

// Case is one conformance case: inputs generated from a seed derived from
// Op and Name, one or more ops recorded through the Batch API (Build) or
// run through an Engine method (Exec), and outputs compared bit for bit.
type Case struct {
	// Op is the op under test (backend.OpKind.String(), or
	// "DynamicQuantizeLinear", or "Chain" for multi-op batches).
	Op string
	// Name identifies the case within its op (no spaces).
	Name string
	// FlushDenormTolerance declares the one tolerance docs/semantics.md section 6
	// allows: float32 outputs whose exact value is below 2^-126 in
	// magnitude may be ±0 on a device that flushes denormals. It applies
	// only to float32 outputs and only when the target reports flushing
	// (FlushesDenormals). Every case that sets it says why beside it.
	FlushDenormTolerance bool
	// OutputsEqual says the case computes one result several ways (a
	// GEMM on B and on its transpose stored for GemmOptions.TransposeB):
	// besides matching the reference, every output must equal output 0
	// bit for bit on the target.
	OutputsEqual bool
	// Inputs returns the host inputs, drawn from r.
	Inputs func(r *rand.Rand) []*qtensor.Tensor
	// Build records the op(s) on b with the uploaded inputs and returns
	// the tensors to compare.
	Build func(b *engine.Batch, in []*engine.Tensor) ([]*engine.Tensor, error)
	// Exec, when set instead of Build, runs an engine-composed op and
	// returns the tensors to compare (scalar results uploaded as tensors);
	// the runner downloads and releases them.
	Exec func(ctx context.Context, e *engine.Engine, in []*engine.Tensor) ([]*engine.Tensor, error)
}

// Sizes are the dimension sizes every op is swept over: either side of
// every power of two a SIMD width or workgroup is likely to use.
var Sizes = []int{1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 257}

// quantTypes are the quantized element types.
var quantTypes = []qtensor.DType{qtensor.Uint8, qtensor.Int8, qtensor.Uint4, qtensor.Int4}

// byteTypes are the 8-bit types the integer ops take.
var byteTypes = []qtensor.DType{qtensor.Uint8, qtensor.Int8}

func short(d qtensor.DType) string {
	switch d {
	case qtensor.Uint8:
		return "u8"
	case qtensor.Int8:
		return "s8"
	case qtensor.Uint4:
		return "u4"
	case qtensor.Int4:
		return "s4"
	case qtensor.Float32:
		return "f32"
	case qtensor.Int32:
		return "i32"
	}
	return d.String()
}

func shapeName(s []int) string {
	out := ""
	for i, d := range s {
		if i > 0 {
			out += "x"
		}
		out += fmt.Sprint(d)
	}
	if out == "" {
		return "scalar"
	}
	return out
}

// caseList accumulates cases.
type caseList struct {
	cases []Case
	seen  map[string]bool
}

func (l *caseList) add(c Case) {
	key := c.Op + "/" + c.Name
	if l.seen[key] {
		panic("tests: duplicate case " + key)
	}
	l.seen[key] = true
	l.cases = append(l.cases, c)
}

// one wraps a single-output build.
func one(f func(b *engine.Batch, in []*engine.Tensor) (*engine.Tensor, error)) func(b *engine.Batch, in []*engine.Tensor) ([]*engine.Tensor, error) {
	return func(b *engine.Batch, in []*engine.Tensor) ([]*engine.Tensor, error) {
		y, err := f(b, in)
		if err != nil {
			return nil, err
		}
		return []*engine.Tensor{y}, nil
	}
}

func inputs(ts ...func(r *rand.Rand) *qtensor.Tensor) func(r *rand.Rand) []*qtensor.Tensor {
	return func(r *rand.Rand) []*qtensor.Tensor {
		out := make([]*qtensor.Tensor, len(ts))
		for i, f := range ts {
			out[i] = f(r)
		}
		return out
	}
}

// Cases returns the suite's case table, in a fixed order. The table is
// built from a fixed seed, so every call returns the same cases.
func Cases() []Case {
	l := &caseList{seen: map[string]bool{}}
	def := rand.New(rand.NewPCG(0x71676075, 1)) // parameters of the case table
	quantizeCases(l, def)
	dequantizeCases(l, def)
	byteWeightCases(l, def)
	requantizeCases(l, def)
	gemmCases(l, def)
	convCases(l, def)
	addMulCases(l, def)
	reluCases(l, def)
	poolCases(l, def)
	minMaxCases(l, def)
	histogramCases(l, def)
	lookupCases(l, def)
	concatCases(l, def)
	nbitsCases(l, def)
	dynamicQuantizeCases(l, def)
	chainCases(l, def)
	return l.cases
}
