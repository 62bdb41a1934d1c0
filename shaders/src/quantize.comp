// quantize.comp - engine Quantize and Dequantize (ONNX QuantizeLinear /
// DequantizeLinear; qtensor.Quantize, QuantizeTorch, Dequantize). Params:
// shaders.QuantizeParams, Mode one of QuantizeDivide, QuantizeMultiply,
// Dequantize and QuantizeQuotient (self-tests).
// Quantize: one invocation per output word (4 or 8 elements).
// Dequantize, QuantizeQuotient: one invocation per float output element.
// With QGPU_EXACT_DIV (variant quantize_exactdiv) the quotient comes from
// exactDivBits, integer operations only, for devices whose float division
// is not correctly rounded (the backend's start-up self-test decides);
// exactDivBits and quotient are in common.glsl.

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
