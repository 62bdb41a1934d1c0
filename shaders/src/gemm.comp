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
#define GEMM_LOOP(LA, LB) \
    for (; k + 16u <= K; k += 16u) { \
        acc += GEMM_TERM(LA, LB, k) + GEMM_TERM(LA, LB, k + 1u) + GEMM_TERM(LA, LB, k + 2u) + GEMM_TERM(LA, LB, k + 3u) \
             + GEMM_TERM(LA, LB, k + 4u) + GEMM_TERM(LA, LB, k + 5u) + GEMM_TERM(LA, LB, k + 6u) + GEMM_TERM(LA, LB, k + 7u) \
             + GEMM_TERM(LA, LB, k + 8u) + GEMM_TERM(LA, LB, k + 9u) + GEMM_TERM(LA, LB, k + 10u) + GEMM_TERM(LA, LB, k + 11u) \
             + GEMM_TERM(LA, LB, k + 12u) + GEMM_TERM(LA, LB, k + 13u) + GEMM_TERM(LA, LB, k + 14u) + GEMM_TERM(LA, LB, k + 15u); \
    } \
    for (; k < K; k++) acc += GEMM_TERM(LA, LB, k);

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
    // Unrolled by 16 (common.glsl: loop budget). K < 2^17 (the engine's
    // accumulator bound), so at most 2^13 + 15 iterations per element.
    // One loop per operand-type pair: a LOADQ switching on the type inside
    // the loop costs every arm on SIMD-style drivers (llvmpipe: ~10x).
    uint k = 0u;
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
