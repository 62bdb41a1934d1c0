package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// TestInspectRefSafetensors: a tensor quantized out of a .safetensors
// file is inspected against it with --tensor; without --tensor the error
// comes before any output.
func TestInspectRefSafetensors(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join("..", "..", "qtensor", "testdata", "sample.safetensors")
	q := filepath.Join(dir, "w.qt")
	mustRun(t, "quantize", "--in", st, "--tensor", "weight.f32", "--dtype", "int8", "--out", q)
	out := mustRun(t, "inspect", q, "--ref", st, "--tensor", "weight.f32")
	if !strings.Contains(out, "SQNR:") || !strings.Contains(out, `name:        "weight.f32"`) {
		t.Errorf("inspect --ref --tensor:\n%s", out)
	}
	code, out, stderr := qgpu(t, "inspect", q, "--ref", st)
	if code != 2 || out != "" || !strings.Contains(stderr, "choose one with --tensor") {
		t.Errorf("without --tensor: exit %d, stdout %q, stderr %q; want exit 2 and no output", code, out, stderr)
	}
	// --tensor with no .safetensors file at all.
	wantError(t, 2, "--tensor applies to .safetensors files", "inspect", q, "--tensor", "weight.f32")
}

// TestInputMessages: what a command says when given the wrong kind of
// tensor, and the float16/float64 .npy it converts.
func TestInputMessages(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	writeNPY(t, p("x.npy"), f32([]int{2}, 1, 2))
	writeNPY(t, p("i.npy"), i8([]int{2}, 1, 2))
	wantError(t, 2, "x.npy holds float32 values, not a quantized tensor: dequantize takes a quantized tensor: a .qt file or a .safetensors file written by qgpu quantize", "dequantize", "--in", p("x.npy"), "--out", p("y.npy"))
	wantError(t, 2, "holds int8 integers without a scale or zero point", "dequantize", "--in", p("i.npy"), "--out", p("y.npy"))
	wantError(t, 2, "holds float32 values, not a quantized tensor", "dequantize", "--in", filepath.Join("..", "..", "qtensor", "testdata", "sample.safetensors"), "--tensor", "weight.f32", "--out", p("y.npy"))
	// float64 and float16 arrays (NumPy's, qtensor/testdata/gen_npy.py)
	// are converted; float64 with a note.
	f8 := filepath.Join("..", "..", "qtensor", "testdata", "f8_conv_2x4.npy")
	f2 := filepath.Join("..", "..", "qtensor", "testdata", "f2_conv_8.npy")
	// 1e39 and -inf become infinite as float32: left out of the range like
	// every non-finite value.
	code, _, stderr := qgpu(t, "quantize", "--in", f8, "--out", p("q8.qt"))
	if code != 0 {
		t.Errorf("quantize float64: exit %d %q", code, stderr)
	}
	if !strings.Contains(stderr, "qgpu: note: ") || !strings.Contains(stderr, "float64 values rounded to float32") {
		t.Errorf("quantize float64: no note: %q", stderr)
	}
	code, _, stderr = qgpu(t, "calibrate", "--in", f2)
	if code != 0 || stderr != "" {
		t.Errorf("calibrate float16: exit %d %q (float16 converts exactly, silently)", code, stderr)
	}
	if out := mustRun(t, "inspect", f8); !strings.Contains(out, "float32 (read from float64) [2 4]") {
		t.Errorf("inspect float64: %s", out)
	}
}

// TestUsageMessages: did-you-mean for commands, operators, attributes and
// flags; an operator without attributes says so; version -h is help.
func TestUsageMessages(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		want string
		args []string
	}{
		{`unknown command "calibrat" (did you mean calibrate?)`, []string{"calibrat"}},
		{`unknown command "devcies" (did you mean devices?)`, []string{"devcies"}},
		{`help: unknown command "quantise" (did you mean quantize?)`, []string{"help", "quantise"}},
		{`unknown operator "QLinearMatmul" (did you mean QLinearMatMul?)`, []string{"run", "QLinearMatmul"}},
		{`--attr "axis": the operator has no attributes`, []string{"run", "QLinearMatMul", "--attr", "axis=0"}},
		{`unknown attribute "stride" (did you mean strides?) (the operator has: auto_pad,`, []string{"run", "ConvInteger", "--attr", "stride=2"}},
		{`flag provided but not defined: -methd (did you mean --method?)`, []string{"calibrate", "--methd", "kl"}},
		{`unknown --method "histgram" (did you mean histogram (= l2)?)`, []string{"calibrate", "--in", "x.npy", "--method", "histgram"}},
		{`--scheme "symetric": want affine or symmetric (did you mean symmetric?)`, []string{"quantize", "--in", "x.npy", "--out", filepath.Join(dir, "q.qt"), "--scheme", "symetric"}},
		{`unknown backend "vulkn" (did you mean vulkan?)`, []string{"bench", "--backend", "vulkn"}},
		{`unknown suite "gem" (did you mean gemm?)`, []string{"bench", "gem"}},
		{`unexpected argument "a_scale.npy": each input needs its own --in`, []string{"run", "QLinearMatMul", "--in", "a.npy", "a_scale.npy"}},
		{`2 inputs given, the operator has 1 (x)`, []string{"run", "DynamicQuantizeLinear", "--in", "a.npy", "--in", "b.npy", "--out", "y.npy"}},
		{`2 outputs given, want 3 (y, y_scale, y_zero_point); give each its own --out`, []string{"run", "DynamicQuantizeLinear", "--in", "a.npy", "--out", "y.npy", "--out", "s.npy"}},
	} {
		wantError(t, 2, c.want, c.args...)
	}
	code, out, stderr := qgpu(t, "version", "-h")
	if code != 0 || stderr != "" || !strings.HasPrefix(out, "Usage: qgpu version") {
		t.Errorf("version -h: exit %d, %q, %q", code, out, stderr)
	}
}

// TestQuantizeWeightNote: a tensor of rank 2 or more quantized per tensor
// gets a note on stderr when per channel along axis 0 gains 1 dB or more
// (with both SQNRs); not when it does not, and not with --axis or --block.
func TestQuantizeWeightNote(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	// A conv weight [4, 2, 3, 3] whose output channels differ in scale by
	// up to 64x: per channel gains much.
	w := make([]float32, 4*2*3*3)
	for i := range w {
		w[i] = float32((i%7)-3) * float32(int(1)<<(2*(i/18)))
	}
	writeNPY(t, p("w.npy"), f32([]int{4, 2, 3, 3}, w...))
	code, _, stderr := qgpu(t, "quantize", "--in", p("w.npy"), "--out", p("w.qt"))
	if code != 0 || !strings.Contains(stderr, "qgpu: note: ") || !strings.Contains(stderr, "was quantized per tensor") || !strings.Contains(stderr, "--axis 0 (per output channel) gives SQNR") {
		t.Errorf("no note for a conv weight: exit %d, %q", code, stderr)
	}
	q, err := qtensor.Load(p("w.qt"))
	if err != nil || q.Params.Granularity != qtensor.PerTensor {
		t.Errorf("the default changed: %+v %v", q.Params, err)
	}
	for _, args := range [][]string{{"--axis", "0"}, {"--block", "2"}} {
		if _, _, stderr := qgpu(t, append([]string{"quantize", "--in", p("w.npy"), "--out", p("w.qt")}, args...)...); stderr != "" {
			t.Errorf("%q: %q", args, stderr)
		}
	}
	// Channels alike: no gain, no note.
	same := make([]float32, 4*9)
	for i := range same {
		same[i] = float32((i%9)-4) / 4
	}
	writeNPY(t, p("s.npy"), f32([]int{4, 9}, same...))
	if _, _, stderr := qgpu(t, "quantize", "--in", p("s.npy"), "--out", p("s.qt")); stderr != "" {
		t.Errorf("note for alike channels: %q", stderr)
	}
	_ = os.Remove(p("s.qt"))
}

// TestDevicesNoDriver: with no Vulkan driver (an ICD list naming nothing),
// devices says so and names the packages that provide one.
func TestDevicesNoDriver(t *testing.T) {
	t.Setenv("VK_ICD_FILENAMES", filepath.Join(t.TempDir(), "no-icd.json"))
	t.Setenv("VK_DRIVER_FILES", filepath.Join(t.TempDir(), "no-icd.json"))
	out := mustRun(t, "devices")
	flat := strings.Join(strings.Fields(out), " ")
	if !strings.Contains(flat, "vulkan: unavailable:") || strings.Contains(flat, "without cgo") {
		t.Skipf("vulkan available or built without cgo:\n%s", out)
	}
	if !strings.Contains(flat, "no Vulkan driver (ICD) found: install one: mesa-vulkan-drivers") && !strings.Contains(flat, "no Vulkan loader: install libvulkan1") {
		t.Errorf("devices does not say which packages provide a driver:\n%s", out)
	}
}
