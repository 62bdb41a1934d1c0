#!/usr/bin/python3
"""Generates calib's PyTorch fixtures (torch_fixtures.json).

Run with the system Python that has torch 1.13:
    /usr/bin/python3 calib/testdata/gen_torch.py

Deterministic: every data set comes from a seeded numpy Generator. Inputs
and expected scales are stored as float32 bit patterns (uint32) so the Go
tests compare bit for bit.
"""
import json
import os
import warnings

import numpy as np
import torch
from torch.ao.quantization.observer import (
    HistogramObserver,
    MinMaxObserver,
    MovingAverageMinMaxObserver,
    MovingAveragePerChannelMinMaxObserver,
    PerChannelMinMaxObserver,
)

warnings.filterwarnings("ignore")
torch.manual_seed(0)


def bits(a):
    return np.asarray(a, dtype=np.float32).view(np.uint32).ravel().tolist()


def datasets():
    rng = np.random.default_rng(20240601)
    n = 300
    d = {}
    d["normal"] = [rng.standard_normal(n) for _ in range(3)]
    d["uniform"] = [rng.uniform(-2.5, 7.0, n) for _ in range(3)]
    d["student_t3"] = [rng.standard_t(3, n) for _ in range(3)]
    o = rng.standard_normal(n)
    o[17] = 80.0
    d["outlier"] = [o, rng.standard_normal(n)]
    d["positive"] = [rng.uniform(0.5, 3.0, n) for _ in range(2)]
    d["negative"] = [-rng.exponential(2.0, n) - 0.25 for _ in range(2)]
    d["constant"] = [np.full(n, 3.25), np.full(n, 3.25)]
    d["zeros"] = [np.zeros(n)]
    d["tiny"] = [rng.standard_normal(n) * 1e-9 for _ in range(2)]
    d["tiny_positive"] = [1e-6 + rng.uniform(0, 1e-8, n)]
    d["single"] = [np.array([-0.7]), np.array([0.3])]
    d["large"] = [rng.standard_normal(n) * 1e4 + 5e3 for _ in range(2)]
    d["drift"] = [rng.standard_normal(n) * (1 + i) + i for i in range(5)]
    return {k: [np.asarray(b, dtype=np.float32) for b in v] for k, v in d.items()}


# (name, torch dtype, qscheme per-tensor, reduce_range, quant_min, quant_max)
CONFIGS = []
for dt in ("quint8", "qint8"):
    for sch in ("affine", "symmetric"):
        for rr in (False, True):
            if dt == "quint8" and sch == "symmetric" and rr:
                continue  # torch raises: cannot reduce range for symmetric quint8
            CONFIGS.append((dt, sch, rr, None, None))
CONFIGS += [
    ("quint8", "affine", False, 0, 15),
    ("quint8", "symmetric", False, 0, 15),
    ("qint8", "affine", False, -8, 7),
    ("qint8", "symmetric", False, -8, 7),
    ("quint8", "affine", True, 0, 15),
    ("qint8", "symmetric", True, -8, 7),
    ("qint8", "affine", True, -128, 127),
]


def kwargs(cfg, per_channel=False):
    dt, sch, rr, qmin, qmax = cfg
    q = {
        ("affine", False): torch.per_tensor_affine,
        ("symmetric", False): torch.per_tensor_symmetric,
        ("affine", True): torch.per_channel_affine,
        ("symmetric", True): torch.per_channel_symmetric,
    }[(sch, per_channel)]
    kw = dict(dtype=getattr(torch, dt), qscheme=q, reduce_range=rr)
    if qmin is not None:
        kw.update(quant_min=qmin, quant_max=qmax)
    return kw


def cfg_json(cfg):
    dt, sch, rr, qmin, qmax = cfg
    j = dict(dtype=dt, scheme=sch, reduce_range=rr)
    if qmin is not None:
        j.update(qmin=qmin, qmax=qmax)
    return j


def run(obs, batches):
    for b in batches:
        obs(torch.from_numpy(b))
    s, z = obs.calculate_qparams()
    return bits(s.numpy()), [int(v) for v in z.numpy().ravel()]


def main():
    data = datasets()
    out = {"datasets": {k: [bits(b) for b in v] for k, v in data.items()}, "tensor": [], "channel": [], "histogram": []}
    for name, batches in data.items():
        for cfg in CONFIGS:
            for kind, cls, extra in (
                ("minmax", MinMaxObserver, {}),
                ("moving_average", MovingAverageMinMaxObserver, {}),
                ("moving_average_c0.25", MovingAverageMinMaxObserver, {"averaging_constant": 0.25}),
            ):
                obs = cls(**kwargs(cfg), **extra)
                s, z = run(obs, batches)
                out["tensor"].append(dict(data=name, observer=kind, config=cfg_json(cfg), scale_bits=s, zero_point=z,
                                          min_bits=bits(obs.min_val.numpy()), max_bits=bits(obs.max_val.numpy())))
    # per-channel: reshape each batch of the first data sets to [3, 4, 25]
    rng = np.random.default_rng(7)
    pc = {
        "pc_normal": [rng.standard_normal((3, 4, 25)).astype(np.float32) * np.array([1, 5, 0.01, 100], dtype=np.float32)[None, :, None] for _ in range(3)],
        "pc_mixed": [np.concatenate([rng.uniform(0, 1, (3, 1, 25)), -rng.uniform(0, 1, (3, 1, 25)), np.full((3, 1, 25), 2.0), rng.standard_t(3, (3, 1, 25))], axis=1).astype(np.float32) for _ in range(2)],
    }
    out["channel_data"] = {k: {"shape": list(v[0].shape), "batches": [bits(b) for b in v]} for k, v in pc.items()}
    for name, batches in pc.items():
        for axis in (0, 1):
            for cfg in CONFIGS:
                for kind, cls in (("minmax", PerChannelMinMaxObserver), ("moving_average", MovingAveragePerChannelMinMaxObserver)):
                    obs = cls(ch_axis=axis, **kwargs(cfg, per_channel=True))
                    s, z = run(obs, batches)
                    out["channel"].append(dict(data=name, axis=axis, observer=kind, config=cfg_json(cfg), scale_bits=s, zero_point=z))
    # HistogramObserver: compared loosely (different histogram scheme).
    rng = np.random.default_rng(11)
    hd = {
        "h_normal": [rng.standard_normal(4000).astype(np.float32) for _ in range(2)],
        "h_student_t3": [rng.standard_t(3, 4000).astype(np.float32) * 10 for _ in range(2)],
        "h_outlier": [np.concatenate([rng.standard_normal(3999), [60.0]]).astype(np.float32) * 10],
    }
    out["histogram_data"] = {k: [bits(b) for b in v] for k, v in hd.items()}
    for name, batches in hd.items():
        for cfg in (("quint8", "affine", False, None, None), ("qint8", "symmetric", False, None, None)):
            obs = HistogramObserver(**kwargs(cfg))
            s, z = run(obs, batches)
            out["histogram"].append(dict(data=name, config=cfg_json(cfg), scale_bits=s, zero_point=z))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_fixtures.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", path, "tensor cases", len(out["tensor"]), "channel cases", len(out["channel"]), "histogram cases", len(out["histogram"]))


if __name__ == "__main__":
    main()
