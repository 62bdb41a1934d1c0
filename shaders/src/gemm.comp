// gemm.comp - engine.Gemm, baseline: one invocation per output word, int8
// operands read from packed uint words (works on every device).
// P: 0 outputs (Batch*M*N), 1 M, 2 K, 3 N, 4 A type | B type << 8,
// 5 A zero points offset in BA, 6 per row, 7 B zero points offset, 8 per
// column, 9 A matrix index offset (Batch entries), 10 B matrix index
// offset; 21.. epilogue.
#include_epilogue

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
#define GEMM_TERM(k) ((LOADQ(BX, at, ao + (k)) - azp) * (LOADQ(BW, bt, bo + (k) * N) - bzp))
    uint k = 0u;
    for (; k + 16u <= K; k += 16u) {
        acc += GEMM_TERM(k) + GEMM_TERM(k + 1u) + GEMM_TERM(k + 2u) + GEMM_TERM(k + 3u)
             + GEMM_TERM(k + 4u) + GEMM_TERM(k + 5u) + GEMM_TERM(k + 6u) + GEMM_TERM(k + 7u)
             + GEMM_TERM(k + 8u) + GEMM_TERM(k + 9u) + GEMM_TERM(k + 10u) + GEMM_TERM(k + 11u)
             + GEMM_TERM(k + 12u) + GEMM_TERM(k + 13u) + GEMM_TERM(k + 14u) + GEMM_TERM(k + 15u);
    }
    for (; k < K; k++) acc += GEMM_TERM(k);
    return epilogue(acc, n);
}

void main() {
    uint n = PU(0);
    uint wi = gid();
    if (wi * perWord(PU(22)) >= n) return;
    STORE_OUTPUT(wi, n, valueAt(i))
}
