// Package qtensor is qgpu's quantized tensor: element types (int8, uint8,
// int4, uint4, plus float32 and int32 for unquantized operands), quantization
// parameters per tensor, per axis or per block, Caffe2's bit-plane QTensor,
// and the file formats (qgpu's own checksummed format, NumPy .npy,
// .safetensors and Caffe2's QTensorProto).
//
// It also holds the single implementation of every scalar formula of the
// project's semantics (formula.go): Quantize, Dequantize, Requantize and the
// rest. Kernels everywhere call these; GPU shaders are tested bit for bit
// against them.
//
// The package is pure Go and needs no system library.
package qtensor
