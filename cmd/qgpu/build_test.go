package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// cLibraryHeaders are the C headers the default build may include: the C
// library's and the compiler's, which come with gcc and libc6-dev.
var cLibraryHeaders = map[string]bool{
	"dlfcn.h": true, "stdint.h": true, "stddef.h": true, "stdio.h": true, "stdlib.h": true,
	"string.h": true, "stdbool.h": true, "errno.h": true, "pthread.h": true, "unistd.h": true,
}

// TestNoGPUHeadersNeeded: the cgo code of every package the qgpu command
// links in the default build (no tags) includes only C library headers
// and the package's own: building needs Go and gcc, no -dev package of
// Vulkan, EGL or OpenGL (the GPU backends open their libraries at run
// time). The GLFW path behind -tags glfw may use its headers.
func TestNoGPUHeadersNeeded(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "list", "-deps", "-json=Dir,ImportPath,CgoFiles,HFiles", ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1") // the cgo files, whatever this test was built with
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	include := regexp.MustCompile(`(?m)^\s*#\s*include\s*([<"])([^>"]+)[>"]`)
	dec := json.NewDecoder(strings.NewReader(string(out)))
	cgoPackages := 0
	for dec.More() {
		var p struct {
			Dir, ImportPath  string
			CgoFiles, HFiles []string
		}
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		if len(p.CgoFiles) == 0 || !strings.HasPrefix(p.ImportPath, "github.com/qgpu/qgpu/") {
			continue
		}
		cgoPackages++
		own := map[string]bool{}
		for _, h := range p.HFiles {
			own[h] = true
		}
		for _, f := range append(append([]string(nil), p.CgoFiles...), p.HFiles...) {
			src, err := os.ReadFile(filepath.Join(p.Dir, f))
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range include.FindAllStringSubmatch(string(src), -1) {
				switch {
				case m[1] == `"` && own[m[2]]:
				case m[1] == "<" && cLibraryHeaders[m[2]]:
				default:
					t.Errorf("%s/%s includes %s%s: the default build must need no header beyond the C library's and the package's own", p.ImportPath, f, m[1], m[2])
				}
			}
		}
	}
	if cgoPackages < 2 {
		t.Errorf("found %d cgo packages (the Vulkan and OpenGL runtimes): the listing is wrong", cgoPackages)
	}
}
