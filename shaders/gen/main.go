// Command gen compiles every kernel of package shaders to SPIR-V with glslc
// (from Debian's glslc package) for Vulkan 1.1: go generate ./shaders.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/qgpu/qgpu/shaders"
)

func main() {
	out := flag.String("out", "spv", "output directory")
	flag.Parse()
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fail(err)
	}
	names := append([]string(nil), shaders.Kernels...)
	for _, v := range shaders.Variants {
		names = append(names, v.Name)
	}
	for _, k := range names {
		s, err := shaders.Source(k, shaders.Vulkan)
		if err != nil {
			fail(err)
		}
		dst := filepath.Join(*out, k+".spv")
		cmd := exec.Command("glslc", "-fshader-stage=compute", "--target-env=vulkan1.1", "-O", "-o", dst, "-")
		cmd.Stdin = bytes.NewReader([]byte(s))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			fail(fmt.Errorf("glslc %s: %v\n%s", k, err, stderr.String()))
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "shaders/gen:", err)
	os.Exit(1)
}
