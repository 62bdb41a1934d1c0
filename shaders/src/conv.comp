// conv.comp - engine Conv (NCHW or NHWC input and output, OIHW weights;
// params: shaders.ConvParams), direct: one invocation per output word.
// Cells outside the input contribute 0 (zero points are subtracted before
// padding).
#include_epilogue

uint valueAt(uint i) {
    uint C = params.C, H = params.H, W = params.W, O = params.O, KH = params.KH, KW = params.KW, OH = params.OH, OW = params.OW;
    uint xt = params.XType, wt = params.WType;
    bool xl = (params.Flags & LayoutXNHWC) != 0u;
    uint ow, oh, o, n;
    if ((params.Flags & LayoutYNHWC) != 0u) {
        o = i % O; ow = (i / O) % OW; oh = (i / (O * OW)) % OH; n = i / (O * OW * OH);
    } else {
        ow = i % OW; oh = (i / OW) % OH; o = (i / (OW * OH)) % O; n = i / (OW * OH * O);
    }
    uint cg = C / params.Group, og = O / params.Group;
    uint g = o / og;
    int xzp = params.XZeroPoint;
    int wzp = int(BA[params.WZeroPoints + ((params.Flags & ConvWZeroPointPerChannel) != 0u ? o : 0u)]);
    int acc = 0;
    // Window cells outside, channels inside, unrolled by 16 (common.glsl:
    // loop budget).
    // cs: the distance between channels of one pixel in the input.
    uint cs = xl ? 1u : H * W, KK = KH * KW;
    for (uint kh = 0u; kh < KH; kh++) {
        int ih = int(oh * params.StrideH + kh * params.DilationH) - params.PadTop;
        if (ih < 0 || ih >= int(H)) continue;
        for (uint kw = 0u; kw < KW; kw++) {
            int iw = int(ow * params.StrideW + kw * params.DilationW) - params.PadLeft;
            if (iw < 0 || iw >= int(W)) continue;
            uint xi = xl ? ((n * H + uint(ih)) * W + uint(iw)) * C + g * cg : ((n * C + g * cg) * H + uint(ih)) * W + uint(iw);
            uint wi = ((o * cg) * KH + kh) * KW + kw;
#define CONV_TERM(c) ((LOADQ(BX, xt, xi + (c) * cs) - xzp) * (LOADQ(BW, wt, wi + (c) * KK) - wzp))
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
    uint n = params.Total;
    uint wi = gid();
    if (wi * perWord(params.YType) >= n) return;
    STORE_OUTPUT(wi, n, valueAt(i))
}
