package main

// The backends compiled into the qgpu command. Each registers itself with
// the engine in its init function; add a GPU backend by adding its import
// here (and nowhere else).
import (
	_ "github.com/qgpu/qgpu/backends/cpu"
)
