// common.glsl - included (textually, by the shaders package) after the
// per-API preamble and before every kernel body. One source for Vulkan
// (SPIR-V via glslc, "#define QGPU_VULKAN") and OpenGL 4.3 (compiled by the
// driver at start-up).
//
// Every kernel sees four storage buffers of uint words and its parameter
// block "params" (src/params.glsl, generated from shaders/params.go: Vulkan
// push constants; a std140 uniform block in GL, the same offsets):
//   binding 0: BX   first input     binding 2: BY   output
//   binding 1: BW   second input    binding 3: BA   auxiliary constants
// Byte offsets of tensors are folded into the bindings by the host, so
// element 0 of each tensor is at word 0.
//
// Exactness rules: every float result that another backend
// must match is computed with separate, `precise` operations (no FMA
// contraction); divisions are plain `/` (correctly rounded for normal
// operands on the measured drivers); NaN, Inf and the sign of zero are
// classified from the bit patterns with integer operations, because
// SwiftShader flushes denormals in every float instruction, even
// comparisons; GLSL min/max/clamp never see a NaN.

#ifdef QGPU_SPIRV_INTRINSICS
// Vulkan-only variants reach SPIR-V instructions glslang has no GLSL name
// for (extensions must precede every other token).
#extension GL_EXT_spirv_intrinsics : require
#endif
#ifdef QGPU_INT8_STORAGE
// Vulkan-only variants reading operands as 8-bit arrays (device features
// storageBuffer8BitAccess and shaderInt8).
#extension GL_EXT_shader_8bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
#endif

layout(local_size_x = 256, local_size_y = 1, local_size_z = 1) in;

layout(std430, binding = 0) readonly buffer BXb { uint BX[]; };
layout(std430, binding = 1) readonly buffer BWb { uint BW[]; };
layout(std430, binding = 2) buffer BYb { uint BY[]; };
#ifdef QGPU_KERNEL_NBITS
// nbits writes its scratch (the int8 mode's prepared activations) after
// the plan's auxiliary words.
layout(std430, binding = 3) buffer BAb { uint BA[]; };
#else
layout(std430, binding = 3) readonly buffer BAb { uint BA[]; };
#endif

#include_params

// Loop budget: llvmpipe (lavapipe, and Mesa's GL driver) counts the loop
// iterations of an invocation in ONE counter shared by all its loops and
// silently leaves every loop once 65535 iterations have run (gallivm's
// loop limiter). Kernels therefore unroll their data-dependent inner loops
// (GEMM's K, conv's channels, pooling's window rows) so that the largest
// ops the engine accepts stay far below that count.

// Loads element i of a tensor of type t from buffer words. Signed types are
// sign-extended by bitfieldExtract on an int.
#define LOADQ(B, t, i) ( \
    (t) == Uint8 ? int(bitfieldExtract((B)[(i) >> 2], int(((i) & 3u) * 8u), 8)) : \
    (t) == Int8 ? bitfieldExtract(int((B)[(i) >> 2]), int(((i) & 3u) * 8u), 8) : \
    (t) == Uint4 ? int(bitfieldExtract((B)[(i) >> 3], int(((i) & 7u) * 4u), 4)) : \
    (t) == Int4 ? bitfieldExtract(int((B)[(i) >> 3]), int(((i) & 7u) * 4u), 4) : \
    int((B)[i]))

// Elements per output word of type t.
uint perWord(uint t) { return t == Uint4 || t == Int4 ? 8u : (t == Uint8 || t == Int8 ? 4u : 1u); }
uint elemBits(uint t) { return t == Uint4 || t == Int4 ? 4u : (t == Uint8 || t == Int8 ? 8u : 32u); }

// Float classification from bits.
bool bitsNaN(uint b) { return (b & 0x7fffffffu) > 0x7f800000u; }
bool bitsInf(uint b) { return (b & 0x7fffffffu) == 0x7f800000u; }

// clampRound of qtensor: r (already rounded, not NaN, maybe +-Inf) plus zp,
// saturated to [qmin, qmax] by comparing in float relative to zp.
int clampRound(float r, int zp, int qmin, int qmax) {
    float lo = float(qmin - zp);
    float hi = float(qmax - zp);
    if (r < lo) r = lo;
    else if (r > hi) r = hi;
    return int(r) + zp;
}

// qtensor.Requantize: clamp(rint(float32(acc) * m) + zp).
int requantFloat(int acc, float m, int zp, int qmin, int qmax) {
    precise float v = float(acc) * m;
    return clampRound(roundEven(v), zp, qmin, qmax);
}

// qtensor.RequantizeFixed: clamp(zp + ((int64(acc)*mult + 2^(shift-1)) >> shift)),
// with the 64-bit arithmetic done in 32-bit halves.
int requantFixed(int acc, int mult, uint shift, int zp, int qmin, int qmax) {
    int hi; int lo;
    imulExtended(acc, mult, hi, lo);
    uint ulo = uint(lo);
    uint carry;
    uint rnd = shift <= 32u ? (1u << (shift - 1u)) : 0u;
    int rndHi = shift > 32u ? (1 << (shift - 33u)) : 0;
    ulo = uaddCarry(ulo, rnd, carry);
    hi = hi + int(carry) + rndHi;
    // 64-bit arithmetic shift right of (hi:ulo) by shift in [1, 63].
    int rhi; uint rlo;
    if (shift < 32u) {
        rlo = (ulo >> shift) | (uint(hi) << (32u - shift));
        rhi = hi >> shift;
    } else {
        rlo = uint(hi >> (shift - 32u));
        rhi = hi < 0 ? -1 : 0;
    }
    // Saturate the 64-bit value to int32 range, then add zp and clamp.
    int v;
    if (rhi > 0 || (rhi == 0 && rlo > 0x7fffffffu)) v = 0x7fffffff;
    else if (rhi < -1 || (rhi == -1 && rlo < 0x80000000u)) v = int(0x80000000u);
    else v = int(rlo);
    // v + zp in 64 bits is within int32 range +- 2^31 + 255; clamp first.
    if (v > qmax - zp) return qmax;
    if (v < qmin - zp) return qmin;
    return v + zp;
}

// Packs element value v (already in range) of type t into word w at slot s.
uint packInto(uint w, uint t, uint s, int v) {
    uint bits = elemBits(t);
    return bitfieldInsert(w, uint(v), int(s * bits), int(bits));
}

// Writes one whole output word, preserving the bytes past the tensor's end
// (element count n) so a partial last word never overwrites a neighbour.
// Exactly one invocation owns each word.
void storeWord(uint wi, uint t, uint n, uint w) {
    uint pw = perWord(t);
    uint first = wi * pw;
    if (first + pw > n) {
        uint keep = (n - first) * elemBits(t);
        uint mask = keep >= 32u ? 0xffffffffu : ((1u << keep) - 1u);
        w = (w & mask) | (BY[wi] & ~mask);
    }
    BY[wi] = w;
}

// Global invocation index over a 2-D grid of work groups (x up to 65535).
uint gid() { return gl_GlobalInvocationID.x + gl_GlobalInvocationID.y * gl_NumWorkGroups.x * gl_WorkGroupSize.x; }

// Division as the quantizing kernels need it (quantize, nbits).
#ifdef QGPU_EXACT_DIV
// IEEE-754 binary32 division of the floats with bits xb and sb, rounded to
// nearest even, computed from the bit patterns with integer operations only
// (so it is exact whatever the device's float division or denormal mode).
// Zeros, denormals, infinities and NaN behave as in IEEE arithmetic (NaN
// results are the canonical quiet NaN).
uint exactDivBits(uint xb, uint sb) {
    uint sign = (xb ^ sb) & 0x80000000u;
    uint ex = (xb >> 23) & 0xffu, es = (sb >> 23) & 0xffu;
    uint fx = xb & 0x7fffffu, fs = sb & 0x7fffffu;
    uint axb = xb & 0x7fffffffu, asb = sb & 0x7fffffffu;
    if (axb > 0x7f800000u || asb > 0x7f800000u) return 0x7fc00000u; // NaN operand
    if (axb == 0x7f800000u) return asb == 0x7f800000u ? 0x7fc00000u : (sign | 0x7f800000u);
    if (asb == 0x7f800000u) return sign; // finite / Inf
    if (axb == 0u) return asb == 0u ? 0x7fc00000u : sign;
    if (asb == 0u) return sign | 0x7f800000u;
    // Significands normalised into [2^23, 2^24); e1, e2 biased exponents
    // (<= 0 for normalised denormals).
    int e1 = int(ex), e2 = int(es);
    uint mx = fx | 0x800000u, ms = fs | 0x800000u;
    if (ex == 0u) { int sh = 23 - findMSB(fx); mx = fx << uint(sh); e1 = 1 - sh; }
    if (es == 0u) { int sh = 23 - findMSB(fs); ms = fs << uint(sh); e2 = 1 - sh; }
    int e = e1 - e2 + 127; // biased exponent of the quotient
    if (mx < ms) { mx <<= 1u; e -= 1; } // now 1 <= mx / ms < 2
    // Restoring division: 25 quotient bits (24 significand bits and a round
    // bit); the remainder gives the sticky bit. r < 2^25 throughout.
    // Unrolled (no loop: llvmpipe's loop budget, see above).
    uint q = 0u, r = mx;
#define DIV_STEP { q <<= 1u; if (r >= ms) { r -= ms; q |= 1u; } r <<= 1u; }
    DIV_STEP DIV_STEP DIV_STEP DIV_STEP DIV_STEP
    DIV_STEP DIV_STEP DIV_STEP DIV_STEP DIV_STEP
    DIV_STEP DIV_STEP DIV_STEP DIV_STEP DIV_STEP
    DIV_STEP DIV_STEP DIV_STEP DIV_STEP DIV_STEP
    DIV_STEP DIV_STEP DIV_STEP DIV_STEP DIV_STEP
#undef DIV_STEP
    bool sticky = r != 0u;
    if (e <= 0) { // denormal result: 1 - e more bits drop out
        uint sh = uint(1 - e);
        if (sh > 25u) return sign;
        sticky = sticky || (q & ((1u << sh) - 1u)) != 0u;
        q >>= sh;
    }
    uint m = q >> 1u;
    if ((q & 1u) != 0u && (sticky || (m & 1u) != 0u)) m += 1u;
    // A carry out of the significand moves into the exponent field, which
    // is what IEEE rounding wants (also from the largest denormal to the
    // smallest normal).
    uint bits = e > 0 ? (uint(e - 1) << 23u) + m : m;
    if (bits >= 0x7f800000u) return sign | 0x7f800000u;
    return sign | bits;
}
#endif

// The quotient x / s of quantize (x, s given as bits): the device's
// float division, or with QGPU_EXACT_DIV (the kernels' _exactdiv
// variants) exactDivBits.
float quotient(uint xb, uint sb) {
#ifdef QGPU_EXACT_DIV
    return uintBitsToFloat(exactDivBits(xb, sb));
#else
    precise float v = uintBitsToFloat(xb) / uintBitsToFloat(sb);
    return v;
#endif
}
