// quantize.comp - engine.Quantize and engine.Dequantize (ONNX QuantizeLinear /
// DequantizeLinear; qtensor.Quantize, QuantizeTorch, Dequantize).
// P: 0 n, 1 quantized type, 2 qmin, 3 qmax, 4 granularity (0 tensor, 1 axis,
// 2 block), 5 inner, 6 axis length, 7 block size, 8 blocks along the axis,
// 9 mode (0 quantize ONNX: x / scale, 1 quantize torch: x * BA[scale] where
// the host stored float32(1/scale), 2 dequantize), 10 scale offset in BA,
// 11 zero-point offset in BA.
// Quantize: one invocation per output word (4 or 8 elements).
// Dequantize: one invocation per float output element.

uint pairIndex(uint i) {
    uint g = PU(4);
    if (g == 0u) return 0u;
    uint inner = PU(5), axisLen = PU(6);
    if (g == 1u) return (i / inner) % axisLen;
    uint rest = i / inner;
    uint a = rest % axisLen;
    uint outer = rest / axisLen;
    return (outer * PU(8) + a / PU(7)) * inner + (i % inner);
}

void main() {
    uint n = PU(0), t = PU(1), mode = PU(9);
    uint wi = gid();
    if (mode == 2u) {
        if (wi >= n) return;
        uint k = pairIndex(wi);
        float sc = uintBitsToFloat(BA[PU(10) + k]);
        int zp = int(BA[PU(11) + k]);
        int q = LOADQ(BX, t, wi);
        precise float y = float(q - zp) * sc;
        BY[wi] = floatBitsToUint(y);
        return;
    }
    uint pw = perWord(t);
    uint first = wi * pw;
    if (first >= n) return;
    int qmin = PI(2), qmax = PI(3);
    uint w = 0u;
    for (uint s = 0u; s < pw && first + s < n; s++) {
        uint i = first + s;
        uint k = pairIndex(i);
        float sc = uintBitsToFloat(BA[PU(10) + k]);
        int zp = int(BA[PU(11) + k]);
        uint xb = BX[i];
        int q = zp;
        if (!bitsNaN(xb)) {
            float x = uintBitsToFloat(xb);
            precise float v;
            if (mode == 1u) v = x * sc;
            else v = x / sc;
            q = clampRound(roundEven(v), zp, qmin, qmax);
        }
        w = packInto(w, t, s, q);
    }
    storeWord(wi, t, n, w);
}
