// eltwise.comp - engine.Add, engine.Mul, engine.ReLU, engine.ByteWeightDequant.
// P: 0 n, 1 type, 2 za, 3 zb, 4 zy, 5 ma (Add) / m (Mul) / range max-min
// (ByteWeightDequant) as float bits, 6 mb (Add) / min (ByteWeightDequant),
// 7 qmin, 8 qmax, 9 mode (0 add, 1 mul, 2 relu with zero point za,
// 3 byte-weight dequant: one invocation per float output).
// Quantized outputs: one invocation per output word.

void main() {
    uint n = PU(0), t = PU(1), mode = PU(9);
    uint wi = gid();
    if (mode == 3u) {
        if (wi >= n) return;
        float q = float(LOADQ(BX, T_U8, wi));
        precise float a = q * PF(5);
        precise float b = a / 255.0;
        precise float y = b + PF(6);
        BY[wi] = floatBitsToUint(y);
        return;
    }
    uint pw = perWord(t);
    uint first = wi * pw;
    if (first >= n) return;
    int za = PI(2), zb = PI(3), zy = PI(4), qmin = PI(7), qmax = PI(8);
    uint w = 0u;
    for (uint s = 0u; s < pw && first + s < n; s++) {
        uint i = first + s;
        int a = LOADQ(BX, t, i);
        int r;
        if (mode == 2u) {
            r = max(a, za);
        } else {
            int b = LOADQ(BW, t, i);
            if (mode == 0u) {
                precise float va = PF(5) * float(a - za);
                precise float vb = PF(6) * float(b - zb);
                precise float v = va + vb;
                r = clampRound(roundEven(v), zy, qmin, qmax);
            } else {
                precise float v = float((a - za) * (b - zb)) * PF(5);
                r = clampRound(roundEven(v), zy, qmin, qmax);
            }
        }
        w = packInto(w, t, s, r);
    }
    storeWord(wi, t, n, w);
}
