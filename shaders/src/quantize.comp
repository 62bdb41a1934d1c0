// quantize.comp - engine Quantize and Dequantize (ONNX QuantizeLinear /
// DequantizeLinear; qtensor.Quantize, QuantizeTorch, Dequantize). Params:
// shaders.QuantizeParams, Mode one of QuantizeDivide, QuantizeMultiply,
// Dequantize and QuantizeQuotient (self-tests).
// Quantize: one invocation per output word (4 or 8 elements).
// Dequantize, QuantizeQuotient: one invocation per float output element.
// With QGPU_EXACT_DIV (variant quantize_exactdiv) the quotient comes from
// exactDivBits, integer operations only, for devices whose float division
// is not correctly rounded (the backend's start-up self-test decides).

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
    uint q = 0u, r = mx;
    for (int i = 0; i < 25; i++) {
        q <<= 1u;
        if (r >= ms) { r -= ms; q |= 1u; }
        r <<= 1u;
    }
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

// The quotient x / s of quantize (x, s given asb bits).
float quotient(uint xb, uint sb) {
#ifdef QGPU_EXACT_DIV
    return uintBitsToFloat(exactDivBits(xb, sb));
#else
    precise float v = uintBitsToFloat(xb) / uintBitsToFloat(sb);
    return v;
#endif
}

uint pairIndex(uint i) {
    uint g = params.Granularity;
    if (g == PerTensor) return 0u;
    uint inner = params.Inner, axisLen = params.AxisLen;
    if (g == PerAxis) return (i / inner) % axisLen;
    uint rest = i / inner;
    uint a = rest % axisLen;
    uint outer = rest / axisLen;
    return (outer * params.Blocks + a / params.BlockSize) * inner + (i % inner);
}

void main() {
    uint n = params.N, t = params.Type, mode = params.Mode;
    uint wi = gid();
    if (mode == Dequantize) {
        if (wi >= n) return;
        uint k = pairIndex(wi);
        float sc = uintBitsToFloat(BA[params.Scales + k]);
        int zp = int(BA[params.ZeroPoints + k]);
        int q = LOADQ(BX, t, wi);
        precise float y = float(q - zp) * sc;
        BY[wi] = floatBitsToUint(y);
        return;
    }
    if (mode == QuantizeQuotient) {
        if (wi >= n) return;
        uint k = pairIndex(wi);
        BY[wi] = floatBitsToUint(quotient(BX[wi], BA[params.Scales + k]));
        return;
    }
    uint pw = perWord(t);
    uint first = wi * pw;
    if (first >= n) return;
    int qmin = params.QMin, qmax = params.QMax;
    uint w = 0u;
    for (uint s = 0u; s < pw && first + s < n; s++) {
        uint i = first + s;
        uint k = pairIndex(i);
        uint sb = BA[params.Scales + k];
        int zp = int(BA[params.ZeroPoints + k]);
        uint xb = BX[i];
        int q = zp;
        if (!bitsNaN(xb)) {
            precise float v;
            if (mode == QuantizeMultiply) v = uintBitsToFloat(xb) * uintBitsToFloat(sb);
            else v = quotient(xb, sb);
            q = clampRound(roundEven(v), zp, qmin, qmax);
        }
        w = packInto(w, t, s, q);
    }
    storeWord(wi, t, n, w);
}
