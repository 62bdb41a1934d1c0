// nbits.comp - engine MatMulNBits (params: shaders.NbitsParams;
// docs/semantics.md, MatMulNBits). One invocation per output word; each
// output is computed on its own in the order the semantics fix: k
// ascending within a block, blocks ascending, every product and sum a
// separate precise float32 operation. The int8 mode runs in two launches:
// NBitsPrep quantizes each row's blocks once into a scratch after the aux
// words (one invocation per row and block), then NBitsInt8 reads them.
// With QGPU_EXACT_DIV (variant nbits_exactdiv) the divisions of the
// activations' quantization and of a quantized output use exactDivBits
// (common.glsl).

// Element i of B, not yet zero-point corrected. One loop per weight type
// (a loader switching on the type inside the loop costs every arm on
// SIMD-style drivers).
#define LD_U4(i) int(bitfieldExtract(BW[(i) >> 3], int(((i) & 7u) * 4u), 4))
#define LD_S4(i) bitfieldExtract(int(BW[(i) >> 3]), int(((i) & 7u) * 4u), 4)
#define LD_U8(i) int(bitfieldExtract(BW[(i) >> 2], int(((i) & 3u) * 8u), 8))
#define LD_S8(i) bitfieldExtract(int(BW[(i) >> 2]), int(((i) & 3u) * 8u), 8)

// Loops over k in [k, k1), unrolled by 4 (common.glsl: loop budget).
#define KLOOP(STEP, LD) \
    for (; k + 4u <= k1; k += 4u) { STEP(LD, k) STEP(LD, k + 1u) STEP(LD, k + 2u) STEP(LD, k + 3u) } \
    for (; k < k1; k++) STEP(LD, k)
#define KLOOP_TYPED(STEP) \
    if (bt == Uint4) { KLOOP(STEP, LD_U4) } \
    else if (bt == Int4) { KLOOP(STEP, LD_S4) } \
    else if (bt == Uint8) { KLOOP(STEP, LD_U8) } \
    else { KLOOP(STEP, LD_S8) }

// Float mode: s = s + float32(a * float32(w)).
#define FSTEP(LD, kk) { precise float p_ = uintBitsToFloat(BX[ao + (kk)]) * float(LD(bo + (kk)) - zp); s = s + p_; }
// Int8 mode: isum += qa * w, qa the prepared int8 of value kk of the row
// (words from qo).
#define ISTEP(LD, kk) isum += bitfieldExtract(int(BA[qo + ((kk) >> 2)]), int(((kk) & 3u) * 8u), 8) * (LD(bo + (kk)) - zp);
// amax over the finite values, on the bits (no float comparison sees a
// denormal, a NaN or an Inf).
#define ASTEP(kk) { uint ab_ = BX[ao + (kk)] & 0x7fffffffu; if (ab_ < 0x7f800000u && ab_ > amax) amax = ab_; }

// qtensor.Quantize(x, s, 0, -127, 127) of an activation (bits xb, sb).
int qact(uint xb, uint sb) {
    if (bitsNaN(xb)) return 0;
    return clampRound(roundEven(quotient(xb, sb)), 0, -127, 127);
}

// The result y of output (m, n) as float32 bits.
uint outputBits(uint m, uint n) {
    uint K = params.K, bs = params.BlockSize, nb = params.Blocks, bt = params.BType;
    uint ao = m * K, bo = n * params.RowLen;
    uint qo = params.ScratchQA + m * ((nb * bs) >> 2); // row m's prepared int8 words (int8 mode)
    precise float acc = uintBitsToFloat(0x80000000u); // -0.0
    for (uint b = 0u; b < nb; b++) {
        uint k0 = b * bs, k1 = min(k0 + bs, K);
        float scale = uintBitsToFloat(BA[params.Scales + n * nb + b]);
        int zp = int(BA[params.ZeroPoints + n * nb + b]);
        uint k = k0;
        if (params.Mode == NBitsFloat) {
            precise float s = uintBitsToFloat(0x80000000u);
            KLOOP_TYPED(FSTEP)
            precise float t = scale * s;
            acc = acc + t;
        } else {
            uint sab = BA[params.Scratch + m * nb + b];
            int isum = 0;
            KLOOP_TYPED(ISTEP)
            precise float f = uintBitsToFloat(sab) * scale;
            precise float t = f * float(isum);
            acc = acc + t;
        }
    }
    if (params.Bias != NoAux) {
        acc = acc + uintBitsToFloat(BA[params.Bias + n]);
    }
    return floatBitsToUint(acc);
}

// prepare quantizes block b of row m into the scratch: sa = max(float32(
// amax / 127), 2^-125) over the block's finite values (compared as bits),
// qa = Quantize(a, sa, 0, -127, 127), four per word, zeros past K.
void prepare(uint m, uint b) {
    uint K = params.K, bs = params.BlockSize, nb = params.Blocks;
    uint ao = m * K, k0 = b * bs, k1 = min(k0 + bs, K);
    uint amax = 0u;
    uint k = k0;
    for (; k + 4u <= k1; k += 4u) { ASTEP(k) ASTEP(k + 1u) ASTEP(k + 2u) ASTEP(k + 3u) }
    for (; k < k1; k++) ASTEP(k)
    uint sab = floatBitsToUint(quotient(amax, 0x42fe0000u)); // 127.0
    if (sab < 0x01000000u) sab = 0x01000000u; // 2^-125
    BA[params.Scratch + m * nb + b] = sab;
    uint qo = params.ScratchQA + m * ((nb * bs) >> 2) + (k0 >> 2);
    for (uint j = 0u; j < bs; j += 4u) {
        uint w = 0u;
        for (uint i = 0u; i < 4u; i++) {
            uint kk = k0 + j + i;
            int q = kk < K ? qact(BX[ao + kk], sab) : 0;
            w |= (uint(q) & 0xffu) << (8u * i);
        }
        BA[qo + (j >> 2)] = w;
    }
}

void main() {
    uint total = params.Total, N = params.N, yt = params.YType;
    if (params.Mode == NBitsPrep) {
        uint i = gid();
        if (i < total) prepare(i / params.Blocks, i % params.Blocks);
        return;
    }
    uint pw = perWord(yt);
    uint wi = gid();
    uint first = wi * pw;
    if (first >= total) return;
    if (pw == 1u) {
        uint y = outputBits(first / N, first % N);
        BY[wi] = bitsNaN(y) ? 0x7fc00000u : y;
        return;
    }
    uint w = 0u;
    int zp = params.YZeroPoint;
    for (uint s = 0u; s < pw && first + s < total; s++) {
        uint i = first + s;
        uint y = outputBits(i / N, i % N);
        int q = zp;
        if (!bitsNaN(y)) q = clampRound(roundEven(quotient(y, params.YScaleBits)), zp, params.YQMin, params.YQMax);
        w = packInto(w, yt, s, q);
    }
    storeWord(wi, yt, total, w);
}
