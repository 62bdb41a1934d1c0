package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/cpu"
)

// The shapes of the bench suites.

// squareGemm is the square GEMM sweep of the gemm suite.
var squareGemm = []int{128, 256, 512, 1024, 2048}

// layerRows are the "batch" rows M of the layer GEMMs (batch x sequence
// positions in one call: 1 is decoding one token).
var layerRows = []int{1, 16, 128}

// layerGemm are linear layers as K x N (in x out features).
var layerGemm = []struct {
	model string
	k, n  int
}{
	{"bert-base", 768, 768},   // attention projections (Q, K, V, output)
	{"bert-base", 768, 3072},  // feed-forward up
	{"bert-base", 3072, 768},  // feed-forward down
	{"llama-7b", 4096, 4096},  // attention projections
	{"llama-7b", 4096, 11008}, // feed-forward gate and up
	{"llama-7b", 11008, 4096}, // feed-forward down
}

// resnet50Conv lists the distinct convolutions of ResNet-50 (torchvision,
// stride on the 3x3 of each bottleneck) at batch 1, in the order they run.
var resnet50Conv = []string{
	"1x3x224x224,64x7x7,pad3,stride2", // conv1
	// layer1, 56x56
	"1x64x56x56,64x1x1",      // block 1 reduce
	"1x64x56x56,64x3x3,pad1", // 3x3
	"1x64x56x56,256x1x1",     // expand (and the 64->256 projection shortcut)
	"1x256x56x56,64x1x1",     // blocks 2-3 reduce
	// layer2, 28x28
	"1x256x56x56,128x1x1",              // block 1 reduce
	"1x128x56x56,128x3x3,pad1,stride2", // strided 3x3
	"1x128x28x28,512x1x1",              // expand
	"1x256x56x56,512x1x1,stride2",      // downsample shortcut
	"1x512x28x28,128x1x1",              // blocks 2-4 reduce
	"1x128x28x28,128x3x3,pad1",         // blocks 2-4 3x3
	// layer3, 14x14
	"1x512x28x28,256x1x1",
	"1x256x28x28,256x3x3,pad1,stride2",
	"1x256x14x14,1024x1x1",
	"1x512x28x28,1024x1x1,stride2",
	"1x1024x14x14,256x1x1",
	"1x256x14x14,256x3x3,pad1",
	// layer4, 7x7
	"1x1024x14x14,512x1x1",
	"1x512x14x14,512x3x3,pad1,stride2",
	"1x512x7x7,2048x1x1",
	"1x1024x14x14,2048x1x1,stride2",
	"1x2048x7x7,512x1x1",
	"1x512x7x7,512x3x3,pad1",
}

// streamSizes are the element counts of the quantize, dequantize and
// histogram suites when --size is not given.
var streamSizes = []int{1 << 16, 1 << 20, 1 << 24}

// quickGemm and quickConv are the quick suite's modest shapes: they take a
// few seconds each even on the generic Go kernels.
var (
	quickGemm = []string{"128x128x128", "256x256x256", "16x768x3072", "1x4096x4096"}
	quickConv = []string{"1x64x56x56,64x1x1"}
)

// gemmSuite returns the gemm suite's shapes as MxKxN.
func gemmSuite() []string {
	var s []string
	for _, d := range squareGemm {
		s = append(s, fmt.Sprintf("%dx%dx%d", d, d, d))
	}
	for _, l := range layerGemm {
		for _, m := range layerRows {
			s = append(s, fmt.Sprintf("%dx%dx%d", m, l.k, l.n))
		}
	}
	return s
}

// machine describes the host for the bench header and the benchfmt
// configuration lines.
type machine struct {
	CPU      string   // model name
	CPUs     int      // logical CPUs
	Features []string // SIMD features that matter to the kernels
}

func machineInfo() machine {
	m := machine{CPU: cpuModel(), CPUs: runtime.NumCPU()}
	x := cpu.X86
	a := cpu.ARM64
	for _, f := range []struct {
		name string
		has  bool
	}{
		{"sse4.1", x.HasSSE41}, {"avx2", x.HasAVX2}, {"fma", x.HasFMA}, {"avx-vnni", x.HasAVXVNNI},
		{"avx512f", x.HasAVX512F}, {"avx512bw", x.HasAVX512BW}, {"avx512vnni", x.HasAVX512VNNI},
		{"asimd", a.HasASIMD}, {"asimddp", a.HasASIMDDP}, {"i8mm", a.HasI8MM}, {"sve", a.HasSVE},
	} {
		if f.has {
			m.Features = append(m.Features, f.name)
		}
	}
	return m
}

// cpuModel returns the CPU's model name from /proc/cpuinfo ("model name",
// or "Model"/"Hardware" on ARM), or GOARCH when there is none.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "model name", "Model", "Hardware":
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
		}
	}
	return runtime.GOARCH
}

// sizeShape formats an element count for the shape column.
func sizeShape(n int) string { return strconv.Itoa(n) }
