// Package gguf reads GGUF files (the format of llama.cpp and ggml, versions
// 2 and 3): the header - metadata and tensor descriptions - checked against
// the file's size before anything is allocated, and the tensors of types
// F32, F16, BF16, Q4_0 and Q8_0 converted without loss to qgpu tensors:
//
//   - F32, F16 and BF16 become float32 (the 16-bit values widened exactly);
//   - Q4_0 (blocks of 32: an fp16 scale d and 32 4-bit q, x = (q - 8) * d)
//     becomes uint4 quantized per block of 32 along the last axis, ready for
//     engine MatMulNBits; a block with d < 0 is stored as q' = 15 - q, zero
//     point 7 and scale -d (x = (q' - 7) * -d, the same value), one with
//     d = 0 as zeros with scale 1;
//   - Q8_0 (an fp16 d and 32 int8 q, x = q * d) becomes int8 per block of
//     32, zero point 0; a block with d < 0 as q' = -q - 1, zero point -1 and
//     scale -d.
//
// The fp16 scales convert exactly to float32, and (q - zp) * scale is
// exact in float32 for these q, so Dequantize of a converted tensor gives
// ggml's values exactly (bit for bit, except that a zero may come out
// with the other sign). ggml lists dimensions innermost first; the
// qgpu shape is reversed (a weight of ne = [K, N] is [N, K], the [out][in]
// layout MatMulNBits takes).
package gguf
