// Package onnx reads and writes ONNX models safely: Decode, Load and Read
// turn untrusted bytes into an onnxpb.ModelProto that has passed the
// checks below, or into an error, never a panic or an allocation the input
// does not justify. TensorFromProto converts a TensorProto's data to Go slices (Tensor);
// NewTensor and its siblings build TensorProtos for writing; Encode and
// Save write models deterministically and atomically. The package is pure
// Go.
//
// # What Decode accepts
//
// IR versions 7 to 10 (ONNX 1.7 to 1.17) and default-domain (ai.onnx)
// opsets 13 to 21. Opset 13 is the first qgpu implements (per-axis
// QuantizeLinear; Split, Squeeze and ReduceSum taking their axes as
// inputs), and ONNX releases pair it with IR 7 (ONNX 1.8), so an exporter
// writing a usable opset writes IR 7 or later. Older IR versions also
// follow other rules: before IR 4 every initializer had to be a graph
// input too (an overridable default rather than a constant), before IR 3
// there were no opset imports. IR 11 and later may carry fields whose
// meaning this package cannot know, so they are refused as well. The generated types follow ONNX 1.12's schema (IR 8); models of IR
// 9 and 10 decode with it because the fields those versions added are
// kept as unknown fields (so they survive Encode) and their new element
// types are plain data_type numbers, which DataType names (UINT4 and INT4
// of IR 10 among them). A model need not import the default domain
// (training-only models do not), but every node's domain must be imported,
// no domain twice.
//
// # Limits
//
// DecodeOptions bounds, with defaults: the encoded size (2 GiB, ONNX's
// protobuf limit), the external data read (2 GiB), the number of nodes
// (1<<20), attributes (1<<22), tensors (1<<20) and protobuf messages of
// every kind (1<<22), and the nesting of subgraphs (16; the main graph is
// depth 1, an If branch inside it depth 2). Tensor ranks are at most
// MaxRank (32) everywhere, tensor types of values included.
//
// The counts are checked by a scan of the wire data before anything is
// unmarshalled; the scan allocates nothing. That is what bounds memory:
// proto.Unmarshal allocates in proportion to its input, but the factor is
// large for small messages (an empty NodeProto is 2 bytes on the wire and
// keeps about 150 bytes of memory, an empty TensorProto about 330). Once
// the messages are counted, the rest is bounded by the input size: raw
// data and packed floats keep about one byte per input byte, repeated
// integers up to 8 (a one-byte varint becomes an int64) and repeated
// strings up to about 12 (a 2-byte empty entry becomes a slice header).
// Growing those slices while unmarshalling also makes short-lived garbage
// of up to about five times what is kept. Decoding untrusted input of S
// bytes may therefore keep up to about 12 S + 350 MaxMessages bytes:
// lower MaxBytes and MaxMessages where that is too much. (Figures measured
// with google.golang.org/protobuf 1.36 on amd64.)
//
// # Tensors
//
// Every TensorProto of the model (initializers, sparse initializers,
// tensor attributes such as Constant values, in every subgraph and local
// function) is checked before Decode returns: a known element type, at
// most MaxRank dims, every dim >= 0, an element count (and the product of
// its non-zero dims) that fits in an int, no segment, and exactly the
// data the dims need, in raw_data or in the one typed field that may hold
// the type (float_data for FLOAT, int32_data for INT8 or FLOAT16, ...).
// A tensor claiming 10^12 elements with 10 bytes of data is refused before
// anything is allocated for it. Value ranges inside typed fields (an INT8
// of 300 in int32_data) are checked when TensorFromProto converts.
//
// # External data
//
// Tensors with data_location EXTERNAL are read while decoding, into
// raw_data, so consumers never see external data. Their location must be
// a relative path inside DecodeOptions.Dir (Load sets it to the model's
// directory); absolute paths, ".." escapes and symbolic links that leave
// the directory are refused (the files are opened through an os.Root), as
// are files that are not regular, offsets and lengths beyond the file,
// lengths other than the dims need and keys other than location, offset,
// length and checksum. A checksum, when present, is the SHA-1 of the whole
// file, as ONNX defines it, and is verified. Decode and Read of bytes with
// no Dir refuse external data with an error that says so.
//
// # Errors
//
// Errors wrap ErrInvalid (the input breaks the format), ErrLimit (it
// exceeds a limit) or ErrUnsupported (valid ONNX that qgpu does not read;
// the engine's sentinel); the tensor constructors' argument errors wrap
// ErrShape. Files and readers that cannot be read give their own error.
package onnx
