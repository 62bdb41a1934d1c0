// nbits.comp - engine MatMulNBits (params: shaders.NbitsParams;
// docs/semantics.md, MatMulNBits). One invocation per output word; each
// output is computed on its own in the order the semantics fix: k
// ascending within a block, blocks ascending, every product and sum a
// separate precise float32 operation. The int8 mode runs in two launches:
// NBitsPrep quantizes each row's blocks once into a scratch after the aux
// words (one invocation per row and block), then NBitsInt8 reads them.
// The scratch holds per row and block the scale's bits and the sum of its
// int8 values (Scratch + 2*(m*Blocks + b)), and per row the values in
// groups of 8 as two words, the even values then the odd ones (value k at
// word (k >> 3)*2 + (k & 1), byte (k & 7) >> 1), the order in which a
// word of 4-bit weights splits into two words of bytes. With
// QGPU_NBITS_DOT (variant nbits_dot, Vulkan only) the int8 mode's 4-bit
// blocks, in rows of whole blocks, take packed 4x8-bit dot products: sum(qa * (w - zp)) =
// dot(qa, u) - (zp + off) * sum(qa), u the nibbles as unsigned bytes (int4
// flipped to u = w + 8, off 8), exact in int32 like the scalar loop.
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
#define ISTEP(LD, kk) isum += bitfieldExtract(int(BA[qo + (((kk) >> 3) << 1) + ((kk) & 1u)]), int((((kk) & 7u) >> 1) * 8u), 8) * (LD(bo + (kk)) - zp);

#ifdef QGPU_NBITS_DOT
// OpSUDot of SPV_KHR_integer_dot_product (capabilities
// DotProductInput4x8BitPacked 6018, DotProduct 6019; format 0 =
// PackedVectorFormat4x8Bit): the first operand's bytes signed, the
// second's unsigned.
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6018, 6019], id = 4452)
int sudot4(uint a, uint b, spirv_literal int fmt);
#endif
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
            uint sab = BA[params.Scratch + 2u * (m * nb + b)];
            int isum = 0;
#ifdef QGPU_NBITS_DOT
            if ((bt == Uint4 || bt == Int4) && params.RowLen == nb * bs) {
                // The whole block, 8 values a step (rows of whole blocks:
                // every step reads one aligned word of the row), the
                // prepared values past K being 0.
                uint flip = bt == Int4 ? 0x88888888u : 0u;
                int off = bt == Int4 ? 8 : 0;
                for (k = k0; k < k0 + bs; k += 8u) {
                    uint wq = BW[(bo + k) >> 3] ^ flip;
                    uint qw = qo + ((k >> 3) << 1);
                    isum += sudot4(BA[qw], wq & 0x0f0f0f0fu, 0) + sudot4(BA[qw + 1u], (wq >> 4) & 0x0f0f0f0fu, 0);
                }
                isum -= (zp + off) * int(BA[params.Scratch + 2u * (m * nb + b) + 1u]);
            } else
#endif
            { KLOOP_TYPED(ISTEP) }
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
// qa = Quantize(a, sa, 0, -127, 127) (zeros past K) in groups of 8 as
// even and odd words, and the block's sum of qa.
void prepare(uint m, uint b) {
    uint K = params.K, bs = params.BlockSize, nb = params.Blocks;
    uint ao = m * K, k0 = b * bs, k1 = min(k0 + bs, K);
    uint amax = 0u;
    uint k = k0;
    for (; k + 4u <= k1; k += 4u) { ASTEP(k) ASTEP(k + 1u) ASTEP(k + 2u) ASTEP(k + 3u) }
    for (; k < k1; k++) ASTEP(k)
    uint sab = floatBitsToUint(quotient(amax, 0x42fe0000u)); // 127.0
    if (sab < 0x01000000u) sab = 0x01000000u; // 2^-125
    uint qo = params.ScratchQA + m * ((nb * bs) >> 2) + (k0 >> 2);
    int sum = 0;
    for (uint j = 0u; j < bs; j += 8u) {
        uint even = 0u, odd = 0u;
        for (uint i = 0u; i < 8u; i++) {
            uint kk = k0 + j + i;
            int q = kk < K ? qact(BX[ao + kk], sab) : 0;
            sum += q;
            uint byte_ = (uint(q) & 0xffu) << (8u * (i >> 1));
            if ((i & 1u) == 0u) even |= byte_; else odd |= byte_;
        }
        BA[qo + (j >> 2)] = even;
        BA[qo + (j >> 2) + 1u] = odd;
    }
    BA[params.Scratch + 2u * (m * nb + b)] = sab;
    BA[params.Scratch + 2u * (m * nb + b) + 1u] = uint(sum);
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
