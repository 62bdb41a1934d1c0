package model_test

// The tests run on the CPU backend (and compare with its reference
// kernels); programs import the backends they want, as here.
import _ "github.com/qgpu/qgpu/backends/cpu"
