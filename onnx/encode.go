package onnx

import (
	"io"

	"google.golang.org/protobuf/proto"

	"github.com/qgpu/qgpu/onnx/onnxpb"
	"github.com/qgpu/qgpu/qtensor"
)

// Encode checks m as Decode would with default limits (so it refuses what
// Decode refuses: external data, inconsistent tensors, unsupported IR
// versions or opsets, more than 2 GiB) and marshals it deterministically:
// the same model always gives the same bytes.
func Encode(m *onnxpb.ModelProto) ([]byte, error) {
	if m == nil {
		return nil, errorf(ErrInvalid, "nil model")
	}
	l, _ := DecodeOptions{}.limits()
	if err := checkModel(m, l); err != nil {
		return nil, err
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, errorf(ErrInvalid, "marshal: %v", err)
	}
	if int64(len(data)) > l.MaxBytes {
		return nil, errorf(ErrLimit, "encoded model of %d bytes, over the limit of %d", len(data), l.MaxBytes)
	}
	return data, nil
}

// Save encodes m (see Encode) and writes it to path atomically: to a
// temporary file in path's directory, fsynced, then renamed over path. On
// error path is untouched and no temporary file is left.
func Save(path string, m *onnxpb.ModelProto) error {
	data, err := Encode(m)
	if err != nil {
		return err
	}
	return qtensor.WriteFileAtomic(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
