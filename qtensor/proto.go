package qtensor

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// Caffe2's QTensorProto (caffe2/proto/caffe2.proto), proto2:
//
//	message QTensorProto {
//	  repeated int64 dims = 1;
//	  required int32 precision = 2;
//	  required double scale = 3;
//	  required double bias = 4;
//	  required bool is_signed = 5;
//	  repeated int32 data = 6 [packed = true];
//	  optional string name = 7;
//	  optional TensorProto.DataType data_type = 8 [default = INT32];
//	  repeated double scales = 9;
//	  repeated double biases = 10;
//	  optional int32 axis = 11;
//	  optional bool is_multiparam = 12 [default = false];
//	}
//
// data holds one entry per byte of the bit-plane buffer (Caffe2's
// QTensorSerializer copies the nbytes() bytes one by one), read back with
// alignment 8.
const (
	qtpDims         protowire.Number = 1
	qtpPrecision    protowire.Number = 2
	qtpScale        protowire.Number = 3
	qtpBias         protowire.Number = 4
	qtpIsSigned     protowire.Number = 5
	qtpData         protowire.Number = 6
	qtpName         protowire.Number = 7
	qtpDataType     protowire.Number = 8
	qtpScales       protowire.Number = 9
	qtpBiases       protowire.Number = 10
	qtpAxis         protowire.Number = 11
	qtpIsMultiparam protowire.Number = 12
)

// MaxQTensorProtoDims bounds the number of dims a QTensorProto may carry.
const MaxQTensorProtoDims = 64

// ErrQTensorProto is wrapped by every error about a malformed QTensorProto.
var ErrQTensorProto = errors.New("invalid QTensorProto")

// MarshalQTensorProto encodes t as a Caffe2 QTensorProto, the way Caffe2's
// C++ protobuf runtime writes it: fields in number order, dims unpacked
// (proto2 default), data packed with one int32 entry (0..255) per byte of
// the bit-plane buffer and omitted when empty, name only when non-empty,
// data_type only when set, scales and biases unpacked, axis when non-zero or
// when is_multiparam is true, is_multiparam only when true.
//
// QTensorProto has no alignment field and Caffe2 reads the buffer with
// alignment 8, so a tensor of another alignment is rejected.
func MarshalQTensorProto(t *Caffe2Tensor) ([]byte, error) {
	if t == nil {
		return nil, fmt.Errorf("%w: nil tensor", ErrQTensorProto)
	}
	if t.alignment != Caffe2DefaultAlignment {
		return nil, fmt.Errorf("%w: alignment %d cannot be written (QTensorProto implies alignment 8)", ErrQTensorProto, t.alignment)
	}
	if len(t.data) != t.NBytes() {
		return nil, fmt.Errorf("%w: buffer of %d bytes, want %d", ErrQTensorProto, len(t.data), t.NBytes())
	}
	var b []byte
	for _, d := range t.dims {
		b = protowire.AppendTag(b, qtpDims, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, qtpPrecision, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t.precision))
	b = protowire.AppendTag(b, qtpScale, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, math.Float64bits(t.scale))
	b = protowire.AppendTag(b, qtpBias, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, math.Float64bits(t.bias))
	b = protowire.AppendTag(b, qtpIsSigned, protowire.VarintType)
	b = protowire.AppendVarint(b, protowire.EncodeBool(t.signed))
	if len(t.data) > 0 {
		n := 0
		for _, v := range t.data {
			n += protowire.SizeVarint(uint64(v))
		}
		b = protowire.AppendTag(b, qtpData, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(n))
		for _, v := range t.data {
			b = protowire.AppendVarint(b, uint64(v))
		}
	}
	if t.Name != "" {
		b = protowire.AppendTag(b, qtpName, protowire.BytesType)
		b = protowire.AppendString(b, t.Name)
	}
	if t.hasDataType {
		b = protowire.AppendTag(b, qtpDataType, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(t.dataType)))
	}
	for _, s := range t.scales {
		b = protowire.AppendTag(b, qtpScales, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(s))
	}
	for _, s := range t.biases {
		b = protowire.AppendTag(b, qtpBiases, protowire.Fixed64Type)
		b = protowire.AppendFixed64(b, math.Float64bits(s))
	}
	if t.axis != 0 || t.multiParam {
		b = protowire.AppendTag(b, qtpAxis, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(int64(t.axis)))
	}
	if t.multiParam {
		b = protowire.AppendTag(b, qtpIsMultiparam, protowire.VarintType)
		b = protowire.AppendVarint(b, 1)
	}
	return b, nil
}

// qtpDecoder accumulates the fields of one QTensorProto. It runs twice over
// the input: the first pass (fill false) validates the encoding and counts
// the repeated entries, the second stores them into slices allocated with
// those counts, so nothing is allocated before the whole input has been
// checked and every allocation is bounded by the input length.
type qtpDecoder struct {
	fill bool

	nDims, nData, nScales, nBiases int

	dims           []int
	data           []byte
	scales, biases []float64

	precision, dataType, axis    int32
	scale, bias                  float64
	signed, multiParam           bool
	name                         string
	hasPrecision, hasScale       bool
	hasBias, hasSigned, hasDType bool
}

func qtpErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrQTensorProto}, args...)...)
}

// UnmarshalQTensorProto decodes a Caffe2 QTensorProto into a Caffe2Tensor
// with alignment 8. It follows protobuf's parsing rules: fields in any
// order, the last value of a repeated scalar wins, repeated fields accept
// both packed and unpacked encodings (mixed too), unknown fields and known
// fields with an unexpected wire type are skipped. On top of that it
// requires
//   - precision, scale, bias and is_signed to be present (they are required
//     in caffe2.proto, so Caffe2's own parser rejects a message without
//     them); dims may be absent (a scalar, one element),
//   - precision in 1..8, scale, bias, scales and biases finite, at most
//     MaxQTensorProtoDims non-negative dims whose product does not overflow,
//   - every data entry in 0..255 (Caffe2 would silently truncate it to a
//     byte; qgpu rejects it) and exactly NBytes entries for the dims,
//     precision and signedness.
//
// The name is kept as raw bytes (proto2 does not require UTF-8). The
// multi-param fields and data_type are stored as they are (see
// Caffe2Tensor.SetMultiParam and DataType). The input is validated in full
// before anything proportional to it is allocated; it never panics.
func UnmarshalQTensorProto(b []byte) (*Caffe2Tensor, error) {
	d := &qtpDecoder{}
	if err := d.walk(b); err != nil {
		return nil, err
	}
	var missing []string
	for _, f := range []struct {
		ok   bool
		name string
	}{{d.hasPrecision, "precision"}, {d.hasScale, "scale"}, {d.hasBias, "bias"}, {d.hasSigned, "is_signed"}} {
		if !f.ok {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return nil, qtpErr("required field(s) %s missing", strings.Join(missing, ", "))
	}
	if d.nDims > MaxQTensorProtoDims {
		return nil, qtpErr("%d dims, at most %d allowed", d.nDims, MaxQTensorProtoDims)
	}
	if d.precision < 1 || d.precision > 8 {
		return nil, qtpErr("precision %d outside 1..8", d.precision)
	}
	// Dims are checked in full in the first pass; compute the size and the
	// expected byte count before allocating the buffer.
	d.fill = true
	d.dims = make([]int, 0, d.nDims)
	d.scales = make([]float64, 0, d.nScales)
	d.biases = make([]float64, 0, d.nBiases)
	if err := d.walkDims(b); err != nil {
		return nil, err
	}
	size, err := NumElements(d.dims)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrQTensorProto, err)
	}
	if size > maxCaffe2Bytes {
		return nil, qtpErr("dims %v give %d elements, too many", d.dims, size)
	}
	planes := int(d.precision)
	if d.signed {
		planes++
	}
	aligned := Caffe2DefaultAlignment * ((size + Caffe2DefaultAlignment - 1) / Caffe2DefaultAlignment)
	if want := aligned * planes / 8; d.nData != want {
		return nil, qtpErr("dims %v, precision %d, signed %v need %d data bytes, have %d", d.dims, d.precision, d.signed, want, d.nData)
	}
	d.data = make([]byte, 0, d.nData)
	if err := d.walk(b); err != nil {
		return nil, err // cannot happen: the first pass accepted the same input
	}
	t, err := NewCaffe2FromRaw(d.name, d.dims, int(d.precision), d.signed, Caffe2DefaultAlignment, d.scale, d.bias, d.data)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrQTensorProto, err)
	}
	if err := t.SetMultiParam(d.multiParam, d.axis, d.scales, d.biases); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrQTensorProto, err)
	}
	if d.hasDType {
		t.SetDataType(d.dataType)
	}
	return t, nil
}

// walkDims collects only the dims (second pass, before the data buffer is
// allocated).
func (d *qtpDecoder) walkDims(b []byte) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return qtpErr("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return qtpErr("field %d: %v", num, protowire.ParseError(m))
		}
		if num == qtpDims {
			if err := d.repeatedVarint(num, typ, b[:m]); err != nil {
				return err
			}
		}
		b = b[m:]
	}
	return nil
}

// walk runs one pass over the message.
func (d *qtpDecoder) walk(b []byte) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return qtpErr("bad tag: %v", protowire.ParseError(n))
		}
		b = b[n:]
		m := protowire.ConsumeFieldValue(num, typ, b)
		if m < 0 {
			return qtpErr("field %d: %v", num, protowire.ParseError(m))
		}
		v := b[:m]
		b = b[m:]
		if err := d.field(num, typ, v); err != nil {
			return err
		}
	}
	return nil
}

// field handles one field whose encoded value (after the tag) is v; the
// value's framing has already been checked by ConsumeFieldValue.
func (d *qtpDecoder) field(num protowire.Number, typ protowire.Type, v []byte) error {
	switch num {
	case qtpDims:
		if d.fill {
			return nil // collected by walkDims
		}
		return d.repeatedVarint(num, typ, v)
	case qtpData:
		return d.repeatedVarint(num, typ, v)
	case qtpScales, qtpBiases:
		return d.repeatedDouble(num, typ, v)
	case qtpPrecision, qtpDataType, qtpAxis, qtpIsSigned, qtpIsMultiparam:
		if typ != protowire.VarintType {
			return nil // wrong wire type: an unknown field to protobuf
		}
		x, _ := protowire.ConsumeVarint(v)
		switch num {
		case qtpPrecision:
			d.precision, d.hasPrecision = int32(x), true
		case qtpDataType:
			d.dataType, d.hasDType = int32(x), true
		case qtpAxis:
			d.axis = int32(x)
		case qtpIsSigned:
			d.signed, d.hasSigned = x != 0, true
		case qtpIsMultiparam:
			d.multiParam = x != 0
		}
	case qtpScale, qtpBias:
		if typ != protowire.Fixed64Type {
			return nil
		}
		x, _ := protowire.ConsumeFixed64(v)
		f := math.Float64frombits(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return qtpErr("field %d (%s) is %v, must be finite", num, map[protowire.Number]string{qtpScale: "scale", qtpBias: "bias"}[num], f)
		}
		if num == qtpScale {
			d.scale, d.hasScale = f, true
		} else {
			d.bias, d.hasBias = f, true
		}
	case qtpName:
		if typ != protowire.BytesType {
			return nil
		}
		if d.fill {
			s, _ := protowire.ConsumeString(v)
			d.name = s
		}
	}
	return nil
}

// repeatedVarint handles one occurrence of dims (int64) or data (int32):
// a single varint, or a packed run of them.
func (d *qtpDecoder) repeatedVarint(num protowire.Number, typ protowire.Type, v []byte) error {
	switch typ {
	case protowire.VarintType:
		x, _ := protowire.ConsumeVarint(v)
		return d.varintEntry(num, x)
	case protowire.BytesType:
		p, _ := protowire.ConsumeBytes(v)
		for len(p) > 0 {
			x, n := protowire.ConsumeVarint(p)
			if n < 0 {
				return qtpErr("packed field %d: %v", num, protowire.ParseError(n))
			}
			p = p[n:]
			if err := d.varintEntry(num, x); err != nil {
				return err
			}
		}
	}
	return nil // any other wire type: an unknown field to protobuf
}

func (d *qtpDecoder) varintEntry(num protowire.Number, x uint64) error {
	if num == qtpDims {
		v := int64(x)
		if v < 0 || uint64(v) > uint64(maxInt) {
			return qtpErr("dims[%d] = %d is negative or too large", d.nDims, v)
		}
		if !d.fill {
			if d.nDims++; d.nDims > MaxQTensorProtoDims {
				return qtpErr("more than %d dims", MaxQTensorProtoDims)
			}
			return nil
		}
		d.dims = append(d.dims, int(v))
		return nil
	}
	v := int32(x) // protobuf int32: the low 32 bits of the varint
	if v < 0 || v > 255 {
		return qtpErr("data[%d] = %d outside 0..255 (one entry per byte)", d.nData, v)
	}
	if !d.fill {
		d.nData++
		return nil
	}
	d.data = append(d.data, byte(v))
	return nil
}

// repeatedDouble handles one occurrence of scales or biases: a single
// fixed64, or a packed run of them.
func (d *qtpDecoder) repeatedDouble(num protowire.Number, typ protowire.Type, v []byte) error {
	var p []byte
	switch typ {
	case protowire.Fixed64Type:
		p = v
	case protowire.BytesType:
		p, _ = protowire.ConsumeBytes(v)
		if len(p)%8 != 0 {
			return qtpErr("packed field %d: %d bytes is not a whole number of doubles", num, len(p))
		}
	default:
		return nil
	}
	for ; len(p) >= 8; p = p[8:] {
		x, _ := protowire.ConsumeFixed64(p)
		f := math.Float64frombits(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return qtpErr("field %d has a non-finite entry %v", num, f)
		}
		switch {
		case !d.fill && num == qtpScales:
			d.nScales++
		case !d.fill:
			d.nBiases++
		case num == qtpScales:
			d.scales = append(d.scales, f)
		default:
			d.biases = append(d.biases, f)
		}
	}
	return nil
}
