#!/usr/bin/python3
"""gen_qdq.py: writes the QDQ form of a float ONNX model the way ONNX
Runtime's static quantizer does (onnxruntime.quantization.quantize_static
with quant_format=QuantFormat.QDQ, calibrate_method=MinMax), without ONNX
Runtime: calibration runs in numpy (onnx_np.py). It is a test oracle
independent of qgpu (it imports nothing from qgpu).

    /usr/bin/python3 gen_qdq.py --model F.onnx --calib X.npy [--calib NAME=Y.npy] \\
        --out Q.onnx [--per-channel] [--activation-type uint8|int8] \\
        [--op-types Conv,MatMul,...] [--exclude NODE,...] [--report R.json] [--ranges C.json]

--calib files are float32 .npy batches of the first graph input (NAME=FILE
for other inputs), split along axis 0 into runs of the model's static batch
size (--batch overrides); the minimum and maximum of every calibrated tensor
are taken over all runs, like ORT's MinMax calibrator over a data reader.
--ranges C.json saves the calibrated ranges, or reuses them when C.json
exists (another form of the same model without calibrating again).
--report writes a JSON summary: every quantized tensor with its range,
scale and zero point, the Relu/Clip nodes removed and the ops left in float.

What it reproduces of ORT's quantizer (read from onnxruntime/python/tools/
quantization: quantize.py, qdq_quantizer.py, base_quantizer.py,
quant_utils.py, calibrate.py, registry.py and operators/*.py; ORT 1.2x):

* Defaults of quantize_static as the runtime's users call it for x86 CPUs:
  activations uint8 asymmetric (ORT's own quantize_static default is QInt8;
  --activation-type int8 gives that), weights int8 symmetric, per-tensor
  unless --per-channel, reduce_range off, MinMax calibration, no moving
  average, no tensor overrides, QuantizeBias on, AddQDQPairToWeight off,
  DedicatedQDQPair off, ForceQuantizeNoInputCheck off,
  QDQKeepRemovableActivations off, weight adjustment for int32 bias on.
* Which ops are quantized: the union of ORT's QLinearOpsRegistry and
  QDQRegistry keys (DEFAULT_OP_TYPES below): Conv, ConvTranspose, Gemm,
  MatMul, Add, Mul, Relu, Clip, LeakyRelu, Sigmoid, MaxPool,
  GlobalAveragePool, AveragePool, Concat, Softmax, Reshape, Transpose,
  Squeeze, Unsqueeze, Slice, Split, Pad, Resize, Gather, GatherElements,
  Where, ArgMax, InstanceNormalization, LayerNormalization,
  BatchNormalization, EmbedLayerNormalization. Everything else (Flatten,
  Div, Sub, Erf, HardSigmoid, HardSwish, ReduceMean, Pow, Sqrt, Identity,
  Shape, ...) stays float and reads/writes dequantized values. ORT has no
  Flatten quantizer: Flatten sits between GlobalAveragePool's DQ and the
  Gemm input's Q, whose ranges are equal (same data), so the scales match
  and ORT's graph optimizer drops the pair at load.
* Per op, as ORT's op quantizers mark tensors:
  - Conv/ConvTranspose (QDQConv), Gemm (QDQGemm): input 0 and output as
    activations, input 1 as weight (per-channel axis 0 for Conv, 1 for
    ConvTranspose, 0 for Gemm with transB=1 else 1), input 2 (if an
    initializer) as int32 bias with scale = input scale x weight scale
    (x Gemm's beta, which is then set to 1) and zero point 0
    (quantize_bias_static: round(bias / scale) in float64, clipped to
    int32).
  - MatMul (QDQMatMul): initializer inputs as weights (per-channel axis 1),
    other inputs and the output as activations.
  - Relu, Clip (QDQRemovableActivation): kept in float when their input is
    not quantized; otherwise, with asymmetric activations, the node is
    removed and its producer writes the Relu/Clip output directly when the
    producer's output has this node as its only consumer and is neither a
    graph input nor a graph output (try_replacing_upstream_output). The
    clamp is then done by the Q of that output, whose range comes from the
    calibrated *output* of the Relu/Clip (min >= 0, so zero point 0 for
    Relu; at most the Clip bounds): ORT does not look at Clip's min/max
    values. Before any of this (adjust_tensor_ranges), a Relu/Clip input
    with a single consumer takes the output's range.
  - Softmax: output range forced to [0, 1].
  - Reshape, Transpose, Squeeze, Unsqueeze, Slice, AveragePool, MaxPool
    (opset >= 12), Resize (opset >= 11) (QDQDirect8BitOp): only if the
    input is already marked; then the output is quantized with the input's
    scale and zero point (same initializers); the input is not marked by
    them. AveragePool therefore shares its input's qparams.
  - Split: input, and outputs sharing the input's qparams. Pad: all inputs;
    the output shares input 0's qparams for reflect/edge/wrap or a zero
    constant. Gather: outputs share input 0's. Where: output when inputs 1
    and 2 are marked. Norms: input 0 and outputs as activations, scale as
    weight, bias as int32 bias.
  - All other quantized ops (QDQOperatorBase): every input and output as an
    activation; a float initializer input of such an op (e.g. the bias of
    an Add after a MatMul) is quantized like an activation (uint8
    asymmetric from its own min/max) and stored quantized with a DQ.
* Calibration (MinMaxCalibrater): every float, non-initializer input and
  output of a node whose op type is in the op set; per tensor min and max
  over all calibration runs.
* Scale and zero point (compute_scale_zp): the range is made to include 0
  (rmin = min(rmin, 0), rmax = max(rmax, 0)); symmetric: rmax = -rmin =
  max(|rmin|, |rmax|) over qmin..qmax = -127..127 (int8; zero point
  round((qmin+qmax)/2) = 0); asymmetric: 0..255 (uint8) or -128..127 (int8),
  scale = float64(float32(rmax - rmin)) / (qmax - qmin),
  zero point = round(qmin - rmin / scale) (numpy round: half to even), scale
  stored as float32; a scale below float32's smallest normal becomes 1.0
  with zero point 0.
* Weights (quantize_nparray): q = clip(round(float32(w) / scale) + zp,
  qmin, qmax) in float32 arithmetic, over the full type range (-128..127:
  a symmetric weight never reaches -128); per channel each slice along the
  axis gets its own symmetric scale. Int32 bias adjustment
  (_adjust_weight_scale_for_int32_bias): when input scale x weight scale is
  below 1.0001 x 2 max|bias| / (2^32 - 2), the weight scale is raised to
  make the bias fit int32.
* Graph form: activations get Q -> DQ with initializers <t>_scale (float32,
  shape []) and <t>_zero_point (shape []), nodes <t>_QuantizeLinear and
  <t>_DequantizeLinear, the DQ output <t>_DequantizeLinear_Output feeding
  every consumer of <t>; a graph output keeps its name on the DQ output and
  its producer writes <t>_QuantizeLinear_Input. Weights are stored as
  <w>_quantized (int8) with <w>_scale/<w>_zero_point (shape [] or [C] with
  axis) and one DQ; a bias as <b>_quantized (int32) with
  <b>_quantized_scale (shape [1], or [C]) and <b>_quantized_zero_point
  (shape [], or [C]) and a DQ writing <b>. Unused float initializers are
  removed. One Q/DQ pair per tensor, shared by all consumers.

Where it differs from ORT:

* Calibration runs in numpy in float64 (ORT runs the float model in ORT,
  float32), so a range can differ from ORT's in its last bits; the
  activations are rounded to float32 only at the min/max.
* The per-tensor bias scale is the float32 product of the two float32
  scales (numpy >= 2 arithmetic, which ORT's current wheels use, and the
  value stored in the DQ); under numpy 1.x ORT's multiplication by beta
  promotes it to float64 before rounding the bias.
* No ORT pre-processing (quant_pre_process / symbolic shape inference);
  types come from onnx.shape_inference. Nodes are ordered by a stable
  topological sort of our own, value_info is dropped (re-inferred by any
  reader), producer_name is "qgpu-gen_qdq". Options ORT has and this lacks:
  percentile/entropy/distribution calibration, moving average, reduce_range,
  tensor overrides, 16/4-bit types, dedicated QDQ pairs, subgraphs.
* Opset must be >= 13 (ORT accepts 10+, per-channel needs 13).

Deterministic: the same model and calibration files give byte-identical
output (BLAS is pinned to one thread; see onnx_np.py for the float64 note).
"""
import argparse
import collections
import heapq
import json
import os
import sys

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

sys.dont_write_bytecode = True  # no __pycache__ beside the fixtures
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import onnx_np  # noqa: E402

# ORT's registry.py: QLinearOpsRegistry (with CommonOpsRegistry) and QDQRegistry keys.
QLINEAR_OPS = ["ArgMax", "Conv", "Gemm", "MatMul", "Add", "Mul", "Relu", "Clip", "LeakyRelu", "Sigmoid",
               "MaxPool", "GlobalAveragePool", "Split", "Pad", "Reshape", "Squeeze", "Unsqueeze", "Resize",
               "AveragePool", "Concat", "Softmax", "Where", "Gather", "Transpose", "EmbedLayerNormalization"]
QDQ_OPS = ["Conv", "ConvTranspose", "Gemm", "Clip", "Relu", "Reshape", "Transpose", "Squeeze", "Unsqueeze",
           "Resize", "MaxPool", "AveragePool", "Slice", "Pad", "MatMul", "Split", "Gather", "GatherElements",
           "Where", "InstanceNormalization", "LayerNormalization", "BatchNormalization"]
DEFAULT_OP_TYPES = sorted(set(QLINEAR_OPS) | set(QDQ_OPS))

ACT, WEIGHT = "activation", "weight"
FLOAT_TYPES = (TensorProto.FLOAT, TensorProto.FLOAT16)
NP_OF = {TensorProto.UINT8: np.uint8, TensorProto.INT8: np.int8}
FULL_RANGE = {TensorProto.UINT8: (0, 255), TensorProto.INT8: (-128, 127)}
SYM_RANGE = {TensorProto.UINT8: (0, 254), TensorProto.INT8: (-127, 127)}


def warn(msg):
    print(f"gen_qdq: warning: {msg}", file=sys.stderr)


# ---------------------------------------------------------------- qparams


def compute_scale_zp(rmin, rmax, qtype, symmetric):
    """(zero_point, scale) for [rmin, rmax] (float32), ORT's compute_scale_zp."""
    qmin, qmax = (SYM_RANGE if symmetric else FULL_RANGE)[qtype]
    rmin = np.minimum(np.float32(rmin), np.float32(0))
    rmax = np.maximum(np.float32(rmax), np.float32(0))
    if symmetric:
        absmax = np.maximum(np.abs(rmin), np.abs(rmax))
        rmin, rmax = -absmax, absmax
    dr = np.float64(np.float32(rmax - rmin))
    scale = dr / (np.float64(qmax) - np.float64(qmin))
    if scale < np.finfo(np.float32).tiny:
        return NP_OF[qtype](0), np.float32(1.0)
    if symmetric:
        zp = np.round((qmin + qmax) / np.float64(2.0))
    else:
        zp = np.round(np.float64(qmin) - np.float64(rmin) / scale)
    return NP_OF[qtype](zp), np.float32(scale)


def quantize_array(qtype, data, scale, zp):
    """ORT's quantize_nparray: float32 divide, round half to even, add the
    zero point, clip to the full type range."""
    q = (data.astype(np.float32) / np.float32(scale)).round() + np.float32(zp)
    lo, hi = FULL_RANGE[qtype]
    return np.clip(q, lo, hi).astype(NP_OF[qtype])


def data_scale_zp(data, qtype, symmetric):
    if data.size == 0:
        return NP_OF[qtype](0), np.float32(1.0)
    return compute_scale_zp(data.min(), data.max(), qtype, symmetric)


# ------------------------------------------------------------ calibration


def tensors_to_calibrate(model, op_types):
    """ORT MinMaxCalibrater.select_tensors_to_calibrate."""
    g = model.graph
    vis = {vi.name: vi for vi in g.value_info}
    vis.update({o.name: o for o in g.output})
    vis.update({i.name: i for i in g.input})
    inits = {t.name for t in g.initializer}
    out = set()
    for node in g.node:
        if node.op_type not in op_types:
            continue
        for name in list(node.input) + list(node.output):
            vi = vis.get(name)
            if vi is not None and vi.type.HasField("tensor_type") and \
                    vi.type.tensor_type.elem_type in FLOAT_TYPES and name not in inits:
                out.add(name)
    return out


def calibrate(model, batches, op_types):
    """Min and max (float32) of every calibrated tensor over all runs."""
    want = tensors_to_calibrate(model, op_types)
    g = onnx_np.Graph(model)
    lo, hi = {}, {}

    def observe(name, v):
        if name in want and v.size:
            a, b = v.min(), v.max()
            lo[name] = a if name not in lo else min(lo[name], a)
            hi[name] = b if name not in hi else max(hi[name], b)

    for feeds in batches:
        g.run(feeds, observe)
    return {n: (np.float32(lo[n]), np.float32(hi[n])) for n in sorted(lo)}


def split_batches(model, calib, batch=None):
    """calib: name -> array (N on axis 0). Returns a list of feed dicts, one
    per run of the model's static batch size (or `batch`)."""
    g = model.graph
    inits = {t.name for t in g.initializer}
    sizes = {}
    for i in g.input:
        if i.name in inits:
            continue
        dims = i.type.tensor_type.shape.dim
        sizes[i.name] = dims[0].dim_value if dims and dims[0].HasField("dim_value") else 0
    n = {len(v) for v in calib.values()}
    if len(n) != 1:
        raise SystemExit("gen_qdq: calibration inputs have different sample counts")
    n = n.pop()
    b = batch or max((sizes.get(k, 0) for k in calib), default=0) or n
    if n % b:
        raise SystemExit(f"gen_qdq: {n} calibration samples are not a multiple of the batch size {b}")
    return [{k: v[i:i + b] for k, v in calib.items()} for i in range(0, n, b)]


# ------------------------------------------------------------- quantizer


class Info:
    def __init__(self, kind, axis=None, provider=None):
        self.kind, self.axis, self.provider = kind, axis, provider


class QDQGen:
    def __init__(self, model, ranges, per_channel=False, act_type=TensorProto.UINT8, op_types=None,
                 exclude=()):
        self.model = model
        g = model.graph
        self.opset = next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx"))
        self.value_infos = {vi.name: vi for vi in g.value_info}
        self.value_infos.update({o.name: o for o in g.output})
        self.value_infos.update({i.name: i for i in g.input})
        self.graph_inputs = {i.name for i in g.input}
        self.graph_outputs = {o.name for o in g.output}
        self.nodes = list(g.node)
        self.inits = collections.OrderedDict((t.name, t) for t in g.initializer)
        self.ranges = dict(ranges)
        self.per_channel = per_channel
        self.act_type = act_type
        self.op_types = set(op_types or DEFAULT_OP_TYPES)
        self.exclude = set(exclude)
        self.tensors = collections.OrderedDict()  # tensors_to_quantize
        self.biases = collections.OrderedDict()  # bias -> (node, input, weight, beta)
        self.to_remove = []
        self.qvalues = {}  # quantized_value_map: name -> (scale init name, zp init name)
        self.report = collections.OrderedDict()

    # graph helpers
    def consumers(self, name):
        return [n for n in self.nodes if name in n.input]

    def replace_output(self, old, new):
        for n in self.nodes:
            for i, o in enumerate(n.output):
                if o == old:
                    n.output[i] = new

    def replace_input(self, old, new):
        for n in self.nodes:
            for i, x in enumerate(n.input):
                if x == old:
                    n.input[i] = new

    def add_init(self, t):
        self.inits[t.name] = t

    def should_quantize(self, node):
        return node.op_type in self.op_types and node.name not in self.exclude

    # marking (ORT's __quantize_tensor and friends)
    def quantizable(self, name):
        if name in self.inits:
            return self.inits[name].data_type in FLOAT_TYPES
        vi = self.value_infos.get(name)
        if vi is not None:
            return vi.type.HasField("tensor_type") and vi.type.tensor_type.elem_type in FLOAT_TYPES
        if name:
            warn(f"failed to infer the type of tensor {name!r}; not quantized")
        return False

    def mark(self, name, kind=ACT, provider=None):
        if not self.quantizable(name):
            return
        if provider is not None:
            self.tensors[name] = Info(kind, provider=provider)
        elif name not in self.tensors:
            self.tensors[name] = Info(kind)

    def mark_same_as_input(self, output, input_name, node):
        self.mark(output, ACT, provider=(input_name, node.name))

    def mark_weight(self, name, default_axis):
        pc, axis = self.per_channel_axis(name, default_axis)
        if pc:
            t = self.inits.get(name)
            if t is not None and t.data_type in FLOAT_TYPES:
                self.tensors[name] = Info(WEIGHT, axis=axis)
        else:
            self.mark(name, WEIGHT)

    def per_channel_axis(self, name, default_axis):
        t = self.inits.get(name)
        if t is None or not self.per_channel:
            return False, None
        rank = len(t.dims)
        axis = default_axis + rank if default_axis < 0 else default_axis
        if not 0 <= axis < rank:
            warn(f"axis {default_axis} is out of range for weight {name!r} of rank {rank}")
            return False, None
        return True, axis

    def marked(self, name):
        return name in self.tensors or name in self.biases

    def mark_bias(self, node, bias, input_name, weight, beta=1.0):
        t = self.inits.get(bias)
        if t is None:
            warn(f"expected bias {bias!r} to be an initializer")
            return
        if t.data_type not in FLOAT_TYPES:
            return
        name = bias
        if bias in self.biases:
            # consumed by two nodes: each gets its own copy (ORT's _dup_initializer)
            suffix = 0
            while f"{bias}{suffix}" in self.inits:
                suffix += 1
            dup = TensorProto()
            dup.CopyFrom(t)
            dup.name = f"{bias}{suffix}"
            self.add_init(dup)
            name = dup.name
            for i, x in enumerate(node.input):
                if x == bias:
                    node.input[i] = name
        self.biases[name] = (node.name, input_name, weight, beta)

    # per-op quantizers (ORT's operators/*.py, QDQ variants)
    def q_base(self, node):
        for name in list(node.input) + list(node.output):
            self.mark(name)

    def q_conv(self, node):
        self.mark(node.input[0])
        self.mark(node.output[0])
        self.mark_weight(node.input[1], 0 if node.op_type == "Conv" else 1)
        if len(node.input) == 3:
            self.mark_bias(node, node.input[2], node.input[0], node.input[1])

    def q_gemm(self, node):
        self.mark(node.input[0])
        self.mark(node.output[0])
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        self.mark_weight(node.input[1], 0 if trans_b else 1)
        if len(node.input) == 3:
            if node.input[2] in self.inits:
                beta = next((a.f for a in node.attribute if a.name == "beta"), 1.0)
                self.mark_bias(node, node.input[2], node.input[0], node.input[1], beta)
                for a in node.attribute:
                    if a.name == "beta":
                        a.f = 1.0
            else:
                warn(f"bias of Gemm node {node.name!r} is not constant; it stays float")

    def q_matmul(self, node):
        for name in list(node.input) + list(node.output):
            if name in self.inits:
                self.mark_weight(name, 1)
            else:
                self.mark(name)

    def q_removable(self, node):
        if not self.marked(node.input[0]):
            return
        if self.act_symmetric() or not self.replace_upstream(node.input[0], node.output[0]):
            self.mark(node.input[0])
        else:
            self.to_remove.append(node)
        self.mark(node.output[0])

    def q_direct8(self, node):
        if (node.op_type == "MaxPool" and self.opset < 12) or (node.op_type == "Resize" and self.opset < 11):
            return
        if self.marked(node.input[0]):
            self.mark_same_as_input(node.output[0], node.input[0], node)

    def q_split(self, node):
        if not self.marked(node.input[0]):
            self.mark(node.input[0])
        for out in node.output:
            self.mark_same_as_input(out, node.input[0], node)

    def q_pad(self, node):
        for name in node.input:
            if name:
                self.mark(name)
        mode = next((a.s for a in node.attribute if a.name == "mode"), b"constant")
        same = mode in (b"reflect", b"edge", b"wrap")
        if mode == b"constant":
            if len(node.input) >= 3 and node.input[2]:
                t = self.inits.get(node.input[2])
                same = t is not None and t.data_type in FLOAT_TYPES and \
                    float(numpy_helper.to_array(t).ravel()[0]) == 0.0
            else:
                same = True
        if same:
            self.mark_same_as_input(node.output[0], node.input[0], node)
        else:
            self.mark(node.output[0])

    def q_gather(self, node):
        if node.input[0] in self.inits and self.inits[node.input[0]].data_type in FLOAT_TYPES:
            self.mark(node.input[0])
            self.mark_same_as_input(node.output[0], node.input[0], node)
        elif self.marked(node.input[0]):
            self.mark_same_as_input(node.output[0], node.input[0], node)

    def q_where(self, node):
        if self.marked(node.input[1]) and self.marked(node.input[2]):
            for out in node.output:
                self.mark(out)

    def q_norm(self, node):
        self.mark(node.input[0])
        pc, axis = self.per_channel_axis(node.input[1], 1)
        if pc:
            self.tensors[node.input[1]] = Info(WEIGHT, axis=axis)
        elif node.input[1] in self.inits:
            self.mark(node.input[1], WEIGHT)
        else:
            self.mark(node.input[1])
        if len(node.input) > 2 and node.input[2]:
            self.mark_bias(node, node.input[2], node.input[0], node.input[1])
        for out in node.output:
            self.mark(out)

    HANDLERS = {
        "Conv": q_conv, "ConvTranspose": q_conv, "Gemm": q_gemm, "MatMul": q_matmul,
        "Clip": q_removable, "Relu": q_removable,
        "Reshape": q_direct8, "Transpose": q_direct8, "Squeeze": q_direct8, "Unsqueeze": q_direct8,
        "Resize": q_direct8, "MaxPool": q_direct8, "AveragePool": q_direct8, "Slice": q_direct8,
        "Pad": q_pad, "Split": q_split, "Gather": q_gather, "GatherElements": q_gather, "Where": q_where,
        "InstanceNormalization": q_norm, "LayerNormalization": q_norm, "BatchNormalization": q_norm,
    }

    def act_symmetric(self):
        return False  # ORT's ActivationSymmetric default

    def replace_upstream(self, upstream, output):
        """ORT's try_replacing_upstream_output."""
        if output in self.qparams and len(self.consumers(upstream)) == 1 and \
                upstream not in self.graph_outputs and upstream not in self.graph_inputs:
            self.replace_output(upstream, output)
            self.tensors.pop(upstream, None)
            return True
        return False

    # ranges and qparams
    def adjust_tensor_ranges(self):
        for node in self.nodes:
            if node.op_type in ("Clip", "Relu"):
                if not self.should_quantize(node) or len(self.consumers(node.input[0])) != 1:
                    continue
                if node.input[0] in self.ranges and node.output[0] in self.ranges:
                    self.ranges[node.input[0]] = self.ranges[node.output[0]]
            elif node.op_type == "Softmax" and self.should_quantize(node):
                self.ranges[node.output[0]] = (np.float32(0.0), np.float32(1.0))

    def initializer_params(self):
        params = collections.OrderedDict()
        for name, info in self.tensors.items():
            t = self.inits.get(name)
            if t is None:
                continue
            data = numpy_helper.to_array(t)
            is_weight = info.kind == WEIGHT
            qtype = TensorProto.INT8 if is_weight else self.act_type
            symmetric = info.axis is not None or (is_weight or self.act_symmetric())
            if info.axis is None:
                zp, scale = data_scale_zp(data.ravel(), qtype, symmetric)
            else:
                zps, scales = [], []
                for i in range(data.shape[info.axis]):
                    z, s = data_scale_zp(np.take(data, i, axis=info.axis).ravel(), qtype, symmetric)
                    zps.append(z)
                    scales.append(s)
                zp, scale = np.array(zps, dtype=NP_OF[qtype]), np.array(scales, dtype=np.float32)
            params[name] = {"qtype": qtype, "zp": zp, "scale": scale, "axis": info.axis}
        return params

    def adjust_weights_for_bias(self, iparams):
        """ORT's _adjust_weight_quant_params_for_bias_tensors."""
        qrange = np.float64(np.iinfo(np.int32).max) - np.float64(np.iinfo(np.int32).min + 1)
        for bias, (_, input_name, weight, _) in self.biases.items():
            if input_name not in self.qparams or input_name not in self.tensors or weight not in iparams:
                continue
            wp = iparams[weight]
            if wp["qtype"] != TensorProto.INT8 or np.any(wp["zp"]):
                continue
            in_scale = np.float64(self.qparams[input_name][1])
            b = numpy_helper.to_array(self.inits[bias])
            if wp["axis"] is None:
                absmax = max(abs(min(np.float64(b.min()), 0.0)), abs(max(np.float64(b.max()), 0.0)))
                smallest = 1.0001 * (2.0 * absmax) / qrange
                cand = in_scale * np.float64(wp["scale"])
                if 0.0 < cand < smallest:
                    wp["scale"] = np.float32(np.float64(wp["scale"]) * (smallest / cand))
                    warn(f"raised the scale of weight {weight!r} for the int32 bias {bias!r}")
            else:
                for i in range(len(wp["scale"])):
                    smallest = 1.0001 * (2.0 * abs(np.float64(b[i]))) / qrange
                    cand = in_scale * np.float64(wp["scale"][i])
                    if 0.0 < cand < smallest:
                        wp["scale"][i] = np.float32(np.float64(wp["scale"][i]) * (smallest / cand))
                        warn(f"raised the scale of weight {weight!r} channel {i} for the int32 bias {bias!r}")

    # graph rewriting
    def scale_zp_inits(self, name, qtype, scale, zp):
        s = helper.make_tensor(name + "_scale", TensorProto.FLOAT, list(np.shape(scale)),
                               np.asarray(scale, dtype=np.float32).ravel().tolist())
        z = helper.make_tensor(name + "_zero_point", qtype, list(np.shape(zp)),
                               np.asarray(zp).ravel().tolist())
        self.add_init(z)
        self.add_init(s)
        return s.name, z.name

    def add_qdq_pair(self, name, scale, zp):
        q_in, dq_out = name, name + "_DequantizeLinear_Output"
        if name in self.graph_outputs:
            q_in, dq_out = name + "_QuantizeLinear_Input", name
            self.replace_output(name, q_in)
        else:
            self.replace_input(name, dq_out)
        q_out = name + "_QuantizeLinear_Output"
        self.nodes.append(helper.make_node("QuantizeLinear", [q_in, scale, zp], [q_out], name + "_QuantizeLinear"))
        self.nodes.append(helper.make_node("DequantizeLinear", [q_out, scale, zp], [dq_out],
                                           name + "_DequantizeLinear"))
        self.qvalues[name] = (scale, zp)

    def add_weight_dq(self, name, p):
        scale, zp = self.scale_zp_inits(name, p["qtype"], p["scale"], p["zp"])
        w = numpy_helper.to_array(self.inits[name])
        if p["axis"] is None:
            q = quantize_array(p["qtype"], w.ravel(), p["scale"], p["zp"]).reshape(w.shape)
        else:
            q = np.stack([quantize_array(p["qtype"], np.take(w, i, axis=p["axis"]), p["scale"][i], p["zp"][i])
                          for i in range(w.shape[p["axis"]])], axis=p["axis"])
        qt = numpy_helper.from_array(q.astype(NP_OF[p["qtype"]]), name + "_quantized")
        self.add_init(qt)
        out = name + "_DequantizeLinear_Output"
        self.replace_input(name, out)
        self.nodes.append(helper.make_node("DequantizeLinear", [qt.name, scale, zp], [out], name + "_DequantizeLinear",
                                           axis=p["axis"]))
        self.qvalues[name] = (scale, zp)

    def quantize_normal(self, iparams):
        for name, info in list(self.tensors.items()):
            if name in self.qvalues or info.provider is not None:
                continue
            if name in self.inits:
                self.add_weight_dq(name, iparams[name])
                p = iparams[name]
                self.note(name, info.kind, p["qtype"], p["scale"], p["zp"], p["axis"])
            else:
                if name not in self.qparams:
                    raise SystemExit(f"gen_qdq: no calibrated range for tensor {name!r}")
                zp, scale = self.qparams[name][0], self.qparams[name][1]
                s, z = self.scale_zp_inits(name, self.act_type, scale, zp)
                self.add_qdq_pair(name, s, z)
                self.note(name, ACT, self.act_type, scale, zp, None, self.ranges[name])
            del self.tensors[name]

    def quantize_shared(self):
        while self.tensors:
            progress = False
            for name, info in list(self.tensors.items()):
                src = info.provider[0] if info.provider else None
                if src is not None and src in self.qvalues:
                    del self.tensors[name]
                    if name in self.inits:
                        raise SystemExit(f"gen_qdq: shared quantization parameters for initializer {name!r}")
                    s, z = self.qvalues[src]
                    self.add_qdq_pair(name, s, z)
                    self.report[name] = dict(self.report[src], shared_with=src)
                    self.report[name].pop("range", None)
                    progress = True
            if not progress:
                raise SystemExit(f"gen_qdq: cannot quantize {list(self.tensors)} (their inputs are not quantized)")

    def init_value(self, name):
        return numpy_helper.to_array(self.inits[name])

    def quantize_biases(self):
        for bias, (_, input_name, weight, beta) in self.biases.items():
            if bias in self.qvalues:
                continue
            w_scale = self.init_value(self.qvalues[weight][0]).astype(np.float32)
            in_scale = self.init_value(self.qvalues[input_name][0]).astype(np.float32)
            b = numpy_helper.to_array(self.inits[bias])
            bscale = (in_scale * w_scale).astype(np.float32) * np.float32(beta)
            q = np.round(b.astype(np.float64) / bscale.astype(np.float64))
            lo, hi = np.float64(np.iinfo(np.int32).min), np.float64(np.iinfo(np.int32).max)
            if np.any(q < lo) or np.any(q > hi):
                warn(f"quantized bias {bias!r} exceeds the int32 range")
            q = np.clip(q, lo, hi).astype(np.int32).reshape(b.shape)
            qname = bias + "_quantized"
            self.add_init(numpy_helper.from_array(q, qname))
            sdata = np.asarray(bscale, dtype=np.float32).reshape(-1)
            self.add_init(numpy_helper.from_array(sdata, qname + "_scale"))
            if sdata.size > 1:
                self.add_init(numpy_helper.from_array(np.zeros(sdata.shape, dtype=np.int32), qname + "_zero_point"))
            else:
                self.add_init(helper.make_tensor(qname + "_zero_point", TensorProto.INT32, [], [0]))
            del self.inits[bias]
            axis = 0 if sdata.size > 1 else None
            self.nodes.append(helper.make_node("DequantizeLinear", [qname, qname + "_scale", qname + "_zero_point"],
                                               [bias], bias + "_DequantizeLinear", axis=axis))
            self.qvalues[bias] = (qname + "_scale", qname + "_zero_point")
            self.note(bias, "bias", TensorProto.INT32, sdata if sdata.size > 1 else sdata[0],
                      np.int32(0) if sdata.size == 1 else np.zeros(sdata.size, dtype=np.int32), axis)

    def note(self, name, kind, qtype, scale, zp, axis, rng=None):
        r = collections.OrderedDict(kind=kind, type=TensorProto.DataType.Name(qtype))
        r["scale"] = np.asarray(scale, dtype=np.float32).tolist()
        r["zero_point"] = np.asarray(zp).tolist()
        if axis is not None:
            r["axis"] = int(axis)
        if rng is not None:
            r["range"] = [float(rng[0]), float(rng[1])]
        self.report[name] = r

    def quantize(self):
        self.adjust_tensor_ranges()
        # calc_graph_quant_params: (zero point, scale) of every calibrated tensor
        self.qparams = {n: compute_scale_zp(lo, hi, self.act_type, self.act_symmetric())
                        for n, (lo, hi) in self.ranges.items()}
        for node in list(self.nodes):
            if self.should_quantize(node):
                QDQGen.HANDLERS.get(node.op_type, QDQGen.q_base)(self, node)
        iparams = self.initializer_params()
        self.adjust_weights_for_bias(iparams)
        self.quantize_normal(iparams)
        self.quantize_shared()
        self.quantize_biases()
        removed = [n.name for n in self.to_remove]
        self.nodes = [n for n in self.nodes if not any(n is r for r in self.to_remove)]
        used = {x for n in self.nodes for x in n.input} | self.graph_outputs
        for name in [k for k in self.inits if k not in used]:
            del self.inits[name]
        return removed

    def build(self):
        out = onnx.ModelProto()
        out.CopyFrom(self.model)
        g = out.graph
        del g.node[:]
        g.node.extend(toposort(self.nodes, {i.name for i in g.input} | set(self.inits)))
        del g.initializer[:]
        g.initializer.extend(self.inits.values())
        orig_inits = {t.name for t in self.model.graph.initializer}
        keep_inputs = [i for i in g.input if i.name not in orig_inits or i.name in self.inits]
        del g.input[:]
        g.input.extend(keep_inputs)
        del g.value_info[:]
        out.producer_name = "qgpu-gen_qdq"
        out.producer_version = "1"
        return out


def toposort(nodes, available):
    """Stable topological order: among ready nodes, the earliest in `nodes` first."""
    producers = {}
    for i, n in enumerate(nodes):
        for o in n.output:
            if o:
                producers[o] = i
    deps = [set() for _ in nodes]
    users = collections.defaultdict(list)
    for i, n in enumerate(nodes):
        for x in n.input:
            if x and x not in available and x in producers:
                deps[i].add(producers[x])
        for d in deps[i]:
            users[d].append(i)
    ready = [i for i, d in enumerate(deps) if not d]
    heapq.heapify(ready)
    order = []
    while ready:
        i = heapq.heappop(ready)
        order.append(nodes[i])
        for u in users[i]:
            deps[u].discard(i)
            if not deps[u]:
                heapq.heappush(ready, u)
    if len(order) != len(nodes):
        raise SystemExit("gen_qdq: the graph has a cycle")
    return order


# ------------------------------------------------------------------ API


def quantize_qdq(model, calib, per_channel=False, act_type=TensorProto.UINT8, op_types=None, exclude=(),
                 batch=None, ranges=None):
    """Returns (qdq_model, report) for a float ModelProto and calibration
    data (input name -> array with N on axis 0), or ranges (tensor name ->
    (min, max)) calibrated before (report["ranges"] of an earlier call)."""
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if opset < 13:
        raise SystemExit(f"gen_qdq: opset {opset}: 13 or later is required")
    inferred = onnx.shape_inference.infer_shapes(model)
    op_types = sorted(op_types or DEFAULT_OP_TYPES)
    runs = None
    if ranges is None:
        batches = split_batches(inferred, calib, batch)
        runs = len(batches)
        ranges = calibrate(inferred, batches, set(op_types))
    ranges = {k: (np.float32(lo), np.float32(hi)) for k, (lo, hi) in ranges.items()}
    gen = QDQGen(inferred, ranges, per_channel, act_type, op_types, exclude)
    removed = gen.quantize()
    out = gen.build()
    counts = collections.Counter(n.op_type for n in out.graph.node)
    report = collections.OrderedDict()
    report["options"] = {"per_channel": per_channel, "activation_type": TensorProto.DataType.Name(act_type),
                         "weight_type": "INT8", "calibration": "minmax", "op_types": op_types,
                         "exclude": sorted(exclude)}
    report["calibration_runs"] = runs
    report["removed_nodes"] = removed
    report["node_counts"] = dict(sorted(counts.items()))
    report["float_nodes"] = float_nodes(out)
    report["tensors"] = gen.report
    report["ranges"] = {k: [float(lo), float(hi)] for k, (lo, hi) in sorted(ranges.items())}
    return out, report


def dumps_json(obj, indent=0):
    """JSON with one key per line and lists of numbers on one line (compact
    per-channel scales, still diff-friendly)."""
    pad, inner = " " * indent, " " * (indent + 1)
    if isinstance(obj, dict):
        flat = json.dumps(obj)
        if len(flat) <= 120 and all(not isinstance(v, (dict, list, tuple)) for v in obj.values()):
            return flat
        items = [f"{inner}{json.dumps(str(k))}: {dumps_json(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in obj):
            return json.dumps(list(obj))
        return "[\n" + ",\n".join(inner + dumps_json(v, indent + 1) for v in obj) + "\n" + pad + "]"
    return json.dumps(obj)


def float_nodes(model):
    """The nodes other than Q and DQ: whether every float input that is not a
    constant comes from a DQ, and every float output goes only to Qs (a QDQ
    node unit, which ORT may fuse into an integer kernel) or not (it runs in
    float between DQ and Q)."""
    g = onnx.shape_inference.infer_shapes(model).graph
    types = {v.name: v.type.tensor_type.elem_type for v in list(g.value_info) + list(g.input) + list(g.output)}
    consts = {t.name for t in g.initializer}
    producer = {}
    users = collections.defaultdict(list)
    for n in g.node:
        for o in n.output:
            producer[o] = n
            if n.op_type == "Constant":
                consts.add(o)
        for x in n.input:
            users[x].append(n)
    outs = {o.name for o in g.output}
    res = []
    for n in g.node:
        if n.op_type in ("QuantizeLinear", "DequantizeLinear", "Constant"):
            continue
        fin = [x for x in n.input if x and x not in consts and types.get(x) in FLOAT_TYPES]
        fout = [o for o in n.output if o and types.get(o) in FLOAT_TYPES]
        dq_in = all(x in producer and producer[x].op_type == "DequantizeLinear" for x in fin)
        q_out = all(o not in outs and users[o] and all(u.op_type == "QuantizeLinear" for u in users[o])
                    for o in fout)
        res.append({"name": n.name, "op": n.op_type, "dq_inputs": dq_in, "q_outputs": q_out})
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="float ONNX model")
    p.add_argument("--calib", action="append", default=[], metavar="[NAME=]X.npy",
                   help="calibration batch(es) of a graph input (the first one without NAME=)")
    p.add_argument("--ranges", metavar="R.json",
                   help="calibrated ranges: read from R.json if it exists (no --calib needed), else "
                        "calibrate and write them there")
    p.add_argument("--out", required=True, help="QDQ model to write")
    p.add_argument("--per-channel", action="store_true", help="weights per output channel")
    p.add_argument("--activation-type", choices=["uint8", "int8"], default="uint8")
    p.add_argument("--op-types", help="comma list of op types to quantize (default: ORT's)")
    p.add_argument("--exclude", default="", help="comma list of node names left in float")
    p.add_argument("--batch", type=int, help="samples per calibration run (default: the input's static batch)")
    p.add_argument("--report", help="write a JSON summary here")
    a = p.parse_args()
    model = onnx.load(a.model)
    inits = {t.name for t in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in inits]
    calib = {}
    for spec in a.calib:
        name, path = spec.split("=", 1) if "=" in spec and not os.path.exists(spec) else (inputs[0], spec)
        if name not in inputs:
            raise SystemExit(f"gen_qdq: {name!r} is not a graph input ({inputs})")
        v = np.load(path)
        calib[name] = np.concatenate([calib[name], v]) if name in calib else v
    ranges = None
    if a.ranges and os.path.exists(a.ranges):
        with open(a.ranges) as f:
            ranges = json.load(f)
    else:
        missing = [n for n in inputs if n not in calib]
        if missing:
            raise SystemExit(f"gen_qdq: no calibration data for inputs {missing}")
    act = TensorProto.UINT8 if a.activation_type == "uint8" else TensorProto.INT8
    out, report = quantize_qdq(model, calib, a.per_channel, act,
                               a.op_types.split(",") if a.op_types else None,
                               [x for x in a.exclude.split(",") if x], a.batch, ranges)
    calibrated = report.pop("ranges")
    if a.ranges and ranges is None:
        with open(a.ranges, "w") as f:
            f.write(dumps_json(calibrated) + "\n")
    onnx.checker.check_model(out, full_check=True)
    with open(a.out, "wb") as f:
        f.write(out.SerializeToString())
    if a.report:
        report["model"] = os.path.basename(a.model)
        with open(a.report, "w") as f:
            f.write(dumps_json(report) + "\n")
    c = report["node_counts"]
    print(f"{a.out}: {c.get('QuantizeLinear', 0)} Q, {c.get('DequantizeLinear', 0)} DQ, "
          f"{len(report['removed_nodes'])} Relu/Clip folded, "
          f"{sum(1 for n in report['float_nodes'] if not (n['dq_inputs'] and n['q_outputs']))} nodes not "
          f"between DQ and Q, {os.path.getsize(a.out)} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
