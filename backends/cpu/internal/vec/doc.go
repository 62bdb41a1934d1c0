// Package vec holds the SIMD kernels of the CPU backend's elementwise ops
// and reductions: quantize (ONNX and PyTorch rounding), dequantize,
// requantize of int32 accumulators, the MinMax reduction and the histogram,
// and the byte and int32 matrix transposes of the convolution's NCHW <->
// NHWC layout changes.
// Every function is a plain slice function, so callers parallelize by
// splitting the slices into chunks (per-axis functions take the index of
// the chunk's first element; MinMaxStats merge; Histogram adds into its
// counts).
//
// # Preconditions, not errors
//
// The CPU backend calls these functions on chunks of ops the engine has
// validated, so a bad argument is a bug in the caller, not something a
// user can cause: each function states its preconditions in its doc
// comment (slice lengths, consistent per-axis arguments, HistBin's lo < hi,
// finite multipliers) and the callers in package cpu establish them. No
// function returns an error. A violated length precondition panics (a
// bounds check, or an explicit panic naming the sizes); a violated value
// precondition gives other bytes than the formula's, never a write outside
// the slices.
//
// # Kernels and ISA selection
//
// Each kernel has a pure Go version that calls the qtensor formula per
// element (it defines the expected bytes) and an AVX-512 F version
// generated with avo (asmgen/, its own module; go generate regenerates
// vec_amd64.s and stub_amd64.go). At init the package picks the best
// implementation the CPU supports (golang.org/x/sys/cpu, which also checks
// that the OS saves the zmm state); SetISA switches it for tests and
// benchmarks. With -tags purego, or off amd64, only isa.Generic exists:
// vec_noasm.go makes each kernel entry point (quantizePerTensor, minMax,
// ...) call its Go form, as crypto/sha256's block calls blockGeneric, and
// the *_amd64.go files hold the assembly dispatch of the same entry
// points. For
// CPUs without AVX-512, AVX2 versions of the per-tensor quantize,
// dequantize and requantize kernels, MinMax and the histograms (the
// [lo, hi] one, and the aligned one for windows within 2^24 of zero)
// process 8 values per ymm (the last n%8 in Go); they round with
// VCVTPS2DQ under the MXCSR's round to nearest even (Go never changes it),
// pack bytes with VPSHUFB and VPERMD, and replace opmasks by compare masks
// and VBLENDVPS. They run at 60-100% of the AVX-512 speed here
// (BenchmarkQuantize: 34x the Go loop, BenchmarkMinMax: 14x,
// BenchmarkHistogram*: 4.3-5.5x; the AVX2 histograms count into one
// histogram, without the sub-histograms that help on ReLU data). The
// transposes have no AVX2 form.
//
// The vector kernels process 64 elements per loop iteration, then 16, and
// finish with one opmask-masked vector (masked loads do not fault on the
// masked-off lanes and masked stores leave the bytes after the slice
// untouched), except the histogram, whose last len%16 elements run in Go.
//
// A vector kernel is used only inside the domain where it is provably
// identical to the formula; outside it (scale zero, infinite or NaN;
// qmin > qmax; a NaN or infinite requantization multiplier; a histogram
// scale that is zero or infinite, or 2^24 bins or more) the call takes the
// Go loop, so every input gives the formula's bytes.
//
// # Transpose
//
// TransposeBytes moves 16x32-byte blocks through ymm registers: four
// rounds of byte unpacks (VPUNPCKLBW/VPUNPCKHBW of rows i and i+8 into
// rows 2i and 2i+1) rotate each byte's 8-bit (row, column) position by one
// bit, so four of them transpose each 128-bit lane's 16x16 block. The
// rounds alternate between Y0-Y15 and Y16-Y31, which needs AVX512VL and
// AVX512BW besides F (checked separately). The last row strip and column
// block overlap the previous ones instead of needing tail code, so the
// kernel takes any matrix of at least 16 rows and 32 columns; smaller ones
// use 8x8 blocks in uint64s. For the 64-channel 56x56 staging this is 17x
// faster than the uint64 blocks (BenchmarkTransposeBytes: 109 -> 6.8 us).
// TransposeBytesCopies stores each transposed block to several places
// (the convolution's window cells hold each input row up to KH times).
//
// TransposeInt32 does the same for 32-bit values in 16x16 blocks, one zmm
// per row: VPUNPCKLDQ/HDQ then VPUNPCKLQDQ/HQDQ transpose the 4x4 blocks
// inside each 128-bit lane, and two rounds of VSHUFI32X4 transpose the
// 4x4 grid of lanes (AVX-512 F only). 7.4x the Go loop on a 3136x64
// matrix (BenchmarkTransposeInt32).
//
// # Quantize: why the vector code gives qtensor.Quantize's integer
//
// qtensor.Quantize computes r = rint(x / scale) in float32 (x / scale is a
// correctly rounded IEEE division; rint rounds half to even), clamps r to
// [lo, hi] = [float32(qmin-zp), float32(qmax-zp)] in float, converts to
// int32 and adds zp. The kernel computes
//
//	VDIVPS      x / scale              the same IEEE division (no reciprocal
//	                                   product; MXCSR has no FTZ/DAZ in Go, so
//	                                   denormals are exact too)
//	VMAXPS lo, VMINPS hi               clamp before rounding
//	VCVTPS2DQ {rn-sae}                 round half to even, convert
//	VPADDD zp, VPMOVDB                 add zp, keep the low byte
//
// Clamping before rounding gives the same value: lo and hi are integers
// and rint is monotone with integers as fixed points, so v < lo implies
// rint(v) <= lo, v > hi implies rint(v) >= hi, and in between rint(v) is in
// [lo, hi]; hence rint(clamp(v)) == clamp(rint(v)). The clamped value is
// within int32 range, so VCVTPS2DQ never produces its INT_MIN overflow
// value, and the embedded {rn-sae} rounding makes the result independent
// of MXCSR. ±Inf (and finite quotients that overflow to ±Inf) saturate
// through the clamp like the formula's. NaN: VMINPS/VMAXPS would return
// the bound for a NaN lane, so the kernel records the NaN lanes with
// VCMPPS(unordered) before dividing and writes zp into them afterwards
// (VMOVDQA32 under that mask), as the formula maps NaN to zp. With a
// finite, nonzero scale x / scale is NaN only for NaN x, so no other lane
// needs it. The PyTorch variant is the same with VMULPS by the float32
// reciprocal 1/scale computed in Go exactly as qtensor.QuantizeTorch does.
//
// # Dequantize and requantize
//
// Dequantize is VPMOV{S,Z}XBD, VPSUBD zp, VCVTDQ2PS, VMULPS scale: the
// int32 difference, its conversion (exact below 2^24, and rounded to
// nearest like Go's float32(int32) above) and one IEEE product, the
// formula's operations in its order. Outputs of 1 MiB or more are written
// with non-temporal stores (VMOVNTPS after a regular head up to a 64-byte
// boundary, SFENCE at the end), as runtime.memmove does for large copies:
// without them the destination lines are first read for ownership, which
// cost about 40% of the bandwidth. Requantize is VCVTDQ2PS, VMULPS m,
// then the quantize clamp/round/convert/add/pack sequence; a finite m
// keeps the product free of NaN, and overflow to ±Inf saturates.
//
// # MinMax
//
// Classification is by bits with integer operations: a float32 is not
// finite iff abs(bits) >= 0x7f800000 (unsigned); those lanes are masked
// out of the minimum and maximum, and blocks holding any are sent through
// a counting path (NaN: abs > 0x7f800000; +Inf and -Inf: bits equal to
// 0x7f800000 and 0xff800000). The key bits ^ (sra(bits, 31) | 0x80000000)
// (one VPSRAD and one VPTERNLOGD) equals qtensor.MinMaxKey except for -0,
// whose key comes out as 0x7fffffff instead of +0's 0x80000000; as no other
// float32 has that key and it is adjacent to +0's, the unsigned
// VPMINUD/VPMAXUD reductions order every value correctly and the final
// minimum or maximum is mapped back to +0's key when it is 0x7fffffff.
// The finite count is the length minus the non-finite counts.
//
// # Histogram
//
// Per 16 values: VCMPPS with the ordered predicates LT_OQ (x < lo) and
// GT_OQ (x > hi) and the unordered one (NaN), exactly HistBin's
// comparisons; then VSUBPS lo and VMULPS s (two roundings, never an FMA),
// VMINPS float32(bins) (HistBin's "v >= bins goes to the last bin", which
// also keeps the conversion in range), VCVTTPS2DQ (truncation is floor for
// v >= 0) and VPMINSD bins-1. The three masks then overwrite the lane's
// index with the below, above and NaN counters. The counters are
// incremented by a scalar loop over the 16 indices, extracted two at a time
// from registers (a round trip through a stack buffer stalled on store
// forwarding). Consecutive increments of one counter serialize, so when a
// sample of the input shows that values often share a bin (estimated
// sum of p(bin)^2 above 1%, as with ReLU outputs) and the input is long
// compared to the number of bins, the lanes go to four sub-histograms (lane
// j to copy j%4) that are summed at the end; for well-spread data a single
// histogram was faster.
package vec
