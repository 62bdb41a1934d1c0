#!/usr/bin/python3
"""Fixtures of package onnx, from NumPy and ONNX 1.12 (Debian python3-onnx),
independent of the Go code they test. Run from this directory:

    /usr/bin/python3 gen.py

It writes:
  oracle.txt          SHA-256 of NumPy's float16 conversions (all 65536
                      binary16 values to float32; a fixed set of float32
                      values to float16), for float16_test.go.
  node_tensors.txt.gz one line per tensor .pb file of the ONNX backend test
                      data (Debian libonnx-testdata, data/*/*/test_data_set_*):
                      path, element type, dims, and the SHA-256 (first 16 hex
                      digits) of its values as numpy_helper.to_array reads
                      them, in the canonical bytes of testdata_test.go.
  models/*.onnx       small valid models for the tests and the fuzz seeds.
"""
import gzip
import glob
import hashlib
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DATA = "/usr/share/libonnx-testdata/data"


def sha(b):
    return hashlib.sha256(b).hexdigest()


def float16_oracle():
    h = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16)
    widen = sha(h.astype(np.float32).astype("<f4").tobytes())
    # float32 inputs: bit patterns i * 2654435761 mod 2^32 for i < 2^20 (a
    # spread over every exponent, NaNs included), then the rounding cases.
    i = np.arange(1 << 20, dtype=np.uint64)
    bits = ((i * 2654435761) & 0xFFFFFFFF).astype(np.uint32)
    spread = bits.view(np.float32)
    # For h in 0..0x7bff: the midpoint m between binary16 h and the next
    # value up (2^16 after 65504), and the float32 values just below and
    # above m; then all of them negated.
    lo = np.arange(0x7C00, dtype=np.uint16).view(np.float16).astype(np.float64)
    hi = np.append(lo[1:], 65536.0)
    m = ((lo + hi) / 2).astype(np.float32)  # exact
    near = np.stack([np.nextafter(m, np.float32(-np.inf)), m,
                     np.nextafter(m, np.float32(np.inf))], axis=1).reshape(-1)
    f = np.concatenate([spread, near, -near]).astype(np.float32)
    with np.errstate(over="ignore"):
        narrow = sha(f.astype(np.float16).view("<u2").tobytes())
    return widen, narrow


def canonical(arr):
    """Bytes of arr in the Go form of testdata_test.go: little-endian,
    float16 widened to float32, bool one byte, strings NUL-terminated."""
    if arr.dtype == np.float16:
        arr = arr.astype(np.float32)
    if arr.dtype == object or arr.dtype.kind in "SU":
        out = b""
        for s in arr.reshape(-1):
            if isinstance(s, str):
                s = s.encode("utf-8")
            out += bytes(s) + b"\0"
        return out
    if arr.dtype == np.bool_:
        arr = arr.astype(np.uint8)
    return arr.astype(arr.dtype.newbyteorder("<")).tobytes()


def node_oracle():
    lines = []
    for model in sorted(glob.glob(DATA + "/*/*/model.onnx")):
        m = onnx.load(model, load_external_data=False)
        inits = {t.name for t in m.graph.initializer}
        ins = [v for v in m.graph.input if v.name not in inits]
        d = os.path.dirname(model)
        for ds in sorted(glob.glob(d + "/test_data_set_*")):
            for kind, vis in (("input", ins), ("output", m.graph.output)):
                for i, vi in enumerate(vis):
                    f = "%s/%s_%d.pb" % (ds, kind, i)
                    if not os.path.exists(f) or vi.type.WhichOneof("value") != "tensor_type":
                        continue
                    t = TensorProto()
                    with open(f, "rb") as fh:
                        t.ParseFromString(fh.read())
                    a = numpy_helper.to_array(t)
                    lines.append("%s %d %s %s" % (
                        os.path.relpath(f, DATA), t.data_type,
                        ",".join(str(x) for x in t.dims) or "-",
                        sha(canonical(a))[:16]))
    return lines


def models():
    os.makedirs("models", exist_ok=True)
    # A QDQ convolution: int8 per-channel weights, opset 13, IR 7.
    w = np.array([[[[1, -2], [3, -4]]], [[[-128, 127], [0, 5]]]], dtype=np.int8)
    g = helper.make_graph(
        [
            helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
            helper.make_node("DequantizeLinear", ["xq", "xs", "xz"], ["xd"]),
            helper.make_node("DequantizeLinear", ["w", "ws", "wz"], ["wd"], axis=0),
            helper.make_node("Conv", ["xd", "wd", "b"], ["y"], name="conv1",
                             kernel_shape=[2, 2], pads=[0, 0, 0, 0], group=1),
        ],
        "qdq_conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 2, 3, 3])],
        [
            numpy_helper.from_array(np.array(0.05, dtype=np.float32), "xs"),
            numpy_helper.from_array(np.array(3, dtype=np.uint8), "xz"),
            numpy_helper.from_array(w, "w"),
            numpy_helper.from_array(np.array([0.01, 0.02], dtype=np.float32), "ws"),
            numpy_helper.from_array(np.zeros(2, dtype=np.int8), "wz"),
            helper.make_tensor("b", TensorProto.FLOAT, [2], [0.5, -0.25]),  # float_data
        ],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    m.ir_version = 7
    onnx.save(m, "models/qdq_conv.onnx")

    # If with two subgraphs, one holding a Loop, opset 17 / IR 8; a
    # Constant with a FLOAT16 tensor in int32_data.
    then_g = helper.make_graph(
        [helper.make_node("Constant", [], ["t"], value=helper.make_tensor(
            "tv", TensorProto.FLOAT16, [2], [1.5, -0.0009765625]))],  # bits in int32_data
        "then", [], [helper.make_tensor_value_info("t", TensorProto.FLOAT16, [2])])
    body = helper.make_graph(
        [helper.make_node("Identity", ["c"], ["c_out"]),
         helper.make_node("Identity", ["v"], ["v_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("c", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v", TensorProto.FLOAT16, [2])],
        [helper.make_tensor_value_info("c_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT16, [2])])
    else_g = helper.make_graph(
        [helper.make_node("Loop", ["n", "", "v0"], ["e"], body=body)],
        "else", [], [helper.make_tensor_value_info("e", TensorProto.FLOAT16, [2])])
    g = helper.make_graph(
        [helper.make_node("If", ["cond"], ["out"], then_branch=then_g, else_branch=else_g)],
        "if_loop",
        [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT16, [2])],
        [numpy_helper.from_array(np.array(3, dtype=np.int64), "n"),
         numpy_helper.from_array(np.array([2, 0.5], dtype=np.float16), "v0")],
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, "models/if_loop.onnx")

    # IR 10 / opset 21 element types that ONNX 1.12 lacks: INT4 and UINT4,
    # packed by hand (first element in the low nibble), in raw_data and in
    # int32_data. Values: int4 [-8, 7, 0, -1, 3], uint4 [0, 15, 9, 4, 1].
    def pack(vals):
        nib = [v & 0xF for v in vals] + ([0] if len(vals) % 2 else [])
        return bytes(nib[i] | nib[i + 1] << 4 for i in range(0, len(nib), 2))
    i4 = TensorProto(name="i4", data_type=22, dims=[5], raw_data=pack([-8, 7, 0, -1, 3]))
    u4 = TensorProto(name="u4", data_type=21, dims=[5])
    u4.int32_data.extend(pack([0, 15, 9, 4, 1]))
    g = helper.make_graph(
        [helper.make_node("DequantizeLinear", ["i4", "s"], ["y4"]),
         helper.make_node("DequantizeLinear", ["u4", "s"], ["yu4"])],
        "int4", [],
        [helper.make_tensor_value_info("y4", TensorProto.FLOAT, [5]),
         helper.make_tensor_value_info("yu4", TensorProto.FLOAT, [5])],
        [i4, u4, numpy_helper.from_array(np.array(0.5, dtype=np.float32), "s")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 21)])
    m.ir_version = 10
    onnx.save(m, "models/int4_ir10.onnx")

    # External data: a 2x3 FLOAT weight (values 0.5 * [0..5]) and an INT64
    # shape in weights.bin, written by ONNX's own external-data writer.
    os.makedirs("models/external", exist_ok=True)
    g = helper.make_graph(
        [helper.make_node("Reshape", ["w", "shape"], ["r"]),
         helper.make_node("MatMul", ["x", "r"], ["y"])],
        "external",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])],
        [numpy_helper.from_array(0.5 * np.arange(6, dtype=np.float32).reshape(2, 3), "w"),
         numpy_helper.from_array(np.array([2, 3], dtype=np.int64), "shape")])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 14)])
    m.ir_version = 7
    for f in glob.glob("models/external/*"):
        os.remove(f)
    onnx.save_model(m, "models/external/model.onnx", save_as_external_data=True,
                    all_tensors_to_one_file=True, location="weights.bin", size_threshold=0)


def main():
    widen, narrow = float16_oracle()
    with open("oracle.txt", "w") as f:
        f.write("float16_to_float32 %s\nfloat32_to_float16 %s\n" % (widen, narrow))
    lines = node_oracle()
    with gzip.GzipFile("node_tensors.txt.gz", "wb", mtime=0) as f:
        f.write(("\n".join(lines) + "\n").encode())
    models()


if __name__ == "__main__":
    main()
