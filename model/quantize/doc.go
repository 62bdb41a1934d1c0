// Package quantize is qgpu's post-training quantizer for whole ONNX
// models: it calibrates a float model on batches streamed from an
// iterator (the reference interpreter runs the model; every activation a
// quantized op reads or writes goes into an observer of the chosen
// calibration method) and writes a standard QDQ model.
package quantize
