package qtensor

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"
)

// SafetensorsTensor is one tensor to write with WriteSafetensors: a name,
// a dtype of the format ("F32", "I32", "I8", "U8", ...), a shape and the
// little-endian data, row-major.
type SafetensorsTensor struct {
	Name  string
	DType string
	Shape []int
	Data  []byte
}

// SafetensorsOf returns the safetensors form of an unquantized tensor:
// Float32 as F32, Int32 as I32. Quantized tensors have no single
// safetensors form (their parameters are separate tensors) and are an
// error wrapping ErrParams.
func SafetensorsOf(name string, t *Tensor) (SafetensorsTensor, error) {
	var d string
	switch t.DType {
	case Float32:
		d = "F32"
	case Int32:
		d = "I32"
	default:
		return SafetensorsTensor{}, fmt.Errorf("qtensor: safetensors: %w: %v tensor %q needs its scales and zero points stored beside it", ErrParams, t.DType, name)
	}
	return SafetensorsTensor{Name: name, DType: d, Shape: slices.Clone(t.Shape), Data: t.Data}, nil
}

// WriteSafetensors writes tensors and metadata to w as a .safetensors
// file: the 8-byte little-endian header length, the JSON header (keys
// sorted, "__metadata__" when metadata is not empty, padded with spaces
// to a multiple of 8 bytes), then the tensors' data in the order given,
// without gaps. Names must be unique, valid UTF-8, not "__metadata__";
// dtypes known to the format; each Data exactly its shape's size; at most
// MaxSafetensorsTensors tensors and metadata entries and a header of at
// most MaxSafetensorsHeader bytes: the limits NewSafetensors reads back.
func WriteSafetensors(w io.Writer, tensors []SafetensorsTensor, metadata map[string]string) error {
	if len(tensors) > MaxSafetensorsTensors || len(metadata) > MaxSafetensorsTensors {
		return fmt.Errorf("qtensor: safetensors: %w: more than %d tensors or metadata entries", ErrShape, MaxSafetensorsTensors)
	}
	type entry struct {
		DType   string   `json:"dtype"`
		Shape   []int    `json:"shape"`
		Offsets [2]int64 `json:"data_offsets"`
	}
	hdr := make(map[string]any, len(tensors)+1)
	if len(metadata) > 0 {
		for k, v := range metadata {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return fmt.Errorf("qtensor: safetensors: %w: metadata %q is not valid UTF-8", ErrParams, k)
			}
		}
		hdr["__metadata__"] = metadata
	}
	var off int64
	for _, t := range tensors {
		if t.Name == "__metadata__" || !utf8.ValidString(t.Name) {
			return fmt.Errorf("qtensor: safetensors: %w: tensor name %q", ErrParams, t.Name)
		}
		if _, dup := hdr[t.Name]; dup {
			return fmt.Errorf("qtensor: safetensors: %w: tensor %q given twice", ErrParams, t.Name)
		}
		es, ok := safetensorsSizes[t.DType]
		if !ok {
			return fmt.Errorf("qtensor: safetensors: %w: tensor %q has unknown dtype %q", ErrParams, t.Name, t.DType)
		}
		if len(t.Shape) > MaxRank {
			return fmt.Errorf("qtensor: safetensors: %w: tensor %q has rank %d > %d", ErrShape, t.Name, len(t.Shape), MaxRank)
		}
		n, err := NumElements(t.Shape)
		if err != nil || n > maxInt/es || n*es != len(t.Data) {
			return fmt.Errorf("qtensor: safetensors: %w: tensor %q: %s %v with %d bytes of data", ErrShape, t.Name, t.DType, t.Shape, len(t.Data))
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		hdr[t.Name] = entry{DType: t.DType, Shape: shape, Offsets: [2]int64{off, off + int64(len(t.Data))}}
		off += int64(len(t.Data))
	}
	h, err := json.Marshal(hdr)
	if err != nil {
		return fmt.Errorf("qtensor: safetensors: %w", err)
	}
	for len(h)%8 != 0 {
		h = append(h, ' ')
	}
	if len(h) > MaxSafetensorsHeader {
		return fmt.Errorf("qtensor: safetensors: %w: header of %d bytes exceeds %d", ErrShape, len(h), MaxSafetensorsHeader)
	}
	if _, err := w.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(h)))); err != nil {
		return fmt.Errorf("qtensor: safetensors: %w", err)
	}
	if _, err := w.Write(h); err != nil {
		return fmt.Errorf("qtensor: safetensors: %w", err)
	}
	for _, t := range tensors {
		if _, err := w.Write(t.Data); err != nil {
			return fmt.Errorf("qtensor: safetensors: %w", err)
		}
	}
	return nil
}

// Tensor reads the named tensor with its own element type: F32, F16 and
// BF16 as Float32 (see Float32), I32 as Int32, I8 and U8 as the quantized
// Int8 and Uint8 types with per-tensor parameters scale 1 and zero point 0
// (a .safetensors file has no quantization parameters: set Params
// afterwards). Other dtypes are an error naming the dtype.
func (s *Safetensors) Tensor(name string) (*Tensor, error) {
	e, ok := s.entries[name]
	if !ok {
		return nil, fmt.Errorf("qtensor: safetensors: no tensor %q", name)
	}
	var d DType
	switch e.DType {
	case "F32", "F16", "BF16":
		return s.Float32(name)
	case "I32":
		d = Int32
	case "I8":
		d = Int8
	case "U8":
		d = Uint8
	default:
		return nil, fmt.Errorf("qtensor: safetensors: tensor %q has dtype %s (want F32, F16, BF16, I32, I8 or U8)", name, e.DType)
	}
	buf := make([]byte, e.End-e.Begin)
	if _, err := s.r.ReadAt(buf, s.dataOff+e.Begin); err != nil && len(buf) > 0 {
		return nil, fmt.Errorf("qtensor: safetensors: reading %q: %w", name, err)
	}
	t := &Tensor{Name: name, DType: d, Shape: slices.Clone(e.Shape), Data: buf}
	if d.Quantized() {
		t.Params = TensorParams(1, 0)
	}
	return t, nil
}
