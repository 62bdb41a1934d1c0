package cpu

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/qgpu/qgpu/engine"
)

// run executes one op with the selected kernels.
func (b *Backend) run(ctx context.Context, op engine.Op) error {
	switch op := op.(type) {
	case *engine.Quantize:
		return quantizeGeneric(op)
	case *engine.Dequantize:
		return dequantizeGeneric(op)
	case *engine.ByteWeightDequant:
		return byteWeightDequantGeneric(op)
	case *engine.Requantize:
		return requantizeGeneric(op)
	case *engine.Gemm:
		return gemmGeneric(ctx, op)
	case *engine.Conv:
		return convGeneric(ctx, op)
	case *engine.Add:
		return addGeneric(op)
	case *engine.Mul:
		return mulGeneric(op)
	case *engine.ReLU:
		return reluGeneric(op)
	case *engine.Pool:
		return poolGeneric(ctx, op)
	case *engine.MinMax:
		return minMaxGeneric(op)
	case *engine.Histogram:
		return histogramGeneric(op)
	}
	return fmt.Errorf("op %T: %w", op, engine.ErrUnsupported)
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

func caps(threads int) map[string]string {
	return map[string]string{
		"threads": strconv.Itoa(threads),
		"kernels": "generic",
	}
}
