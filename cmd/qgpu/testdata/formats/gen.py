#!/usr/bin/python3
"""Writes the NumPy files of formats_test.go: what qgpu's .npy outputs
must equal byte for byte, computed with NumPy's formulas and written by
numpy.save.

Run from cmd/qgpu/testdata/formats: /usr/bin/python3 gen.py
"""
import numpy as np

# dequantize of an int8 tensor [2, 3] with scale 0.5, zero point 3 (the
# test builds the same .qt file): float32(q - zp) * scale.
q = np.array([[-128, -1, 0], [3, 5, 127]], dtype=np.int8)
np.save('deq_2x3.npy', (q.astype(np.int32) - 3).astype(np.float32) * np.float32(0.5))

# QuantizeLinear of x with scale 0.5, zero point 3 (int8):
# saturate(round_half_even(x / scale) + zp).
x = np.array([[-70.0, -1.25, 0.25], [0.75, 1.0, 70.0]], dtype=np.float32)
np.save('x_2x3.npy', x)
np.save('q_2x3.npy', np.clip(np.rint(x / np.float32(0.5)) + 3, -128, 127).astype(np.int8))
np.save('scale.npy', np.array(0.5, dtype=np.float32))
np.save('zp.npy', np.array(3, dtype=np.int8))

# MatMulInteger of uint8 a [2, 3] and int8 b [3, 2], zero points 0: int32.
a = np.array([[1, 2, 255], [0, 128, 7]], dtype=np.uint8)
b = np.array([[-1, 2], [3, -128], [127, 0]], dtype=np.int8)
np.save('a_2x3.npy', a)
np.save('b_3x2.npy', b)
np.save('ab_2x2.npy', a.astype(np.int32) @ b.astype(np.int32))
