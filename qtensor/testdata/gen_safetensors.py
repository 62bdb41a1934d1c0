#!/usr/bin/python3
"""Writes sample.safetensors and the expected float32 values (.npy) for
safetensors_test.go. NumPy converts F16 to float32; BF16 is the top half of
a float32's bits, so its float32 is those bits shifted back.

Run from qtensor/testdata: /usr/bin/python3 gen_safetensors.py
"""
import json
import struct

import numpy as np

f32 = np.array([[1.5, -2.25, 3e-41], [np.inf, -0.0, 1e30]], dtype='<f4')

# Half-precision values: zeros, smallest and largest subnormals, smallest
# normal, one, max, infinities, NaNs with payloads, and a few random ones.
f16_bits = np.array([0x0000, 0x8000, 0x0001, 0x8001, 0x03ff, 0x0200, 0x0400, 0x3c00,
                     0xbc00, 0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0xfd55,
                     0x3555, 0x4248, 0xc8e0, 0x1234], dtype='<u2')
rng = np.random.default_rng(7)
f16_bits = np.concatenate([f16_bits, rng.integers(0, 1 << 16, 12, dtype=np.uint16)])
f16 = f16_bits.view('<f2').reshape(4, 8)

bf16_bits = np.array([0x0000, 0x8000, 0x3f80, 0xc049, 0x0001, 0x7f80, 0xff80, 0x7fc1], dtype='<u2')
bf16 = bf16_bits.reshape(2, 2, 2)

i8 = np.array([-3, 0, 7], dtype=np.int8)

tensors = [("weight.f32", "F32", f32), ("emb.f16", "F16", f16), ("bias.bf16", "BF16", bf16), ("ids.i8", "I8", i8)]
header = {"__metadata__": {"format": "pt", "source": "qgpu gen_safetensors.py"}}
data = b""
for name, dtype, arr in tensors:
    raw = arr.tobytes()
    header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [len(data), len(data) + len(raw)]}
    data += raw
h = json.dumps(header, separators=(",", ":")).encode()
h += b" " * (-len(h) % 8)
with open("sample.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)))
    f.write(h)
    f.write(data)

np.save("sample_weight_f32.npy", f32)
np.save("sample_emb_f16.npy", f16.astype(np.float32))
np.save("sample_bias_bf16.npy", (bf16.astype(np.uint32) << 16).view(np.float32))
