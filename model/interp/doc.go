// Package interp is qgpu's float32 reference interpreter: it runs a graph
// built by package graph on float32 (and integer) tensors, node by node,
// with the ONNX semantics package graph implements. It is the truth the
// quantized runtime and the post-training quantizer are measured against,
// so it is
//
//   - correct: every op is checked against the ONNX backend tests of
//     Debian's libonnx-testdata and whole models against PyTorch's own
//     outputs (see the tests for the declared tolerances);
//   - deterministic: a run's results, intermediates included, are bit for
//     bit the same for any Options.Workers and any GOMAXPROCS (work is
//     split over batch items, channels or output blocks, never inside one
//     sum);
//   - frugal: a value is dropped as soon as its last consumer has run
//     (graph outputs excepted), so a run holds only the live activations,
//     and an Observer can stream every value into calibration histograms
//     without the interpreter keeping them.
//
// Run checks its context between nodes. The float GEMMs (MatMul, Gemm,
// Conv via im2col, ConvTranspose) use gonum's pure-Go BLAS; the package
// needs no cgo.
package interp
