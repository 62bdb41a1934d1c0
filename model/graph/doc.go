// Package graph is qgpu's model IR: a Graph of Nodes over named values,
// with Tensors for constants, built from ONNX models (FromONNX, Load) or
// by hand (Build). It also defines what every supported op computes -
// shape inference and constant folding need that - and package interp
// runs built graphs.
//
// # Building
//
// Build (which FromONNX calls) turns a definition into a built graph:
//
//   - Producers: every value is produced once, by a graph input, an
//     initializer or a node output; every node input names a produced
//     value or is empty (an absent optional input). A missing value is an
//     error naming the node and the input, a value produced twice an
//     error naming both producers.
//   - Order: nodes are sorted topologically (Kahn's algorithm, ties in
//     definition order); a cycle is an error naming a node on it.
//   - Shapes: every input gets a concrete shape - its static dimensions,
//     Options.Batch for a symbolic or unknown dimension 0, Options.Dims
//     for named dimensions, or Options.Shapes - and every node's output
//     types and shapes are inferred from its inputs', in order. Every
//     shape is checked against Options.MaxElements before anything is
//     allocated. Shapes are fixed from then on: a run takes exactly these.
//   - Constants: an Identity of a constant becomes an alias of it (the
//     same *Tensor: torch's exporter deduplicates equal weights that way);
//     a node whose inputs are all constant, or whose outputs depend only on
//     shapes (Shape, Size), is evaluated once and its outputs become
//     initializers. With the batch size fixed, the Shape, Gather,
//     Unsqueeze, Concat, Cast, ConstantOfShape and Reshape chains that
//     exporters emit for dynamic axes fold away, and a Reshape's shape
//     input becomes an initializer. QuantizeLinear and DequantizeLinear
//     are kept unless Options.FoldQDQ, so that a QDQ model keeps its
//     structure. Ops whose output shape depends on an input's value
//     (Reshape's shape, Slice's starts, Resize's sizes, ...) need that
//     input to be constant after folding; Options.Constants binds graph
//     inputs to values for models that take them as inputs.
//   - Pruning: nodes no graph output depends on, and unused initializers,
//     are removed.
//   - Outputs: the inferred type and shape of each graph output must agree
//     with the static parts of what the model declares.
//
// A built graph is immutable and safe for concurrent runs.
//
// # Ops
//
// The default ONNX domain, opsets 13 to 21 (where an attribute became an
// input between opsets - Split's split, Squeeze and Unsqueeze's axes,
// Pad's pads, Clip's min and max, the reductions' axes - both forms are
// read; older opsets work where their semantics are implemented, and an
// attribute an op does not read is an error rather than ignored):
//
//	convolution and matrices: Conv (1-3 spatial dims, groups, dilations,
//	  pads, auto_pad), ConvTranspose (output_padding, output_shape),
//	  Gemm, MatMul (batched, broadcasting)
//	pooling: MaxPool, AveragePool (ceil_mode, count_include_pad, pads,
//	  dilations), GlobalAveragePool, GlobalMaxPool
//	normalisation: BatchNormalization (inference), LayerNormalization,
//	  InstanceNormalization, Softmax, LogSoftmax, Hardmax
//	elementwise: Add Sub Mul Div Pow Mod PRelu Max Min Sum Mean, Relu
//	  LeakyRelu Clip Sigmoid Tanh HardSigmoid HardSwish Erf Gelu Elu Selu
//	  Celu ThresholdedRelu Softplus Softsign Shrink, Exp Log Sqrt
//	  Reciprocal Neg Abs Sign Floor Ceil Round, trigonometric and
//	  hyperbolic functions, Equal Less Greater LessOrEqual GreaterOrEqual,
//	  And Or Xor Not, IsNaN IsInf, Where, Cast CastLike
//	reductions: ReduceMean ReduceSum ReduceMax ReduceMin ReduceProd
//	  ReduceSumSquare ReduceL1 ReduceL2 ReduceLogSum ReduceLogSumExp,
//	  ArgMax ArgMin, CumSum
//	shapes and data movement: Reshape Flatten Transpose Concat Split
//	  Slice Squeeze Unsqueeze Pad (constant, reflect, edge, wrap) Expand
//	  Tile Gather GatherElements ScatterElements ScatterND Trilu
//	  DepthToSpace SpaceToDepth Shape Size Identity Dropout (inference)
//	constants: Constant ConstantOfShape Range
//	resampling: Resize (nearest with every nearest_mode, linear, cubic;
//	  every coordinate_transformation_mode)
//	quantization: QuantizeLinear DequantizeLinear (per tensor, per axis
//	  and per block, int8 and uint8 - INT4 and UINT4 initializers are read
//	  widened to them - with qtensor.Quantize and qtensor.Dequantize:
//	  bit for bit what every qgpu backend computes), DynamicQuantizeLinear
//	QOperator ops: ConvInteger MatMulInteger QLinearConv QLinearMatMul,
//	  and ONNX Runtime's com.microsoft QGemm QLinearAdd QLinearMul
//	  QLinearAveragePool QLinearGlobalAveragePool QLinearConcat
//	  QLinearSigmoid QLinearLeakyRelu, with qgpu's integer formulas
//	  (exact accumulators, one float32 requantization; see ops_qop.go)
//	blocked low-bit weights: com.microsoft MatMulNBits (4 and 8 bits), with
//	  the engine's formula (qtensor.MatMulNBitsRow; ops_nbits.go)
//
// SupportedOps lists them (other domains' ops as "domain.op"); any other
// op is an ErrUnsupported error naming the node, the op and the list. Element types are float32, int64,
// int32, int8, uint8 and bool (not every op takes all of them).
//
// # Numerics
//
// Float tensors are float32. Elementwise arithmetic is one float32
// operation per element. Transcendental functions are computed in float64
// and rounded once. Reductions, means and variances (ReduceMean,
// Softmax's denominator, BatchNormalization's folded scale, the
// normalisations, AveragePool) are accumulated in float64 and rounded
// once. Dot products (Conv, ConvTranspose, Gemm, MatMul) are float32 sums
// by gonum's BLAS (Conv through im2col, depthwise convolutions by a direct
// loop). MaxPool's ceil_mode drops a last window that would start in the
// trailing padding, as PyTorch does. Results never depend on the number of
// goroutines a kernel uses.
//
// # Errors
//
// Errors wrap ErrShape (shapes that do not fit or are too large),
// ErrParams (invalid structure, attributes or values) or ErrUnsupported
// (valid ONNX this package does not implement), the engine's sentinels.
package graph
