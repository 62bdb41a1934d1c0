#!/usr/bin/env python3
"""Generate Caffe2 QTensorProto fixtures for qtensor/proto_test.go.

This is an encoder written independently of the Go code: protobuf varints,
fixed64 doubles and length-delimited fields are spelled out by hand below
(python3-protobuf and caffe2.proto are not available on the build machine),
and the bit-plane layout of caffe2/core/qtensor.h is re-implemented in
`planes`. Run it from this directory:

    python3 gen.py

It writes *.pb, manifest.json (what each file must decode to, or that it
must be rejected) and the seed corpus of FuzzReadQTensorProto.
"""
import json
import os
import struct

# --- protobuf wire format ---------------------------------------------------

VARINT, FIXED64, BYTES, SGROUP, EGROUP, FIXED32 = 0, 1, 2, 3, 4, 5


def varint(v):
    if v < 0:  # int32/int64 negatives are 10-byte two's complement varints
        v += 1 << 64
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wt):
    return varint(field << 3 | wt)


def f_varint(field, v):
    return key(field, VARINT) + varint(v)


def f_double(field, x):
    return key(field, FIXED64) + struct.pack("<d", x)


def f_bytes(field, b):
    return key(field, BYTES) + varint(len(b)) + b


def f_fixed32(field, v):
    return key(field, FIXED32) + struct.pack("<I", v)


# hand checks of the encoder itself
assert varint(0) == b"\x00" and varint(1) == b"\x01" and varint(127) == b"\x7f"
assert varint(128) == b"\x80\x01" and varint(300) == b"\xac\x02"
assert varint(-1) == b"\xff" * 9 + b"\x01"
assert key(6, BYTES) == b"\x32" and key(3, FIXED64) == b"\x19"
assert struct.pack("<d", 1.0) == b"\x00\x00\x00\x00\x00\x00\xf0\x3f"

# --- Caffe2 bit planes -------------------------------------------------------


def planes(values, precision, signed, alignment=8):
    """Bit-plane buffer: plane b holds bit b of every element, starts at
    byte aligned*b/8; element i is bit 7 - i%8 of byte i/8 of the plane;
    a signed tensor has a sign plane (sign-magnitude) after the magnitudes."""
    n = len(values)
    aligned = alignment * ((n + alignment - 1) // alignment)
    nplanes = precision + (1 if signed else 0)
    buf = bytearray(aligned * nplanes // 8)
    for i, v in enumerate(values):
        m = abs(v)
        assert m < (1 << precision) and (signed or v >= 0)
        bits = [(m >> b) & 1 for b in range(precision)]
        if signed:
            bits.append(1 if v < 0 else 0)
        for b, bit in enumerate(bits):
            if bit:
                buf[aligned * b // 8 + i // 8] |= 1 << (7 - i % 8)
    return bytes(buf)


# the hand-worked example of the brief: precision 2, [1, 2, 3]
assert planes([1, 2, 3], 2, False) == bytes([0b10100000, 0b01100000])


def qtensor(dims, precision, scale, bias, signed, data, name=None,
            data_type=None, scales=(), biases=(), axis=None, multiparam=None):
    """A QTensorProto in the canonical order Caffe2's C++ runtime writes."""
    out = b"".join(f_varint(1, d) for d in dims)
    out += f_varint(2, precision) + f_double(3, scale) + f_double(4, bias)
    out += f_varint(5, 1 if signed else 0)
    if data:
        out += f_bytes(6, b"".join(varint(x) for x in data))
    if name:
        out += f_bytes(7, name.encode())
    if data_type is not None:
        out += f_varint(8, data_type)
    out += b"".join(f_double(9, s) for s in scales)
    out += b"".join(f_double(10, s) for s in biases)
    if axis is not None:
        out += f_varint(11, axis)
    if multiparam:
        out += f_varint(12, 1)
    return out


files = {}
manifest = []


def ok(fname, canonical, dims, precision, signed, scale, bias, values,
       name="", data_type=None, scales=(), biases=(), axis=0, multiparam=False,
       data=None, blob=None):
    if data is None:
        data = planes(values, precision, signed)
    if blob is None:
        blob = qtensor(dims, precision, scale, bias, signed, data, name,
                       data_type, scales, biases,
                       axis if (axis or multiparam) else None, multiparam)
    files[fname] = blob
    manifest.append(dict(file=fname, ok=True, canonical=canonical, dims=dims,
                         precision=precision, signed=signed, scale=scale,
                         bias=bias, values=values, data=list(data), name=name,
                         data_type=data_type, scales=list(scales),
                         biases=list(biases), axis=axis, multiparam=multiparam))


def bad(fname, blob, why, match):
    """blob must be rejected with an error message containing match."""
    files[fname] = blob
    manifest.append(dict(file=fname, ok=False, why=why, match=match))


# --- valid, canonical --------------------------------------------------------

ok("unsigned_p2.pb", "unsigned_p2.pb", [3], 2, False, 0.5, -1.0, [1, 2, 3], name="w")
ok("signed_p3.pb", "signed_p3.pb", [3, 3], 3, True, 0.25, 2.5,
   [-5, 0, 3, -1, 7, -7, 2, 1, -4], name="conv1_w", data_type=3)
ok("multiparam.pb", "multiparam.pb", [2, 4], 4, False, 1.0, 0.0,
   [0, 15, 7, 8, 1, 2, 3, 14], scales=[0.5, 0.125], biases=[-3.0, 1.5],
   axis=0, multiparam=True)
ok("axis_only.pb", "axis_only.pb", [9], 1, False, 2.0, -0.0,
   [1, 0, 1, 1, 0, 0, 1, 0, 1], axis=-1)
ok("empty.pb", "empty.pb", [0, 5], 8, False, 1.0, 0.0, [])
ok("scalar.pb", "scalar.pb", [], 1, True, 3.0, 0.0, [-1], name="s")
ok("p8_signed_65.pb", "p8_signed_65.pb", [5, 13], 8, True, 1e-3, -7.0,
   [((i * 37) % 511) - 255 for i in range(65)], data_type=-1)

# --- valid, non-canonical encodings -----------------------------------------
# Each decodes to the same tensor as a canonical file and re-encodes to it.

d1 = planes([1, 2, 3], 2, False)
v = b""
v += f_bytes(7, b"")                       # empty name, later replaced
v += f_varint(15, 12345)                   # unknown varint field
v += f_varint(2, 7)                        # precision 7, later replaced
v += f_bytes(1, varint(3))                 # dims packed
v += f_fixed32(3, 0x3F000000)              # scale with the wrong wire type: unknown
v += f_double(3, 99.0)                     # scale, later replaced
v += f_varint(6, d1[0])                    # data unpacked entry
v += f_bytes(20, b"unknown bytes")         # unknown length-delimited field
v += key(30, SGROUP) + f_varint(1, 5) + key(30, EGROUP)  # unknown group
v += f_bytes(6, varint(d1[1]))             # data packed chunk
v += f_bytes(6, b"")                       # empty packed chunk
v += f_varint(5, 0)                        # is_signed
v += key(99, FIXED64) + b"\x01" * 8        # unknown fixed64
v += f_double(4, -1.0)                     # bias
v += f_varint(2, 2)                        # precision, last wins
v += f_double(3, 0.5)                      # scale, last wins
v += f_bytes(7, b"w")                      # name, last wins
ok("variant_unpacked.pb", "unsigned_p2.pb", [3], 2, False, 0.5, -1.0, [1, 2, 3],
   name="w", blob=v)

dm = planes([0, 15, 7, 8, 1, 2, 3, 14], 4, False)
v = b""
v += f_varint(12, 1) + f_varint(11, 0)
v += f_bytes(9, struct.pack("<dd", 0.5, 0.125))        # scales packed
v += f_double(10, -3.0) + f_bytes(10, struct.pack("<d", 1.5))  # mixed
v += f_varint(1, 2) + f_varint(1, 4)
v += f_varint(2, 4) + f_double(3, 1.0) + f_double(4, 0.0)
v += key(5, VARINT) + b"\x80\x00"         # is_signed = 0, overlong varint
v += f_bytes(6, b"".join(varint(x) for x in dm))
ok("variant_multiparam.pb", "multiparam.pb", [2, 4], 4, False, 1.0, 0.0,
   [0, 15, 7, 8, 1, 2, 3, 14], scales=[0.5, 0.125], biases=[-3.0, 1.5],
   axis=0, multiparam=True, blob=v)

# --- invalid ----------------------------------------------------------------

good = files["unsigned_p2.pb"]
hdr = f_varint(1, 3)
pd1 = b"".join(varint(x) for x in d1)  # packed data payload
bad("missing_precision.pb", hdr + f_double(3, 0.5) + f_double(4, 0) + f_varint(5, 0) + f_bytes(6, pd1), "precision missing", 'required field(s) precision missing')
bad("missing_is_signed.pb", hdr + f_varint(2, 2) + f_double(3, 0.5) + f_double(4, 0) + f_bytes(6, pd1), "is_signed missing", 'required field(s) is_signed missing')
bad("missing_scale.pb", hdr + f_varint(2, 2) + f_double(4, 0) + f_varint(5, 0) + f_bytes(6, pd1), "scale missing", 'required field(s) scale missing')
bad("missing_bias.pb", hdr + f_varint(2, 2) + f_double(3, 0.5) + f_varint(5, 0) + f_bytes(6, pd1), "bias missing", 'required field(s) bias missing')
bad("empty_message.pb", b"", "all required fields missing", 'required field(s) precision, scale, bias, is_signed missing')
bad("data_short.pb", qtensor([3], 2, 0.5, 0, False, d1[:1]), "1 data byte, 2 needed", 'need 2 data bytes, have 1')
bad("data_long.pb", qtensor([3], 2, 0.5, 0, False, d1 + b"\x00"), "3 data bytes, 2 needed", 'need 2 data bytes, have 3')
bad("data_256.pb", qtensor([3], 2, 0.5, 0, False, [0xA0, 256]), "data entry 256", 'data[1] = 256')
bad("data_negative.pb", qtensor([3], 2, 0.5, 0, False, [0xA0, -1]), "data entry -1", 'data[1] = -1')
bad("negative_dim.pb", qtensor([-1], 2, 0.5, 0, False, d1), "dims[0] = -1", 'dims[0] = -1')
bad("precision_0.pb", qtensor([3], 0, 0.5, 0, False, d1), "precision 0", 'precision 0 outside')
bad("precision_9.pb", qtensor([3], 9, 0.5, 0, False, d1 + d1), "precision 9", 'precision 9 outside')
bad("scale_nan.pb", qtensor([3], 2, float("nan"), 0, False, d1), "NaN scale", '(scale) is NaN')
bad("bias_inf.pb", qtensor([3], 2, 0.5, float("-inf"), False, d1), "-Inf bias", '(bias) is -Inf')
bad("scales_inf.pb", qtensor([3], 2, 0.5, 0, False, d1, scales=[float("inf")]), "Inf in scales", 'field 9 has a non-finite')
bad("truncated.pb", good[:-1], "cut inside the name", 'field 7')
bad("truncated_data.pb", good[:good.index(b"\x32") + 3], "cut inside packed data", 'field 6')
bad("reserved_wire_type.pb", good + key(16, 7), "wire type 7", 'reserved wire type')
bad("end_group.pb", good + key(16, EGROUP), "stray end group", 'end group')
bad("too_many_dims.pb", qtensor([1] * 65, 2, 0.5, 0, False, d1[:1] + b"\x00"), "65 dims", 'more than 64 dims')
bad("dims_overflow.pb", qtensor([1 << 32, 1 << 32], 2, 0.5, 0, False, d1), "2^64 elements", 'overflows')
bad("dims_huge.pb", qtensor([1 << 30, 1 << 30], 2, 0.5, 0, False, d1), "2^60 elements, no data", 'too many')
bad("dims_large_no_data.pb", qtensor([1 << 30], 8, 0.5, 0, False, b""), "2^30 elements, 0 data bytes", 'need 1073741824 data bytes, have 0')
bad("packed_scales_ragged.pb", good + f_bytes(9, b"\x00" * 7), "7-byte packed double run", 'not a whole number of doubles')
bad("packed_data_cut_varint.pb", qtensor([3], 2, 0.5, 0, False, b"") + f_bytes(6, b"\xa0\x80"), "packed varint cut", 'packed field 6')

for fname, blob in files.items():
    with open(fname, "wb") as f:
        f.write(blob)
with open("manifest.json", "w") as f:
    json.dump(manifest, f, indent=1)
    f.write("\n")

# seed corpus for FuzzReadQTensorProto, in `go test fuzz v1` format
corpus = os.path.join("..", "fuzz", "FuzzReadQTensorProto")
os.makedirs(corpus, exist_ok=True)
for fname, blob in files.items():
    lit = "".join("\\x%02x" % c for c in blob)
    with open(os.path.join(corpus, fname[:-3]), "w") as f:
        f.write('go test fuzz v1\n[]byte("%s")\n' % lit)
