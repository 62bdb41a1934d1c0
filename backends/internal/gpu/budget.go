package gpu

import (
	"fmt"
	"strings"

	"github.com/qgpu/qgpu/engine"
)

// LoopBudget is the number of loop iterations Mesa's gallivm (llvmpipe, the
// GL driver, and lavapipe) lets one shader invocation run: ONE counter
// shared by every loop of the invocation is decremented at each loop
// iteration (and once more when a loop exits), and every loop is left
// silently once it reaches zero (LP_MAX_TGSI_LOOP_ITERATIONS). An op whose
// kernels may need more gives wrong results there, not an error, so the
// backends on such drivers refuse it (LoopIterations).
const LoopBudget = 65535

// LoopIterations returns an upper bound of the loop budget one invocation
// of op's kernels uses, counting every iteration plus one per loop
// execution (the count measured on llvmpipe). It mirrors the loop
// structure of the kernels in shaders/src (the GEMM K loop unrolled by 4,
// or by 16 beyond K = 2^15, the conv channel loop by 16, the pooling window row by 8, one invocation
// per output word computing every element of the word) and must change
// with them.
func LoopIterations(op engine.Op) int64 {
	// store is the budget of a kernel whose invocation loops over the pw
	// elements of one output word, each of which costs per.
	store := func(pw, per int64) int64 { return pw + 1 + pw*per }
	unrolled := func(n, by int64) int64 { return n/by + 1 + n%by + 1 }
	switch op := op.(type) {
	case *engine.Gemm:
		// gemm.comp: by 4 up to K = 2^15; beyond, by 16, then by 4, then 1.
		k := int64(op.K)
		per := unrolled(k, 4)
		if k > 32768 {
			per = k/16 + 1 + (k%16)/4 + 1 + k%4 + 1
		}
		return store(pwOf(op.Y), per)
	case *engine.Conv:
		kh, kw, cg := int64(op.KH), int64(op.KW), int64(op.C/op.Group)
		return store(pwOf(op.Y), kh+1+kh*(kw+1+kw*unrolled(cg, 16)))
	case *engine.Pool:
		kh, kw := int64(op.KH), int64(op.KW)
		return store(pwOf(op.Y), kh+1+kh*unrolled(kw, 8))
	case *engine.Quantize:
		return store(pwOf(op.Y), 25+1) // the exact-division variant's 25-step loop
	case *engine.MinMax, *engine.Histogram:
		// Grid-stride loops over at most 2^32 elements with at least
		// 1024 groups of 256 (reduceGroups), and the histogram's
		// shared-memory loops over at most 4099 bins.
		return (1<<32)/(1024*256) + 1 + 2*(4099/256+2)
	}
	return 8 + 1 // one loop over the (at most 8) elements of an output word
}

func pwOf(t *engine.Tensor) int64 { return int64(perWord(t.DType())) }

// LoopLimited reports whether a device (by its name or renderer string)
// runs shaders through Mesa's gallivm and so has the loop budget.
func LoopLimited(device string) bool {
	return strings.Contains(strings.ToLower(device), "llvmpipe")
}

// CheckLoopBudget returns an error wrapping engine.ErrUnsupported when op
// may need more loop iterations per invocation than a loop-limited device
// runs (see LoopBudget), and nil otherwise.
func CheckLoopBudget(op engine.Op, device string, limited bool) error {
	if !limited {
		return nil
	}
	if n := LoopIterations(op); n > LoopBudget {
		return fmt.Errorf("%w: %v needs up to %d loop iterations per invocation; %s stops every loop after %d (Mesa gallivm's loop limiter)",
			engine.ErrUnsupported, op.Kind(), n, device, LoopBudget)
	}
	return nil
}
