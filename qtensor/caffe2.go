package qtensor

import (
	"fmt"
	"math"
	"slices"
)

// Caffe2Tensor is Caffe2's bit-plane QTensor (caffe2/core/qtensor.h): an
// element has Precision magnitude bits plus, when Signed, a sign bit, and
// represents the real value Scale * (x + Bias), where x is the signed
// integer (sign-magnitude) and Bias is a real number added before scaling.
//
// Storage is bit planes: plane b holds bit b of every element (least
// significant plane first; the sign plane last, at b = Precision); inside a
// plane element i is in byte i/8 at bit 7 - i%8, and plane b starts at byte
// AlignedSize * b / 8.
//
// Padding bits (element slots Size..AlignedSize-1 of each plane) and
// negative zeros (sign bit set on a zero magnitude) can be stored, as in
// Caffe2, but are not values: Int reads a negative zero as 0. Only a
// canonical tensor (see CheckCanonical, Canonicalize) converts to packed
// storage, so that a conversion is always lossless.
//
// Build one with NewCaffe2Tensor, NewCaffe2FromRaw, Caffe2FromInts,
// Caffe2FromTensor or UnmarshalQTensorProto; the zero value is not usable.
type Caffe2Tensor struct {
	Name      string
	dims      []int
	precision int
	signed    bool
	alignment int
	size      int
	scale     float64
	bias      float64
	data      []byte

	// QTensorProto fields with no role in the bit-plane semantics, kept so
	// that they round-trip.
	dataType    int32
	hasDataType bool
	multiParam  bool
	axis        int32
	scales      []float64
	biases      []float64
}

// Caffe2DefaultAlignment is Caffe2's default alignment (CHAR_BIT).
const Caffe2DefaultAlignment = 8

// maxCaffe2Bytes bounds the bit-plane buffer a decoder may allocate.
const maxCaffe2Bytes = 1 << 40

// NewCaffe2FromRaw builds a Caffe2Tensor from its parts, validating them:
// precision in 1..8, alignment positive and a multiple of 8, non-negative
// dims, finite scale and bias, and len(raw) == NBytes. raw is copied.
func NewCaffe2FromRaw(name string, dims []int, precision int, signed bool, alignment int, scale, bias float64, raw []byte) (*Caffe2Tensor, error) {
	if precision < 1 || precision > 8 {
		return nil, fmt.Errorf("%w: caffe2 precision %d outside 1..8", ErrParams, precision)
	}
	if alignment <= 0 || alignment%8 != 0 || alignment > 1<<20 {
		return nil, fmt.Errorf("%w: caffe2 alignment %d must be a positive multiple of 8 (at most 2^20)", ErrParams, alignment)
	}
	if math.IsNaN(scale) || math.IsInf(scale, 0) || math.IsNaN(bias) || math.IsInf(bias, 0) {
		return nil, fmt.Errorf("%w: caffe2 scale %g and bias %g must be finite", ErrParams, scale, bias)
	}
	n, err := NumElements(dims)
	if err != nil {
		return nil, err
	}
	if n > maxCaffe2Bytes {
		return nil, fmt.Errorf("%w: caffe2 tensor of %d elements is too large", ErrShape, n)
	}
	t := &Caffe2Tensor{Name: name, dims: slices.Clone(dims), precision: precision, signed: signed, alignment: alignment, size: n, scale: scale, bias: bias}
	if len(raw) != t.NBytes() {
		return nil, fmt.Errorf("%w: caffe2 tensor %v with %d+%d bit planes needs %d bytes, have %d", ErrShape, dims, precision, t.signBit(), t.NBytes(), len(raw))
	}
	t.data = slices.Clone(raw)
	return t, nil
}

func (t *Caffe2Tensor) signBit() int {
	if t.signed {
		return 1
	}
	return 0
}

// Dims returns a copy of the dimensions.
func (t *Caffe2Tensor) Dims() []int { return slices.Clone(t.dims) }

// Size is the number of elements.
func (t *Caffe2Tensor) Size() int { return t.size }

// Precision is the number of magnitude bits (1..8).
func (t *Caffe2Tensor) Precision() int { return t.precision }

// IsSigned reports whether the tensor has a sign plane.
func (t *Caffe2Tensor) IsSigned() bool { return t.signed }

// Alignment is the element-count granularity of a plane (default 8).
func (t *Caffe2Tensor) Alignment() int { return t.alignment }

// AlignedSize is Alignment * ceil(Size / Alignment).
func (t *Caffe2Tensor) AlignedSize() int {
	return t.alignment * ((t.size + t.alignment - 1) / t.alignment)
}

// NBytes is AlignedSize * (Precision + signed) / 8.
func (t *Caffe2Tensor) NBytes() int { return t.AlignedSize() * (t.precision + t.signBit()) / 8 }

// Scale returns the scale.
func (t *Caffe2Tensor) Scale() float64 { return t.scale }

// Bias returns the bias (a real number added before scaling).
func (t *Caffe2Tensor) Bias() float64 { return t.bias }

// Raw returns the bit-plane buffer itself (not a copy); its length is NBytes.
func (t *Caffe2Tensor) Raw() []byte { return t.data }

// Caffe2DataTypeInt32 is the default of QTensorProto's data_type field
// (TensorProto.DataType INT32).
const Caffe2DataTypeInt32 = 2

// caffe2MaxMagnitude is the largest magnitude of a precision-bit element.
func caffe2MaxMagnitude(precision int) int32 { return int32(1)<<precision - 1 }

func checkCaffe2Precision(precision int) error {
	if precision < 1 || precision > 8 {
		return fmt.Errorf("%w: caffe2 precision %d outside 1..8", ErrParams, precision)
	}
	return nil
}

func checkCaffe2Finite(what string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Errorf("%w: caffe2 %s %g must be finite", ErrParams, what, v)
	}
	return nil
}

// NewCaffe2Tensor returns a zeroed Caffe2 QTensor of the given dims,
// precision (1..8 magnitude bits) and signedness, with alignment 8, scale 1
// and bias 0. (Caffe2 leaves scale and bias uninitialised; qgpu picks the
// identity so Value(i) is the integer itself.)
func NewCaffe2Tensor(dims []int, precision int, signed bool) (*Caffe2Tensor, error) {
	if err := checkCaffe2Precision(precision); err != nil {
		return nil, err
	}
	n, err := NumElements(dims)
	if err != nil {
		return nil, err
	}
	if n > maxCaffe2Bytes {
		return nil, fmt.Errorf("%w: caffe2 tensor of %d elements is too large", ErrShape, n)
	}
	t := &Caffe2Tensor{dims: slices.Clone(dims), precision: precision, signed: signed, alignment: Caffe2DefaultAlignment, size: n, scale: 1}
	t.realloc()
	return t, nil
}

// realloc replaces the data by a zeroed buffer of NBytes bytes.
func (t *Caffe2Tensor) realloc() {
	t.data = make([]byte, t.NBytes())
}

// Resize changes the dimensions. When the element count is unchanged (a
// reshape) the data is kept; otherwise the buffer is replaced by a zeroed
// one of the new NBytes. (Caffe2 keeps its buffer whenever the byte count is
// unchanged, so elements crossing the size boundary inside the last aligned
// block keep stale bits; qgpu zeroes instead.)
func (t *Caffe2Tensor) Resize(dims []int) error {
	n, err := NumElements(dims)
	if err != nil {
		return err
	}
	if n > maxCaffe2Bytes {
		return fmt.Errorf("%w: caffe2 tensor of %d elements is too large", ErrShape, n)
	}
	t.dims = slices.Clone(dims)
	if n != t.size {
		t.size = n
		t.realloc()
	}
	return nil
}

// SetPrecision sets the number of magnitude bits (1..8) and, as in Caffe2,
// drops the data: the buffer is replaced by a zeroed one.
func (t *Caffe2Tensor) SetPrecision(precision int) error {
	if err := checkCaffe2Precision(precision); err != nil {
		return err
	}
	t.precision = precision
	t.realloc()
	return nil
}

// SetSigned adds or removes the sign plane and, as in Caffe2, drops the
// data: the buffer is replaced by a zeroed one.
func (t *Caffe2Tensor) SetSigned(signed bool) {
	t.signed = signed
	t.realloc()
}

// SetAlignment sets the alignment in elements (a positive multiple of 8, at
// most 2^20) and drops the data. Caffe2 has no setter (its alignment is
// always 8); QTensorProto cannot carry another alignment, so
// MarshalQTensorProto rejects tensors whose alignment is not 8.
func (t *Caffe2Tensor) SetAlignment(alignment int) error {
	if alignment <= 0 || alignment%8 != 0 || alignment > 1<<20 {
		return fmt.Errorf("%w: caffe2 alignment %d must be a positive multiple of 8 (at most 2^20)", ErrParams, alignment)
	}
	t.alignment = alignment
	t.realloc()
	return nil
}

// SetScale sets the scale; it must be finite.
func (t *Caffe2Tensor) SetScale(scale float64) error {
	if err := checkCaffe2Finite("scale", scale); err != nil {
		return err
	}
	t.scale = scale
	return nil
}

// SetBias sets the bias (added before scaling); it must be finite.
func (t *Caffe2Tensor) SetBias(bias float64) error {
	if err := checkCaffe2Finite("bias", bias); err != nil {
		return err
	}
	t.bias = bias
	return nil
}

// DataType returns QTensorProto's data_type field (a TensorProto.DataType
// value) and whether it is set. Caffe2 itself never sets it; when unset the
// protobuf default is Caffe2DataTypeInt32. It has no effect on the data.
func (t *Caffe2Tensor) DataType() (int32, bool) { return t.dataType, t.hasDataType }

// SetDataType sets the data_type field carried by QTensorProto.
func (t *Caffe2Tensor) SetDataType(v int32) { t.dataType, t.hasDataType = v, true }

// ClearDataType unsets the data_type field.
func (t *Caffe2Tensor) ClearDataType() { t.dataType, t.hasDataType = 0, false }

// IsMultiParam reports QTensorProto's is_multiparam flag.
func (t *Caffe2Tensor) IsMultiParam() bool { return t.multiParam }

// Axis returns QTensorProto's axis field (the axis of multi-group
// quantization).
func (t *Caffe2Tensor) Axis() int32 { return t.axis }

// Scales returns a copy of the multi-group scales (QTensorProto field 9).
func (t *Caffe2Tensor) Scales() []float64 { return slices.Clone(t.scales) }

// Biases returns a copy of the multi-group biases (QTensorProto field 10).
func (t *Caffe2Tensor) Biases() []float64 { return slices.Clone(t.biases) }

// SetMultiParam stores Caffe2's multi-group quantization fields
// (is_multiparam, axis, scales, biases) as they are: they round-trip through
// QTensorProto, but Value, Ints and the conversions to packed storage use
// only the single Scale and Bias (ToTensor rejects a multi-param tensor).
// Every scale and bias must be finite; the slices are copied.
func (t *Caffe2Tensor) SetMultiParam(multiParam bool, axis int32, scales, biases []float64) error {
	for i, s := range scales {
		if err := checkCaffe2Finite(fmt.Sprintf("scales[%d]", i), s); err != nil {
			return err
		}
	}
	for i, b := range biases {
		if err := checkCaffe2Finite(fmt.Sprintf("biases[%d]", i), b); err != nil {
			return err
		}
	}
	t.multiParam, t.axis = multiParam, axis
	t.scales, t.biases = slices.Clone(scales), slices.Clone(biases)
	return nil
}

// Clone returns a deep copy.
func (t *Caffe2Tensor) Clone() *Caffe2Tensor {
	c := *t
	c.dims = slices.Clone(t.dims)
	c.data = slices.Clone(t.data)
	c.scales = slices.Clone(t.scales)
	c.biases = slices.Clone(t.biases)
	return &c
}

func float64sBitsEqual(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

// Equal reports whether two tensors are identical: name, dims, precision,
// signedness, alignment, scale and bias (bitwise), data_type, the
// multi-param fields (floats bitwise) and every byte of the bit-plane buffer
// (padding bits included).
func (t *Caffe2Tensor) Equal(u *Caffe2Tensor) bool {
	return t.Name == u.Name && slices.Equal(t.dims, u.dims) && t.precision == u.precision &&
		t.signed == u.signed && t.alignment == u.alignment && t.size == u.size &&
		math.Float64bits(t.scale) == math.Float64bits(u.scale) &&
		math.Float64bits(t.bias) == math.Float64bits(u.bias) &&
		t.dataType == u.dataType && t.hasDataType == u.hasDataType &&
		t.multiParam == u.multiParam && t.axis == u.axis &&
		float64sBitsEqual(t.scales, u.scales) && float64sBitsEqual(t.biases, u.biases) &&
		slices.Equal(t.data, u.data)
}

// planeBytes is the byte length of one bit plane.
func (t *Caffe2Tensor) planeBytes() int { return t.AlignedSize() / 8 }

// bit reads bit `bit` of element i without checks.
func (t *Caffe2Tensor) bit(bit, i int) bool {
	return t.data[t.planeBytes()*bit+i/8]>>(7-i%8)&1 != 0
}

// setBit writes bit `bit` of element i without checks.
func (t *Caffe2Tensor) setBit(bit, i int, v bool) {
	p := &t.data[t.planeBytes()*bit+i/8]
	m := byte(1) << (7 - i%8)
	if v {
		*p |= m
	} else {
		*p &^= m
	}
}

func (t *Caffe2Tensor) checkBitIndex(bit, i int) error {
	if bit < 0 || bit >= t.precision+t.signBit() {
		return fmt.Errorf("%w: caffe2 bit %d not allocated (precision %d, signed %v)", ErrParams, bit, t.precision, t.signed)
	}
	if i < 0 || i >= t.size {
		return fmt.Errorf("%w: caffe2 element index %d outside [0, %d)", ErrShape, i, t.size)
	}
	return nil
}

// SetBitAtIndex sets bit `bit` of element i: plane `bit` (0 = least
// significant magnitude bit, Precision = the sign bit of a signed tensor)
// starts at byte AlignedSize*bit/8, and element i is bit 7 - i%8 of byte i/8
// of the plane. It rejects bit >= Precision + signed (as Caffe2 does) and
// i outside [0, Size).
func (t *Caffe2Tensor) SetBitAtIndex(bit, i int, value bool) error {
	if err := t.checkBitIndex(bit, i); err != nil {
		return err
	}
	t.setBit(bit, i, value)
	return nil
}

// GetBitAtIndex returns bit `bit` of element i (see SetBitAtIndex).
func (t *Caffe2Tensor) GetBitAtIndex(bit, i int) (bool, error) {
	if err := t.checkBitIndex(bit, i); err != nil {
		return false, err
	}
	return t.bit(bit, i), nil
}

// int returns element i as a signed integer without checks. A negative zero
// (sign bit set, magnitude 0) reads as 0.
func (t *Caffe2Tensor) int(i int) int32 {
	var m int32
	for b := 0; b < t.precision; b++ {
		if t.bit(b, i) {
			m |= 1 << b
		}
	}
	if t.signed && t.bit(t.precision, i) {
		return -m
	}
	return m
}

// Int returns element i as a signed integer: the magnitude bits, negated
// when the sign bit is set. A negative zero (sign bit set, magnitude 0)
// reads as 0.
func (t *Caffe2Tensor) Int(i int) (int32, error) {
	if i < 0 || i >= t.size {
		return 0, fmt.Errorf("%w: caffe2 element index %d outside [0, %d)", ErrShape, i, t.size)
	}
	return t.int(i), nil
}

// checkInt returns an error unless v is representable: |v| <= 2^Precision-1,
// and v >= 0 for an unsigned tensor.
func checkCaffe2Int(v int32, precision int, signed bool) error {
	m := caffe2MaxMagnitude(precision)
	lo := int32(0)
	if signed {
		lo = -m
	}
	if v < lo || v > m {
		return fmt.Errorf("%w: value %d outside [%d, %d] of a %d-bit %s caffe2 tensor", ErrParams, v, lo, m, precision, signedWord(signed))
	}
	return nil
}

// SetInt stores v as element i: magnitude |v| in the magnitude planes and,
// for a signed tensor, the sign bit set exactly when v < 0 (so 0 is always
// stored as positive zero). v must satisfy |v| <= 2^Precision-1, and v >= 0
// for an unsigned tensor.
func (t *Caffe2Tensor) SetInt(i int, v int32) error {
	if i < 0 || i >= t.size {
		return fmt.Errorf("%w: caffe2 element index %d outside [0, %d)", ErrShape, i, t.size)
	}
	if err := checkCaffe2Int(v, t.precision, t.signed); err != nil {
		return err
	}
	t.setInt(i, v)
	return nil
}

func (t *Caffe2Tensor) setInt(i int, v int32) {
	m := v
	if v < 0 {
		m = -v
	}
	for b := 0; b < t.precision; b++ {
		t.setBit(b, i, m>>b&1 != 0)
	}
	if t.signed {
		t.setBit(t.precision, i, v < 0)
	}
}

// Ints returns every element as a signed integer (see Int).
func (t *Caffe2Tensor) Ints() []int32 {
	out := make([]int32, t.size)
	for i := range out {
		out[i] = t.int(i)
	}
	return out
}

// Value returns the real value of element i, Scale * (x + Bias) in float64,
// where x is Int(i).
func (t *Caffe2Tensor) Value(i int) (float64, error) {
	x, err := t.Int(i)
	if err != nil {
		return 0, err
	}
	return t.scale * (float64(x) + t.bias), nil
}

// Values returns the real value of every element (see Value).
func (t *Caffe2Tensor) Values() []float64 {
	out := make([]float64, t.size)
	for i := range out {
		out[i] = t.scale * (float64(t.int(i)) + t.bias)
	}
	return out
}

// Caffe2FromInts returns a Caffe2 QTensor (alignment 8, scale 1, bias 0)
// holding values, which must have one entry per element and satisfy
// |v| <= 2^precision-1 (v >= 0 when unsigned). Zero is stored with a clear
// sign bit and the padding bits are zero, so the result is canonical.
func Caffe2FromInts(dims []int, precision int, signed bool, values []int32) (*Caffe2Tensor, error) {
	if err := checkCaffe2Precision(precision); err != nil {
		return nil, err
	}
	n, err := NumElements(dims)
	if err != nil {
		return nil, err
	}
	if len(values) != n {
		return nil, fmt.Errorf("%w: %d values for caffe2 dims %v (%d elements)", ErrShape, len(values), dims, n)
	}
	for i, v := range values {
		if err := checkCaffe2Int(v, precision, signed); err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
	}
	t, err := NewCaffe2Tensor(dims, precision, signed)
	if err != nil {
		return nil, err
	}
	for i, v := range values {
		t.setInt(i, v)
	}
	return t, nil
}

// CheckCanonical returns an error describing the first non-canonical bit of
// the buffer, or nil. A canonical buffer has every padding bit (elements
// Size..AlignedSize-1 of each plane) clear and no negative zero (a sign bit
// set on a zero magnitude). Bit-plane storage can hold these patterns but
// packed storage cannot, so only canonical tensors convert to packed
// storage.
func (t *Caffe2Tensor) CheckCanonical() error {
	planes := t.precision + t.signBit()
	for b := 0; b < planes; b++ {
		for i := t.size; i < t.AlignedSize(); i++ {
			if t.bit(b, i) {
				return fmt.Errorf("%w: caffe2 padding bit %d of element slot %d is set (tensor of %d elements); call Canonicalize", ErrParams, b, i, t.size)
			}
		}
	}
	if t.signed {
		for i := 0; i < t.size; i++ {
			if t.bit(t.precision, i) && t.int(i) == 0 {
				return fmt.Errorf("%w: caffe2 element %d is a negative zero (sign bit on a zero magnitude); call Canonicalize", ErrParams, i)
			}
		}
	}
	return nil
}

// Canonicalize clears every padding bit and the sign bit of every zero
// magnitude. It changes no element's value.
func (t *Caffe2Tensor) Canonicalize() {
	planes := t.precision + t.signBit()
	for b := 0; b < planes; b++ {
		for i := t.size; i < t.AlignedSize(); i++ {
			t.setBit(b, i, false)
		}
	}
	if t.signed {
		for i := 0; i < t.size; i++ {
			if t.int(i) == 0 {
				t.setBit(t.precision, i, false)
			}
		}
	}
}

func signedWord(signed bool) string {
	if signed {
		return "signed"
	}
	return "unsigned"
}

// caffe2Range is the integer range of a precision/signedness pair.
func caffe2Range(precision int, signed bool) (lo, hi int32) {
	hi = caffe2MaxMagnitude(precision)
	if signed {
		lo = -hi
	}
	return lo, hi
}

// caffe2PackedParams checks that t's scale and bias map exactly onto packed
// parameters of type d: real = Scale*(x+Bias) = scale*(q-zp) with q = x,
// scale = float32(Scale) exactly and zp = -Bias an integer in d's range.
func (t *Caffe2Tensor) caffe2PackedParams(d DType) (Params, error) {
	if !d.Quantized() {
		return Params{}, fmt.Errorf("%w: %v is not a quantized type", ErrParams, d)
	}
	lo, hi := caffe2Range(t.precision, t.signed)
	if lo < d.QMin() || hi > d.QMax() {
		return Params{}, fmt.Errorf("%w: a %d-bit %s caffe2 tensor has values in [%d, %d], which %v cannot hold", ErrParams, t.precision, signedWord(t.signed), lo, hi, d)
	}
	s := float32(t.scale)
	if float64(s) != t.scale {
		return Params{}, fmt.Errorf("%w: caffe2 scale %v is not exactly a float32", ErrParams, t.scale)
	}
	if err := CheckScale(s); err != nil {
		return Params{}, err
	}
	if t.bias != math.Trunc(t.bias) || -t.bias < float64(d.QMin()) || -t.bias > float64(d.QMax()) {
		return Params{}, fmt.Errorf("%w: caffe2 bias %v is not minus an integer zero point in [%d, %d] of %v", ErrParams, t.bias, d.QMin(), d.QMax(), d)
	}
	return TensorParams(s, int32(-t.bias)), nil
}

// ToTensor converts a canonical Caffe2 QTensor to packed storage without
// loss, choosing the first type of this list that holds both the value range
// of the precision and the zero point -Bias (see ToTensorAs):
//   - unsigned: uint4, int4, uint8, int8 (so precision <= 4 with Bias in
//     [-15, 0] gives uint4, precision <= 3 with Bias in [1, 8] int4,
//     Bias in [-255, 0] uint8, precision <= 7 with Bias in [1, 128] int8);
//   - signed: int4 (precision <= 3, Bias in [-7, 8]), then int8
//     (precision <= 7, Bias in [-127, 128]).
//
// A signed tensor of precision 8 has 511 possible values and fits no packed
// type: it is always an error.
func (t *Caffe2Tensor) ToTensor() (*Tensor, error) {
	cands := []DType{Uint4, Int4, Uint8, Int8}
	if t.signed {
		cands = []DType{Int4, Int8}
	}
	var err error
	for _, d := range cands {
		var p *Tensor
		if p, err = t.ToTensorAs(d); err == nil {
			return p, nil
		}
	}
	return nil, err
}

// ToTensorAs converts a Caffe2 QTensor to a packed tensor of quantized type
// d without loss, or fails. Element q = x (the signed integer), per-tensor
// parameters scale = Scale and zero point = -Bias, so the real values agree:
// Scale*(x+Bias) = scale*(q-zp). It fails unless
//   - the tensor is canonical (CheckCanonical: no set padding bit, no negative
//     zero, neither of which packed storage can represent),
//   - it is not multi-param,
//   - d's range covers [-(2^Precision-1), 2^Precision-1] (signed) or
//     [0, 2^Precision-1] (unsigned),
//   - Scale is exactly a float32 and passes CheckScale,
//   - Bias is an integer whose negation is in d's range.
//
// A bias of -0 becomes zero point 0, which Caffe2FromTensor turns back into
// bias +0 (the same real values); every other field round-trips bit for
// bit. The data_type field is not carried.
func (t *Caffe2Tensor) ToTensorAs(d DType) (*Tensor, error) {
	if t.multiParam {
		return nil, fmt.Errorf("%w: multi-param caffe2 tensors do not convert to packed storage", ErrParams)
	}
	if t.alignment != Caffe2DefaultAlignment {
		// Not a loss of values, but the alignment would not come back.
		return nil, fmt.Errorf("%w: caffe2 alignment %d would not survive packed storage (only 8 does)", ErrParams, t.alignment)
	}
	if err := t.CheckCanonical(); err != nil {
		return nil, err
	}
	p, err := t.caffe2PackedParams(d)
	if err != nil {
		return nil, err
	}
	out, err := New(d, t.dims, p)
	if err != nil {
		return nil, err
	}
	out.Name = t.Name
	for i := 0; i < t.size; i++ {
		out.Set(i, t.int(i))
	}
	return out, nil
}

// Caffe2FromTensor converts a packed quantized tensor with per-tensor
// parameters into a Caffe2 QTensor of the given precision and signedness
// (alignment 8): x = q, Scale = scale, Bias = -zero point. Every element
// must fit: |q| <= 2^precision-1, and q >= 0 when unsigned. The result is
// canonical.
func Caffe2FromTensor(p *Tensor, precision int, signed bool) (*Caffe2Tensor, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if !p.DType.Quantized() {
		return nil, fmt.Errorf("%w: %v tensor has no quantization parameters", ErrParams, p.DType)
	}
	if p.Params.Granularity != PerTensor {
		return nil, fmt.Errorf("%w: caffe2 QTensor needs per-tensor parameters, have %v", ErrParams, p.Params.Granularity)
	}
	t, err := Caffe2FromInts(p.Shape, precision, signed, p.Int32s())
	if err != nil {
		return nil, err
	}
	t.Name = p.Name
	t.scale = float64(p.Params.Scales[0])
	t.bias = float64(-p.Params.ZeroPoints[0])
	return t, nil
}
