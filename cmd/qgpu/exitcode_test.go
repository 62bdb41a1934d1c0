package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/qgpu/qgpu/qtensor"
)

// TestExitCodes checks the one exit-status rule of the CLI (README, "The
// CLI") on every command: 0 success; 2 bad input or usage (flags,
// arguments, unreadable or malformed input files, values that cannot be
// quantized, shapes beyond what a backend can hold, unusable output
// paths); 1 a failure to do valid work (here: a write to a full device,
// a backend that is unavailable, failed conformance cases). Every
// registered command must have cases; those that only read files (inspect)
// or report (devices, version, help) cannot fail on valid input.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	p := func(n string) string { return filepath.Join(dir, n) }
	writeNPY(t, p("x.npy"), f32([]int{2, 3}, 1, -2, 3, 0.5, 0, 4))
	writeNPY(t, p("wide.npy"), f32([]int{3}, 3.4e38, -3.4e38, 1)) // range too wide for a float32 scale
	writeNPY(t, p("u8.npy"), u8([]int{1, 1, 3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9))
	writeNPY(t, p("w.npy"), i8([]int{1, 1, 1, 1}, 1))
	os.WriteFile(p("junk.npy"), []byte("\x93NUMPY junk"), 0o644)
	os.WriteFile(p("junk.qt"), []byte("not a qt file"), 0o644)
	q, _ := qtensor.New(qtensor.Int8, []int{2}, qtensor.TensorParams(0.5, 0))
	if err := qtensor.Save(p("q.qt"), q); err != nil {
		t.Fatal(err)
	}
	fashionCalib(t, dir, 2)
	full := fullDevice(t, dir)
	if err := os.Symlink(full, p("full.png")); err != nil {
		t.Fatal(err)
	}
	mlp := writeCase(t, dir, "qdq_int8_mlp") // model: input [4 32], one output
	writeNPY(t, p("mx.npy"), f32([]int{4, 32}, make([]float32, 128)...))
	noVulkan := map[string]string{"VK_ICD_FILENAMES": p("no-icd.json")}
	required := map[string]string{"VK_ICD_FILENAMES": p("no-icd.json"), "QGPU_REQUIRE": "vulkan"}

	cases := []struct {
		code int
		env  map[string]string
		args []string
	}{
		{0, nil, []string{"version"}},
		{0, nil, []string{"version", "-h"}},
		{2, nil, []string{"version", "extra"}},
		{2, nil, []string{"version", "--short"}},
		{0, nil, []string{"help"}},
		{0, nil, []string{"help", "run"}},
		{2, nil, []string{"help", "nosuch"}},
		{2, nil, []string{"help", "run", "bench"}},
		{2, nil, []string{"nosuch"}},

		{0, nil, []string{"sample", "--fill", "1", "--out", p("s.npy")}},
		{2, nil, []string{"sample", "--shape", "2xx", "--out", p("s.npy")}},
		{2, nil, []string{"sample", "--fill", "1", "--out", dir}},
		{1, nil, []string{"sample", "--fill", "1", "--out", full}},

		{0, nil, []string{"devices"}},
		{2, nil, []string{"devices", "--bogus"}},
		{2, nil, []string{"devices", "extra"}},

		{0, nil, []string{"inspect", p("q.qt")}},
		{2, nil, []string{"inspect"}},
		{2, nil, []string{"inspect", p("missing.qt")}},
		{2, nil, []string{"inspect", p("junk.qt")}},
		{2, nil, []string{"inspect", p("junk.npy")}},
		{2, nil, []string{"inspect", dir}},

		{0, nil, []string{"quantize", "--in", p("x.npy"), "--out", p("y.qt")}},
		{2, nil, []string{"quantize", "--in", p("x.npy")}},
		{2, nil, []string{"quantize", "--in", p("junk.npy"), "--out", p("y.qt")}},
		{2, nil, []string{"quantize", "--in", p("wide.npy"), "--out", p("y.qt")}},
		{2, nil, []string{"quantize", "--in", p("x.npy"), "--out", p("x.npy")}},
		{2, nil, []string{"quantize", "--in", p("x.npy"), "--out", p("nodir/y.qt")}},
		{1, nil, []string{"quantize", "--in", p("x.npy"), "--out", full}},
		{1, noVulkan, []string{"quantize", "--in", p("x.npy"), "--out", p("y.qt"), "--backend", "vulkan"}},

		{0, nil, []string{"dequantize", "--in", p("q.qt"), "--out", p("d.npy")}},
		{2, nil, []string{"dequantize", "--in", p("junk.qt"), "--out", p("d.npy")}},
		{2, nil, []string{"dequantize", "--in", p("q.qt"), "--out", dir}},
		{1, nil, []string{"dequantize", "--in", p("q.qt"), "--out", full}},
		{1, noVulkan, []string{"dequantize", "--in", p("q.qt"), "--out", p("d.npy"), "--backend", "vulkan"}},

		{0, nil, []string{"calibrate", "--in", p("x.npy")}},
		{2, nil, []string{"calibrate", "--in", p("x.npy"), "--method", "nosuch"}},
		{2, nil, []string{"calibrate", "--in", p("junk.npy")}},
		{2, nil, []string{"calibrate", "--in", p("wide.npy")}},
		{2, nil, []string{"calibrate", "--in", p("wide.npy"), "--method", "all"}},
		{1, nil, []string{"calibrate", "--in", p("x.npy"), "--plot", p("full.png")}},
		{1, noVulkan, []string{"calibrate", "--in", p("x.npy"), "--backend", "vulkan"}},

		{0, nil, []string{"run", "DynamicQuantizeLinear", "--in", p("x.npy"), "--out", p("y.npy"), "--out", "none", "--out", "none"}},
		{2, nil, []string{"run", "NoSuchOp"}},
		{2, nil, []string{"run", "ConvInteger", "--attr", "pads=1048576,1048576,1048576,1048576", "--in", p("u8.npy"), "--in", p("w.npy"), "--out", p("y.npy")}},
		{2, nil, []string{"run", "ConvInteger", "--attr", "pads=-1,0,0,0", "--in", p("u8.npy"), "--in", p("w.npy"), "--out", p("y.npy")}},
		{2, nil, []string{"run", "DynamicQuantizeLinear", "--in", p("junk.npy"), "--out", p("y.npy"), "--out", "none", "--out", "none"}},
		{1, nil, []string{"run", "DynamicQuantizeLinear", "--in", p("x.npy"), "--out", p("y.npy"), "--out", full, "--out", "none"}},
		{1, noVulkan, []string{"run", "DynamicQuantizeLinear", "--in", p("x.npy"), "--out", "none", "--out", "none", "--out", "none", "--backend", "vulkan"}},

		{0, nil, []string{"conformance", "--backend", "cpu", "--run", "^ReLU/"}},
		{2, nil, []string{"conformance", "--backend", "tpu"}},
		{2, nil, []string{"conformance", "--run", "("}},
		{1, required, []string{"conformance", "--backend", "vulkan", "--run", "^ReLU/"}},

		{0, nil, []string{"model", "quantize", "--model", fashionModel, "--calib", p("calib.npy"), "--out", p("q.onnx")}},
		{2, nil, []string{"model", "quantize", "--model", fashionModel, "--calib", p("junk.npy"), "--out", p("q.onnx")}},
		{2, nil, []string{"model", "quantize", "--model", p("junk.qt"), "--calib", p("calib.npy"), "--out", p("q.onnx")}},
		{2, nil, []string{"model", "quantize", "--model", fashionModel, "--calib", p("x.npy"), "--out", p("q.onnx")}},
		{1, nil, []string{"model", "quantize", "--model", fashionModel, "--calib", p("calib.npy"), "--out", full}},
		{1, noVulkan, []string{"model", "quantize", "--model", fashionModel, "--calib", p("calib.npy"), "--out", p("q.onnx"), "--backend", "vulkan"}},

		{0, nil, []string{"bench", "quantize", "--size", "64", "--runs", "1", "--time", "0", "--no-f32"}},
		{2, nil, []string{"bench", "nosuch"}},
		{2, nil, []string{"bench", "gemm", "--threads", "-1"}},
		{1, nil, []string{"bench", "quantize", "--size", "64", "--runs", "1", "--time", "0", "--no-f32", "--plot", p("full.png")}},
		{1, noVulkan, []string{"bench", "quantize", "--size", "64", "--runs", "1", "--time", "0", "--no-f32", "--backend", "vulkan"}},

		{0, nil, []string{"model", "info", "--model", mlp}},
		{0, nil, []string{"model", "run", "--model", mlp, "--in", p("mx.npy"), "--out", p("m0.npy")}},
		{2, nil, []string{"model", "info", "--model", p("junk.npy")}},
		{2, nil, []string{"model", "run", "--model", mlp, "--in", p("x.npy"), "--out", p("m0.npy")}},
		{1, nil, []string{"model", "run", "--model", mlp, "--in", p("mx.npy"), "--out", full}},
		{1, noVulkan, []string{"model", "info", "--model", mlp, "--backend", "vulkan"}},
	}
	covered := map[string]map[int]bool{}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			code, _, stderr := qgpu(t, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, c.code, stderr)
			}
			if code != 0 && (!strings.HasPrefix(stderr, "qgpu: ") || strings.Count(stderr, "\n") != 1) {
				t.Errorf("stderr %q is not one line starting with \"qgpu: \"", stderr)
			}
		})
		if covered[c.args[0]] == nil {
			covered[c.args[0]] = map[int]bool{}
		}
		covered[c.args[0]][c.code] = true
	}
	cannotFail := map[string]bool{"devices": true, "inspect": true, "version": true, "help": true}
	for name := range commands {
		if !covered[name][0] || !covered[name][2] || !covered[name][1] && !cannotFail[name] {
			t.Errorf("command %s lacks exit-status cases (have %v)", name, covered[name])
		}
	}
}

// fullDevice returns a character device whose writes fail with ENOSPC: a
// private copy of /dev/full in dir where mknod is permitted (so that a
// regression that replaces its output cannot replace the system's), else
// /dev/full itself (which a process that cannot mknod cannot replace
// either).
func fullDevice(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "full")
	if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|7); err != nil {
		return "/dev/full"
	}
	return p
}
