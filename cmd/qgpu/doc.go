// Command qgpu runs qgpu's int8 quantization engine from the shell.
//
// Usage:
//
//	qgpu <command> [flags] [arguments]
//
// Commands:
//
//	devices      list the compiled-in backends and their devices
//	sample       write a sample tensor (random or constant) to try the other commands on
//	quantize     quantize a float tensor (.npy, .safetensors) into a .qt or .safetensors file
//	dequantize   turn a quantized tensor back into float32 (.npy, .safetensors, .qt)
//	inspect      print a tensor file's header, parameters and statistics
//	calibrate    choose scale and zero point from float data (minmax, histogram, KL, ...)
//	run          evaluate one ONNX quantization op on .npy files
//	model        load an ONNX model: info (plan), run on .npy files, bench
//	bench        time GEMM, convolution, quantize, dequantize and histogram suites
//	conformance  check backends bit for bit against the CPU reference
//	version      print the version
//	help         print help for a command
//
// Every command takes -h for its flags and examples; a mistyped command,
// operator, method or flag gets a "did you mean". A flag given twice is an
// error unless its help says it is repeatable (calibrate --in: batches in
// order; run --in/--out; bench --backend/--shape; conformance --backend).
//
// Files are read by their content, whatever their name. The extension of
// an output picks its format: .qt (qgpu's, with the quantization
// parameters), .npy (byte for byte what numpy.save writes) or .safetensors
// (a quantized tensor as NAME, NAME_scale and NAME_zero_point); an unknown
// extension is an error listing the supported ones.
//
// Errors are reported as one line on stderr starting with "qgpu: " (long
// values cut, control characters escaped); notes that do not stop a
// command start with "qgpu: note: ". The exit status follows one rule for
// every command: 0 success; 2 bad input or usage (flags, arguments,
// unreadable or malformed input files, values that cannot be quantized,
// shapes beyond what a backend can hold, output paths that cannot be
// written such as a directory, a missing directory or the input file
// itself); 1 a failure to do valid work (a backend unavailable or failing,
// out of memory, a full disk, failed conformance cases).
//
// Outputs are written atomically and all or nothing (every output of one
// command, or none): a symbolic link is written through to its target, an
// existing file keeps its mode, a character device or pipe (/dev/null) is
// written in place, and a killed write leaves no temporary file. Long work
// shows its progress on stderr when it is a terminal.
package main
