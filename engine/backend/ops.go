package backend

import (
	"fmt"

	"github.com/qgpu/qgpu/qtensor"
)

// OpKind names an op.
type OpKind uint8

// Op kinds. DynamicQuantizeLinear is not a kind: the engine composes it from
// MinMax and Quantize.
const (
	OpQuantize OpKind = iota + 1
	OpDequantize
	OpByteWeightDequant
	OpRequantize
	OpGemm
	OpConv
	OpAdd
	OpMul
	OpReLU
	OpMaxPool
	OpAvgPool
	OpMinMax
	OpHistogram
	OpLookup
	OpConcat
	OpMatMulNBits
	numOpKinds
)

var opNames = [...]string{
	OpQuantize: "Quantize", OpDequantize: "Dequantize", OpByteWeightDequant: "ByteWeightDequant",
	OpRequantize: "Requantize", OpGemm: "Gemm", OpConv: "Conv", OpAdd: "Add", OpMul: "Mul",
	OpReLU: "ReLU", OpMaxPool: "MaxPool", OpAvgPool: "AvgPool", OpMinMax: "MinMax", OpHistogram: "Histogram",
	OpLookup: "Lookup", OpConcat: "Concat",
	OpMatMulNBits: "MatMulNBits",
}

func (k OpKind) String() string {
	if k > 0 && k < numOpKinds {
		return opNames[k]
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// OpKinds lists every op kind.
func OpKinds() []OpKind {
	ks := make([]OpKind, 0, numOpKinds-1)
	for k := OpQuantize; k < numOpKinds; k++ {
		ks = append(ks, k)
	}
	return ks
}

// Op is one validated operation, as a backend receives it. The concrete
// types are the structs below; all their operands belong to the backend
// that runs them and have been checked by the engine. Backends must not
// modify an op.
type Op interface {
	Kind() OpKind
	// Inputs lists the tensors the op reads.
	Inputs() []*Tensor
	// Outputs lists the tensors the op writes.
	Outputs() []*Tensor
}

// Quantize is ONNX QuantizeLinear: Y = qtensor.Quantize(X, pair) per element
// (or QuantizeTorch with Rounding == RoundTorch), with the (scale, zero
// point) pairs of Y.Params(). X is float32; Y is int8, uint8, int4 or uint4
// of the same shape.
type Quantize struct {
	X, Y     *Tensor
	Rounding qtensor.Rounding
}

// Dequantize is ONNX DequantizeLinear: Y = qtensor.Dequantize(X) per element
// with X.Params(). Y is float32 of X's shape.
type Dequantize struct{ X, Y *Tensor }

// ByteWeightDequant is Caffe2's op: Y = qtensor.ByteWeightDequant(X, Min,
// Max) per element; X is uint8, Y float32 with the requested shape.
type ByteWeightDequant struct {
	X, Y     *Tensor
	Min, Max float32
}

// OutputKind is the output form of a GEMM or convolution.
type OutputKind uint8

// Output kinds.
const (
	OutInt32     OutputKind = iota // the int32 accumulator (plus Bias)
	OutFloat32                     // qtensor.FloatOutput(acc, Scale[c], FloatBias[c])
	OutQuantized                   // qtensor.Requantize or RequantizeFixed into Y's type
)

func (o OutputKind) String() string {
	switch o {
	case OutInt32:
		return "int32"
	case OutFloat32:
		return "float32"
	case OutQuantized:
		return "quantized"
	}
	return fmt.Sprintf("OutputKind(%d)", uint8(o))
}

// Epilogue turns an int32 accumulator of output channel c (the GEMM column
// n, the convolution output channel o, or the Requantize axis index) into
// the output element:
//
//	acc' = acc + Bias[c]                      (Bias nil: + 0)
//	OutInt32:     y = acc'
//	OutFloat32:   y = qtensor.FloatOutput(acc', Scale[c], FloatBias[c])   (FloatBias nil: 0)
//	OutQuantized: y = qtensor.Requantize(acc', Mult[c], YZP, qmin, qmax)
//	              or qtensor.RequantizeFixed(acc', Fixed[c], ...) when Fixed != nil;
//	              ReLU raises qmin to YZP.
//
// A per-channel slice has one entry per channel or exactly one entry that
// applies to all (index it with Epilogue.At). acc + Bias wraps like int32
// addition in Go; the engine rejects shapes where an exact accumulator
// could exceed int32 (see Gemm).
type Epilogue struct {
	Output    OutputKind
	Bias      []int32
	Scale     []float32
	FloatBias []float32
	Mult      []float32
	Fixed     []qtensor.FixedPoint
	YZP       int32
	ReLU      bool
}

// At returns s[c], or s[0] when s has a single entry.
func At[T any](s []T, c int) T {
	if len(s) == 1 {
		return s[0]
	}
	return s[c]
}

// Requantize maps X (int32 accumulators, or int8/uint8 with zero point XZP)
// to Y (int8/uint8) of the same shape through the Epilogue with Output ==
// OutQuantized. The channel of element i is its index along Axis (Axis -1:
// channel 0 for all): for int32 X the accumulator is X[i]; for quantized X
// it is X[i] - XZP.
type Requantize struct {
	X, Y *Tensor
	XZP  int32
	Axis int
	Epilogue
}

// Gemm is batched integer matrix multiplication (ONNX MatMulInteger and
// QLinearMatMul, with Epilogue):
//
//	acc[b][m][n] = sum_k (A[AIndex[b]][m][k] - AZP[m]) * (B[BIndex[b]][k][n] - BZP[n])
//
// A holds matrices of M x K (uint8 or int8), B matrices of K x N (int8 or
// uint8), Y Batch matrices of M x N; all row-major and contiguous. With
// TransposeB, B holds its matrices transposed, N x K row-major (the
// [out][in] layout of a linear layer's weights): element [k][n] of matrix j
// is at j*K*N + n*K + k instead of j*K*N + k*N + n. AZP has 1 or M
// entries, BZP 1 or N (index with At); the epilogue's channel is n.
type Gemm struct {
	A, B, Y        *Tensor
	M, K, N        int
	Batch          int
	AIndex, BIndex []int
	AZP, BZP       []int32
	TransposeB     bool
	Epilogue
}

// BStrides returns the element strides of B's index k and n within one
// matrix: (N, 1), or (1, K) with TransposeB.
func (g *Gemm) BStrides() (k, n int) {
	if g.TransposeB {
		return 1, g.K
	}
	return g.N, 1
}

// Layout is the order of an activation's dimensions in memory (the
// input and output of Conv and Pool).
type Layout uint8

// Layouts.
const (
	// NCHW stores element (n, c, h, w) at ((n*C + c)*H + h)*W + w: ONNX's
	// order, the default.
	NCHW Layout = iota
	// NHWC stores it at ((n*H + h)*W + w)*C + c: channels last, so the
	// channels of one pixel are contiguous.
	NHWC
)

func (l Layout) String() string {
	switch l {
	case NCHW:
		return "NCHW"
	case NHWC:
		return "NHWC"
	}
	return fmt.Sprintf("Layout(%d)", uint8(l))
}

// Index returns the element index of (n, c, h, w) in a tensor of layout l
// with C channels, H rows and W columns.
func (l Layout) Index(n, c, h, w, C, H, W int) int {
	if l == NHWC {
		return ((n*H+h)*W+w)*C + c
	}
	return ((n*C+c)*H+h)*W + w
}

// Shape returns the shape of an activation of N images of C channels, H
// rows and W columns in layout l: [N, C, H, W] or [N, H, W, C].
func (l Layout) Shape(N, C, H, W int) []int {
	if l == NHWC {
		return []int{N, H, W, C}
	}
	return []int{N, C, H, W}
}

// Conv is 2-D integer convolution (ONNX ConvInteger and QLinearConv) with
// OIHW weights:
//
//	acc[n][o][oh][ow] = sum_{c in group(o), kh, kw} (X[n][c][ih][iw] - XZP) * (W[o][c'][kh][kw] - WZP[o])
//
// with ih = oh*StrideH - PadTop + kh*DilationH (likewise iw); cells outside
// the input contribute 0 (zero points are subtracted before padding). X is
// uint8/int8 with N images of C channels of H x Wd in layout XLayout
// ([N, C, H, W] or [N, H, W, C]), W [O, C/Group, KH, KW] int8/uint8, and Y
// holds N images of O channels of OH x OW in layout YLayout. The
// epilogue's channel is o.
type Conv struct {
	X, W, Y                                *Tensor
	N, C, H, Wd, O, KH, KW, OH, OW         int
	Group                                  int
	StrideH, StrideW, DilationH, DilationW int
	PadTop, PadLeft, PadBottom, PadRight   int
	XZP                                    int32
	WZP                                    []int32
	XLayout, YLayout                       Layout
	Epilogue
}

// NCHW reports whether both the input and the output are NCHW.
func (c *Conv) NCHW() bool { return c.XLayout == NCHW && c.YLayout == NCHW }

// Add is quantized elementwise addition of two tensors of the same shape and
// type: Y = qtensor.Add(A, ZA, B, ZB, MA, MB, ZY, qmin, qmax) with
// MA, MB = qtensor.AddMultipliers(sa, sb, sy).
type Add struct {
	A, B, Y    *Tensor
	ZA, ZB, ZY int32
	MA, MB     float32
}

// Mul is quantized elementwise multiplication: Y = qtensor.Mul(A, ZA, B, ZB,
// M, ZY, qmin, qmax) with M = qtensor.MulMultiplier(sa, sb, sy).
type Mul struct {
	A, B, Y    *Tensor
	ZA, ZB, ZY int32
	M          float32
}

// ReLU is quantized ReLU: Y = max(X, ZP), same type and params.
type ReLU struct {
	X, Y *Tensor
	ZP   int32
}

// Pool is 2-D max or average pooling of a quantized tensor of N images of
// C channels of H x W in layout XLayout into OH x OW in layout YLayout;
// the output keeps the input's scale and zero point. MaxPool takes the maximum of the
// window's cells inside the input; AvgPool computes qtensor.AveragePool over
// the sum of (q - ZP) of the cells inside the input, divided by the number
// of those cells, or by KH*KW when CountIncludePad (padding cells then
// count as real 0). A window with no cell inside the input yields ZP.
type Pool struct {
	Max                                    bool
	X, Y                                   *Tensor
	N, C, H, W, OH, OW, KH, KW             int
	StrideH, StrideW, DilationH, DilationW int
	PadTop, PadLeft, PadBottom, PadRight   int
	CountIncludePad                        bool
	ZP                                     int32
	XLayout, YLayout                       Layout
}

// NCHW reports whether both the input and the output are NCHW.
func (p *Pool) NCHW() bool { return p.XLayout == NCHW && p.YLayout == NCHW }

// MinMax computes, per channel, the minimum and maximum of the finite
// float32 values of X and counts the finite, NaN, +Inf and -Inf values.
// Element i is in channel (i / Inner) % Channels. Y is an int32 tensor
// [Channels, 6] holding per channel, as uint32 words:
//
//	0: qtensor.MinMaxKey of the minimum (0xFFFFFFFF when there is no finite value)
//	1: qtensor.MinMaxKey of the maximum (0 when there is no finite value)
//	2: finite count, 3: NaN count, 4: +Inf count, 5: -Inf count
//
// -0 counts as +0. Counts wrap at 2^32; the engine keeps ops below that.
type MinMax struct {
	X, Y            *Tensor
	Channels, Inner int
}

// Histogram counts the float32 values of X into Bins bins. Y is an int32
// tensor [Bins+3] of uint32 counts: Bins bins, then below, above, NaN.
// Counts wrap at 2^32; the engine keeps ops below that.
//
// With Aligned false the bins are equal bins over [Lo, Hi] (qtensor.HistBin).
// With Aligned true they are the window of the zero-aligned grid of bin
// width 2^Exp that starts at grid index Start: value x has the grid index
// j of qtensor.HistBinAligned(x, qtensor.HistScalePow2(Exp)) and goes to
// bin j-Start, below when j < Start, above when j >= Start+Bins (-Inf is
// below, +Inf above). Calibration histograms use this form because it
// merges exactly.
type Histogram struct {
	X, Y    *Tensor
	Bins    int
	Lo, Hi  float32
	Aligned bool
	Exp     int
	Start   int64
}

// Lookup maps every byte of an 8-bit tensor through a 256-entry table:
// Y[i] = Table[byte(X[i])], where byte(q) is q's two's-complement byte
// (an int8 -1 reads Table[255]). X is int8 or uint8; Y has X's shape and
// Y's own type (int8 or uint8) and params. The tables of unary
// activations on quantized data come from qtensor.ActivationTable.
type Lookup struct {
	X, Y  *Tensor
	Table [256]byte
}

// Concat joins int8 or uint8 tensors along an axis into Y (of their common
// type). Viewed as [Outer, Inner[j]] - Outer the product of the dimensions
// before the axis, Inner[j] the product of input j's dimensions from the
// axis on - Y's row o is the concatenation of the inputs' rows o, each
// byte of input j mapped through Tables[j] (Y[...] = Tables[j][byte(Xj)],
// see Lookup) or copied when Tables[j] is nil. Tables requantize inputs
// whose params differ from Y's (qtensor.RequantizeTable).
type Concat struct {
	Xs     []*Tensor
	Y      *Tensor
	Outer  int
	Inner  []int
	Tables []*[256]byte
}

// NBitsMode selects how MatMulNBits treats its float activations.
type NBitsMode uint8

// MatMulNBits activation modes (docs/semantics.md, MatMulNBits).
const (
	// NBitsFloat multiplies the float32 activations by the integer
	// weights in float32, block by block, k ascending.
	NBitsFloat NBitsMode = iota
	// NBitsInt8 quantizes each block of each activation row to int8
	// with a symmetric scale and takes integer dot products per block.
	NBitsInt8
)

func (m NBitsMode) String() string {
	switch m {
	case NBitsFloat:
		return "float"
	case NBitsInt8:
		return "int8"
	}
	return fmt.Sprintf("NBitsMode(%d)", uint8(m))
}

// MatMulNBits is weight-only low-bit matrix multiplication (ONNX Runtime's
// MatMulNBits): float32 activations A viewed as M rows of K, weights B
// (int4, uint4, int8 or uint8) stored N x RowLen row-major (RowLen >= K;
// elements k >= K of a row are ignored), quantized in blocks of
// BlockSize along K with Blocks = ceil(K/BlockSize) blocks per row whose
// scale and zero point are Scales[n*Blocks+b] and ZeroPoints[n*Blocks+b].
// For every row m and column n (docs/semantics.md, MatMulNBits):
//
//	NBitsFloat: s_b = sum_k float32(A[m][k] * float32(B[n][k] - zp)), k ascending
//	            y   = sum_b float32(scale * s_b), b ascending
//	NBitsInt8:  sa  = qtensor.NBitsActScale(max |A[m][k]| over block b)
//	            qa  = qtensor.Quantize(A[m][k], sa, 0, -127, 127)
//	            y   = sum_b float32(float32(sa * scale) * float32(sum_k qa * (B[n][k] - zp)))
//	y = y + Bias[n] (Bias nil: no addition)
//
// each sum a left fold from -0.0 in float32. Y is float32 [M x N] (a NaN
// stored as qtensor.CanonicalNaN), or int8/uint8 when Quantized:
// qtensor.Quantize(y, YScale, YZP).
type MatMulNBits struct {
	A, B, Y    *Tensor
	M, K, N    int
	BlockSize  int
	Blocks     int
	RowLen     int
	Scales     []float32
	ZeroPoints []int32
	// UniformZeroPoints: every entry of ZeroPoints is the same (kernels
	// may then read ZeroPoints[0] only).
	UniformZeroPoints bool
	Bias              []float32
	Mode              NBitsMode
	Quantized         bool
	YScale            float32
	YZP               int32
}

func (*Quantize) Kind() OpKind          { return OpQuantize }
func (*Dequantize) Kind() OpKind        { return OpDequantize }
func (*ByteWeightDequant) Kind() OpKind { return OpByteWeightDequant }
func (*Requantize) Kind() OpKind        { return OpRequantize }
func (*Gemm) Kind() OpKind              { return OpGemm }
func (*Conv) Kind() OpKind              { return OpConv }
func (*Add) Kind() OpKind               { return OpAdd }
func (*Mul) Kind() OpKind               { return OpMul }
func (*ReLU) Kind() OpKind              { return OpReLU }
func (*MinMax) Kind() OpKind            { return OpMinMax }
func (*Histogram) Kind() OpKind         { return OpHistogram }
func (*Lookup) Kind() OpKind            { return OpLookup }
func (*Concat) Kind() OpKind            { return OpConcat }
func (*MatMulNBits) Kind() OpKind       { return OpMatMulNBits }

// Kind is OpMaxPool or OpAvgPool.
func (p *Pool) Kind() OpKind {
	if p.Max {
		return OpMaxPool
	}
	return OpAvgPool
}

func (o *Quantize) Outputs() []*Tensor          { return []*Tensor{o.Y} }
func (o *Dequantize) Outputs() []*Tensor        { return []*Tensor{o.Y} }
func (o *ByteWeightDequant) Outputs() []*Tensor { return []*Tensor{o.Y} }
func (o *Requantize) Outputs() []*Tensor        { return []*Tensor{o.Y} }
func (o *Gemm) Outputs() []*Tensor              { return []*Tensor{o.Y} }
func (o *Conv) Outputs() []*Tensor              { return []*Tensor{o.Y} }
func (o *Add) Outputs() []*Tensor               { return []*Tensor{o.Y} }
func (o *Mul) Outputs() []*Tensor               { return []*Tensor{o.Y} }
func (o *ReLU) Outputs() []*Tensor              { return []*Tensor{o.Y} }
func (o *Pool) Outputs() []*Tensor              { return []*Tensor{o.Y} }
func (o *MinMax) Outputs() []*Tensor            { return []*Tensor{o.Y} }
func (o *Histogram) Outputs() []*Tensor         { return []*Tensor{o.Y} }
func (o *Lookup) Outputs() []*Tensor            { return []*Tensor{o.Y} }
func (o *Concat) Outputs() []*Tensor            { return []*Tensor{o.Y} }
func (o *MatMulNBits) Outputs() []*Tensor       { return []*Tensor{o.Y} }

func (o *Quantize) Inputs() []*Tensor          { return []*Tensor{o.X} }
func (o *Dequantize) Inputs() []*Tensor        { return []*Tensor{o.X} }
func (o *ByteWeightDequant) Inputs() []*Tensor { return []*Tensor{o.X} }
func (o *Requantize) Inputs() []*Tensor        { return []*Tensor{o.X} }
func (o *Gemm) Inputs() []*Tensor              { return []*Tensor{o.A, o.B} }
func (o *Conv) Inputs() []*Tensor              { return []*Tensor{o.X, o.W} }
func (o *Add) Inputs() []*Tensor               { return []*Tensor{o.A, o.B} }
func (o *Mul) Inputs() []*Tensor               { return []*Tensor{o.A, o.B} }
func (o *ReLU) Inputs() []*Tensor              { return []*Tensor{o.X} }
func (o *Pool) Inputs() []*Tensor              { return []*Tensor{o.X} }
func (o *MinMax) Inputs() []*Tensor            { return []*Tensor{o.X} }
func (o *Histogram) Inputs() []*Tensor         { return []*Tensor{o.X} }
func (o *Lookup) Inputs() []*Tensor            { return []*Tensor{o.X} }
func (o *Concat) Inputs() []*Tensor            { return append([]*Tensor(nil), o.Xs...) }
func (o *MatMulNBits) Inputs() []*Tensor       { return []*Tensor{o.A, o.B} }
