// eltwise.comp - engine Add, Mul, ReLU and ByteWeightDequant (params:
// shaders.EltwiseParams, Mode one of the Eltwise* modes).
// Quantized outputs: one invocation per output word.

void main() {
    uint n = params.N, t = params.Type, mode = params.Mode;
    uint wi = gid();
    if (mode == EltwiseByteWeight) {
        if (wi >= n) return;
        float q = float(LOADQ(BX, Uint8, wi));
        precise float a = q * params.Range;
        precise float b = a / 255.0;
        precise float y = b + params.Min;
        BY[wi] = floatBitsToUint(y);
        return;
    }
    uint pw = perWord(t);
    uint first = wi * pw;
    if (first >= n) return;
    int za = params.ZA, zb = params.ZB, zy = params.ZY, qmin = params.QMin, qmax = params.QMax;
    uint w = 0u;
    for (uint s = 0u; s < pw && first + s < n; s++) {
        uint i = first + s;
        int a = LOADQ(BX, t, i);
        int r;
        if (mode == EltwiseReLU) {
            r = max(a, za);
        } else {
            int b = LOADQ(BW, t, i);
            if (mode == EltwiseAdd) {
                precise float va = params.MA * float(a - za);
                precise float vb = params.MB * float(b - zb);
                precise float v = va + vb;
                r = clampRound(roundEven(v), zy, qmin, qmax);
            } else {
                precise float v = float((a - za) * (b - zb)) * params.MA;
                r = clampRound(roundEven(v), zy, qmin, qmax);
            }
        }
        w = packInto(w, t, s, r);
    }
    storeWord(wi, t, n, w);
}
