// gemm.comp - engine.Gemm, baseline: one invocation per output word, int8
// operands read from packed uint words (works on every device).
// P: 0 outputs (Batch*M*N), 1 M, 2 K, 3 N, 4 A type | B type << 8,
// 5 A zero points offset in BA, 6 per row, 7 B zero points offset, 8 per
// column, 9 A matrix index offset (Batch entries), 10 B matrix index
// offset; 21.. epilogue.
#include_epilogue

#define LD_U8(B, i) int(bitfieldExtract((B)[(i) >> 2], int(((i) & 3u) * 8u), 8))
#define LD_S8(B, i) bitfieldExtract(int((B)[(i) >> 2]), int(((i) & 3u) * 8u), 8)
#define GEMM_TERM(LA, LB, k) ((LA(BX, ao + (k)) - azp) * (LB(BW, bo + (k) * N) - bzp))
// The K loop: unrolled by 4 (unrolling by 16 costs ~40% on lavapipe and
// SwiftShader), by 16 only where K > 2^15 so the loop budget holds
// (common.glsl; K < 2^17 by the engine's accumulator bound: at most
// 2^13 + 6 iterations per element, four elements per 8-bit output word).
#define GEMM_LOOP(LA, LB) \
    if (K > 32768u) { \
        for (; k + 16u <= K; k += 16u) { \
            acc += GEMM_TERM(LA, LB, k) + GEMM_TERM(LA, LB, k + 1u) + GEMM_TERM(LA, LB, k + 2u) + GEMM_TERM(LA, LB, k + 3u) \
                 + GEMM_TERM(LA, LB, k + 4u) + GEMM_TERM(LA, LB, k + 5u) + GEMM_TERM(LA, LB, k + 6u) + GEMM_TERM(LA, LB, k + 7u) \
                 + GEMM_TERM(LA, LB, k + 8u) + GEMM_TERM(LA, LB, k + 9u) + GEMM_TERM(LA, LB, k + 10u) + GEMM_TERM(LA, LB, k + 11u) \
                 + GEMM_TERM(LA, LB, k + 12u) + GEMM_TERM(LA, LB, k + 13u) + GEMM_TERM(LA, LB, k + 14u) + GEMM_TERM(LA, LB, k + 15u); \
        } \
    } \
    for (; k + 4u <= K; k += 4u) { \
        acc += GEMM_TERM(LA, LB, k) + GEMM_TERM(LA, LB, k + 1u) + GEMM_TERM(LA, LB, k + 2u) + GEMM_TERM(LA, LB, k + 3u); \
    } \
    for (; k < K; k++) acc += GEMM_TERM(LA, LB, k);

#ifdef QGPU_GEMM_DOT
// Variant gemm_dot: packed 4x8-bit integer dot products
// (SPV_KHR_integer_dot_product; device feature shaderIntegerDotProduct),
// capabilities DotProductInput4x8BitPacked (6018) and DotProduct (6019),
// format operand 0 = PackedVectorFormat4x8Bit. OpSDot 4450, OpUDot 4451,
// OpSUDot 4452 (first operand signed, second unsigned).
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6018, 6019], id = 4450)
int sdot4(uint a, uint b, spirv_literal int fmt);
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6018, 6019], id = 4451)
uint udot4(uint a, uint b, spirv_literal int fmt);
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6018, 6019], id = 4452)
int sudot4(uint a, uint b, spirv_literal int fmt);

#define ONES 0x01010101u
// Four bytes of A from byte index i (any alignment; i + 3 is inside A).
uint packA(uint i) {
    uint s = (i & 3u) * 8u;
    uint w = BX[i >> 2];
    if (s != 0u) w = (w >> s) | (BX[(i >> 2) + 1u] << (32u - s));
    return w;
}
// B[k][n] .. B[k+3][n]: four bytes N apart, packed low byte first.
uint packB(uint i, uint N) {
    uint r = bitfieldExtract(BW[i >> 2], int((i & 3u) * 8u), 8);
    i += N; r |= bitfieldExtract(BW[i >> 2], int((i & 3u) * 8u), 8) << 8u;
    i += N; r |= bitfieldExtract(BW[i >> 2], int((i & 3u) * 8u), 8) << 16u;
    i += N; r |= bitfieldExtract(BW[i >> 2], int((i & 3u) * 8u), 8) << 24u;
    return r;
}
// sum_k (a - azp)(b - bzp) = sum ab - bzp sum a - azp sum b + K azp bzp,
// all in wrapping int32 arithmetic (exact: the true sum fits int32). Four
// dot products of 4 per iteration (common.glsl: loop budget).
#define DOT_STEP(DAB, SA, SB, kk) { \
        uint wa = packA(ao + (kk)), wb = packB(bo + (kk) * N, N); \
        dab += DAB; sa += SA; sb += SB; }
#define DOT_LOOP(DAB, SA, SB) \
    for (; k + 16u <= K; k += 16u) { \
        DOT_STEP(DAB, SA, SB, k) DOT_STEP(DAB, SA, SB, k + 4u) \
        DOT_STEP(DAB, SA, SB, k + 8u) DOT_STEP(DAB, SA, SB, k + 12u) }
#endif

uint valueAt(uint i) {
    uint M = PU(1), K = PU(2), N = PU(3);
    uint at = PU(4) & 0xffu, bt = PU(4) >> 8;
    uint mn = M * N;
    uint b = i / mn, r = i % mn;
    uint m = r / N, n = r % N;
    uint ao = BA[PU(9) + b] * M * K + m * K;
    uint bo = BA[PU(10) + b] * K * N + n;
    int azp = int(BA[PU(5) + (PU(6) != 0u ? m : 0u)]);
    int bzp = int(BA[PU(7) + (PU(8) != 0u ? n : 0u)]);
    int acc = 0;
    // One loop per operand-type pair: a LOADQ switching on the type inside
    // the loop costs every arm on SIMD-style drivers (llvmpipe: ~10x).
    uint k = 0u;
#ifdef QGPU_GEMM_DOT
    {
        int dab = 0, sa = 0, sb = 0;
        if (at == T_U8) {
            if (bt == T_I8) { DOT_LOOP(sudot4(wb, wa, 0), int(udot4(wa, ONES, 0)), sdot4(wb, ONES, 0)) }
            else { DOT_LOOP(int(udot4(wa, wb, 0)), int(udot4(wa, ONES, 0)), int(udot4(wb, ONES, 0))) }
        } else {
            if (bt == T_I8) { DOT_LOOP(sdot4(wa, wb, 0), sdot4(wa, ONES, 0), sdot4(wb, ONES, 0)) }
            else { DOT_LOOP(sudot4(wa, wb, 0), sdot4(wa, ONES, 0), int(udot4(wb, ONES, 0))) }
        }
        acc = dab - bzp * sa - azp * sb + int(k) * azp * bzp;
    }
#endif
    if (at == T_U8) {
        if (bt == T_I8) { GEMM_LOOP(LD_U8, LD_S8) } else { GEMM_LOOP(LD_U8, LD_U8) }
    } else {
        if (bt == T_I8) { GEMM_LOOP(LD_S8, LD_S8) } else { GEMM_LOOP(LD_S8, LD_U8) }
    }
    return epilogue(acc, n);
}

void main() {
    uint n = PU(0);
    uint wi = gid();
    if (wi * perWord(PU(22)) >= n) return;
    STORE_OUTPUT(wi, n, valueAt(i))
}
