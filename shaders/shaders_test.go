package shaders

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestSPIRVValid runs spirv-val on every committed kernel.
func TestSPIRVValid(t *testing.T) {
	if _, err := exec.LookPath("spirv-val"); err != nil {
		t.Skip("spirv-val not installed (Debian: spirv-tools)")
	}
	for _, k := range allNames(false) {
		w, err := SPIRV(k)
		if err != nil {
			t.Fatal(err)
		}
		if len(w) < 5 {
			t.Fatalf("%s: %d words", k, len(w))
		}
		out, err := exec.Command("spirv-val", "--target-env", "vulkan1.1", filepath.Join("spv", k+".spv")).CombinedOutput()
		if err != nil {
			t.Errorf("spirv-val %s: %v\n%s", k, err, out)
		}
	}
}

// TestGLSLCompiles checks the OpenGL 4.3 form of every kernel with
// glslangValidator (the drivers compile it again at start-up).
func TestGLSLCompiles(t *testing.T) {
	if _, err := exec.LookPath("glslangValidator"); err != nil {
		t.Skip("glslangValidator not installed (Debian: glslang-tools)")
	}
	dir := t.TempDir()
	for _, k := range allNames(true) {
		s, err := Source(k, OpenGL)
		if err != nil {
			t.Fatal(err)
		}
		f := filepath.Join(dir, k+".comp")
		if err := os.WriteFile(f, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("glslangValidator", f).CombinedOutput(); err != nil {
			t.Errorf("glslangValidator (OpenGL) %s: %v\n%s", k, err, out)
		}
	}
}

func TestSourceErrors(t *testing.T) {
	if _, err := Source("nope", Vulkan); err == nil {
		t.Error("unknown kernel: no error")
	}
	const unknown API = 9
	if _, err := Source("gemm", unknown); err == nil {
		t.Error("unknown API: no error")
	}
	if _, err := SPIRV("nope"); err == nil {
		t.Error("unknown SPIR-V: no error")
	}
}

// allNames lists the kernels and variants (those with a GL form when gl).
func allNames(gl bool) []string {
	names := append([]string(nil), Kernels...)
	for _, v := range Variants {
		if !(gl && v.VulkanOnly) {
			names = append(names, v.Name)
		}
	}
	return names
}
