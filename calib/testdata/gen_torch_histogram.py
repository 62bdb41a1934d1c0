#!/usr/bin/python3
"""Generates calib's HistogramObserver fixtures (torch_histogram.json).

Run with the system Python that has torch 1.13 (Debian 12's python3-torch):

    /usr/bin/python3 calib/testdata/gen_torch_histogram.py

Each case feeds batches to torch.ao.quantization.HistogramObserver and records
what calculate_qparams returns (scale as float32 bits, zero point), the
observer's state (min_val, max_val, and a SHA-256 of the float32 histogram),
and the range found by _non_linear_param_search. Two behaviours are recorded:

  "1.13": Debian's torch 1.13 HistogramObserver, unmodified.
  "2":    the same observer with pytorch/pytorch issue #83672 fixed the way
          upstream fixed it (pull request #83755, in torch 2.0): forward()
          passes the float min_val/max_val (and combined_min/combined_max) to
          torch.histc instead of int(min_val)/int(max_val). Torch2Histogram
          below overrides forward() with exactly that change and nothing else.

torch's float32 sum (used for the histogram total and the L2 norms) depends on
the CPU's vector width: cases with "lanes": 16 run in a child process with
ATEN_CPU_CAPABILITY=avx512, the others with the default (AVX2, 8 lanes).

    --many N PATH [SEED]
                    also writes N random cases to PATH (not committed; the
                    Go test TestTorchHistogramMany reads them when the
                    environment variable QGPU_TORCH_HIST_MANY names the file).
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import warnings

import numpy as np
import torch
from torch.ao.quantization.observer import HistogramObserver

warnings.filterwarnings("ignore")
torch.set_num_threads(1)


class Torch2Histogram(HistogramObserver):
    """torch 1.13's HistogramObserver with the range fix of pytorch#83672
    (PR #83755): histc bins each batch over the exact float range."""

    def forward(self, x_orig):
        if x_orig.numel() == 0:
            return x_orig
        x = x_orig.detach()
        min_val = self.min_val
        max_val = self.max_val
        same_values = min_val.item() == max_val.item()
        is_uninitialized = min_val == float("inf") and max_val == float("-inf")
        if is_uninitialized or same_values:
            min_val, max_val = torch.aminmax(x)
            self.min_val.resize_(min_val.shape)
            self.min_val.copy_(min_val)
            self.max_val.resize_(max_val.shape)
            self.max_val.copy_(max_val)
            # 1.13: min=int(min_val), max=int(max_val)
            torch.histc(x, self.bins, min=min_val.item(), max=max_val.item(), out=self.histogram)
        else:
            new_min, new_max = torch.aminmax(x)
            combined_min = torch.min(new_min, min_val)
            combined_max = torch.max(new_max, max_val)
            combined_min, combined_max, downsample_rate, start_idx = self._adjust_min_max(
                combined_min, combined_max, self.upsample_rate)
            # 1.13: min=int(combined_min), max=int(combined_max)
            combined_histogram = torch.histc(x, self.bins, min=combined_min.item(), max=combined_max.item())
            if combined_min == min_val and combined_max == max_val:
                combined_histogram += self.histogram
            else:
                combined_histogram = self._combine_histograms(
                    combined_histogram, self.histogram, self.upsample_rate,
                    downsample_rate, start_idx, self.bins)
            self.histogram.detach_().resize_(combined_histogram.shape)
            self.histogram.copy_(combined_histogram)
            self.min_val.detach_().resize_(combined_min.shape)
            self.min_val.copy_(combined_min)
            self.max_val.detach_().resize_(combined_max.shape)
            self.max_val.copy_(combined_max)
        return x_orig


def b64(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def bits(v):
    return int(np.asarray(v, dtype=np.float32).reshape(-1)[0].view(np.uint32))


CONFIGS = {
    "u8": dict(dtype=torch.quint8, qscheme=torch.per_tensor_affine),
    "s8sym": dict(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric),
    "u8sym": dict(dtype=torch.quint8, qscheme=torch.per_tensor_symmetric),
    "u8rr": dict(dtype=torch.quint8, qscheme=torch.per_tensor_affine, reduce_range=True),
    "s8rr": dict(dtype=torch.qint8, qscheme=torch.per_tensor_affine, reduce_range=True),
    "s8": dict(dtype=torch.qint8, qscheme=torch.per_tensor_affine),
    "u8c": dict(dtype=torch.quint8, qscheme=torch.per_tensor_affine, quant_min=0, quant_max=100),
}


def run_case(version, cfg, batches, bins, upsample):
    cls = HistogramObserver if version == "1.13" else Torch2Histogram
    obs = cls(bins=bins, upsample_rate=upsample, **CONFIGS[cfg])
    for b in batches:
        obs(torch.from_numpy(b))
    new_min, new_max = obs._non_linear_param_search()
    s, z = obs.calculate_qparams()
    h = obs.histogram.numpy().astype("<f4").tobytes()
    return dict(scale_bits=bits(s), zero_point=int(z.reshape(-1)[0]),
                min_bits=bits(obs.min_val), max_bits=bits(obs.max_val),
                search_min_bits=bits(new_min), search_max_bits=bits(new_max),
                hist_sha256=hashlib.sha256(h).hexdigest())


def datasets():
    rng = np.random.default_rng(20261207)
    f = np.float32
    d = {}
    d["normal"] = [rng.standard_normal(2000)]
    o = rng.standard_normal(2000)
    o[1234] = 60.0
    d["outlier"] = [o]
    d["relu"] = [np.maximum(rng.standard_normal(2000), 0)]
    d["three"] = [np.array([-0.7, 0.25, 1.9])]
    d["three_positive"] = [np.array([0.3, 0.9, 2.2])]
    d["small_range"] = [rng.uniform(0.1, 0.9, 1000)]
    d["wide"] = [rng.standard_normal(1000) * 1000 + 300]
    d["grow"] = [rng.standard_normal(500) * (1 + i) + 0.5 * i for i in range(4)]
    d["grow_both"] = [rng.standard_normal(400) * 0.5, rng.standard_normal(400) * 0.25,
                      rng.uniform(-3, 1, 400), rng.standard_normal(400) * 2 + 4]
    d["relu_stream"] = [np.maximum(rng.standard_normal(500) * (i + 1), 0) for i in range(3)]
    d["constant_first"] = [np.full(50, 2.5), rng.standard_normal(500)]
    d["inside"] = [rng.uniform(-4, 4, 500), rng.uniform(-1, 1, 500), rng.uniform(-4, 5, 500)]
    # a re-binning offset of exactly 2.5 fine bins: torch.round rounds it to even
    d["half_offset"] = [np.concatenate([[0.0, 262144.0], rng.uniform(0, 262144, 300)]), np.array([-2.5, 5.0, 1000.0])]
    return {k: [np.asarray(b, dtype=f) for b in v] for k, v in d.items()}


def plan():
    """(data, version, config, bins, upsample, lanes) of the committed cases."""
    cases = []
    for name in ("normal", "outlier", "relu", "three", "three_positive", "small_range", "wide",
                 "grow", "grow_both", "relu_stream", "constant_first", "inside", "half_offset"):
        for cfg in ("u8", "s8sym"):
            cases.append((name, "2", cfg, 2048, 128, 8))
            cases.append((name, "1.13", cfg, 2048, 128, 8))
    for name in ("normal", "outlier", "grow", "grow_both", "three"):
        for cfg in ("u8rr", "s8rr", "u8sym", "s8", "u8c"):
            cases.append((name, "2", cfg, 2048, 128, 8))
    for name in ("grow", "grow_both", "relu_stream", "outlier"):
        cases.append((name, "2", "u8", 100, 128, 8))
        cases.append((name, "2", "s8sym", 2047, 128, 8))
        cases.append((name, "2", "u8", 31, 16, 8))
        cases.append((name, "2", "u8", 2048, 128, 16))
        cases.append((name, "1.13", "s8sym", 2048, 128, 16))
    return cases


def primitives(lanes):
    """Torch's float32 building blocks, recorded one by one: torch.sum,
    torch.linspace's last element, _compute_quantization_error and
    _non_linear_param_search on given histograms (including crafted ones
    where a float32 rounding decides the outcome)."""
    rng = np.random.default_rng(7 + lanes)
    out = {"sum": [], "linspace": [], "search": [], "histc": [], "floor_div": []}
    # histc on values a few ulps around bin edges, where the order of the
    # float32 operations decides the bin
    for lo, hi, nbins in ((-153.45221, 171.65123, 1000), (-2.0, 3.0, 2048), (0.1, 0.7, 100))[:3 if lanes == 8 else 0]:
        e = np.float32(lo) + (np.float32(hi) - np.float32(lo)) * rng.integers(0, nbins + 1, 250).astype(np.float64) / nbins
        x = np.nextafter(e.astype(np.float32), np.float32(rng.choice([-1e9, 1e9])) * np.ones(250, np.float32))
        x = np.concatenate([x, e.astype(np.float32), np.float32([lo, hi])]).astype(np.float32)
        h = torch.histc(torch.from_numpy(x), nbins, min=lo, max=hi).numpy()
        out["histc"].append(dict(lo=lo, hi=hi, bins=nbins, data=b64(x),
                                 counts=[[int(i), int(h[i])] for i in np.nonzero(h)[0]]))
    # floor division where floor(a / b) of the float32 quotient is wrong
    pairs = []
    while len(pairs) < (12 if lanes == 8 else 0):
        b = np.float32(10 ** rng.uniform(-3, 2))
        a = np.float32(b * np.float32(rng.integers(-300, 300))) + np.float32(rng.choice([-1, 0, 1])) * np.spacing(np.float32(b))
        a = np.float32(a)
        t = torch.div(torch.tensor([a]), float(b), rounding_mode="floor").item()
        if np.float32(t) != np.floor(np.float32(a / b)) or len(pairs) < 4:
            pairs.append([float(a), float(b), float(t)])
    out["floor_div"] = pairs
    for n in (16, 17, 100, 509, 2048):
        x = (rng.standard_normal(n) * 10.0 ** rng.uniform(-2, 4, n)).astype(np.float32)
        out["sum"].append(dict(data=b64(x), bits=bits(torch.from_numpy(x).sum())))
    for lo, hi, n in ((-1.3, 2.7, 2049), (0.1, 0.2, 32), (1e-3, 7.0, 48), (-5.5, 80.25, 2048),
                      (0.1, 0.2, 101), (-0.7, 3e4, 33), (2.0, 2.0000002, 64),
                      # the last element comes from a vector whose base is a fused multiply-add
                      (-0.0577844584321912, -0.04120703553369806, 32),
                      (-0.008530378808423465, 6.1378104156461335, 96),
                      (0.008107768971171232, 0.02821111803129356, 64)):
        t = torch.linspace(lo, hi, n)
        out["linspace"].append(dict(lo=lo, hi=hi, n=n, first_bits=bits(t[0]), last_bits=bits(t[-1])))
    hists = []
    nb = 512
    h = rng.uniform(0, 50, nb).astype(np.float32)
    h[rng.uniform(size=nb) < 0.5] = 0
    hists.append(("random", h, -3.25, 7.5, torch.quint8))
    h = np.abs(rng.standard_normal(nb) * 1000 / (1 + np.arange(nb) / 100)).astype(np.float32)
    h[5] = -1e-4  # torch's re-binning can leave tiny negative counts
    hists.append(("negative_count", h, -0.5, 9.0, torch.qint8))
    # crafted: the first bin holds exactly float32(1e-5 * total), less than
    # the float64 threshold: the float32 comparison of torch keeps the start
    # bin where a float64 one would move it (and the walk takes another path)
    for top in np.arange(50, 60, 0.0625, dtype=np.float32):
        h = np.zeros(nb, dtype=np.float32)
        h[2:500] = 1.0
        h[nb - 1] = top
        for _ in range(6):
            tot = torch.from_numpy(h).sum().item()
            h[0] = np.float32(1e-5 * tot)
        tot = torch.from_numpy(h).sum().item()
        if np.float32(1e-5 * tot) == h[0] and 1e-5 * tot > float(h[0]):
            break
    else:
        raise SystemExit("no threshold tie found")
    hists.append(("threshold_tie", h, 0.0, 1.0, torch.quint8))
    # crafted: a cumulative sum that is not monotone (a large negative count)
    # must be scanned bin by bin as torch does, not bisected
    h = np.ones(nb, dtype=np.float32)
    h[0], h[1] = 10.0, -9.999
    hists.append(("dip", h, -1.0, 2.0, torch.quint8))
    for name, h, mn, mx, dt in hists:
        obs = HistogramObserver(bins=len(h), dtype=dt)
        obs.histogram.copy_(torch.from_numpy(h))
        obs.min_val.copy_(torch.tensor(mn))
        obs.max_val.copy_(torch.tensor(mx))
        a, b = obs._non_linear_param_search()
        errs = []
        for s_, e_ in ((0, 511), (3, 500), (100, 101), (300, 300), (17, 400)):
            errs.append([s_, e_, obs._compute_quantization_error(s_, e_)])
        out["search"].append(dict(name=name, hist=b64(h), min=mn, max=mx, dst=2 ** torch.iinfo(dt).bits,
                                  lo_bits=bits(a), hi_bits=bits(b), errors=errs))
    return out


def child(spec_path, out_path):
    # A stream whose range grows by orders of magnitude makes torch allocate
    # bins * downsample_rate floats; fail such cases instead of swapping.
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    with open(spec_path) as f:
        spec = json.load(f)
    if spec == "primitives":
        lanes = 16 if os.environ.get("ATEN_CPU_CAPABILITY") == "avx512" else 8
        with open(out_path, "w") as f:
            json.dump(primitives(lanes), f)
        return
    out = []
    for c in spec:
        batches = [np.frombuffer(base64.b64decode(b), dtype="<f4").copy() for b in c["batches"]]
        try:
            out.append(run_case(c["version"], c["config"], batches, c["bins"], c["upsample"]))
        except Exception as e:  # torch refuses some inputs; the Go side must refuse them too
            out.append(dict(error=str(e).splitlines()[0]))
    with open(out_path, "w") as f:
        json.dump(out, f)


def run_primitives():
    out = {}
    for lanes, env_cap in ((8, None), (16, "avx512")):
        sp, op = "/tmp/qgpu_hist_spec.json", "/tmp/qgpu_hist_out.json"
        with open(sp, "w") as f:
            json.dump("primitives", f)
        env = dict(os.environ)
        env.pop("ATEN_CPU_CAPABILITY", None)
        if env_cap:
            env["ATEN_CPU_CAPABILITY"] = env_cap
        subprocess.run([sys.executable, __file__, "--child", sp, op], check=True, env=env)
        with open(op) as f:
            out[str(lanes)] = json.load(f)
    return out


def run_all(cases, data):
    """Runs cases (dicts with batches as base64) grouped by lane count."""
    results = [None] * len(cases)
    for lanes, env_cap in ((8, None), (16, "avx512")):
        idx = [i for i, c in enumerate(cases) if c["lanes"] == lanes]
        if not idx:
            continue
        spec = [cases[i] for i in idx]
        sp, op = "/tmp/qgpu_hist_spec.json", "/tmp/qgpu_hist_out.json"
        with open(sp, "w") as f:
            json.dump(spec, f)
        env = dict(os.environ)
        if env_cap:
            env["ATEN_CPU_CAPABILITY"] = env_cap
        else:
            env.pop("ATEN_CPU_CAPABILITY", None)
        subprocess.run([sys.executable, __file__, "--child", sp, op], check=True, env=env)
        with open(op) as f:
            res = json.load(f)
        for i, r in zip(idx, res):
            results[i] = r
    return results


def random_cases(n, seed):
    rng = np.random.default_rng(seed)
    cases = []
    kinds = ["normal", "t3", "relu", "uniform", "tiny", "outlier", "positive", "lognormal"]
    for _ in range(n):
        nb = int(rng.integers(1, 6))
        batches = []
        for _b in range(nb):
            kind = kinds[int(rng.integers(len(kinds)))]
            size = int(rng.choice([1, 2, 3, 7, 50, 300, 2000]))
            sc = float(10 ** rng.uniform(-3, 3))
            sh = float(rng.normal() * sc * rng.choice([0, 0.3, 3]))
            if kind == "normal":
                x = rng.standard_normal(size) * sc + sh
            elif kind == "t3":
                x = rng.standard_t(3, size) * sc + sh
            elif kind == "relu":
                x = np.maximum(rng.standard_normal(size) * sc, 0)
            elif kind == "uniform":
                x = rng.uniform(-sc, sc, size) + sh
            elif kind == "tiny":
                x = rng.standard_normal(size) * 1e-3
            elif kind == "outlier":
                x = rng.standard_normal(size) * sc
                x[int(rng.integers(size))] = sc * float(rng.uniform(20, 200))
            elif kind == "positive":
                x = rng.uniform(0.1, 1, size) * sc
            else:
                x = np.exp(rng.standard_normal(size)) * sc
            batches.append(b64(x.astype(np.float32)))
        cases.append(dict(data=None, batches=batches,
                          version=str(rng.choice(["2", "1.13"])),
                          config=str(rng.choice(list(CONFIGS))),
                          bins=int(rng.choice([2048, 2048, 2048, 100, 2047, 31, 16, 512])),
                          upsample=int(rng.choice([128, 128, 16, 3])),
                          lanes=int(rng.choice([8, 8, 16]))))
    return cases


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3])
        return
    data = datasets()
    cases = []
    for name, version, cfg, bins, up, lanes in plan():
        cases.append(dict(data=name, batches=[b64(b) for b in data[name]], version=version,
                          config=cfg, bins=bins, upsample=up, lanes=lanes))
    results = run_all(cases, data)
    out = {"torch": torch.__version__, "configs": {k: {kk: str(vv) for kk, vv in v.items()} for k, v in CONFIGS.items()},
           "datasets": {k: [b64(b) for b in v] for k, v in data.items()}, "cases": []}
    out["primitives"] = run_primitives()
    for c, r in zip(cases, results):
        c = {k: v for k, v in c.items() if k != "batches"}
        c.update(r)
        out["cases"].append(c)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_histogram.json")
    with open(path, "w") as f:
        json.dump(out, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", path, len(out["cases"]), "cases")
    if len(sys.argv) in (4, 5) and sys.argv[1] == "--many":
        many = random_cases(int(sys.argv[2]), int(sys.argv[4]) if len(sys.argv) == 5 else 99)
        res = run_all(many, None)
        for c, r in zip(many, res):
            c.update(r)
        with open(sys.argv[3], "w") as f:
            json.dump({"cases": many}, f)
        print("wrote", sys.argv[3], len(many), "random cases")


if __name__ == "__main__":
    main()
