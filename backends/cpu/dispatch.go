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
	"github.com/qgpu/qgpu/backends/cpu/internal/vec"
	"github.com/qgpu/qgpu/engine/backend"
)

// run executes one op with the selected kernels.
func (b *Backend) run(ctx context.Context, op backend.Op) error {
	switch op := op.(type) {
	case *backend.Quantize:
		if !b.generic && b.quantizeFast(op) {
			return nil
		}
		return quantizeGeneric(op)
	case *backend.Dequantize:
		if !b.generic && b.dequantizeFast(op) {
			return nil
		}
		return dequantizeGeneric(op)
	case *backend.ByteWeightDequant:
		return byteWeightDequantGeneric(op)
	case *backend.Requantize:
		if !b.generic && b.requantizeFast(op) {
			return nil
		}
		return requantizeGeneric(op)
	case *backend.Gemm:
		if !b.generic {
			if done, err := b.gemmFast(ctx, op); done {
				return err
			}
		}
		return gemmGeneric(ctx, op)
	case *backend.Conv:
		if !b.generic {
			if done, err := b.convFast(ctx, op); done {
				return err
			}
		}
		return convGeneric(ctx, op)
	case *backend.Add:
		if b.generic {
			return addGeneric(op)
		}
		b.addFast(op)
		return nil
	case *backend.Mul:
		if b.generic {
			return mulGeneric(op)
		}
		b.mulFast(op)
		return nil
	case *backend.ReLU:
		if b.generic {
			return reluGeneric(op)
		}
		b.reluFast(op)
		return nil
	case *backend.Pool:
		if b.generic {
			return poolGeneric(ctx, op)
		}
		return b.poolFast(ctx, op)
	case *backend.MinMax:
		if !b.generic && b.minMaxFast(op) {
			return nil
		}
		return minMaxGeneric(op)
	case *backend.Histogram:
		if !b.generic && b.histogramFast(op) {
			return nil
		}
		return histogramGeneric(op)
	}
	return fmt.Errorf("op %T: %w", op, backend.ErrUnsupported)
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
	k := "fast (gemm " + gemm.Current().String() + ", elementwise " + vec.Current().String() + ", depthwise " + dwconv.Current().String() + ")"
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
	return func() { r3(); r2(); r1() }, nil
}

// SupportedISA reports whether this CPU and build can run the GEMM kernels
// of v (the strictest: AVX-512 needs F, BW and VNNI).
func SupportedISA(v ISA) bool { return gemm.Supported(v) }

// CurrentISA returns the instruction set the fast GEMM kernels use now:
// the best this CPU has, unless SetISA switched it.
func CurrentISA() ISA { return gemm.Current() }
