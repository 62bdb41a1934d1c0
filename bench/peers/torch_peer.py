#!/usr/bin/python3
"""PyTorch quantized peer for qgpu (Debian python3-torch 1.13, oneDNN engine).

Times the same cases as ../../cmd/qgpu bench, built like the shared harness
shared/peers/torch/qlinear.py (same scales, zero points and weight layout), but
with a thread count and the streaming ops added:

  linear M K N   torch.ops.quantized.linear, quint8 A [M,K] x prepacked qint8 W [N,K] -> quint8
  conv N C H W O KH KW PAD
                 torch.nn.quantized.Conv2d, quint8 NCHW input, qint8 weights -> quint8
  quantize S     torch.quantize_per_tensor(float32 [S] in [-2.5, 2.5], 0.02, 128, quint8)
  dequantize S   quint8 [S] -> float32 (Tensor.dequantize)

usage:
  torch_peer.py [--threads T] linear 1024 1024 1024      one case, prints one JSON line
  torch_peer.py --serve                                   JSON requests on stdin, one per line:
      {"op": "linear", "args": [M, K, N], "threads": T}  -> one JSON line per request

Each case: 3 warm-up calls, then timed calls until about --budget seconds (0.5 s)
are spent, at least 15 and at most 2000; the result is the median wall time of
one call (output allocation included, as a Python caller sees it) in seconds.
GOPS counts 2*M*N*K (conv 2*N*O*OH*OW*C*KH*KW); GB/s counts 5 bytes per element.
"""
import json
import sys
import time

try:
    import torch
except ImportError as e:  # the driver turns this into install instructions
    print(json.dumps({"error": "python3 cannot import torch (%s): apt-get install python3-torch" % e}), flush=True)
    sys.exit(3)

ENGINE = 'onednn'
if ENGINE not in torch.backends.quantized.supported_engines:
    ENGINE = 'qnnpack' if 'qnnpack' in torch.backends.quantized.supported_engines else ''
if ENGINE:
    torch.backends.quantized.engine = ENGINE


def timed(f, budget, min_runs=15, max_runs=2000):
    for _ in range(3):
        f()
    ts = []
    spent = 0.0
    while len(ts) < min_runs or (spent < budget and len(ts) < max_runs):
        t = time.perf_counter()
        f()
        d = time.perf_counter() - t
        ts.append(d)
        spent += d
    ts.sort()
    n = len(ts)
    med = ts[n // 2] if n % 2 else (ts[n // 2 - 1] + ts[n // 2]) / 2
    return med, ts[0], n


def build(op, a):
    torch.manual_seed(1)
    if op == 'linear':
        M, K, N = a
        x = torch.quantize_per_tensor(torch.randn(M, K), 0.05, 128, torch.quint8)
        w = torch.quantize_per_tensor(torch.randn(N, K), 0.02, 0, torch.qint8)
        p = torch.ops.quantized.linear_prepack(w, torch.zeros(N))
        return (lambda: torch.ops.quantized.linear(x, p, 0.1, 128)), {"ops": 2 * M * K * N}, 'quint8 [%d,%d] x qint8 [%d,%d]^T -> quint8' % (M, K, N, K)
    if op == 'conv':
        n, c, h, w_, o, kh, kw, pad = a
        conv = torch.nn.quantized.Conv2d(c, o, (kh, kw), padding=pad)
        conv.set_weight_bias(torch.quantize_per_tensor(torch.randn(o, c, kh, kw), 0.02, 0, torch.qint8), torch.zeros(o))
        conv.scale, conv.zero_point = 0.1, 128
        x = torch.quantize_per_tensor(torch.randn(n, c, h, w_), 0.05, 128, torch.quint8)
        oh, ow = h + 2 * pad - kh + 1, w_ + 2 * pad - kw + 1
        return (lambda: conv(x)), {"ops": 2 * n * o * oh * ow * c * kh * kw}, 'quint8 NCHW x qint8 -> quint8'
    if op == 'quantize':
        (s,) = a
        x = torch.rand(s) * 5 - 2.5
        return (lambda: torch.quantize_per_tensor(x, 0.02, 128, torch.quint8)), {"bytes": 5 * s}, 'float32 -> quint8'
    if op == 'dequantize':
        (s,) = a
        q = torch.quantize_per_tensor(torch.rand(s) * 5 - 2.5, 0.02, 128, torch.quint8)
        return (lambda: q.dequantize()), {"bytes": 5 * s}, 'quint8 -> float32'
    raise ValueError('unknown op %r (linear, conv, quantize, dequantize)' % op)


def run(req, budget):
    op, a, t = req['op'], [int(v) for v in req['args']], int(req.get('threads', 1))
    torch.set_num_threads(t)
    c0 = time.process_time()
    f, work, what = build(op, a)
    med, mn, n = timed(f, budget)
    r = {"op": op, "args": a, "threads": t, "engine": ENGINE, "what": what, "runs": n,
         "seconds": med, "min_seconds": mn, "torch": torch.__version__}
    if 'ops' in work:
        r['gops'] = work['ops'] / med / 1e9
    else:
        r['gbps'] = work['bytes'] / med / 1e9
    r['cpu_seconds'] = time.process_time() - c0
    return r


def main(argv):
    threads, budget, serve, rest = 1, 0.5, False, []
    i = 0
    while i < len(argv):
        if argv[i] == '--threads':
            threads = int(argv[i + 1]); i += 2
        elif argv[i] == '--budget':
            budget = float(argv[i + 1]); i += 2
        elif argv[i] == '--serve':
            serve = True; i += 1
        elif argv[i] in ('-h', '--help'):
            print(__doc__); return 0
        else:
            rest.append(argv[i]); i += 1
    if serve:
        for line in sys.stdin:
            if not line.strip():
                continue
            try:
                r = run(json.loads(line), budget)
            except Exception as e:  # report, keep serving
                r = {"error": "%s: %s" % (type(e).__name__, e)}
            print(json.dumps(r), flush=True)
        return 0
    if not rest:
        print(__doc__, file=sys.stderr); return 2
    print(json.dumps(run({"op": rest[0], "args": rest[1:], "threads": threads}, budget)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
