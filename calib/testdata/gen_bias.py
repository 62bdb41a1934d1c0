#!/usr/bin/python3
"""Generates calib's bias fixtures (bias.json) with numpy, following ONNX
Runtime's quantize_bias_static_impl (onnxruntime/python/tools/quantization/
base_quantizer.py): bias_scale = input_scale * weight_scale * beta with
float32 scales (beta = 1.0), quantized = round(float64(bias) /
float64(bias_scale)) (numpy's round: half to even), then int32.

    /usr/bin/python3 calib/testdata/gen_bias.py
"""
import json
import os

import numpy as np

f32 = np.float32
rng = np.random.default_rng(20261207)


def ort_bias(bias, x_scale, w_scale):
    bias = np.asarray(bias, dtype=f32)
    bias_scale = np.asarray(x_scale, dtype=f32) * np.asarray(w_scale, dtype=f32) * 1.0
    assert bias_scale.dtype == f32
    q = (np.asarray(bias, dtype=np.float64) / np.asarray(bias_scale, dtype=np.float64)).round()
    assert np.all(q >= np.iinfo(np.int32).min) and np.all(q <= np.iinfo(np.int32).max)
    return q.astype(np.int32), bias_scale.reshape(-1)


def bits(a):
    return np.asarray(a, dtype=f32).reshape(-1).view(np.uint32).tolist()


cases = []


def add(name, bias, x_scale, w_scale):
    q, s = ort_bias(bias, x_scale, w_scale)
    cases.append(dict(name=name, bias_bits=bits(bias), x_scale_bits=bits(x_scale)[0], w_scale_bits=bits(w_scale),
                      q=q.tolist(), scale_bits=bits(s)))


# per tensor: a typical conv bias
add("per tensor", rng.standard_normal(16).astype(f32) * f32(0.3), f32(0.0123), f32([0.00456]))
# per channel: one weight scale per output channel
add("per channel", rng.standard_normal(8).astype(f32) * f32(2), f32(0.0317), (rng.uniform(0.001, 0.05, 8)).astype(f32))
# exact halves: power-of-two scales make bias / scale exactly k + 0.5
add("ties to even", f32([0.3125, 0.4375, -0.3125, -0.4375, 0.0625, -0.0625, 0.1875]), f32(0.5), f32([0.25]))
# large quotients near the int32 limits (float64 division keeps them exact)
add("near int32 limits", f32([2147483520.0 * 2 ** -20, -2147483648.0 * 2 ** -20]), f32(2 ** -10), f32([2 ** -10]))
# a float32 product that rounds: x_scale * w_scale is not exact
add("rounded product", rng.uniform(-1, 1, 6).astype(f32), f32(0.1), (rng.uniform(0.01, 0.02, 6)).astype(f32))

# quotients within a float32 rounding of a half: ORT releases that divided
# in float32 round these differently
bs, found = [], 0
while found < 4:
    b = f32(rng.uniform(-3, 3))
    q64 = np.float64(b) / np.float64(f32(f32(0.0173) * f32(0.0291)))
    q32 = np.float64(f32(b / f32(f32(0.0173) * f32(0.0291))))
    if np.round(q64) != np.round(q32):
        bs.append(b)
        found += 1
add("float64 quotient", f32(bs), f32(0.0173), f32([0.0291]))

path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bias.json")
with open(path, "w") as fh:
    json.dump({"cases": cases}, fh, indent=1)
    fh.write("\n")
print("wrote", path, len(cases), "cases")
