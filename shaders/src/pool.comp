// pool.comp - engine Pool (max and average, NCHW or NHWC input and
// output; params: shaders.PoolParams), one invocation per output word.
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
    uint H = params.H, W = params.W, OH = params.OH, OW = params.OW;
    uint C = params.C;
    bool xl = (params.Layouts & LayoutXNHWC) != 0u;
    uint ow, oh, c, n;
    if ((params.Layouts & LayoutYNHWC) != 0u) {
        c = i % C; ow = (i / C) % OW; oh = (i / (C * OW)) % OH; n = i / (C * OW * OH);
    } else {
        ow = i % OW; oh = (i / OW) % OH; c = (i / (OW * OH)) % C; n = i / (OW * OH * C);
    }
    uint t = params.Type;
    int zp = params.ZeroPoint;
    int best = -2147483647 - 1;
    int sum = 0, cells = 0;
    // Window columns unrolled by 8 (common.glsl: loop budget).
#define POOL_CELL(kw) { \
        int iw = int(ow * params.StrideW + (kw) * params.DilationW) - params.PadLeft; \
        if (iw >= 0 && iw < int(W)) { \
            int v = LOADQ(BX, t, xl ? ((n * H + uint(ih)) * W + uint(iw)) * C + c : ((n * C + c) * H + uint(ih)) * W + uint(iw)); \
            best = max(best, v); sum += v - zp; cells++; } }
    uint KW = params.KW;
    for (uint kh = 0u; kh < params.KH; kh++) {
        int ih = int(oh * params.StrideH + kh * params.DilationH) - params.PadTop;
        if (ih < 0 || ih >= int(H)) continue;
        uint kw = 0u;
        for (; kw + 8u <= KW; kw += 8u) {
            POOL_CELL(kw) POOL_CELL(kw + 1u) POOL_CELL(kw + 2u) POOL_CELL(kw + 3u)
            POOL_CELL(kw + 4u) POOL_CELL(kw + 5u) POOL_CELL(kw + 6u) POOL_CELL(kw + 7u)
        }
        for (; kw < KW; kw++) POOL_CELL(kw)
    }
    if (cells == 0) return zp;
    if (params.Max != 0u) return best;
    int count = params.CountIncludePad != 0u ? int(params.KH * params.KW) : cells;
    int v = divRoundHalfEven(sum, count);
    if (v > params.QMax - zp) return params.QMax;
    if (v < params.QMin - zp) return params.QMin;
    return v + zp;
}

void main() {
    uint n = params.Total, t = params.Type;
    uint pw = perWord(t);
    uint wi = gid();
    uint first = wi * pw;
    if (first >= n) return;
    uint w = 0u;
    for (uint s = 0u; s < pw && first + s < n; s++) w = packInto(w, t, s, poolAt(first + s));
    storeWord(wi, t, n, w);
}
