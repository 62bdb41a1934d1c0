// conv.comp - engine.Conv (NCHW, OIHW), direct: one invocation per output
// word. Cells outside the input contribute 0 (zero points are subtracted
// before padding).
// P: 0 outputs, 1 N, 2 C, 3 H, 4 W, 5 O, 6 KH, 7 KW, 8 OH, 9 OW, 10 group,
// 11 stride h, 12 stride w, 13 dilation h, 14 dilation w, 15 pad top,
// 16 pad left, 17 X zero point, 18 W zero points offset, 19 per channel,
// 20 X type | W type << 8; 21.. epilogue.
#include_epilogue

uint valueAt(uint i) {
    uint C = PU(2), H = PU(3), W = PU(4), O = PU(5), KH = PU(6), KW = PU(7), OH = PU(8), OW = PU(9);
    uint xt = PU(20) & 0xffu, wt = PU(20) >> 8;
    uint ow = i % OW, oh = (i / OW) % OH, o = (i / (OW * OH)) % O, n = i / (OW * OH * O);
    uint cg = C / PU(10), og = O / PU(10);
    uint g = o / og;
    int xzp = PI(17);
    int wzp = int(BA[PU(18) + (PU(19) != 0u ? o : 0u)]);
    int acc = 0;
    // Window cells outside, channels inside, unrolled by 16 (common.glsl:
    // loop budget).
    uint HW = H * W, KK = KH * KW;
    for (uint kh = 0u; kh < KH; kh++) {
        int ih = int(oh * PU(11) + kh * PU(13)) - PI(15);
        if (ih < 0 || ih >= int(H)) continue;
        for (uint kw = 0u; kw < KW; kw++) {
            int iw = int(ow * PU(12) + kw * PU(14)) - PI(16);
            if (iw < 0 || iw >= int(W)) continue;
            uint xi = ((n * C + g * cg) * H + uint(ih)) * W + uint(iw);
            uint wi = ((o * cg) * KH + kh) * KW + kw;
#define CONV_TERM(c) ((LOADQ(BX, xt, xi + (c) * HW) - xzp) * (LOADQ(BW, wt, wi + (c) * KK) - wzp))
            uint c = 0u;
            for (; c + 16u <= cg; c += 16u) {
                acc += CONV_TERM(c) + CONV_TERM(c + 1u) + CONV_TERM(c + 2u) + CONV_TERM(c + 3u)
                     + CONV_TERM(c + 4u) + CONV_TERM(c + 5u) + CONV_TERM(c + 6u) + CONV_TERM(c + 7u)
                     + CONV_TERM(c + 8u) + CONV_TERM(c + 9u) + CONV_TERM(c + 10u) + CONV_TERM(c + 11u)
                     + CONV_TERM(c + 12u) + CONV_TERM(c + 13u) + CONV_TERM(c + 14u) + CONV_TERM(c + 15u);
            }
            for (; c < cg; c++) acc += CONV_TERM(c);
        }
    }
    return epilogue(acc, o);
}

void main() {
    uint n = PU(0);
    uint wi = gid();
    if (wi * perWord(PU(22)) >= n) return;
    STORE_OUTPUT(wi, n, valueAt(i))
}
