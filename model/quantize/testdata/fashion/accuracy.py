#!/usr/bin/python3
"""accuracy.py: the Fashion-MNIST accuracy table of docs/accuracy.md, from
one run: the float CNN of train.py (fashion_cnn.onnx) on the 10,000 test
images, quantized to int8

  * by qgpu (`qgpu model quantize`) with every calibration method, per
    tensor and per channel, run by qgpu's quantized runtime on the CPU
    backend (`qgpu model run`) and by ONNX Runtime 1.30 (CPU execution
    provider, bench/peers/ort/run_model.js) on the same QDQ file;
  * by ONNX Runtime's quantize_static conventions (MinMax, reproduced in
    numpy by model/testdata/qdq/gen_qdq.py), run by both;
  * by PyTorch's own post-training quantization: FX graph mode,
    get_default_qconfig_mapping("onednn") (HistogramObserver activations,
    per-channel symmetric int8 weights), on the oneDNN engine.

Every quantizer calibrates on the same first --calib training images. For
one configuration the runtime's outputs on the Vulkan and OpenGL backends
(software drivers here) are compared byte for byte with the CPU backend's.

    /usr/bin/python3 accuracy.py [--calib 1024] [--work DIR] [--backends cpu,vulkan,opengl]

Needs Go (builds ./cmd/qgpu), node with bench/peers's onnxruntime-node
(bench/peers/deps.sh), Debian's python3-torch, python3-onnx and
dataset-fashion-mnist. About 10 minutes on 2 cores. Prints the markdown
table and writes it, with every number, to WORK/accuracy.md and
WORK/accuracy.json.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import numpy_helper  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
sys.path.insert(0, HERE)
import train  # noqa: E402

MODEL = os.path.join(HERE, "fashion_cnn.onnx")
METHODS = ["minmax", "moving-average", "torch-histogram", "percentile", "l2-greedy", "l2", "l1", "kl"]
CHUNK = 1000  # test images per `qgpu model run`


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise SystemExit(f"accuracy: {' '.join(cmd)}: exit {r.returncode}\n{r.stderr}")
    return r.stdout


class Folded(nn.Module):
    """train.FashionCNN with BatchNorm folded into the convolutions, built
    from the ONNX model's weights: the float network the ONNX file holds."""

    def __init__(self, onnx_model):
        super().__init__()
        inits = {t.name: numpy_helper.to_array(t) for t in onnx_model.graph.initializer}
        convs = [n for n in onnx_model.graph.node if n.op_type == "Conv"]
        names = ["stem", "down", "res1", "res2", "dw", "pw", "head"]
        if len(convs) != len(names):
            raise SystemExit(f"accuracy: {len(convs)} Conv nodes, want {len(names)}")
        for name, node in zip(names, convs):
            w, b = inits[node.input[1]], inits[node.input[2]]
            groups = next((a.i for a in node.attribute if a.name == "group"), 1)
            stride = next((a.ints[0] for a in node.attribute if a.name == "strides"), 1)
            conv = nn.Conv2d(w.shape[1] * groups, w.shape[0], w.shape[2], stride, w.shape[2] // 2, groups=groups)
            conv.weight.data = torch.from_numpy(w.copy())
            conv.bias.data = torch.from_numpy(b.copy())
            setattr(self, name, conv)
        self.pool = nn.MaxPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(64, 10)
        self.fc.weight.data = torch.from_numpy(inits["fc.weight"].copy())
        self.fc.bias.data = torch.from_numpy(inits["fc.bias"].copy())

    def forward(self, x):
        x = F.relu(self.stem(x))
        x = F.relu(self.down(x))
        y = F.relu(self.res1(x))
        x = F.relu(x + self.res2(y))
        x = F.relu(self.dw(x))
        x = F.relu(self.pw(x))
        x = self.pool(x)
        x = F.relu(self.head(x))
        x = torch.flatten(self.gap(x), 1)
        return self.fc(x)


def torch_logits(model, x, batch=500):
    with torch.no_grad():
        return np.concatenate([model(torch.from_numpy(x[i:i + batch])).numpy() for i in range(0, len(x), batch)])


def torch_ptq(calib, test, calib_batch):
    """PyTorch FX post-training quantization, oneDNN, default observers."""
    from torch.ao.quantization import get_default_qconfig_mapping
    from torch.ao.quantization.quantize_fx import convert_fx, prepare_fx
    torch.backends.quantized.engine = "onednn"
    model = Folded(onnx.load(MODEL)).eval()
    qmap = get_default_qconfig_mapping("onednn")
    t0 = time.time()
    prepared = prepare_fx(model, qmap, example_inputs=(torch.from_numpy(calib[:1]),))
    with torch.no_grad():
        for i in range(0, len(calib), calib_batch):
            prepared(torch.from_numpy(calib[i:i + calib_batch]))
    q = convert_fx(prepared)
    t_cal = time.time() - t0
    return torch_logits(q, test), t_cal, str(qmap.global_qconfig)


def ort(model, x_path, out_path):
    run(["node", os.path.join(ROOT, "bench/peers/ort/run_model.js"), "--model", model, "--in", x_path,
         "--out", out_path, "--split", "500"])
    return np.load(out_path)


def qgpu_run(qgpu, model, chunks, work, tag, backend="cpu"):
    outs = []
    for k, c in enumerate(chunks):
        out = os.path.join(work, f"{tag}.{backend}.{k}.npy")
        run([qgpu, "model", "run", "--model", model, "--backend", backend, "--in", c, "--out", out])
        outs.append(np.load(out))
    return np.concatenate(outs)


def acc(logits, y):
    return float((logits.argmax(1) == y).mean())


def agree(a, b):
    return float((a.argmax(1) == b.argmax(1)).mean())


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calib", type=int, default=1024, help="calibration images (the first training images)")
    p.add_argument("--calib-batch", type=int, default=32, help="images per calibration run")
    p.add_argument("--data", default=train.DATA)
    p.add_argument("--work", help="directory for the intermediate files (default: a temporary one)")
    p.add_argument("--backends", default="cpu,vulkan,opengl", help="backends compared byte for byte on one model")
    p.add_argument("--methods", default=",".join(METHODS))
    a = p.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    work = a.work or tempfile.mkdtemp(prefix="qgpu-accuracy-")
    os.makedirs(work, exist_ok=True)
    qgpu = os.path.join(work, "qgpu")
    run(["go", "build", "-o", qgpu, "./cmd/qgpu"], cwd=ROOT)
    xtr, _ = train.load(a.data, "train")
    xte, yte = train.load(a.data, "t10k")
    calib = np.ascontiguousarray(xtr[:a.calib])
    calib_path = os.path.join(work, "calib.npy")
    np.save(calib_path, calib)
    test_path = os.path.join(work, "test.npy")
    np.save(test_path, xte)
    chunks = []
    for k in range(0, len(xte), CHUNK):
        c = os.path.join(work, f"test{k // CHUNK}.npy")
        np.save(c, xte[k:k + CHUNK])
        chunks.append(c)
    res = {"calib_images": a.calib, "test_images": len(xte), "rows": []}

    # Float.
    ft = torch_logits(Folded(onnx.load(MODEL)).eval(), xte)
    fo = ort(MODEL, test_path, os.path.join(work, "float.ort.npy"))
    fq = qgpu_run(qgpu, MODEL, chunks, work, "float")
    res["float"] = {"torch": acc(ft, yte), "ort": acc(fo, yte), "qgpu": acc(fq, yte)}
    print(f"float: torch {acc(ft, yte):.4f}, ORT {acc(fo, yte):.4f}, qgpu {acc(fq, yte):.4f}", file=sys.stderr)

    def row(name, qmodel, quant_s=None, extra=None):
        y_q = qgpu_run(qgpu, qmodel, chunks, work, os.path.basename(qmodel))
        y_o = ort(qmodel, test_path, qmodel + ".ort.npy")
        r = {"name": name, "qgpu": acc(y_q, yte), "ort": acc(y_o, yte), "qgpu_vs_ort": agree(y_q, y_o),
             "qgpu_vs_float": agree(y_q, fq), "quantize_s": quant_s}
        r.update(extra or {})
        res["rows"].append(r)
        print(f"{name}: qgpu {r['qgpu']:.4f} ORT {r['ort']:.4f} agreement {r['qgpu_vs_ort']:.4f}", file=sys.stderr)
        return y_q

    first = None
    for m in a.methods.split(","):
        for pc in (False, True):
            tag = f"{m}.{'pc' if pc else 'pt'}"
            qm = os.path.join(work, f"q.{tag}.onnx")
            cmd = [qgpu, "model", "quantize", "--model", MODEL, "--calib", calib_path, "--batch", str(a.calib_batch),
                   "--method", m, "--out", qm]
            if pc:
                cmd.append("--per-channel")
            t0 = time.time()
            run(cmd)
            y = row(f"qgpu {m}, {'per-channel' if pc else 'per-tensor'}", qm, time.time() - t0,
                    {"method": m, "per_channel": pc})
            if first is None:
                first = (qm, y)

    # The runtime on the other backends, byte for byte, on the first model.
    backends = {}
    ref = np.load(os.path.join(work, f"{os.path.basename(first[0])}.cpu.0.npy"))
    for b in a.backends.split(","):
        if b == "cpu":
            continue
        out = os.path.join(work, f"backend.{b}.npy")
        r = subprocess.run([qgpu, "model", "run", "--model", first[0], "--backend", b, "--in", chunks[0], "--out", out],
                           capture_output=True, text=True)
        if r.returncode != 0:
            backends[b] = "unavailable: " + r.stderr.strip()
        else:
            backends[b] = "byte-identical" if open(out, "rb").read() == open(
                os.path.join(work, f"{os.path.basename(first[0])}.cpu.0.npy"), "rb").read() else "DIFFERENT"
        print(f"backend {b}: {backends[b]}", file=sys.stderr)
    res["backends"] = {"model": os.path.basename(first[0]), "images": len(ref), "results": backends}

    # ONNX Runtime's quantize_static conventions (gen_qdq.py, MinMax).
    for pc in (False, True):
        qm = os.path.join(work, f"ortq.{'pc' if pc else 'pt'}.onnx")
        cmd = ["/usr/bin/python3", os.path.join(ROOT, "model/testdata/qdq/gen_qdq.py"), "--model", MODEL,
               "--calib", calib_path, "--batch", str(a.calib_batch), "--out", qm]
        if pc:
            cmd.append("--per-channel")
        t0 = time.time()
        run(cmd)
        row(f"ORT quantize_static (gen_qdq.py) MinMax, {'per-channel' if pc else 'per-tensor'}", qm, time.time() - t0,
            {"method": "ort-minmax", "per_channel": pc})

    # PyTorch.
    yt, t_cal, qconfig = torch_ptq(calib, xte, a.calib_batch)
    res["torch_ptq"] = {"accuracy": acc(yt, yte), "vs_float": agree(yt, ft), "calibrate_s": t_cal, "qconfig": qconfig}
    print(f"torch PTQ: {acc(yt, yte):.4f}", file=sys.stderr)

    # The table.
    f = res["float"]
    lines = [
        f"Fashion-MNIST test set ({len(xte)} images); calibration: the first {a.calib} training images, "
        f"{a.calib_batch} per run.",
        "",
        "| model | qgpu runtime (cpu) | ONNX Runtime | PyTorch | qgpu = ORT top-1 | qgpu = float top-1 | quantize (s) |",
        "|---|--:|--:|--:|--:|--:|--:|",
        f"| float32 | {f['qgpu']:.2%} | {f['ort']:.2%} | {f['torch']:.2%} | {agree(fq, fo):.2%} | - | - |",
    ]
    for r in res["rows"]:
        lines.append(f"| {r['name']} | {r['qgpu']:.2%} | {r['ort']:.2%} | - | {r['qgpu_vs_ort']:.2%} | "
                     f"{r['qgpu_vs_float']:.2%} | {r['quantize_s']:.1f} |")
    t = res["torch_ptq"]
    lines.append(f"| PyTorch FX PTQ, oneDNN, default qconfig | - | - | {t['accuracy']:.2%} | - | - | {t['calibrate_s']:.1f} |")
    lines += ["", "Backends (qgpu runtime, " + res["backends"]["model"] + f", {len(ref)} images, against cpu): " +
              ", ".join(f"{k} {v}" for k, v in backends.items())]
    table = "\n".join(lines)
    print(table)
    with open(os.path.join(work, "accuracy.md"), "w") as fh:
        fh.write(table + "\n")
    with open(os.path.join(work, "accuracy.json"), "w") as fh:
        json.dump(res, fh, indent=1)
    print(f"accuracy: results in {work}", file=sys.stderr)


if __name__ == "__main__":
    main()
