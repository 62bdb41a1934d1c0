"""Fixtures for cmd/qgpu's calibrate test, recorded from PyTorch 1.13
observers fed the numpy.array_split batches the CLI uses.

    /usr/bin/python3 gen.py   (writes x.npy, w.npy, expected.json here)
"""
import json
import os
import sys

import numpy as np
import torch
from torch.ao.quantization import observer as O

# torch 1.13's HistogramObserver with pytorch#83672 fixed (calib's generator)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "calib", "testdata"))
from gen_torch_histogram import Torch2Histogram  # noqa: E402

rng = np.random.default_rng(20261123)
x = (rng.standard_normal(1000) * 3).astype(np.float32)
x[17], x[500] = 40.0, -25.5  # outliers that the moving average damps
w = rng.standard_normal((4, 50)).astype(np.float32) * np.array([[1], [0.1], [5], [2]], dtype=np.float32)
np.save("x.npy", x)
np.save("w.npy", w)
# Three values (more batches than elements), and two files of batches.
t3 = np.array([-1.0, 4.0, 2.5], dtype=np.float32)
xa = (rng.standard_normal((6, 5)) * 2).astype(np.float32)
xb = (rng.standard_normal((4, 5)) * 3 + 1).astype(np.float32)
np.save("t3.npy", t3)
np.save("xa.npy", xa)
np.save("xb.npy", xb)

cases = []


def run(name, args, obs, data, batches, axis=None):
    """Feeds each of data (an array, or a list of arrays: one per --in
    file) in numpy.array_split batches; torch skips the empty ones."""
    for part in data if isinstance(data, list) else [data]:
        for b in np.array_split(part, batches, axis=axis if axis is not None else 0):
            obs(torch.from_numpy(np.ascontiguousarray(b)))
    s, z = obs.calculate_qparams()
    cases.append({
        "name": name,
        "args": args,
        "scale": [float(v) for v in s.reshape(-1).tolist()],
        "zero_point": [int(v) for v in z.reshape(-1).tolist()],
    })


run("minmax uint8 affine", ["--in", "x.npy", "--method", "minmax"],
    O.MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine), x, 1)
run("minmax uint8 affine reduce", ["--in", "x.npy", "--method", "minmax", "--reduce-range"],
    O.MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine, reduce_range=True), x, 1)
run("minmax int8 symmetric", ["--in", "x.npy", "--method", "minmax", "--dtype", "int8", "--scheme", "symmetric"],
    O.MinMaxObserver(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric), x, 1)
run("minmax uint8 symmetric", ["--in", "x.npy", "--method", "minmax", "--scheme", "symmetric"],
    O.MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_symmetric), x, 1)
run("moving-average 7 batches", ["--in", "x.npy", "--method", "moving-average", "--batches", "7"],
    O.MovingAverageMinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine), x, 7)
run("moving-average 3 batches c=0.3 int8", ["--in", "x.npy", "--method", "moving-average", "--batches", "3",
                                              "--averaging-constant", "0.3", "--dtype", "int8"],
    O.MovingAverageMinMaxObserver(averaging_constant=0.3, dtype=torch.qint8, qscheme=torch.per_tensor_affine), x, 3)
run("moving-average custom range", ["--in", "x.npy", "--method", "moving-average", "--batches", "10",
                                      "--qmin", "0", "--qmax", "100"],
    O.MovingAverageMinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine, quant_min=0, quant_max=100), x, 10)
run("per-channel minmax int8 symmetric axis 0", ["--in", "w.npy", "--method", "minmax", "--axis", "0",
                                                   "--dtype", "int8", "--scheme", "symmetric"],
    O.PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, qscheme=torch.per_channel_symmetric), w, 1)
run("per-channel minmax uint8 affine axis 1", ["--in", "w.npy", "--method", "minmax", "--axis", "1"],
    O.PerChannelMinMaxObserver(ch_axis=1, dtype=torch.quint8, qscheme=torch.per_channel_affine), w, 1)
# Channel axis 0 of a [4, 50] tensor: the batches split the inner axis.
run("per-channel moving-average axis 0, 3 batches", ["--in", "w.npy", "--method", "moving-average", "--axis", "0",
                                                      "--batches", "3", "--averaging-constant", "0.2"],
    O.MovingAveragePerChannelMinMaxObserver(averaging_constant=0.2, ch_axis=0, dtype=torch.quint8,
                                             qscheme=torch.per_channel_affine), w, 3, axis=1)
# Channel axis 1: the batches split the outer axis (rows).
run("per-channel moving-average axis 1, 2 batches", ["--in", "w.npy", "--method", "moving-average", "--axis", "1",
                                                      "--batches", "2", "--averaging-constant", "0.5",
                                                      "--dtype", "int8"],
    O.MovingAveragePerChannelMinMaxObserver(averaging_constant=0.5, ch_axis=1, dtype=torch.qint8,
                                             qscheme=torch.per_channel_affine), w, 2, axis=0)

# torch-histogram: torch's HistogramObserver (2.x range fix), fed the same
# numpy.array_split batches.
run("torch-histogram uint8 affine", ["--in", "x.npy", "--method", "torch-histogram"],
    Torch2Histogram(dtype=torch.quint8, qscheme=torch.per_tensor_affine), x, 1)
run("torch-histogram int8 symmetric, 5 batches", ["--in", "x.npy", "--method", "torch-histogram", "--batches", "5",
                                                  "--dtype", "int8", "--scheme", "symmetric"],
    Torch2Histogram(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric), x, 5)
run("torch-histogram uint8 reduce, 3 batches, 512 bins", ["--in", "x.npy", "--method", "torch-histogram",
                                                          "--batches", "3", "--reduce-range", "--bins", "512"],
    Torch2Histogram(bins=512, dtype=torch.quint8, qscheme=torch.per_tensor_affine, reduce_range=True), x, 3)
run("histogramobserver alias, weights flattened", ["--in", "w.npy", "--method", "HistogramObserver", "--batches", "2"],
    Torch2Histogram(dtype=torch.quint8, qscheme=torch.per_tensor_affine), w.reshape(-1), 2)

# More batches than elements: numpy.array_split makes empty trailing
# batches, which the observers skip.
run("moving-average, 4 batches of 3 elements", ["--in", "t3.npy", "--method", "moving-average", "--batches", "4",
                                                 "--averaging-constant", "0.5"],
    O.MovingAverageMinMaxObserver(averaging_constant=0.5, dtype=torch.quint8, qscheme=torch.per_tensor_affine), t3, 4)
run("minmax, 5 batches of 3 elements", ["--in", "t3.npy", "--method", "minmax", "--batches", "5"],
    O.MinMaxObserver(dtype=torch.quint8, qscheme=torch.per_tensor_affine), t3, 5)
run("per-channel moving-average axis 1, 6 batches of 4 rows", ["--in", "w.npy", "--method", "moving-average", "--axis", "1",
                                                                "--batches", "6", "--averaging-constant", "0.5"],
    O.MovingAveragePerChannelMinMaxObserver(averaging_constant=0.5, ch_axis=1, dtype=torch.quint8,
                                             qscheme=torch.per_channel_affine), w, 6, axis=0)
# Several --in files: batches in the order given.
run("moving-average, two files, 2 batches each", ["--in", "xa.npy", "--in", "xb.npy", "--method", "moving-average",
                                                  "--batches", "2", "--averaging-constant", "0.3"],
    O.MovingAverageMinMaxObserver(averaging_constant=0.3, dtype=torch.quint8, qscheme=torch.per_tensor_affine), [xa, xb], 2)
run("moving-average, two files reversed", ["--in", "xb.npy", "--in", "xa.npy", "--method", "moving-average",
                                           "--averaging-constant", "0.3"],
    O.MovingAverageMinMaxObserver(averaging_constant=0.3, dtype=torch.quint8, qscheme=torch.per_tensor_affine), [xb, xa], 1)
run("per-channel moving-average axis 1, two files", ["--in", "xa.npy", "--in", "xb.npy", "--method", "moving-average",
                                                     "--axis", "1", "--averaging-constant", "0.5", "--dtype", "int8"],
    O.MovingAveragePerChannelMinMaxObserver(averaging_constant=0.5, ch_axis=1, dtype=torch.qint8,
                                             qscheme=torch.per_channel_affine), [xa, xb], 1, axis=0)
run("torch-histogram, two files", ["--in", "xa.npy", "--in", "xb.npy", "--method", "torch-histogram"],
    Torch2Histogram(dtype=torch.quint8, qscheme=torch.per_tensor_affine), [xa.reshape(-1), xb.reshape(-1)], 1)

with open("expected.json", "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
    f.write("\n")
