// pool.comp - engine.Pool (max and average), one invocation per output word.
// P: 0 outputs, 1 N*C, 2 H, 3 W, 4 OH, 5 OW, 6 KH, 7 KW, 8 stride h,
// 9 stride w, 10 dilation h, 11 dilation w, 12 pad top, 13 pad left,
// 14 type, 15 zp, 16 max, 17 count include pad, 18 qmin, 19 qmax.
// Average: qtensor.AveragePool with exact integer half-even division
// (window sums stay below 2^31: the host checks KH*KW*255 < 2^31).

int divRoundHalfEven(int num, int den) {
    int q; int r;
    if (num >= 0) {
        q = num / den;
        r = num - q * den;
    } else {
        int uq = (-num) / den;
        int ur = (-num) - uq * den;
        if (ur == 0) { q = -uq; r = 0; } else { q = -uq - 1; r = den - ur; }
    }
    if (2 * r > den || (2 * r == den && (q & 1) != 0)) q++;
    return q;
}

int poolAt(uint i) {
    uint H = PU(2), W = PU(3), OH = PU(4), OW = PU(5);
    uint ow = i % OW, oh = (i / OW) % OH, nc = i / (OW * OH);
    uint t = PU(14);
    int zp = PI(15);
    int best = -2147483647 - 1;
    int sum = 0, cells = 0;
    // Window columns unrolled by 8 (common.glsl: loop budget).
#define POOL_CELL(kw) { \
        int iw = int(ow * PU(9) + (kw) * PU(11)) - PI(13); \
        if (iw >= 0 && iw < int(W)) { \
            int v = LOADQ(BX, t, (nc * H + uint(ih)) * W + uint(iw)); \
            best = max(best, v); sum += v - zp; cells++; } }
    uint KW = PU(7);
    for (uint kh = 0u; kh < PU(6); kh++) {
        int ih = int(oh * PU(8) + kh * PU(10)) - PI(12);
        if (ih < 0 || ih >= int(H)) continue;
        uint kw = 0u;
        for (; kw + 8u <= KW; kw += 8u) {
            POOL_CELL(kw) POOL_CELL(kw + 1u) POOL_CELL(kw + 2u) POOL_CELL(kw + 3u)
            POOL_CELL(kw + 4u) POOL_CELL(kw + 5u) POOL_CELL(kw + 6u) POOL_CELL(kw + 7u)
        }
        for (; kw < KW; kw++) POOL_CELL(kw)
    }
    if (cells == 0) return zp;
    if (PU(16) != 0u) return best;
    int count = PU(17) != 0u ? int(PU(6) * PU(7)) : cells;
    int v = divRoundHalfEven(sum, count);
    if (v > PI(19) - zp) return PI(19);
    if (v < PI(18) - zp) return PI(18);
    return v + zp;
}

void main() {
    uint n = PU(0), t = PU(14);
    uint pw = perWord(t);
    uint wi = gid();
    uint first = wi * pw;
    if (first >= n) return;
    uint w = 0u;
    for (uint s = 0u; s < pw && first + s < n; s++) w = packInto(w, t, s, poolAt(first + s));
    storeWord(wi, t, n, w);
}
