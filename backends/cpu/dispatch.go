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
type ISA = gemm.ISA

// ISAs the fast kernels can be switched to (SetISA).
const (
	ISAGeneric    = gemm.Generic    // portable Go on the packed layout
	ISAAVX2       = gemm.AVX2       // AVX2 (exact widening path)
	ISAAVX512VNNI = gemm.AVX512VNNI // AVX-512 VNNI
)

// SetISA switches the fast kernels of every CPU backend in the process to
// isa (for tests and benchmarks) and returns a function that restores the
// previous choice. It fails when the CPU lacks isa. The elementwise and
// depthwise kernels follow (AVX-512, AVX2, else Go).
func SetISA(isa ISA) (restore func(), err error) {
	r1, err := gemm.SetISA(isa)
	if err != nil {
		return nil, err
	}
	v := vec.Generic
	switch {
	case isa == gemm.AVX512VNNI && vec.Supported(vec.AVX512):
		v = vec.AVX512
	case isa == gemm.AVX2 && vec.Supported(vec.AVX2):
		v = vec.AVX2
	}
	r2, err := vec.SetISA(v)
	if err != nil {
		r1()
		return nil, err
	}
	dw := dwconv.Generic
	switch {
	case isa == gemm.AVX512VNNI && dwconv.Supported(dwconv.AVX512):
		dw = dwconv.AVX512
	case isa == gemm.AVX2 && dwconv.Supported(dwconv.AVX2):
		dw = dwconv.AVX2
	}
	r3, err := dwconv.SetISA(dw)
	if err != nil {
		r2()
		r1()
		return nil, err
	}
	return func() { r3(); r2(); r1() }, nil
}

// SupportedISA reports whether this CPU can run isa.
func SupportedISA(isa ISA) bool { return gemm.Supported(isa) }

// CurrentISA returns the instruction set the fast GEMM kernels use now:
// the best this CPU has, unless SetISA switched it.
func CurrentISA() ISA { return gemm.Current() }
