// Package model runs quantized ONNX models on a qgpu engine: Load (or
// Read, FromONNX) builds the graph with package graph (shape inference
// with a fixed batch size, constant folding), plans how each node runs,
// quantizes, packs and uploads the weights once, and returns a Model whose
// Run takes and returns float32 (or integer) host tensors by name.
//
//	import _ "github.com/qgpu/qgpu/backends/vulkan" // the backends to register
//	...
//	m, err := model.Load("resnet50_qdq.onnx", model.Options{Config: engine.Config{Backend: "vulkan"}})
//	...
//	defer m.Close()
//	out, err := m.Run(ctx, []model.NamedTensor{{Tensor: x}})
//
// The same file gives byte-identical outputs on every backend (the CPU
// backend's kernels under every instruction set, Vulkan, OpenGL): the
// engine's ops are bit-exact across backends, and the plan does not depend
// on the backend unless the backend refuses an op (package modeltest
// checks both on every backend).
//
// # The plan
//
// Models come in the two forms ONNX quantization tools write. QDQ models
// keep float ops between DequantizeLinear (DQ) and QuantizeLinear (Q)
// nodes; QOperator models use QLinearConv and its kin. The planner lowers
// the patterns below to engine ops, following ONNX Runtime's QDQ
// selectors (its graph transformers that fuse DQ -> op -> Q into QLinear
// kernels) where they are sound, and runs every other node on the host
// with package graph's float32 reference kernel, between its DQ and Q:
// the model always runs, and Plan reports, per node, where it runs, as
// which engine ops, and why a node stayed on the host.
//
// A float value f = DQ(q) with per-tensor constant parameters has a
// quantized twin q; a lowered op reads q directly and its DQ disappears
// (it runs only if a host node or a graph output needs f). A Flatten,
// Reshape, Squeeze, Unsqueeze or Identity of such an f is an engine view
// of q (Engine.Reshape, no copy). A lowered op's float result must go to
// exactly one Q (through at most one Relu or Clip), which the op's output
// becomes. The lowerings:
//
//   - Conv (1-D, 2-D; groups, strides, dilations, pads, auto_pad) of DQ(x)
//     with DQ(constant int8/uint8 weights, per tensor or per output
//     channel) and an optional bias: engine Conv with a quantized output.
//     MatMul (weights [K][N], per tensor or per column, or a second
//     quantized activation) and Gemm (transB weights transposed once at
//     load; alpha folded into the activation scale; beta into the bias):
//     engine Gemm. Gemm with transA, or transB on an activation, stays on
//     the host (transposing activations has no engine op).
//   - Biases: an int32 DQ whose scale is the accumulator's (x_scale *
//     w_scale, as ONNX Runtime's quantizer writes it) is added to the
//     accumulator as is. Another scale, a beta other than 1, or a float
//     bias is rounded to the accumulator scale (half to even); ONNX
//     Runtime instead adds the int32 values whatever their scale.
//   - Without a Q after it (a graph output, a float consumer), a Conv,
//     MatMul or Gemm still runs on the
//     engine with a float32 output: float32(float32(acc + bias) *
//     float32(x_scale*w_scale[c])) + float_bias[c] - as ONNX Runtime's
//     MatMulIntegerToFloat does for MatMul.
//   - Relu and Clip before the Q: Q(clip(v, a, b)) = clamp(Q(v), Q(a),
//     Q(b)) exactly, since Q is monotone. When Q(a) <= qmin and Q(b) >=
//     qmax the activation is implied by the output range and dropped -
//     ONNX Runtime's rule (IsClipMadeRedundantByQ; a Relu when the zero
//     point is qmin). When Q(a) is the zero point and Q(b) >= qmax it is a
//     ReLU on the quantized output: fused into a Conv's or Gemm's epilogue,
//     else the engine's ReLU op. Any other clamp is an engine Lookup on
//     the quantized output. ONNX Runtime runs the activations it cannot
//     drop as float kernels between a DQ and a Q, with the same result.
//   - Add and Mul of two quantized tensors of one shape and type, into the
//     Q's type: engine Add and Mul (+ ReLU). A constant operand of another
//     shape (numpy broadcasting: a bias) or type is expanded and converted
//     (int8 <-> uint8 shifts values and zero point by 128, exactly) once
//     at load. ONNX Runtime's QLinearAdd broadcasts in its kernel.
//   - Elementwise float ops between a DQ and a Q (Sigmoid, Tanh,
//     HardSigmoid, HardSwish, Gelu, Erf, LeakyRelu, Elu, Exp, ... and a
//     Relu or Clip whose parameters differ from its input's): one engine
//     Lookup whose 256-entry table Q_out(f(DQ_in(q))) is computed once at
//     load with package graph's f - the QDQ graph's own arithmetic, so the
//     result is exactly the float graph's. ONNX Runtime has such tables
//     for Sigmoid and LeakyRelu (QLinearSigmoid, QLinearLeakyRelu) and
//     runs the other ops in float.
//   - DQ -> Q: a view (equal params) or a Lookup Q_out(DQ_in(q)); ONNX
//     Runtime drops such pairs only when the parameters are equal.
//   - Concat of DQ outputs into a Q: the engine's Concat, which copies the
//     inputs quantized like the output and takes the others through
//     Q_out(DQ_in(q)), as ONNX Runtime's QLinearConcat does.
//   - MaxPool (2-D; ceil_mode becomes extra end padding, which never wins
//     a max): engine MaxPool, exact, plus a Lookup when the Q's
//     parameters differ from the input's (ONNX Runtime keeps that case in
//     float; the result is the same).
//   - AveragePool and GlobalAveragePool (2-D): when every window has the
//     same divisor k (no padding, or count_include_pad) the average is a
//     depthwise engine Conv with a kernel of ones and weight scale 1/k:
//     one rounding into the Q's parameters, like ONNX Runtime's
//     QLinearAveragePool and QLinearGlobalAveragePool. Otherwise the
//     engine's AvgPool (the exact integer mean in the input's parameters,
//     ties to even) followed by a Lookup when the parameters differ: two
//     roundings, so the result may be off by up to half an input unit
//     (in output units) more than one rounding would be. An AveragePool
//     whose ceil_mode adds a window stays on the host.
//   - Blocked low-bit weights: ONNX Runtime's com.microsoft MatMulNBits
//     with constant B, scales, zero points and bias, and a MatMul of float
//     activations with an opset 21 DequantizeLinear of constant int4,
//     uint4, int8 or uint8 weights [K, N] in blocks along K (transposed
//     once at load; 4-bit storage when the values fit) - the pattern ONNX
//     Runtime's DQMatMulToMatMulNBits fuses: engine MatMulNBits
//     (docs/semantics.md), float32 in and out; accuracy_level 4 takes the
//     int8-activation mode. A quantized activation is dequantized on the
//     engine first. MatMulNBits computes its own summation order: the
//     blocked MatMul's result differs from the float graph's by float
//     rounding (package graph's MatMulNBits kernel computes the engine's
//     formula, so that node gives the same bytes on the host).
//   - A Q of a graph input (or of a float engine result): engine Quantize
//     of the uploaded float32 tensor. A DQ that makes a graph output:
//     engine Dequantize.
//
// QOperator models lower the same way, their parameters read from the
// nodes' inputs: QLinearConv and ConvInteger (engine Conv, quantized or
// int32 output), QLinearMatMul and MatMulInteger (engine Gemm; constant
// zero points, per row or column), com.microsoft QGemm (alpha folded into
// the activation scale, C as the bias when it is one value per column,
// float32 output without y_scale), QLinearAdd and QLinearMul, QLinear-
// AveragePool and QLinearGlobalAveragePool (when the divisor is constant),
// QLinearConcat (engine Concat), QLinearSigmoid and QLinearLeakyRelu
// (Lookup), and Flatten, Reshape, Squeeze, Unsqueeze of quantized data
// (views). Package graph's reference kernels for these ops compute the
// same formulas, so a QOperator model gives the same bytes whether a node
// runs on the engine or, after a refusal, on the host.
//
// # Runs
//
// The engine ops of consecutive lowered steps are recorded into one
// engine Batch - one submission - which ends only when a host node needs
// one of its results (a download); host results that engine ops read are
// uploaded with their quantization parameters. A fully lowered model is
// one submission per inference (Plan.Submissions). The batches are
// recorded once per executor, on device activations the executor
// allocates once: a Run writes its inputs into the executor's input
// tensors (engine.Engine.Write), runs the recorded batches and downloads
// the outputs. Concurrent Runs use executors of their own; the weights
// are shared read-only. Before a Model is returned, every engine step is
// recorded once on empty tensors (the trial): an op the engine or backend
// refuses (an accumulator that could overflow, an op a GPU driver cannot
// run) moves its node to the host, with the engine's error as the reason.
//
// # Layouts
//
// ONNX activations are NCHW. On the device, a 4-D quantized value that
// only convolutions, pools and elementwise engine ops make and read is
// stored channels-last (engine.NHWC) instead: the convolution that reads
// the graph's NCHW data writes NHWC, and the one (or the pool) whose
// result leaves such a chain - for a host node, a graph output, a Gemm,
// a view - writes NCHW again, so the CPU backend's kernels change no
// layout between layers (the layers of MobileNetV2 and ResNet-50 all stay
// channels-last). Layouts only move elements: the outputs are the same
// bytes either way (Options.NCHW keeps the graph's layout throughout), on
// every backend. Plan names the layouts of each op that has them
// ("Conv(uint8,int8->uint8,NCHW->NHWC)").
//
// # Exactness
//
// Engine ops compute docs/semantics.md's integer formulas: they are not
// the float graph's numbers. For a Conv, say, the QDQ graph's real result
// is v = acc * x_scale * w_scale / y_scale (acc the exact integer sum);
// the engine rounds float32(acc) * M once (M = float32(x_scale*w_scale) /
// y_scale), a float interpreter of the QDQ graph rounds a float32
// convolution of dequantized values. Both are rint(v) except where v lies
// within their rounding errors of a half-integer, where they may differ by
// one unit of the output scale; the tests assert exactly that rule
// against v computed from integers, and the engine results bit for bit
// against the formulas.
package model
