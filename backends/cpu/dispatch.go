package cpu

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/cpu"

	"github.com/qgpu/qgpu/backends/cpu/internal/dwconv"
	"github.com/qgpu/qgpu/backends/cpu/internal/gemm"
	"github.com/qgpu/qgpu/backends/cpu/internal/isa"
	"github.com/qgpu/qgpu/backends/cpu/internal/nbits"
	"github.com/qgpu/qgpu/backends/cpu/internal/vec"
	"github.com/qgpu/qgpu/engine/backend"
)

// The dispatch: every op kind has a generic kernel (generic.go), the
// reference the conformance suite compares every backend with, and may
// have a fast one (elem_fast.go, fast.go, depthwise.go, pool_fast.go) on
// the SIMD kernels of internal/gemm, vec and dwconv. All kernels of a
// kind take the same arguments; a fast kernel returns handled == false,
// with no error, for an op outside what it covers, and the generic kernel
// runs it instead, as it runs every op of a kind whose fast entry below
// is nil and every op of a backend opened with the generic kernel set.

// genericKernel runs an op with the reference kernels.
type genericKernel func(ctx context.Context, op backend.Op) error

// fastKernel runs an op on b's fast kernels, or returns handled == false
// when the generic kernel must run it.
type fastKernel func(b *Backend, ctx context.Context, op backend.Op) (handled bool, err error)

// kernels are the two kernels of one op kind.
type kernels struct {
	generic genericKernel
	fast    fastKernel // nil: the generic kernel runs every op of the kind
}

// kernelsOf adapts the kernels of op type T to the table's types; fast may
// be nil. An op of another type than its kind's is unsupported.
func kernelsOf[T backend.Op](generic func(context.Context, T) error, fast func(*Backend, context.Context, T) (bool, error)) kernels {
	k := kernels{generic: func(ctx context.Context, op backend.Op) error {
		o, ok := op.(T)
		if !ok {
			return fmt.Errorf("op %v of type %T: %w", op.Kind(), op, backend.ErrUnsupported)
		}
		return generic(ctx, o)
	}}
	if fast != nil {
		k.fast = func(b *Backend, ctx context.Context, op backend.Op) (bool, error) {
			o, ok := op.(T)
			if !ok {
				return false, nil // the generic kernel reports it
			}
			return fast(b, ctx, o)
		}
	}
	return k
}

// dispatch holds the kernels of every op kind. TestDispatchTable checks
// that each kind of backend.OpKinds has a generic kernel and lists the
// kinds without a fast one.
var dispatch = [...]kernels{
	backend.OpQuantize:          kernelsOf(quantizeGeneric, (*Backend).quantizeFast),
	backend.OpDequantize:        kernelsOf(dequantizeGeneric, (*Backend).dequantizeFast),
	backend.OpByteWeightDequant: kernelsOf(byteWeightDequantGeneric, nil),
	backend.OpRequantize:        kernelsOf(requantizeGeneric, (*Backend).requantizeFast),
	backend.OpGemm:              kernelsOf(gemmGeneric, (*Backend).gemmFast),
	backend.OpConv:              kernelsOf(convGeneric, (*Backend).convFast),
	backend.OpAdd:               kernelsOf(addGeneric, (*Backend).addFast),
	backend.OpMul:               kernelsOf(mulGeneric, (*Backend).mulFast),
	backend.OpReLU:              kernelsOf(reluGeneric, (*Backend).reluFast),
	backend.OpMaxPool:           kernelsOf(poolGeneric, (*Backend).poolFast),
	backend.OpAvgPool:           kernelsOf(poolGeneric, (*Backend).poolFast),
	backend.OpMinMax:            kernelsOf(minMaxGeneric, (*Backend).minMaxFast),
	backend.OpHistogram:         kernelsOf(histogramGeneric, (*Backend).histogramFast),
	backend.OpLookup:            kernelsOf(lookupGeneric, nil),
	backend.OpConcat:            kernelsOf(concatGeneric, nil),
	backend.OpMatMulNBits:       kernelsOf(matMulNBitsGeneric, (*Backend).matMulNBitsFast),
}

// kernelsFor returns the kernels of kind k, or false when the table has
// none.
func kernelsFor(k backend.OpKind) (kernels, bool) {
	if int(k) >= len(dispatch) || dispatch[k].generic == nil {
		return kernels{}, false
	}
	return dispatch[k], true
}

// run executes one op with the selected kernels.
func (b *Backend) run(ctx context.Context, op backend.Op) error {
	k, ok := kernelsFor(op.Kind())
	if !ok {
		return fmt.Errorf("op %v: no kernel: %w", op.Kind(), backend.ErrUnsupported)
	}
	if k.fast != nil && !b.generic {
		if handled, err := k.fast(b, ctx, op); handled {
			return err
		}
	}
	return k.generic(ctx, op)
}

// cpuName returns the CPU model name from /proc/cpuinfo, or GOARCH.
func cpuName() string {
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}

func (b *Backend) caps() map[string]string {
	k := "fast (gemm " + gemm.Current().String() + ", elementwise " + vec.Current().String() + ", depthwise " + dwconv.Current().String() +
		", matmulnbits " + nbits.Current().String() + ")"
	if b.generic {
		k = "generic"
	}
	return map[string]string{
		"threads":  strconv.Itoa(b.threads),
		"kernels":  k,
		"features": features(),
	}
}

// features lists the CPU features the kernels can use.
func features() string {
	var f []string
	for _, c := range []struct {
		name string
		ok   bool
	}{{"avx2", cpu.X86.HasAVX2}, {"avx512f", cpu.X86.HasAVX512F}, {"avx512bw", cpu.X86.HasAVX512BW}, {"avx512vnni", cpu.X86.HasAVX512VNNI}} {
		if c.ok {
			f = append(f, c.name)
		}
	}
	if len(f) == 0 {
		return "none"
	}
	return strings.Join(f, ",")
}

// ISA names the instruction set the fast kernels use.
type ISA = isa.ISA

// ISAs the fast kernels can be switched to (SetISA).
const (
	ISAGeneric = isa.Generic // portable Go on the packed layout
	ISAAVX2    = isa.AVX2    // AVX2 (exact widening path)
	ISAAVX512  = isa.AVX512  // AVX-512 (VNNI for the GEMM and depthwise kernels)
)

// SetISA switches the fast kernels of every CPU backend in the process to
// v (for tests and benchmarks) and returns a function that restores the
// previous choice. It fails when the GEMM kernels of v cannot run here
// (SupportedISA); the elementwise and depthwise kernels take the best
// they have at or below v.
func SetISA(v ISA) (restore func(), err error) {
	r1, err := gemm.SetISA(v)
	if err != nil {
		return nil, err
	}
	r2, err := vec.SetISA(isa.AtMost(vec.Supported, v))
	if err != nil {
		r1()
		return nil, err
	}
	r3, err := dwconv.SetISA(isa.AtMost(dwconv.Supported, v))
	if err != nil {
		r2()
		r1()
		return nil, err
	}
	r4, err := nbits.SetISA(isa.AtMost(nbits.Supported, v))
	if err != nil {
		r3()
		r2()
		r1()
		return nil, err
	}
	return func() { r4(); r3(); r2(); r1() }, nil
}

// SupportedISA reports whether this CPU and build can run the GEMM kernels
// of v (the strictest: AVX-512 needs F, BW and VNNI).
func SupportedISA(v ISA) bool { return gemm.Supported(v) }

// CurrentISA returns the instruction set the fast GEMM kernels use now:
// the best this CPU has, unless SetISA switched it.
func CurrentISA() ISA { return gemm.Current() }
