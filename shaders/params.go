package shaders

// This file is the one description of every kernel's parameter block. The
// generator (go generate ./shaders, gen/params) reads it and writes
// src/params.glsl (the GLSL blocks and constants) and params_gen.go (the
// Kernel and AppendTo methods); keep it free of imports.
//
// Rules the generator enforces: a kernel <name> (src/<name>.comp) has the
// struct <Name>Params (the name with its first letter upper-cased); fields
// are uint32, int32, float32 or a named type of them, or an embedded
// struct of such fields (flattened); a field keeps its Go name in GLSL
// (params.<Field>). Every field is 4 bytes at offset 4*i in declaration
// order, in Go, in the Vulkan push-constant block and in the std140 GL
// uniform block alike (TestParamLayout checks this against glslang's
// reflection). Constants of the named types declared here are emitted as
// GLSL constants of the same name.
//
// Offsets of auxiliary data are word indices into binding 3, the plan's
// auxiliary words.

// Params is the parameter block of one kernel launch: a pointer to one of
// the *Params structs of this file.
type Params interface {
	// Kernel names the kernel the block belongs to (its variants take the
	// same block).
	Kernel() string
	// AppendTo appends the block as the kernels read it: each field in
	// order as 4 little-endian bytes.
	AppendTo(b []byte) []byte
}

// ParamBytes is the size of the parameter block every kernel gets (the
// push-constant range of the Vulkan pipelines, the uniform block bound in
// GL): Vulkan's guaranteed minimum of maxPushConstantsSize. Every *Params
// struct fits; shorter blocks are zero-padded.
const ParamBytes = 128

// NoAux marks an absent auxiliary array (an offset field's value).
const NoAux uint32 = 0xffffffff

// QuantizeMode selects what the quantize kernel computes.
type QuantizeMode uint32

// Quantize kernel modes.
const (
	// QuantizeDivide quantizes round(x / scale) + zp (ONNX QuantizeLinear,
	// qtensor.Quantize); one invocation per output word.
	QuantizeDivide QuantizeMode = 0
	// QuantizeMultiply quantizes round(x * s) + zp where the host stored
	// s = float32(1/scale) (qtensor.QuantizeTorch).
	QuantizeMultiply QuantizeMode = 1
	// Dequantize writes (q - zp) * scale, one invocation per float output.
	Dequantize QuantizeMode = 2
	// QuantizeQuotient writes the float32 bits of x / scale, the quotient
	// QuantizeDivide rounds, one invocation per element (self-tests only,
	// never planned).
	QuantizeQuotient QuantizeMode = 3
)

// QuantizeParams is the block of quantize.comp: engine Quantize and
// Dequantize (and the division self-tests).
type QuantizeParams struct {
	N    uint32 // elements
	Type uint32 // the quantized tensor's qtensor.DType
	QMin int32  // the quantized type's range
	QMax int32
	// Granularity is the qtensor.Granularity of the (scale, zero point)
	// pairs; Inner (elements after the axis), AxisLen, BlockSize and
	// Blocks (blocks along the axis) locate an element's pair.
	Granularity uint32
	Inner       uint32
	AxisLen     uint32
	BlockSize   uint32
	Blocks      uint32
	Mode        QuantizeMode
	Scales      uint32 // aux offset of the float32 scales (reciprocals for QuantizeMultiply)
	ZeroPoints  uint32 // aux offset of the int32 zero points
}

// EpilogueKind selects the output form of the shared epilogue
// (src/epilogue.glsl).
type EpilogueKind uint32

// Epilogue kinds.
const (
	EpilogueInt32      EpilogueKind = 0 // the accumulator (plus bias)
	EpilogueFloat32    EpilogueKind = 1 // float32(acc) * Scale[c] + FloatBias[c]
	EpilogueQuantFloat EpilogueKind = 2 // qtensor.Requantize with the float multipliers at Scale
	EpilogueQuantFixed EpilogueKind = 3 // qtensor.RequantizeFixed with (multiplier, shift) pairs at Scale
)

// Epilogue is the output stage shared by gemm, conv and requantize (the
// engine's Epilogue), embedded in their blocks.
type Epilogue struct {
	OutKind    EpilogueKind
	YType      uint32 // the output's qtensor.DType
	YQMin      int32  // the quantized output's range (ReLU folded into YQMin)
	YQMax      int32
	YZeroPoint int32
	// Bias is the aux offset of the int32 bias added to the accumulator
	// (NoAux: none); BiasPerChannel is 1 when it has one value per output
	// channel (else one for all).
	Bias           uint32
	BiasPerChannel uint32
	// Scale is the aux offset of the float32 scales (EpilogueFloat32),
	// the float32 multipliers (EpilogueQuantFloat) or the (multiplier,
	// shift) int32 pairs (EpilogueQuantFixed).
	Scale           uint32
	ScalePerChannel uint32
	// FloatBias is the aux offset of the float32 bias of EpilogueFloat32
	// (NoAux: none).
	FloatBias           uint32
	FloatBiasPerChannel uint32
}

// RequantizeParams is the block of requantize.comp: engine Requantize.
type RequantizeParams struct {
	N          uint32 // elements
	XType      uint32 // the input's qtensor.DType
	XZeroPoint int32  // subtracted from quantized inputs (0 for int32)
	Channels   uint32 // the epilogue's channel of element i is (i / Inner) % Channels
	Inner      uint32
	Epilogue
}

// GemmParams is the block of gemm.comp and its variants: engine Gemm,
// Batch x (M x K) x (K x N), B stored K x N or N x K.
type GemmParams struct {
	Total uint32 // outputs, Batch*M*N
	M     uint32
	K     uint32
	N     uint32
	AType uint32 // qtensor.DType of A
	BType uint32 // qtensor.DType of B
	// AZeroPoints is the aux offset of A's int32 zero points, one per row
	// when AZeroPointPerRow is 1; likewise B's per column.
	AZeroPoints         uint32
	AZeroPointPerRow    uint32
	BZeroPoints         uint32
	BZeroPointPerColumn uint32
	// AIndex and BIndex are the aux offsets of the matrix index of each
	// batch entry in A and B.
	AIndex uint32
	BIndex uint32
	// BStrideK and BStrideN are the element strides of k and n within a
	// matrix of B: B[k][n] is at k*BStrideK + n*BStrideN - (N, 1) for B
	// stored K x N, (1, K) for B stored N x K (backend.Gemm.TransposeB).
	BStrideK uint32
	BStrideN uint32
	Epilogue
}

// Flags are the option bits of a conv's or pool's block.
type Flags uint32

// Flag bits.
const (
	LayoutXNHWC Flags = 1 // the input is channels-last, [N][H][W][C] (else NCHW)
	LayoutYNHWC Flags = 2 // the output is channels-last, [N][OH][OW][O] (else NCHW)
	// ConvWZeroPointPerChannel: the weights have one zero point per
	// output channel (else one for all).
	ConvWZeroPointPerChannel Flags = 4
)

// ConvParams is the block of conv.comp: engine Conv, NCHW or NHWC input
// and output, OIHW weights.
type ConvParams struct {
	Total     uint32 // outputs
	C         uint32
	H         uint32
	W         uint32
	O         uint32
	KH        uint32
	KW        uint32
	OH        uint32
	OW        uint32
	Group     uint32
	StrideH   uint32
	StrideW   uint32
	DilationH uint32
	DilationW uint32
	PadTop    int32
	PadLeft   int32
	// XZeroPoint is the input's zero point; WZeroPoints the aux offset of
	// the weights' int32 zero points, one per output channel with the
	// flag ConvWZeroPointPerChannel.
	XZeroPoint  int32
	WZeroPoints uint32
	Flags       Flags  // layouts, ConvWZeroPointPerChannel
	XType       uint32 // qtensor.DType of the input
	WType       uint32 // qtensor.DType of the weights
	Epilogue
}

// EltwiseMode selects the operation of the eltwise kernel.
type EltwiseMode uint32

// Eltwise kernel modes.
const (
	EltwiseAdd  EltwiseMode = 0 // round(MA (a - ZA) + MB (b - ZB)) + ZY
	EltwiseMul  EltwiseMode = 1 // round((a - ZA)(b - ZB) MA) + ZY
	EltwiseReLU EltwiseMode = 2 // max(a, ZA)
	// EltwiseByteWeight is engine ByteWeightDequant: uint8 q to
	// q * Range / 255 + Min, one invocation per float output.
	EltwiseByteWeight EltwiseMode = 3
)

// EltwiseParams is the block of eltwise.comp: engine Add, Mul, ReLU and
// ByteWeightDequant.
type EltwiseParams struct {
	N    uint32 // elements
	Type uint32 // qtensor.DType of the operands and the output
	ZA   int32  // zero points of A, B and the output
	ZB   int32
	ZY   int32
	MA   float32 // Add: A's multiplier; Mul: the product's
	MB   float32 // Add: B's multiplier
	QMin int32   // the output type's range
	QMax int32
	Mode EltwiseMode
	// Range (max - min) and Min of EltwiseByteWeight.
	Range float32
	Min   float32
}

// PoolParams is the block of pool.comp: engine Pool (max and average),
// NCHW or NHWC input and output.
type PoolParams struct {
	Total           uint32 // outputs
	C               uint32 // channels
	H               uint32
	W               uint32
	OH              uint32
	OW              uint32
	KH              uint32
	KW              uint32
	StrideH         uint32
	StrideW         uint32
	DilationH       uint32
	DilationW       uint32
	PadTop          int32
	PadLeft         int32
	Type            uint32 // qtensor.DType of input and output
	ZeroPoint       int32
	Max             uint32 // 1: max pool; 0: average
	CountIncludePad uint32 // average: 1 divides by KH*KW, 0 by the cells inside
	QMin            int32
	QMax            int32
	Layouts         Flags // LayoutXNHWC, LayoutYNHWC
}

// ReduceMode selects what the reduce kernel computes.
type ReduceMode uint32

// Reduce kernel modes.
const (
	// ReduceMinMaxInit writes N words of MinMax outputs' initial values
	// (per channel {0xffffffff, 0, 0, 0, 0, 0}).
	ReduceMinMaxInit ReduceMode = 0
	// ReduceMinMax is engine MinMax over N float32 inputs, Channels
	// channels of Inner consecutive elements each.
	ReduceMinMax ReduceMode = 1
	// ReduceHistogramInit zeroes N words of a Histogram output.
	ReduceHistogramInit ReduceMode = 2
	// ReduceHistogram is engine Histogram over [Lo, Hi] in Bins bins.
	ReduceHistogram ReduceMode = 3
	// ReduceHistogramAligned is engine Histogram on the zero-aligned
	// grid of scale ScaleBits from Start.
	ReduceHistogramAligned ReduceMode = 4
)

// ReduceParams is the block of reduce.comp: engine MinMax and Histogram,
// and the initialisation of their outputs.
type ReduceParams struct {
	N        uint32 // inputs (the init modes: output words)
	Mode     ReduceMode
	Channels uint32 // MinMax
	Inner    uint32
	Bins     uint32 // Histogram
	// LoBits and HiBits are the float32 bits of the range of
	// ReduceHistogram; ScaleBits the bits of its qtensor.HistScale, or of
	// the aligned grid's qtensor.HistScalePow2. The kernel reads them as
	// bits (devices that flush denormals must still see them).
	LoBits    uint32
	HiBits    uint32
	ScaleBits uint32
	// Start is the low 32 bits of the aligned histogram's int64 start;
	// StartUp, EndUp, NegStartUp and NegEndUp are start, start + bins,
	// -start and -(start + bins) rounded up to float32 (the host keeps
	// |start| <= 2^61, so the saturated grid indices +-2^62 always fall
	// outside the window).
	Start      uint32
	StartUp    float32
	EndUp      float32
	NegStartUp float32
	NegEndUp   float32
}

// LookupParams is the block of lookup.comp: engine Lookup and Concat. The
// launch maps the bytes of X through a 256-entry table into a window of
// Y: viewing Y as Outer rows of InnerY bytes and X as Outer rows of InnerX
// bytes, Y[o][Offset+i] = Table[X[o][i]] for i < InnerX; Y's other bytes
// are kept. One invocation per word of Y (Words words).
type LookupParams struct {
	Words  uint32 // words of Y the grid covers
	Outer  uint32
	InnerX uint32
	InnerY uint32
	Offset uint32
	Table  uint32 // aux offset of the 256 table entries, one word each
}

// NBitsMode selects the activation mode of the nbits kernel.
type NBitsMode uint32

// Nbits kernel modes (engine MatMulNBits).
const (
	NBitsFloat NBitsMode = 0 // float32 activations times integer weights in float32
	NBitsInt8  NBitsMode = 1 // activations quantized per row and block to int8 (read from the scratch NBitsPrep wrote)
	NBitsPrep  NBitsMode = 2 // quantize the activations per row and block into the scratch (one invocation per row and block)
)

// NbitsParams is the block of nbits.comp: engine MatMulNBits. A (binding
// 0) is M x K float32, B (binding 1) N rows of RowLen elements of BType in
// blocks of BlockSize along K (Blocks per row), Y (binding 2) M x N of
// YType (float32, or int8/uint8 through Quantize). One invocation per
// output word (Total outputs); NBitsPrep: one per row and block (Total
// = M*Blocks), writing the scratch in aux that NBitsInt8 reads.
type NbitsParams struct {
	Total     uint32
	K         uint32
	N         uint32
	BType     uint32 // qtensor.DType of B
	BlockSize uint32
	Blocks    uint32
	RowLen    uint32
	Mode      NBitsMode
	// Scales and ZeroPoints are the aux offsets of the N x Blocks float32
	// scales and int32 zero points; Bias of the N float32 biases (NoAux:
	// none).
	Scales     uint32
	ZeroPoints uint32
	Bias       uint32
	YType      uint32 // qtensor.DType of Y
	// YScaleBits is the float32 bits of a quantized output's scale, read
	// as bits (devices that flush denormals must still see it).
	YScaleBits uint32
	YZeroPoint int32
	YQMin      int32
	YQMax      int32
	// Scratch and ScratchQA are aux offsets of the int8 mode's prepared
	// activations (NBitsPrep writes them, NBitsInt8 reads them): per row m
	// and block b the float32 bits of the scale and the sum of the int8
	// values (Scratch + 2*(m*Blocks + b), + 1), and the int8 values, each
	// row Blocks*BlockSize of them (zeros past K) from ScratchQA +
	// m*Blocks*BlockSize/4, in groups of 8 as a word of the even values and
	// one of the odd (nbits.comp).
	Scratch   uint32
	ScratchQA uint32
}
