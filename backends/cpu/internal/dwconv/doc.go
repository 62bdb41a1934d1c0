// Package dwconv holds the CPU backend's depthwise convolution kernel: one
// channel plane at a time, int32 accumulation of x * w over the kernel
// cells of a zero-point-padded input plane, written either as int32
// accumulators or requantized to bytes (qtensor.Requantize).
//
// # Arithmetic
//
// A Plane computes, for every output pixel (oh, ow),
//
//	acc = Init + sum over (kh, kw) of x[(oh*SH + kh*DH)*Wp + ow*SW + kw*DW] * W[kh*KW + kw]
//
// in int32 with wrapping, x being the raw int8 or uint8 byte. The caller
// folds the input zero point into Init: with padding cells holding the zero
// point xzp, W = w - wzp and Init = bias - xzp * sum(W) (InitValue), acc is
// bias + sum (x - xzp) * (w - wzp), the reference accumulator, exactly
// whenever that fits int32 (the engine rejects shapes where it could not;
// wrapping arithmetic is exact modulo 2^32 whatever the order).
//
// # Kernels and ISA selection
//
// The pure Go kernel is the loop above. The AVX-512 kernels (generated with
// avo, asmgen/, its own module; go generate regenerates dw_amd64.s and
// stub_amd64.go) put 16 output columns of one output row in a zmm of int32
// lanes and compute blocks of 8, 4 or 1 output rows, the last vector of a
// row masked with an opmask. Per kernel cell each input vector is widened
// to int32 lanes (VPMOVZXBD or VPMOVSXBD for column stride 1; VPMOVZXWD and
// an AND or a sign-extending shift pair for stride 2, which keeps the even
// bytes) and VPDPWSSD adds the product of the low 16-bit word with the
// broadcast weight, stored with a zero high word, so the high words add
// 0 and each lane gains exactly x * W in wrapping int32 (VPDPWSSD does not
// saturate). The requantizing variants end with package vec's requantize
// sequence (VCVTDQ2PS, VMULPS m, clamp to [qmin-zp, qmax-zp], VCVTPS2DQ
// {rn-sae}, VPADDD zp, VPMOVDB), identical to qtensor.Requantize for a
// finite m (see package vec's documentation); other m take the Go loop.
// The vector kernels need AVX-512 F, BW and VNNI and BMI2; column strides
// other than 1 and 2 and kernels of more than MaxCells cells run in Go.
//
// The AVX2 kernels put 8 output columns in a ymm. Without opmasks the last
// vector of a row moves back to end at the row's last pixel, overlapping
// the previous one; planes narrower than 8 pixels run 8 wide over a pooled
// copy of the input with room for the extra reads, into a scratch output
// whose first OW columns are kept (7x7 planes 4.5-5.6x faster than Go's
// loop that way, copies included). Without
// VPDPWSSD each cell is VPMADDWD of the widened input with the broadcast
// weight (high words zero again) followed by VPADDD. Their requantization
// is package vec's AVX2 sequence, VCVTPS2DQ rounding half to even under the
// Go runtime's MXCSR, and the bytes are gathered with VPSHUFB + VPERMD.
//
// Planes too small for that fixed work per plane (a 7x7 plane has 441
// products) take NHWC instead: the caller stages all channels of an image
// as padded NHWC, and dwNHWC{U8,S8}AVX512 compute, for each output pixel,
// 16 channels per zmm (four at a time) with VPMOVZXBD/VPMOVSXBD and
// VPDPWSSD against the cell's 16 weights (PackNHWC lays them out cell-major
// with zero high halves), writing int32 accumulators NHWC for the caller
// to requantize per channel and transpose.
//
// At init the package picks the best supported implementation; SetISA
// switches it for tests and benchmarks. With -tags purego, or off amd64,
// only isa.Generic exists: dw_noasm.go makes the kernel entry points
// (Plane.int32, Plane.requantize, NHWC.int32) call their Go forms, as
// crypto/sha256's block calls blockGeneric; dw_amd64.go holds their
// assembly dispatch.
//
// # Preconditions, not errors
//
// The CPU backend builds Planes and NHWCs from convolutions the engine has
// validated, so an inconsistent one is a bug in the caller: the geometry
// and slice lengths each method needs are documented on the types and
// checked on entry (a panic naming the sizes); weights outside int16 and
// other cases the vector kernels do not take run in Go. No method returns
// an error.
package dwconv
