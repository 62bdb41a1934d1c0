package gpu

import (
	"strings"

	"github.com/qgpu/qgpu/engine/backend"
	"github.com/qgpu/qgpu/qtensor"
	"github.com/qgpu/qgpu/shaders"
)

// LoopBudget is the number of loop iterations Mesa's gallivm (llvmpipe, the
// GL driver, and lavapipe) lets one shader invocation run: ONE counter
// shared by every loop of the invocation is decremented at each loop
// iteration (and once more when a loop exits), and every loop is left
// silently once it reaches zero (LP_MAX_TGSI_LOOP_ITERATIONS). An op whose
// kernels may need more gives wrong results there, not an error, so
// Backend refuses it on such drivers (LoopIterations, LoopLimited).
const LoopBudget = 65535

// LoopIterations returns an upper bound of the loop budget one invocation
// of op's kernels uses, counting every iteration plus one per loop
// execution (the count measured on llvmpipe). It mirrors the loop
// structure of the kernels in shaders/src (the GEMM K loop unrolled by 4,
// or by 16 beyond K = 2^15, the conv channel loop by 16, the pooling window row by 8, one invocation
// per output word computing every element of the word) and must change
// with them.
func LoopIterations(op backend.Op) int64 {
	// store is the budget of a kernel whose invocation loops over the pw
	// elements of one output word, each of which costs per.
	store := func(pw, per int64) int64 { return pw + 1 + pw*per }
	unrolled := func(n, by int64) int64 { return n/by + 1 + n%by + 1 }
	switch op := op.(type) {
	case *backend.Gemm:
		// gemm.comp: by 4 up to K = 2^15; beyond, by 16, then by 4, then 1.
		return store(pwOf(op.Y), gemmElement(int64(op.K)))
	case *backend.Conv:
		kh, kw, cg := int64(op.KH), int64(op.KW), int64(op.C/op.Group)
		return store(pwOf(op.Y), kh+1+kh*(kw+1+kw*unrolled(cg, 16)))
	case *backend.Pool:
		kh, kw := int64(op.KH), int64(op.KW)
		return store(pwOf(op.Y), kh+1+kh*unrolled(kw, 8))
	case *backend.Quantize:
		return store(pwOf(op.Y), 25+1) // the exact-division variant's 25-step loop
	case *backend.MatMulNBits:
		// nbits.comp: the block loop; in each block the k loop by 4 and
		// its tail (at most bs/4 + 5), and in the int8 mode the amax
		// loop likewise.
		nb, per := int64(op.Blocks), int64(op.BlockSize/4+5)
		if op.Mode == backend.NBitsInt8 {
			per *= 2
		}
		return store(pwOf(op.Y), nb+1+nb*per)
	case *backend.MinMax, *backend.Histogram:
		// Grid-stride loops over at most 2^32 elements with at least
		// 1024 groups of 256 (reduceGroups), and the histogram's
		// shared-memory loops over at most 4099 bins.
		return (1<<32)/(1024*256) + 1 + 2*(4099/256+2)
	}
	return 8 + 1 // one loop over the (at most 8) elements of an output word
}

// LoopIterationsTiledGemm is LoopIterations for the tiled GEMM variant
// (gemm.comp, QGPU_GEMM_TILED): the K loop in chunks of 16 (no loops
// inside), the 4x4 epilogue loops, and for packed outputs the loop over the
// output words inside the tile (at most 64/pw + 1 per row, so
// ceil(64 (64/pw + 1) / 256) per invocation), each storing pw elements,
// then at most one word holding a row's last element, of which up to
// pw - 1 elements cost a baseline element (valueAt) when N is not a
// multiple of pw.
func LoopIterationsTiledGemm(op *backend.Gemm) int64 {
	return tiledGemmLoops(int64(op.K), int64(op.N), pwOf(op.Y))
}

// TiledGemmLoops is LoopIterationsTiledGemm for the block of a "gemm"
// launch planned by PlanOp (for a backend choosing the variant per launch).
func TiledGemmLoops(p *shaders.GemmParams) int64 {
	return tiledGemmLoops(int64(p.K), int64(p.N), int64(perWord(qtensor.DType(p.YType))))
}

func tiledGemmLoops(k, cols, pw int64) int64 {
	n := (k+15)/16 + 1 + (4 + 1 + 4*(4+1))
	if pw == 1 {
		return n
	}
	slots := (64*(64/pw+1) + 255) / 256
	n += slots + 1 + slots*(pw+1) + pw + 1
	if cols%pw != 0 {
		n += (pw - 1) * gemmElement(k)
	}
	return n
}

// gemmElement is the loop budget of one element of the baseline GEMM
// (valueAt): the K loop by 4 up to K = 2^15; beyond, by 16, then by 4, then 1.
func gemmElement(k int64) int64 {
	if k > 32768 {
		return k/16 + 1 + (k%16)/4 + 1 + k%4 + 1
	}
	return k/4 + 1 + k%4 + 1
}

func pwOf(t *backend.Tensor) int64 { return int64(perWord(t.DType())) }

// LoopLimited reports whether a device (by its name or renderer string)
// runs shaders through Mesa's gallivm and so has the loop budget.
func LoopLimited(device string) bool {
	return strings.Contains(strings.ToLower(device), "llvmpipe")
}
