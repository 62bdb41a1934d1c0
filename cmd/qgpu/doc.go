// Command qgpu runs qgpu's int8 quantization engine from the shell.
//
// Usage:
//
//	qgpu <command> [flags] [arguments]
//
// Commands:
//
//	run          evaluate one ONNX quantization op on .npy files
//	devices      list the compiled-in backends and their devices
//	bench        time GEMM, convolution, quantize, dequantize and histogram suites
//	calibrate    choose scale and zero point from float data (minmax, histogram, KL, ...)
//	conformance  check backends bit for bit against the CPU reference
//	quantize     quantize a float tensor (.npy or .safetensors) to a .qt file
//	dequantize   turn a .qt file back into a float32 .npy file
//	inspect      print a tensor file's header, parameters and statistics
//	model        load an ONNX model: info (plan), run on .npy files, bench
//	version      print the version
//	help         print help for a command
//
// Every command takes -h for its flags and examples. Errors are reported as
// one line on stderr starting with "qgpu: "; the exit status is 2 for usage
// errors (bad flags, arguments or input files) and 1 for failures.
package main
