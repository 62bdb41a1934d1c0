#!/usr/bin/python3
"""Runs a float model and its QDQ form(s) on ONNX Runtime (CPU EP, 1 thread,
through bench/peers/ort/run_model.js) over seeded standard-normal inputs and
prints how far the QDQ outputs are from the float ones: max |error|, SQNR
in dB and, for classifiers, top-1 agreement.

    /usr/bin/python3 ort_compare.py --float F.onnx --qdq Q.onnx [--qdq Q2.onnx] \\
        [--samples 16] [--seed 1] [--no-classifier] [--json OUT.json]

The model's first input must have a static shape; --samples inputs are run
in chunks of its batch size.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
RUNNER = os.path.join(ROOT, "bench", "peers", "ort", "run_model.js")


def ort(model, inputs, outputs, *extra):
    """run_model.js with one input and one output file."""
    subprocess.run(["node", RUNNER, "--model", model, "--in", inputs, "--out", outputs, "--threads", "1", *extra],
                   check=True)


def sqnr_db(ref, x):
    err = np.sum((ref.astype(np.float64) - x) ** 2)
    sig = np.sum(ref.astype(np.float64) ** 2)
    return float("inf") if err == 0 else float(10 * np.log10(sig / err))


def compare(ref, x, classifier):
    d = {"max_abs_err": float(np.abs(ref - x).max()), "sqnr_db": round(sqnr_db(ref, x), 2),
         "ref_abs_max": float(np.abs(ref).max())}
    if classifier:
        r, q = ref.reshape(len(ref), -1), x.reshape(len(x), -1)
        d["top1_agree"] = int(np.sum(r.argmax(1) == q.argmax(1)))
        # ties of equal quantized maxima count as agreeing when the float top-1 is among them
        d["top1_agree_ties"] = int(np.sum(q[np.arange(len(q)), r.argmax(1)] == q.max(1)))
        d["samples"] = len(r)
    return d


def input_shape(model_path):
    m = onnx.load(model_path, load_external_data=False)
    inits = {t.name for t in m.graph.initializer}
    first = next(i for i in m.graph.input if i.name not in inits)
    dims = [d.dim_value for d in first.type.tensor_type.shape.dim]
    if not dims or any(d <= 0 for d in dims):
        raise SystemExit(f"ort_compare: input {first.name} of {model_path} has no static shape")
    return dims


def run(float_model, qdq_models, samples, seed, classifier):
    shape = input_shape(float_model)
    batch = shape[0]
    n = -(-samples // batch) * batch
    res = {"samples": n, "seed": seed, "forms": {}}
    with tempfile.TemporaryDirectory() as tmp:
        x = os.path.join(tmp, "x.npy")
        np.save(x, np.random.default_rng(seed).standard_normal([n] + shape[1:]).astype(np.float32))
        yf = os.path.join(tmp, "float.npy")
        ort(float_model, x, yf, "--split", str(batch))
        ref = np.load(yf)
        for q in qdq_models:
            yq = os.path.join(tmp, "q.npy")
            ort(q, x, yq, "--split", str(batch))
            res["forms"][os.path.basename(q)] = compare(ref, np.load(yq), classifier)
    return res


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--float", required=True, dest="float_model")
    p.add_argument("--qdq", action="append", required=True)
    p.add_argument("--samples", type=int, default=16)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-classifier", action="store_true")
    p.add_argument("--json")
    a = p.parse_args()
    res = run(a.float_model, a.qdq, a.samples, a.seed, not a.no_classifier)
    res["float"] = os.path.basename(a.float_model)
    out = json.dumps(res, indent=1)
    if a.json:
        with open(a.json, "w") as f:
            f.write(out + "\n")
    else:
        print(out)
    for form, r in res["forms"].items():
        top1 = f"top-1 {r['top1_agree']}/{r['samples']}, " if "top1_agree" in r else ""
        print(f"ort_compare: {form} vs {res['float']} on {res['samples']} inputs: {top1}SQNR {r['sqnr_db']} dB, "
              f"max |err| {r['max_abs_err']:.4g} (float |max| {r['ref_abs_max']:.4g})", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
