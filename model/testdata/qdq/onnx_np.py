#!/usr/bin/python3
"""A small numpy interpreter for float ONNX graphs, used by gen_qdq.py to
calibrate: it runs the float model on the calibration inputs and reports
every intermediate tensor.

It computes in float64 (float tensors of the model are widened on entry), so
that the float32 minimum and maximum taken from its results do not depend on
the summation order of the BLAS build or thread count (a float64 result
rounds to the same float32 unless it lies within a float64 rounding error of
a float32 rounding boundary).

Only the operators of common CNNs and transformer encoders exported by
torch.onnx are implemented (opset 13-17 semantics); any other operator is an
error naming the node. It is an independent oracle: it shares no code with
qgpu.
"""
import math

import numpy as np
import onnx
from onnx import numpy_helper
from numpy.lib.stride_tricks import sliding_window_view

FLOAT = np.float64  # compute type of float tensors


class Unsupported(Exception):
    pass


def _np_type(onnx_type):
    if onnx_type in (onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16):
        return FLOAT
    return onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[onnx_type]


def tensor_value(t):
    a = numpy_helper.to_array(t)
    if a.dtype.kind == "f":
        a = a.astype(FLOAT)
    return a


def _attrs(node):
    out = {}
    for a in node.attribute:
        v = onnx.helper.get_attribute_value(a)
        if isinstance(v, onnx.TensorProto):
            v = tensor_value(v)
        out[a.name] = v
    return out


def _pads_for(in_sp, k_eff, strides, a, nsp):
    """Begin/end pads per spatial axis for Conv and pooling (auto_pad aware)."""
    auto = a.get("auto_pad", b"NOTSET")
    if isinstance(auto, str):
        auto = auto.encode()
    if auto in (b"SAME_UPPER", b"SAME_LOWER"):
        begin, end = [], []
        for i in range(nsp):
            out = -(-in_sp[i] // strides[i])
            total = max(0, (out - 1) * strides[i] + k_eff[i] - in_sp[i])
            small, big = total // 2, total - total // 2
            if auto == b"SAME_UPPER":
                begin.append(small)
                end.append(big)
            else:
                begin.append(big)
                end.append(small)
        return begin, end
    if auto == b"VALID":
        return [0] * nsp, [0] * nsp
    p = list(a.get("pads", [0] * (2 * nsp)))
    return p[:nsp], p[nsp:]


def _to2d(x, nsp):
    # 1-D spatial ops run as 2-D with a unit height.
    return x[:, :, None, :] if nsp == 1 else x


def conv(x, w, b, a):
    nsp = w.ndim - 2
    if nsp not in (1, 2):
        raise Unsupported(f"Conv with {nsp} spatial dims")
    ks = list(w.shape[2:])
    strides = list(a.get("strides", [1] * nsp))
    dil = list(a.get("dilations", [1] * nsp))
    k_eff = [(ks[i] - 1) * dil[i] + 1 for i in range(nsp)]
    pb, pe = _pads_for(list(x.shape[2:]), k_eff, strides, a, nsp)
    if nsp == 1:
        x, w = _to2d(x, 1), w[:, :, None, :]
        ks, strides, dil, k_eff = [1] + ks, [1] + strides, [1] + dil, [1] + k_eff
        pb, pe = [0] + pb, [0] + pe
    group = a.get("group", 1)
    n, c = x.shape[:2]
    m = w.shape[0]
    xp = np.pad(x, ((0, 0), (0, 0), (pb[0], pe[0]), (pb[1], pe[1])))
    oh = (xp.shape[2] - k_eff[0]) // strides[0] + 1
    ow = (xp.shape[3] - k_eff[1]) // strides[1] + 1
    win = sliding_window_view(xp, (k_eff[0], k_eff[1]), axis=(2, 3))
    win = win[:, :, ::strides[0], ::strides[1], ::dil[0], ::dil[1]][:, :, :oh, :ow]  # N C OH OW KH KW
    cg, mg = c // group, m // group
    if group == 1:
        y = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3])).transpose(0, 3, 1, 2)
    elif cg == 1:
        # depthwise (channel multiplier mg): output channel o reads input o // mg
        src = np.arange(m) // mg
        y = np.zeros((n, m, oh, ow), dtype=FLOAT)
        for i in range(ks[0]):
            for j in range(ks[1]):
                y += win[:, :, :, :, i, j][:, src] * w[:, 0, i, j][None, :, None, None]
    else:
        parts = []
        for g in range(group):
            wg = w[g * mg:(g + 1) * mg]
            parts.append(np.tensordot(win[:, g * cg:(g + 1) * cg], wg, axes=([1, 4, 5], [1, 2, 3])))
        y = np.concatenate(parts, axis=3).transpose(0, 3, 1, 2)
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    y = np.ascontiguousarray(y)
    return y[:, :, 0, :] if nsp == 1 else y


def pool(x, a, kind):
    ks = list(a["kernel_shape"])
    nsp = len(ks)
    if nsp not in (1, 2):
        raise Unsupported(f"pooling with {nsp} spatial dims")
    strides = list(a.get("strides", [1] * nsp))
    dil = list(a.get("dilations", [1] * nsp))
    k_eff = [(ks[i] - 1) * dil[i] + 1 for i in range(nsp)]
    in_sp = list(x.shape[2:])
    pb, pe = _pads_for(in_sp, k_eff, strides, a, nsp)
    ceil = a.get("ceil_mode", 0)
    outs = []
    extra = []
    for i in range(nsp):
        span = in_sp[i] + pb[i] + pe[i] - k_eff[i]
        o = (-(-span // strides[i]) if ceil else span // strides[i]) + 1
        if ceil and (o - 1) * strides[i] >= in_sp[i] + pb[i]:
            o -= 1  # the last window must start inside the input or its begin pad
        outs.append(o)
        extra.append(max(0, (o - 1) * strides[i] + k_eff[i] - (in_sp[i] + pb[i] + pe[i])))
    if nsp == 1:
        x = _to2d(x, 1)
        ks, strides, dil, k_eff = [1] + ks, [1] + strides, [1] + dil, [1] + k_eff
        pb, pe, outs, extra, in_sp = [0] + pb, [0] + pe, [1] + outs, [0] + extra, [1] + in_sp
    widths = ((0, 0), (0, 0), (pb[0], pe[0] + extra[0]), (pb[1], pe[1] + extra[1]))
    if kind == "max":
        xp = np.pad(x, widths, constant_values=-np.inf)
    else:
        xp = np.pad(x, widths)
    win = sliding_window_view(xp, (k_eff[0], k_eff[1]), axis=(2, 3))
    win = win[:, :, ::strides[0], ::strides[1], ::dil[0], ::dil[1]][:, :, :outs[0], :outs[1]]
    if kind == "max":
        y = win.max(axis=(4, 5))
    else:
        # divisor: the window's elements inside the input, plus the explicit
        # pads when count_include_pad=1 (the ceil_mode overhang never counts)
        inside = np.zeros((1, 1) + tuple(xp.shape[2:]), dtype=FLOAT)
        if a.get("count_include_pad", 0):
            inside[:, :, :pb[0] + in_sp[0] + pe[0], :pb[1] + in_sp[1] + pe[1]] = 1
        else:
            inside[:, :, pb[0]:pb[0] + in_sp[0], pb[1]:pb[1] + in_sp[1]] = 1
        cw = sliding_window_view(inside, (k_eff[0], k_eff[1]), axis=(2, 3))
        cw = cw[:, :, ::strides[0], ::strides[1], ::dil[0], ::dil[1]][:, :, :outs[0], :outs[1]]
        y = win.sum(axis=(4, 5)) / cw.sum(axis=(4, 5))
    y = np.ascontiguousarray(y)
    return y[:, :, 0, :] if nsp == 1 else y


def _axes_arg(a, inputs, idx):
    """Reduce/Squeeze/Unsqueeze axes: input idx (newer opsets) or the axes attribute."""
    if len(inputs) > idx and inputs[idx] is not None:
        return [int(v) for v in np.asarray(inputs[idx]).ravel()]
    if "axes" in a:
        return list(a["axes"])
    return None


def _reduce(fn, x, axes, keepdims, noop):
    if axes is None or len(axes) == 0:
        if noop:
            return x
        axes = list(range(x.ndim))
    axes = tuple(ax % x.ndim for ax in axes)
    return fn(x, axis=axes, keepdims=bool(keepdims))


_erf = np.vectorize(math.erf, otypes=[FLOAT])


def _int_div(x, y):
    if x.dtype.kind in "iu" and y.dtype.kind in "iu":
        return np.trunc(np.true_divide(x, y)).astype(np.result_type(x, y))
    return x / y


def run_node(node, inputs):
    """Runs one node; inputs are numpy arrays (None for absent optional inputs)."""
    op = node.op_type
    a = _attrs(node)
    x = inputs[0] if inputs else None
    if node.domain not in ("", "ai.onnx"):
        raise Unsupported(f"domain {node.domain}")
    if op in ("Identity", "Dropout"):
        return [x]
    if op == "Constant":
        for key in ("value", "value_float", "value_floats", "value_int", "value_ints"):
            if key in a:
                v = np.asarray(a[key])
                if key.startswith("value_float"):
                    v = v.astype(FLOAT)
                elif key.startswith("value_int"):
                    v = v.astype(np.int64)
                return [v]
        raise Unsupported("Constant without a numeric value")
    if op == "Conv":
        return [conv(x, inputs[1], inputs[2] if len(inputs) > 2 else None, a)]
    if op == "Gemm":
        A = x.T if a.get("transA", 0) else x
        B = inputs[1].T if a.get("transB", 0) else inputs[1]
        y = a.get("alpha", 1.0) * (A @ B)
        if len(inputs) > 2 and inputs[2] is not None:
            y = y + a.get("beta", 1.0) * inputs[2]
        return [y]
    if op == "MatMul":
        return [np.matmul(x, inputs[1])]
    if op == "Add":
        return [x + inputs[1]]
    if op == "Sub":
        return [x - inputs[1]]
    if op == "Mul":
        return [x * inputs[1]]
    if op == "Div":
        return [_int_div(x, inputs[1])]
    if op == "Pow":
        return [np.power(x, inputs[1]).astype(x.dtype)]
    if op == "Sqrt":
        return [np.sqrt(x)]
    if op == "Exp":
        return [np.exp(x)]
    if op == "Log":
        return [np.log(x)]
    if op == "Neg":
        return [-x]
    if op == "Abs":
        return [np.abs(x)]
    if op == "Reciprocal":
        return [1.0 / x]
    if op == "Erf":
        return [_erf(x)]
    if op == "Relu":
        return [np.maximum(x, 0)]
    if op == "LeakyRelu":
        return [np.where(x >= 0, x, a.get("alpha", 0.01) * x)]
    if op == "Sigmoid":
        return [1.0 / (1.0 + np.exp(-x))]
    if op == "Tanh":
        return [np.tanh(x)]
    if op == "HardSigmoid":
        return [np.clip(a.get("alpha", 0.2) * x + a.get("beta", 0.5), 0, 1)]
    if op == "HardSwish":
        return [x * np.clip(x / 6.0 + 0.5, 0, 1)]
    if op == "Clip":
        lo = inputs[1] if len(inputs) > 1 and inputs[1] is not None else None
        hi = inputs[2] if len(inputs) > 2 and inputs[2] is not None else None
        y = x
        if lo is not None:
            y = np.maximum(y, lo)
        if hi is not None:
            y = np.minimum(y, hi)
        return [y]
    if op == "Softmax":
        axis = a.get("axis", -1)
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return [e / e.sum(axis=axis, keepdims=True)]
    if op == "LayerNormalization":
        axis = a.get("axis", -1) % x.ndim
        axes = tuple(range(axis, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
        inv = 1.0 / np.sqrt(var + a.get("epsilon", 1e-5))
        y = (x - mean) * inv * inputs[1]
        if len(inputs) > 2 and inputs[2] is not None:
            y = y + inputs[2]
        return [y, mean, inv][:len(node.output)]
    if op == "BatchNormalization":
        shape = (1, -1) + (1,) * (x.ndim - 2)
        scale, bias, mean, var = (v.reshape(shape) for v in inputs[1:5])
        return [(x - mean) / np.sqrt(var + a.get("epsilon", 1e-5)) * scale + bias]
    if op == "InstanceNormalization":
        axes = tuple(range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        mean = x.mean(axis=axes, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)
        y = (x - mean) / np.sqrt(var + a.get("epsilon", 1e-5))
        return [y * inputs[1].reshape(shape) + inputs[2].reshape(shape)]
    if op in ("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin"):
        fn = {"ReduceMean": np.mean, "ReduceSum": np.sum, "ReduceMax": np.max, "ReduceMin": np.min}[op]
        axes = _axes_arg(a, inputs, 1)
        return [_reduce(fn, x, axes, a.get("keepdims", 1), a.get("noop_with_empty_axes", 0))]
    if op == "MaxPool":
        if len(node.output) > 1 and node.output[1]:
            raise Unsupported("MaxPool Indices output")
        return [pool(x, a, "max")]
    if op == "AveragePool":
        return [pool(x, a, "avg")]
    if op == "GlobalAveragePool":
        return [x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)]
    if op == "GlobalMaxPool":
        return [x.max(axis=tuple(range(2, x.ndim)), keepdims=True)]
    if op == "Flatten":
        axis = a.get("axis", 1) % (x.ndim + 1) if x.ndim else 0
        lead = int(np.prod(x.shape[:axis])) if axis else 1
        return [x.reshape(lead, -1)]
    if op == "Reshape":
        shape = [int(v) for v in inputs[1]]
        if not a.get("allowzero", 0):
            shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
        return [x.reshape(shape)]
    if op == "Transpose":
        perm = a.get("perm", list(range(x.ndim))[::-1])
        return [np.ascontiguousarray(x.transpose(perm))]
    if op == "Squeeze":
        axes = _axes_arg(a, inputs, 1)
        if axes is None:
            return [np.squeeze(x)]
        return [np.squeeze(x, axis=tuple(ax % x.ndim for ax in axes))]
    if op == "Unsqueeze":
        axes = _axes_arg(a, inputs, 1)
        r = x.ndim + len(axes)
        y = x
        for ax in sorted(ax % r for ax in axes):
            y = np.expand_dims(y, ax)
        return [y]
    if op == "Concat":
        return [np.concatenate(inputs, axis=a["axis"])]
    if op == "Split":
        axis = a.get("axis", 0)
        if len(inputs) > 1 and inputs[1] is not None:
            sizes = [int(v) for v in inputs[1]]
        elif "split" in a:
            sizes = list(a["split"])
        else:
            n = len(node.output)
            sizes = [-(-x.shape[axis] // n)] * n
            sizes[-1] = x.shape[axis] - sum(sizes[:-1])
        return np.split(x, np.cumsum(sizes)[:-1], axis=axis)
    if op == "Slice":
        starts, ends = inputs[1], inputs[2]
        axes = inputs[3] if len(inputs) > 3 and inputs[3] is not None else range(len(starts))
        steps = inputs[4] if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
        idx = [slice(None)] * x.ndim
        for s, e, ax, st in zip(starts, ends, axes, steps):
            idx[int(ax) % x.ndim] = slice(int(s), int(e), int(st))
        return [x[tuple(idx)]]
    if op == "Gather":
        return [np.take(x, inputs[1], axis=a.get("axis", 0))]
    if op == "Shape":
        s = np.array(x.shape, dtype=np.int64)
        return [s[a.get("start", 0):a.get("end", len(s))]]
    if op == "Cast":
        return [x.astype(_np_type(a["to"]))]
    if op == "ConstantOfShape":
        v = a.get("value", np.zeros(1, dtype=FLOAT))
        return [np.full([int(d) for d in x], v.ravel()[0], dtype=v.dtype)]
    if op == "Expand":
        shape = np.broadcast_shapes(x.shape, tuple(int(d) for d in inputs[1]))
        return [np.broadcast_to(x, shape).copy()]
    if op == "Where":
        return [np.where(x, inputs[1], inputs[2])]
    if op == "Equal":
        return [np.equal(x, inputs[1])]
    if op == "Pad":
        mode = a.get("mode", b"constant").decode()
        pads = [int(v) for v in inputs[1]]
        cval = inputs[2] if len(inputs) > 2 and inputs[2] is not None else 0
        axes = [int(v) % x.ndim for v in inputs[3]] if len(inputs) > 3 and inputs[3] is not None \
            else list(range(x.ndim))
        width = [(0, 0)] * x.ndim
        for i, ax in enumerate(axes):
            width[ax] = (pads[i], pads[i + len(axes)])
        if any(p < 0 for w in width for p in w):
            raise Unsupported("Pad with negative pads")
        if mode == "constant":
            return [np.pad(x, width, constant_values=np.asarray(cval).ravel()[0] if np.size(cval) else 0)]
        return [np.pad(x, width, mode={"reflect": "reflect", "edge": "edge", "wrap": "wrap"}[mode])]
    raise Unsupported(op)


class Graph:
    """A loaded float model, ready to run with numpy."""

    def __init__(self, model):
        self.model = model
        g = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
        self.inits = {t.name: tensor_value(t) for t in g.initializer}
        self.inputs = [i.name for i in g.input if i.name not in self.inits]
        self.outputs = [o.name for o in g.output]
        self.nodes = list(g.node)

    def run(self, feeds, observe=None):
        """Runs the graph on feeds (name -> array). observe(name, value) is
        called for every tensor produced (graph inputs included). Returns
        the graph outputs as float32/float64 arrays in graph output order."""
        env = dict(self.inits)
        for name in self.inputs:
            v = np.asarray(feeds[name])
            if v.dtype.kind == "f":
                v = v.astype(FLOAT)
            env[name] = v
            if observe:
                observe(name, v)
        for node in self.nodes:
            ins = [env[n] if n else None for n in node.input]
            try:
                outs = run_node(node, ins)
            except Unsupported as e:
                raise Unsupported(f"node {node.name!r} ({node.op_type}): unsupported: {e}") from None
            for name, v in zip(node.output, outs):
                if not name:
                    continue
                env[name] = v
                if observe:
                    observe(name, v)
        return [env[n] for n in self.outputs]
