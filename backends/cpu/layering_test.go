package cpu_test

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// kernelImports lists what each kernel package under internal/ may import
// besides the standard library: the packages below it (qtensor's formulas,
// the isa switch, x/sys/cpu's feature bits) and its siblings, never the
// engine, calib or the backend above it.
var kernelImports = map[string][]string{
	"isa":     nil,
	"workers": nil,
	"vec":     {"golang.org/x/sys/cpu", "github.com/qgpu/qgpu/qtensor", "github.com/qgpu/qgpu/backends/cpu/internal/isa"},
	"dwconv":  {"golang.org/x/sys/cpu", "github.com/qgpu/qgpu/qtensor", "github.com/qgpu/qgpu/backends/cpu/internal/isa"},
	"nbits":   {"golang.org/x/sys/cpu", "github.com/qgpu/qgpu/qtensor", "github.com/qgpu/qgpu/backends/cpu/internal/isa"},
	"gemm": {"golang.org/x/sys/cpu", "github.com/qgpu/qgpu/qtensor", "github.com/qgpu/qgpu/backends/cpu/internal/isa",
		"github.com/qgpu/qgpu/backends/cpu/internal/vec", "github.com/qgpu/qgpu/backends/cpu/internal/workers"},
}

// TestKernelLayering checks the imports of every non-test file of the
// kernel packages (all build tags: the assembly and the no-asm forms)
// against kernelImports, and that every package under internal/ is listed.
func TestKernelLayering(t *testing.T) {
	dirs, err := os.ReadDir("internal")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		allowed, ok := kernelImports[d.Name()]
		if !ok {
			t.Errorf("internal/%s: not in kernelImports (say what it may import)", d.Name())
			continue
		}
		files, err := filepath.Glob(filepath.Join("internal", d.Name(), "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) == 0 {
			t.Errorf("internal/%s: no Go files", d.Name())
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, im := range ast.Imports {
				path, err := strconv.Unquote(im.Path.Value)
				if err != nil {
					t.Fatal(err)
				}
				std := !strings.Contains(strings.Split(path, "/")[0], ".")
				if path == "testing" || !std && !slices.Contains(allowed, path) {
					t.Errorf("%s imports %s; internal/%s may import only the standard library (not testing) and %v", f, path, d.Name(), allowed)
				}
			}
		}
	}
}
