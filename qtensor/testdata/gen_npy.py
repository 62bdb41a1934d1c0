#!/usr/bin/python3
"""Writes the .npy fixtures of npy_test.go with real NumPy.

Run from qtensor/testdata: /usr/bin/python3 gen_npy.py
The expected values are repeated by hand in npy_test.go.
"""
import numpy as np

# float32 [2,3] with a negative zero, the smallest denormal, +inf and a NaN.
f4 = np.array([[-1.5, -0.0, 1e-45], [np.inf, 3.25, np.nan]], dtype='<f4')
np.save('f4_2x3.npy', f4)
# The same values big-endian.
np.save('f4be_2x3.npy', f4.astype('>f4'))
# Version 2.0 and 3.0 headers.
with open('f4_v2.npy', 'wb') as f:
    np.lib.format.write_array(f, f4, version=(2, 0))
with open('f4_v3.npy', 'wb') as f:
    np.lib.format.write_array(f, f4, version=(3, 0))
np.save('i1_5.npy', np.array([-128, -1, 0, 1, 127], dtype=np.int8))
np.save('u1_2x2x2.npy', (np.arange(8, dtype=np.uint8) * 31 + 10).reshape(2, 2, 2))
# 0-d int32.
np.save('i4_scalar.npy', np.array(-123456789, dtype='<i4'))
# Fortran order: values 0..5 in a [2,3] C-order array, stored column-major.
np.save('i4_fortran_2x3.npy', np.asfortranarray(np.arange(6, dtype='<i4').reshape(2, 3) * 1000 - 2500))
np.save('i4be_fortran_2x3.npy', np.asfortranarray((np.arange(6, dtype='<i4').reshape(2, 3) * 1000 - 2500).astype('>i4')))
# Empty array.
np.save('f4_0x3.npy', np.zeros((0, 3), dtype='<f4'))
# Unsupported dtypes.
np.save('f8_2.npy', np.array([1.0, 2.0], dtype='<f8'))
np.save('i8_2.npy', np.array([1, 2], dtype='<i8'))
# float64 and float16 arrays that ReadNPYFloat32 converts, and the float32
# NumPy makes of them with astype (the expected values): rounding ties to
# even (1 + 2^-24), values beyond float32 (1e39 -> inf), float32 denormals,
# a value that underflows to -0, NaN; float16 subnormals and infinities.
f8 = np.array([[0.1, 1 + 2**-24, 1 + 3 * 2**-24, -2.5e-44], [1e39, -1e-50, np.nan, -np.inf]], dtype='<f8')
np.save('f8_conv_2x4.npy', f8)
np.save('f8be_conv_2x4.npy', f8.astype('>f8'))
with np.errstate(over='ignore'):
    np.save('f8_conv_2x4_as_f4.npy', f8.astype('<f4'))
f2 = np.array([0.0, -0.0, 6e-8, 6.1e-5, 65504.0, np.inf, -1.5, 0.333], dtype='<f2')
np.save('f2_conv_8.npy', f2)
np.save('f2_conv_8_as_f4.npy', f2.astype('<f4'))
