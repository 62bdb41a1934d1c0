#!/usr/bin/python3
"""Generates the QDQ fixtures next to this script from the committed torch
fixtures (model/interp/testdata/torch, made by gen_torch.py), with
gen_qdq.py and ONNX Runtime 1.30 (onnxruntime-node, CPU EP, run through
bench/peers/ort/run_model.js; install it with bench/peers/deps.sh).

    /usr/bin/python3 model/testdata/qdq/gen_fixtures.py [--only NAME,...] [--check]

For each fixture NAME (the float model NAME.onnx of the torch directory) and
form F (qdq: per-tensor weights; qdq_pc: per-channel weights):

    NAME.calib.npy              seeded calibration inputs (standard normal)
    NAME.F.onnx                 gen_qdq.py's QDQ model
    NAME.F.json                 gen_qdq.py's report (ranges, scales, zero points, folded nodes)
    NAME.F.ort.npy              ORT's output for the torch fixture's NAME.input.npy,
                                graph optimization level all, 1 thread
    NAME.F.ort_disabled.npy     the same with graph optimizations disabled: every node
                                as the ONNX spec defines it (DQ -> float op -> Q)
    NAME.F.ort_profile.json     the node kinds ORT ran at level all (its fused kernels)
    NAME.float.ort.npy          ORT's output of the float model (level all, 1 thread)

and fixtures.json, the manifest: the files of every fixture (paths relative
to this directory) and the sanity numbers: float ORT vs torch, QDQ vs float
on the test input and on a seeded evaluation set of EVAL_SAMPLES inputs
(not committed): top-1 agreement, max |error|, SQNR; QDQ at level all vs
disabled in units of the output scale.

--check regenerates the QDQ models and reports into a temporary directory
and fails unless they are byte-identical to the committed ones (the
generator's determinism); it does not need ONNX Runtime.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
import onnx  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ beside the fixtures
sys.path.insert(0, HERE)
import gen_qdq  # noqa: E402
from ort_compare import RUNNER, compare, ort  # noqa: E402

ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
TORCH = os.path.join(ROOT, "model", "interp", "testdata", "torch")
EVAL_SAMPLES = 64

# name, calibration samples, forms, classifier (top-1 meaningful)
FIXTURES = [
    ("tiny_cnn_op13", 8, ["qdq"], True),
    ("mobilenet_v2_tiny_op13", 4, ["qdq", "qdq_pc"], True),
    ("resnet_tiny_op13", 4, ["qdq", "qdq_pc"], True),
    ("encoder_relu_op13", 16, ["qdq"], False),
    ("encoder_gelu_op17", 16, ["qdq"], False),
]


def seeded(seed, shape):
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def make_qdq(name, form, calib, outdir):
    model = onnx.load(os.path.join(TORCH, name + ".onnx"))
    inputs = [i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    q, report = gen_qdq.quantize_qdq(model, {inputs[0]: calib}, per_channel=(form == "qdq_pc"))
    onnx.checker.check_model(q, full_check=True)
    report.pop("ranges")
    report["model"] = name + ".onnx"
    report["verified"] = verify(model, q)
    with open(os.path.join(outdir, f"{name}.{form}.onnx"), "wb") as f:
        f.write(q.SerializeToString())
    with open(os.path.join(outdir, f"{name}.{form}.json"), "w") as f:
        f.write(gen_qdq.dumps_json(report) + "\n")
    return report


def verify(float_model, qdq_model):
    """Re-derives, independently of gen_qdq.py's code, what ORT's formulas
    give for every weight and bias of the QDQ model from the float model's
    initializers, and checks the zero points of the Relu/Clip-folded
    outputs. Returns the number of tensors checked; raises on a mismatch."""
    fw = {t.name: onnx.numpy_helper.to_array(t) for t in float_model.graph.initializer}
    qi = {t.name: onnx.numpy_helper.to_array(t) for t in qdq_model.graph.initializer}
    producer = {o: n for n in qdq_model.graph.node for o in n.output}
    checked = 0
    for node in qdq_model.graph.node:
        if node.op_type not in ("Conv", "Gemm", "MatMul"):
            continue
        for i, x in enumerate(node.input[:3]):
            dq = producer.get(x)
            if dq is None or dq.op_type != "DequantizeLinear" or dq.input[0] not in qi:
                continue
            q, s, z = (qi[n] for n in dq.input)
            axis = next((a.i for a in dq.attribute if a.name == "axis"), None)
            orig = x[:-len("_DequantizeLinear_Output")] if x.endswith("_DequantizeLinear_Output") else x
            if orig not in fw or q.dtype == np.uint8:
                continue  # an activation-typed initializer
            w = fw[orig]
            if q.dtype == np.int32:  # bias: scale = input scale x weight scale, zero point 0
                si = qi[producer[node.input[0]].input[1]]
                sw = qi[producer[node.input[1]].input[1]]
                want_s = (si * sw).astype(np.float32).reshape(-1)
                want_q = np.round(w.astype(np.float64) / want_s.astype(np.float64)).astype(np.int32)
                ok = np.array_equal(s.reshape(-1), want_s) and not z.any() and np.array_equal(q, want_q)
            else:  # int8 symmetric weight: scale = max|w| / 127 (per slice), zero point 0
                red = tuple(d for d in range(w.ndim) if d != axis) if axis is not None else None
                absmax = np.abs(w).max(axis=red).astype(np.float64)
                want_s = (absmax * 2 / 254).astype(np.float32)
                bshape = [1] * w.ndim
                if axis is not None:
                    bshape[axis] = -1
                want_q = np.clip(np.rint(w / want_s.reshape(bshape)), -128, 127).astype(np.int8)
                ok = q.dtype == np.int8 and not z.any() and np.array_equal(s, want_s) and np.array_equal(q, want_q)
            if not ok:
                raise SystemExit(f"verify: {orig} of {node.name} does not follow ORT's formulas")
            checked += 1
    return checked


def check(names):
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for name, _, forms, _ in FIXTURES:
            if names and name not in names:
                continue
            calib = np.load(os.path.join(HERE, name + ".calib.npy"))
            for form in forms:
                make_qdq(name, form, calib, tmp)
                for ext in (".onnx", ".json"):
                    f = f"{name}.{form}{ext}"
                    same = open(os.path.join(tmp, f), "rb").read() == open(os.path.join(HERE, f), "rb").read()
                    print(f"{f}: {'identical' if same else 'DIFFERS'}")
                    ok &= same
    return ok


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", help="comma list of fixture names")
    p.add_argument("--check", action="store_true", help="verify the committed QDQ models are reproduced")
    a = p.parse_args()
    names = set(a.only.split(",")) if a.only else set()
    if a.check:
        sys.exit(0 if check(names) else 1)
    if not shutil.which("node") or not os.path.isdir(os.path.join(ROOT, "bench", "peers", "node_modules",
                                                                   "onnxruntime-node")):
        sys.exit("gen_fixtures: needs node and onnxruntime-node: run bench/peers/deps.sh")
    manifest_path = os.path.join(HERE, "fixtures.json")
    manifest = json.load(open(manifest_path)) if os.path.exists(manifest_path) else {}
    manifest.setdefault("fixtures", {})
    manifest["ort"] = "onnxruntime-node 1.30.0, CPU EP, 1 thread"
    manifest["eval_samples"] = EVAL_SAMPLES
    for seed, (name, ncal, forms, classifier) in enumerate(FIXTURES):
        if names and name not in names:
            continue
        meta = json.load(open(os.path.join(TORCH, name + ".json")))
        shape = meta["input_shape"]
        batch = shape[0]
        calib = seeded(1000 + seed, [ncal] + shape[1:])
        np.save(os.path.join(HERE, name + ".calib.npy"), calib)
        fl = os.path.join(TORCH, name + ".onnx")
        inp = os.path.join(TORCH, name + ".input.npy")
        rel = lambda f: os.path.relpath(f, HERE)  # noqa: E731
        entry = {"float_model": rel(fl), "input": rel(inp), "torch_output": rel(os.path.join(TORCH, name + ".output.npy")),
                 "calibration": name + ".calib.npy", "float_ort_output": name + ".float.ort.npy", "forms": {}}
        ort(fl, inp, os.path.join(HERE, name + ".float.ort.npy"))
        torch_out = np.load(os.path.join(TORCH, name + ".output.npy"))
        float_out = np.load(os.path.join(HERE, name + ".float.ort.npy"))
        entry["float_ort_vs_torch"] = {"max_abs_err": float(np.abs(float_out - torch_out).max()),
                                       "max_rel_err": float(np.abs(float_out - torch_out).max() /
                                                            np.abs(torch_out).max())}
        with tempfile.TemporaryDirectory() as tmp:
            ev = os.path.join(tmp, "eval.npy")
            np.save(ev, seeded(2000 + seed, [EVAL_SAMPLES] + shape[1:]))
            evf = os.path.join(tmp, "eval_float.npy")
            subprocess.run(["node", RUNNER, "--model", fl, "--in", ev, "--out", evf, "--split", str(batch)], check=True)
            for form in forms:
                report = make_qdq(name, form, calib, HERE)
                qm = os.path.join(HERE, f"{name}.{form}.onnx")
                base = os.path.join(HERE, f"{name}.{form}")
                ort(qm, inp, base + ".ort.npy", "--profile", base + ".ort_profile.json", "--profile-no-times")
                ort(qm, inp, base + ".ort_disabled.npy", "--opt", "disabled")
                evq = os.path.join(tmp, f"eval_{form}.npy")
                subprocess.run(["node", RUNNER, "--model", qm, "--in", ev, "--out", evq, "--split", str(batch)],
                               check=True)
                q_all = np.load(base + ".ort.npy")
                q_dis = np.load(base + ".ort_disabled.npy")
                out_name = onnx.load(qm).graph.output[0].name
                out_scale = report["tensors"].get(out_name, {}).get("scale")
                prof = json.load(open(base + ".ort_profile.json"))
                entry["forms"][form] = {
                    "model": f"{name}.{form}.onnx", "report": f"{name}.{form}.json",
                    "ort_output": f"{name}.{form}.ort.npy", "ort_disabled_output": f"{name}.{form}.ort_disabled.npy",
                    "ort_profile": f"{name}.{form}.ort_profile.json",
                    "ort_kinds": {k: v["nodes"] for k, v in prof["kinds"].items()},
                    "output_scale": out_scale,
                    "all_vs_disabled_max_abs": float(np.abs(q_all - q_dis).max()),
                    "all_vs_disabled_max_steps": float(np.abs(q_all - q_dis).max() / out_scale)
                    if out_scale else None,
                    "vs_float_on_input": compare(float_out, q_all, classifier),
                    "vs_float_on_eval": compare(np.load(evf), np.load(evq), classifier),
                }
                print(f"{name}.{form}: {entry['forms'][form]['ort_kinds']}", file=sys.stderr)
        manifest["fixtures"][name] = entry
    manifest["fixtures"] = dict(sorted(manifest["fixtures"].items()))
    with open(manifest_path, "w") as f:
        f.write(gen_qdq.dumps_json(manifest) + "\n")


if __name__ == "__main__":
    main()
