package main

// The backends compiled into the qgpu command. Each registers itself with
// the engine in its init function; add a GPU backend by adding its import
// here (and nowhere else). Without cgo the GPU backends register a factory
// that reports them unavailable.
import (
	_ "github.com/qgpu/qgpu/backends/cpu"
	_ "github.com/qgpu/qgpu/backends/opengl"
	_ "github.com/qgpu/qgpu/backends/vulkan"
)
