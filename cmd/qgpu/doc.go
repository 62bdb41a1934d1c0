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
// one line on stderr starting with "qgpu: " (long values cut, control
// characters escaped). The exit status follows one rule for every command:
// 0 success; 2 bad input or usage (flags, arguments, unreadable or
// malformed input files, values that cannot be quantized, shapes beyond
// what a backend can hold, output paths that cannot be written such as a
// directory, a missing directory or the input file itself); 1 a failure to
// do valid work (a backend unavailable or failing, out of memory, a full
// disk, failed conformance cases).
//
// Outputs are written atomically and all or nothing (every output of one
// command, or none): a symbolic link is written through to its target, an
// existing file keeps its mode, a character device or pipe (/dev/null) is
// written in place, and a killed write leaves no temporary file.
package main
