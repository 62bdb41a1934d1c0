// gemm.comp - engine Gemm (params: shaders.GemmParams), baseline: one
// invocation per output word, int8 operands read from packed uint words
// (works on every device).
#include_epilogue

#ifdef QGPU_INT8_STORAGE
// Variant gemm_int8: the operands read as uint8_t arrays aliasing bindings 0
// and 1 (GL_EXT_shader_8bit_storage), one byte load per element instead of
// a word load and a bitfield extract.
layout(std430, binding = 0) readonly buffer BX8b { uint8_t BX_u8[]; };
layout(std430, binding = 1) readonly buffer BW8b { uint8_t BW_u8[]; };
#define LD_U8(B, i) int(B##_u8[i])
#define LD_S8(B, i) int(int8_t(B##_u8[i]))
#else
#define LD_U8(B, i) int(bitfieldExtract((B)[(i) >> 2], int(((i) & 3u) * 8u), 8))
#define LD_S8(B, i) bitfieldExtract(int((B)[(i) >> 2]), int(((i) & 3u) * 8u), 8)
#endif
// B[k][n] is at bo + k * SK (bo: the matrix's element n; SK, SN: the
// strides of shaders.GemmParams, B stored K x N or N x K).
#define GEMM_TERM(LA, LB, k) ((LA(BX, ao + (k)) - azp) * (LB(BW, bo + (k) * SK) - bzp))
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
// B[k][n] .. B[k+3][n]: four bytes s apart (s = SK: N, or 1 for B stored
// N x K), packed low byte first. (No word-read path for s = 1: a branch
// here, inside the K loop, costs both arms on SIMD-style drivers.)
uint packB(uint i, uint s) {
    uint r = bitfieldExtract(BW[i >> 2], int((i & 3u) * 8u), 8);
    i += s; r |= bitfieldExtract(BW[i >> 2], int((i & 3u) * 8u), 8) << 8u;
    i += s; r |= bitfieldExtract(BW[i >> 2], int((i & 3u) * 8u), 8) << 16u;
    i += s; r |= bitfieldExtract(BW[i >> 2], int((i & 3u) * 8u), 8) << 24u;
    return r;
}
// sum_k (a - azp)(b - bzp) = sum ab - bzp sum a - azp sum b + K azp bzp,
// all in wrapping int32 arithmetic (exact: the true sum fits int32). Four
// dot products of 4 per iteration (common.glsl: loop budget).
#define DOT_STEP(DAB, SA, SB, kk) { \
        uint wa = packA(ao + (kk)), wb = packB(bo + (kk) * SK, SK); \
        dab += DAB; sa += SA; sb += SB; }
#define DOT_LOOP(DAB, SA, SB) \
    for (; k + 16u <= K; k += 16u) { \
        DOT_STEP(DAB, SA, SB, k) DOT_STEP(DAB, SA, SB, k + 4u) \
        DOT_STEP(DAB, SA, SB, k + 8u) DOT_STEP(DAB, SA, SB, k + 12u) }
#endif

uint valueAt(uint i) {
    uint M = params.M, K = params.K, N = params.N, SK = params.BStrideK;
    uint at = params.AType, bt = params.BType;
    uint mn = M * N;
    uint b = i / mn, r = i % mn;
    uint m = r / N, n = r % N;
    uint ao = BA[params.AIndex + b] * M * K + m * K;
    uint bo = BA[params.BIndex + b] * K * N + n * params.BStrideN;
    int azp = int(BA[params.AZeroPoints + (params.AZeroPointPerRow != 0u ? m : 0u)]);
    int bzp = int(BA[params.BZeroPoints + (params.BZeroPointPerColumn != 0u ? n : 0u)]);
    int acc = 0;
    // One loop per operand-type pair: a LOADQ switching on the type inside
    // the loop costs every arm on SIMD-style drivers (llvmpipe: ~10x).
    uint k = 0u;
#ifdef QGPU_GEMM_DOT
    {
        int dab = 0, sa = 0, sb = 0;
        if (at == Uint8) {
            if (bt == Int8) { DOT_LOOP(sudot4(wb, wa, 0), int(udot4(wa, ONES, 0)), sdot4(wb, ONES, 0)) }
            else { DOT_LOOP(int(udot4(wa, wb, 0)), int(udot4(wa, ONES, 0)), int(udot4(wb, ONES, 0))) }
        } else {
            if (bt == Int8) { DOT_LOOP(sdot4(wa, wb, 0), sdot4(wa, ONES, 0), sdot4(wb, ONES, 0)) }
            else { DOT_LOOP(sudot4(wa, wb, 0), sdot4(wa, ONES, 0), int(udot4(wb, ONES, 0))) }
        }
        acc = dab - bzp * sa - azp * sb + int(k) * azp * bzp;
    }
#endif
    if (at == Uint8) {
        if (bt == Int8) { GEMM_LOOP(LD_U8, LD_S8) } else { GEMM_LOOP(LD_U8, LD_U8) }
    } else {
        if (bt == Int8) { GEMM_LOOP(LD_S8, LD_S8) } else { GEMM_LOOP(LD_S8, LD_U8) }
    }
    return epilogue(acc, n);
}

#ifdef QGPU_GEMM_TILED
// Variant gemm_tiled: one work group per 64x64 output tile of one batch
// entry (grid: gpu.TiledGemmGroups, tiles numbered x + y * groups in x),
// each invocation a 4x4 micro-tile. K runs in chunks of 16: the group
// stages A[64][16] and B[16][64], zero points subtracted (0 outside the
// matrices), into shared memory; then every invocation adds 16 products
// to each of its 16 int32 sums (wrapping int32 additions: the same sums
// as the baseline in another order). Outputs of 32 bits are stored by
// their micro-tile's invocation. Packed outputs go through shared memory:
// each output word belongs to the tile holding its first element, and
// its elements past the tile's part of the row (when N is not a multiple
// of the elements per word) are computed there by valueAt (at most one
// such word per invocation), so exactly one invocation writes each word
// (storeWord). Loop budget:
// gpu.LoopIterationsTiledGemm mirrors this structure.
shared int S[4096]; // A chunk [64][16] at 0, B chunk [16][64] at 1024; then the tile's outputs [64][64]

#define TILE_STEP(kk) { \
    ivec4 bv = ivec4(S[1024u + (kk) * 64u + c4], S[1024u + (kk) * 64u + c4 + 1u], \
                     S[1024u + (kk) * 64u + c4 + 2u], S[1024u + (kk) * 64u + c4 + 3u]); \
    acc[0] += S[r4 * 16u + (kk)] * bv; acc[1] += S[(r4 + 1u) * 16u + (kk)] * bv; \
    acc[2] += S[(r4 + 2u) * 16u + (kk)] * bv; acc[3] += S[(r4 + 3u) * 16u + (kk)] * bv; }
// Staging (no loops: llvmpipe's loop budget): invocation t loads A rows
// t/16 + 16j at k t%16, and B rows t/64 + 4j at column t%64 (neighbouring
// invocations, neighbouring bytes; for B stored N x K, bytes K apart, the
// 16 bytes of a column's chunk in one span of its row).
#define AZP(j) int(BA[params.AZeroPoints + (params.AZeroPointPerRow != 0u ? min(m0 + t / 16u + 16u * (j), M - 1u) : 0u)])
#define STAGE_A(j) { uint m_ = m0 + t / 16u + 16u * (j); int v_ = 0; \
    if (m_ < M && k < K) { uint i_ = aBase + m_ * K + k; v_ = (at == Uint8 ? LD_U8(BX, i_) : LD_S8(BX, i_)) - azp[j]; } \
    S[(t / 16u + 16u * (j)) * 16u + ak] = v_; }
#define STAGE_B(j) { uint kb_ = k0 + t / 64u + 4u * (j); int v_ = 0; \
    if (bn < N && kb_ < K) { uint i_ = bBase + kb_ * SK + bn * SN; v_ = (bt == Uint8 ? LD_U8(BW, i_) : LD_S8(BW, i_)) - bzp; } \
    S[1024u + (t / 64u + 4u * (j)) * 64u + t % 64u] = v_; }

void main() {
    uint total = params.Total, M = params.M, K = params.K, N = params.N;
    uint SK = params.BStrideK, SN = params.BStrideN;
    uint at = params.AType, bt = params.BType;
    uint mn = M * N;
    uint tm = (M + 63u) / 64u, tn = (N + 63u) / 64u;
    uint tile = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (tile >= (total / mn) * tm * tn) return; // the whole group
    uint b = tile / (tm * tn), rt = tile % (tm * tn);
    uint m0 = (rt / tn) * 64u, n0 = (rt % tn) * 64u;
    uint t = gl_LocalInvocationID.x;
    uint r4 = (t / 16u) * 4u, c4 = (t % 16u) * 4u; // micro-tile origin in the tile
    uint aBase = BA[params.AIndex + b] * M * K, bBase = BA[params.BIndex + b] * K * N;
    uint ak = t % 16u, bn = n0 + t % 64u;
    int bzp = int(BA[params.BZeroPoints + (params.BZeroPointPerColumn != 0u ? min(bn, N - 1u) : 0u)]);
    ivec4 azp = ivec4(AZP(0u), AZP(1u), AZP(2u), AZP(3u));
    ivec4 acc[4] = ivec4[4](ivec4(0), ivec4(0), ivec4(0), ivec4(0));
    for (uint k0 = 0u; k0 < K; k0 += 16u) {
        uint k = k0 + ak;
        STAGE_A(0u) STAGE_A(1u) STAGE_A(2u) STAGE_A(3u)
        STAGE_B(0u) STAGE_B(1u) STAGE_B(2u) STAGE_B(3u)
        memoryBarrierShared();
        barrier();
        TILE_STEP(0u) TILE_STEP(1u) TILE_STEP(2u) TILE_STEP(3u)
        TILE_STEP(4u) TILE_STEP(5u) TILE_STEP(6u) TILE_STEP(7u)
        TILE_STEP(8u) TILE_STEP(9u) TILE_STEP(10u) TILE_STEP(11u)
        TILE_STEP(12u) TILE_STEP(13u) TILE_STEP(14u) TILE_STEP(15u)
        memoryBarrierShared();
        barrier();
    }
    uint yt = params.YType, pw = perWord(yt);
    uint ybase = b * mn;
    for (uint r = 0u; r < 4u; r++) {
        uint m = m0 + r4 + r;
        for (uint c = 0u; c < 4u; c++) {
            uint n = n0 + c4 + c;
            if (m < M && n < N) {
                uint v = epilogue(acc[r][c], n);
                if (pw == 1u) BY[ybase + m * N + n] = v;
                else S[(r4 + r) * 64u + c4 + c] = int(v);
            }
        }
    }
    if (pw == 1u) return; // uniform: the output type
    memoryBarrierShared();
    barrier();
    uint rows = min(64u, M - m0), cw = min(64u, N - n0);
    // The words starting in row r of the tile but its last: all their
    // elements are in the tile.
    uint maxW = 64u / pw + 1u;
    for (uint s = t; s < 64u * maxW; s += 256u) {
        uint r = s / maxW;
        if (r >= rows) continue;
        uint base = ybase + (m0 + r) * N + n0;
        uint w = (base + pw - 1u) / pw + s % maxW;
        if (w >= (base + cw - 1u) / pw) continue;
        STORE_OUTPUT(w, total, uint(S[r * 64u + (i - base)]))
    }
    // The word holding row r's last element, by invocation r when it starts
    // in the tile; its elements past the row's part of the tile (N not a
    // multiple of pw) come from valueAt.
    if (t < rows) {
        uint base = ybase + (m0 + t) * N + n0;
        uint w = (base + cw - 1u) / pw;
        if (w * pw >= base) {
            STORE_OUTPUT(w, total, (i < base + cw ? uint(S[t * 64u + (i - base)]) : valueAt(i)))
        }
    }
}
#else
void main() {
    uint n = params.Total;
    uint wi = gid();
    if (wi * perWord(params.YType) >= n) return;
    STORE_OUTPUT(wi, n, valueAt(i))
}
#endif
