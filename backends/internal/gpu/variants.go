package gpu

import (
	"fmt"

	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
	"github.com/qgpu/qgpu/shaders"
)

// Names of the kernel variants Backend chooses (shaders.Variants).
const (
	ExactDivKernel = "quantize_exactdiv" // quantize dividing with integer operations only
	NBitsExactDiv  = "nbits_exactdiv"    // nbits dividing with integer operations only
	NBitsDotKernel = "nbits_dot"         // nbits' int8 mode with packed dot products
	GemmTiled      = "gemm_tiled"        // GEMM tiled in shared memory
)

// variants chooses the kernel (or variant) of each launch on this device.
type variants struct {
	// exactDiv: quantize divides with the integer-only emulation.
	exactDiv bool
	// gemm is the GEMM kernel; with gemmForced it runs on every shape.
	gemm       string
	gemmForced bool
	// nbitsDot: MatMulNBits' int8 products on 4-bit weights take nbits_dot.
	nbitsDot bool
	// loopLimited: Mesa's loop budget applies (LoopBudget).
	loopLimited bool
}

// choose returns the kernel or variant to run for a planned launch and its
// grid of work groups (the planner's, or the variant's own).
func (v *variants) choose(l *Launch) (string, [3]uint32) {
	switch p := l.Params.(type) {
	case *shaders.QuantizeParams:
		if v.exactDiv && (p.Mode == shaders.QuantizeDivide || p.Mode == shaders.QuantizeQuotient) {
			return ExactDivKernel, l.Groups
		}
	case *shaders.NbitsParams:
		// Division: the int8 mode's preparing launch (the activations'
		// scales and quantization) and a quantized output.
		if v.exactDiv && (p.Mode == shaders.NBitsPrep || p.YType != uint32(qtensor.Float32)) {
			return NBitsExactDiv, l.Groups
		}
		if v.nbitsDot && p.Mode == shaders.NBitsInt8 && (p.BType == uint32(qtensor.Uint4) || p.BType == uint32(qtensor.Int4)) {
			return NBitsDotKernel, l.Groups
		}
	case *shaders.GemmParams:
		if v.gemm != GemmTiled {
			return v.gemm, l.Groups
		}
		if g, ok := TiledGemmGroups(l); ok && (v.gemmForced || v.worthTiling(p)) {
			return GemmTiled, g
		}
	}
	return l.Kernel(), l.Groups
}

// worthTiling reports whether a GEMM is large enough for 64x64 tiles: with
// M or N below 32 most of every tile would be padding (GEMV-like shapes
// run faster on the baseline's one invocation per output). On a
// loop-limited driver the baseline also runs the GEMMs whose tiled form
// would exceed the loop budget.
func (v *variants) worthTiling(p *shaders.GemmParams) bool {
	if p.M < 32 || p.N < 32 {
		return false
	}
	return !v.loopLimited || TiledGemmLoops(p) <= LoopBudget
}

// check refuses, on a loop-limited driver, a GEMM whose tiled variant,
// forced (tests), needs more loop iterations per invocation than the
// driver allows (Backend.check covers the baseline kernels; unforced,
// such GEMMs run the baseline).
func (v *variants) check(op backend.Op) error {
	g, ok := op.(*backend.Gemm)
	if !ok || v.gemm != GemmTiled || !v.gemmForced || !v.loopLimited {
		return nil
	}
	if n := LoopIterationsTiledGemm(g); n > LoopBudget {
		return fmt.Errorf("tiled variant: %w", loopBudgetError(n))
	}
	return nil
}
