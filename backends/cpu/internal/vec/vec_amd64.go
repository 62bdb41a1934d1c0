//go:build amd64 && !purego

package vec

import (
	"math"
	"slices"
	"unsafe"

	"golang.org/x/sys/cpu"

	"github.com/qgpu/qgpu/backends/cpu/internal/isa"
	"github.com/qgpu/qgpu/qtensor"
)

//go:generate go run -C asmgen . -out ../vec_amd64.s -stubs ../stub_amd64.go -pkg vec

// hasAVX512 reports AVX-512 F support; x/sys/cpu also checks that the OS
// saves the zmm and opmask state. Every generated kernel uses AVX-512 F
// instructions only.
var hasAVX512 = cpu.X86.HasAVX512F

// hasAVX512BWVL reports AVX-512 BW and VL besides F: the byte transpose
// uses byte unpacks on Y16-Y31.
var hasAVX512BWVL = hasAVX512 && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL

// hasAVX2 reports AVX2 support (x/sys/cpu checks the OS saves the ymm
// state).
var hasAVX2 = cpu.X86.HasAVX2

func useAVX512() bool { return toggle.Current() == isa.AVX512 }

func useAVX2() bool { return toggle.Current() == isa.AVX2 }

// quantizePerTensor is QuantizePerTensor after its checks: the assembly inside
// its exact domain (see the package documentation), the Go loop outside.
func quantizePerTensor(dst []byte, src []float32, scale float32, zp, qmin, qmax int32, stream bool) {
	if useAVX512() && finiteNonZero(scale) && qmin <= qmax {
		lo, hi := clampBounds(zp, qmin, qmax)
		quantizeAVX512(dst, src, quantDivAVX512, quantDivNTAVX512, scale, lo, hi, zp, stream)
		return
	}
	if n8 := len(src) &^ 7; n8 > 0 && useAVX2() && finiteNonZero(scale) && qmin <= qmax {
		lo, hi := clampBounds(zp, qmin, qmax)
		quantDivAVX2(&dst[0], &src[0], n8, scale, lo, hi, zp)
		dst, src = dst[n8:], src[n8:]
	}
	quantizeGeneric(dst, src, scale, zp, qmin, qmax)
}

// quantizeTorchPerTensor is QuantizeTorchPerTensor after its checks: the assembly inside
// its exact domain (see the package documentation), the Go loop outside.
func quantizeTorchPerTensor(dst []byte, src []float32, scale float32, zp, qmin, qmax int32, stream bool) {
	inv := 1 / scale
	if useAVX512() && finiteNonZero(inv) && qmin <= qmax {
		lo, hi := clampBounds(zp, qmin, qmax)
		quantizeAVX512(dst, src, quantMulAVX512, quantMulNTAVX512, inv, lo, hi, zp, stream)
		return
	}
	if n8 := len(src) &^ 7; n8 > 0 && useAVX2() && finiteNonZero(inv) && qmin <= qmax {
		lo, hi := clampBounds(zp, qmin, qmax)
		quantMulAVX2(&dst[0], &src[0], n8, inv, lo, hi, zp)
		dst, src = dst[n8:], src[n8:]
	}
	quantizeTorchGeneric(dst, src, scale, zp, qmin, qmax)
}

// dequantizePerTensor is DequantizePerTensor after its checks: the assembly inside
// its exact domain (see the package documentation), the Go loop outside.
func dequantizePerTensor(dst []float32, src []byte, signed bool, scale float32, zp int32, stream bool) {
	if !useAVX512() {
		if n8 := len(src) &^ 7; n8 > 0 && useAVX2() {
			k := dequantU8AVX2
			if signed {
				k = dequantS8AVX2
			}
			k(&dst[0], &src[0], n8, scale, zp)
			dst, src = dst[n8:], src[n8:]
		}
		dequantizeGeneric(dst, src, signed, scale, zp)
		return
	}
	k, kNT := dequantU8AVX512, dequantU8NTAVX512
	if signed {
		k, kNT = dequantS8AVX512, dequantS8NTAVX512
	}
	if stream {
		// Regular stores up to a 64-byte aligned dst, non-temporal stores
		// for the whole vectors after it, regular stores for the rest.
		head := int(-uintptr(unsafe.Pointer(&dst[0]))&63) / 4
		if head+16 <= len(src) {
			if head > 0 {
				k(&dst[0], &src[0], head, scale, zp)
			}
			mid := (len(src) - head) &^ 15
			kNT(&dst[head], &src[head], mid, scale, zp)
			dst, src = dst[head+mid:], src[head+mid:]
			if len(src) == 0 {
				return
			}
		}
	}
	k(&dst[0], &src[0], len(src), scale, zp)
}

// requantizeInt32 is RequantizeInt32 after its checks: the assembly inside
// its exact domain (see the package documentation), the Go loop outside.
func requantizeInt32(dst []byte, src []int32, m float32, zp, qmin, qmax int32) {
	if useAVX512() && m == m && m <= math.MaxFloat32 && m >= -math.MaxFloat32 && qmin <= qmax {
		lo, hi := clampBounds(zp, qmin, qmax)
		requantAVX512(&dst[0], &src[0], len(src), m, lo, hi, zp)
		return
	}
	if n8 := len(src) &^ 7; n8 > 0 && useAVX2() && m == m && m <= math.MaxFloat32 && m >= -math.MaxFloat32 && qmin <= qmax {
		lo, hi := clampBounds(zp, qmin, qmax)
		requantAVX2(&dst[0], &src[0], n8, m, lo, hi, zp)
		dst, src = dst[n8:], src[n8:]
	}
	requantizeGeneric(dst, src, m, zp, qmin, qmax)
}

// requantizeCols is RequantizeCols after its checks: the assembly inside
// its exact domain (see the package documentation), the Go loop outside.
func requantizeCols(dst []byte, src []int32, mult []float32, zp, qmin, qmax int32) {
	if n8 := len(src) &^ 7; n8 > 0 && (useAVX2() || useAVX512()) && qmin <= qmax {
		lo, hi := clampBounds(zp, qmin, qmax)
		requantColsAVX2(&dst[0], &src[0], &mult[0], n8, lo, hi, zp)
		dst, src, mult = dst[n8:], src[n8:], mult[n8:]
	}
	requantizeColsGeneric(dst, src, mult, zp, qmin, qmax)
}

// floatCols is FloatCols after its checks: the assembly inside
// its exact domain (see the package documentation), the Go loop outside.
func floatCols(dst []float32, src []int32, scale, bias []float32) {
	if n8 := len(src) &^ 7; n8 > 0 && (useAVX2() || useAVX512()) {
		floatColsAVX2(&dst[0], &src[0], &scale[0], &bias[0], n8)
		dst, src, scale, bias = dst[n8:], src[n8:], scale[n8:], bias[n8:]
	}
	floatColsGeneric(dst, src, scale, bias)
}

// minMax is MinMax after its checks: the assembly inside
// its exact domain (see the package documentation), the Go loop outside.
func minMax(src []float32) MinMaxStats {
	var out [80]uint32
	lanes, tail := 16, []float32(nil)
	switch n8 := len(src) &^ 7; {
	case useAVX512():
		minmaxAVX512(&src[0], len(src), &out)
	case useAVX2() && n8 > 0:
		minmaxAVX2(&src[0], n8, (*[40]uint32)(out[:40]))
		lanes, tail = 8, src[n8:]
	default:
		return minMaxGeneric(src)
	}
	st := EmptyMinMax
	for j := range lanes {
		st.Lo = min(st.Lo, out[j])
		st.Hi = max(st.Hi, out[lanes+j])
		st.NaN += out[2*lanes+j]
		st.PInf += out[3*lanes+j]
		st.NInf += out[4*lanes+j]
	}
	// -0 is the only value whose vector key is negZeroKey; it is adjacent
	// to +0's key in the order, so mapping it afterwards is exact.
	if st.Lo == negZeroKey {
		st.Lo = qtensor.MinMaxKey(0)
	}
	if st.Hi == negZeroKey {
		st.Hi = qtensor.MinMaxKey(0)
	}
	st.Finite = uint32(len(src)-len(tail)) - st.NaN - st.PInf - st.NInf
	if len(tail) > 0 {
		st = st.Merge(minMaxGeneric(tail))
	}
	return st
}

// histogram is Histogram after its checks: the assembly inside
// its exact domain (see the package documentation), the Go loop outside.
func histogram(counts []uint32, src []float32, lo, hi, s float32, bins int) {
	vector := (useAVX512() || useAVX2()) && len(src) >= 8 && bins < 1<<24 && lo < hi && finiteNonZero(s)
	stride, nsub := 0, 1
	if vector && len(src) >= subMinPerBin*len(counts) && repetitive(len(src), func(i int) int64 {
		return int64(qtensor.HistBin(src[i], lo, hi, s, bins))
	}) {
		stride, nsub = len(counts), subHists
	}
	n16 := len(src) &^ 15
	if vector && useAVX512() && n16 > 0 {
		var tab [64]int32
		for j := range 16 {
			off := int32((j % nsub) * stride)
			tab[j], tab[16+j], tab[32+j], tab[48+j] = off, off+int32(bins), off+int32(bins)+1, off+int32(bins)+2
		}
		if nsub == 1 {
			histAVX512(&counts[0], &src[0], n16, lo, hi, s, int32(bins), &tab)
		} else {
			sub := make([]uint32, nsub*stride)
			histAVX512(&sub[0], &src[0], n16, lo, hi, s, int32(bins), &tab)
			addSubs(counts, sub, nsub)
		}
		src = src[n16:]
	}
	if n8 := len(src) &^ 7; vector && useAVX2() && n8 > 0 {
		off := laneOffsets(nsub, stride)
		if nsub == 1 {
			histAVX2(&counts[0], &src[0], n8, lo, hi, s, int32(bins), &off)
		} else {
			sub := make([]uint32, nsub*stride)
			histAVX2(&sub[0], &src[0], n8, lo, hi, s, int32(bins), &off)
			addSubs(counts, sub, nsub)
		}
		src = src[n8:]
	}
	histogramGeneric(counts, src, lo, hi, s, bins)
}

// histogramAligned is HistogramAligned after its checks: the assembly inside
// its exact domain (see the package documentation), the Go loop outside.
func histogramAligned(counts []uint32, src []float32, s float32, start int64) {
	bins := len(counts) - 3
	// The AVX2 kernel takes windows within 2^24 of zero only.
	lo32, hi32 := start-1, start+int64(bins)+1
	fits32 := lo32 >= -1<<24 && hi32 <= 1<<24
	vector := (useAVX512() || useAVX2() && fits32) && len(src) >= 8 && bins < 1<<24 && start >= -1<<61 && start <= 1<<61
	stride, nsub := len(counts), 1
	if vector && len(src) >= subMinPerBin*len(counts) && repetitive(len(src), func(i int) int64 {
		j, _ := qtensor.HistBinAligned(src[i], s)
		return min(max(j-start, -1), int64(bins))
	}) {
		// Four sub-histograms of 2048 bins fill a 32 KiB L1 data
		// cache: on ReLU data they ran 1.3x slower than two.
		nsub = subHists
		if nsub*stride*4 > 16<<10 {
			nsub = 2
		}
	}
	n16 := len(src) &^ 15
	if vector && useAVX512() && n16 > 0 {
		// Each sub-histogram is laid out below, bins..., above, NaN: the
		// kernel maps a clamped window index d in [-1, bins] to d+1.
		var tab [32]int32
		for j := range 16 {
			off := int32((j % nsub) * stride)
			tab[j], tab[16+j] = off+1, off+int32(bins)+2
		}
		sub := make([]uint32, nsub*stride)
		if fits32 {
			histAligned32AVX512(&sub[0], &src[0], n16, s, float32(lo32), float32(hi32), int32(start), int32(bins), &tab)
		} else {
			histAlignedAVX512(&sub[0], &src[0], n16, s, start, int64(bins), &tab)
		}
		for k := range nsub {
			addAligned(counts, sub[k*stride:(k+1)*stride])
		}
		src = src[n16:]
	}
	if n8 := len(src) &^ 7; vector && useAVX2() && n8 > 0 {
		off := laneOffsets(nsub, stride)
		sub := make([]uint32, nsub*stride)
		histAligned32AVX2(&sub[0], &src[0], n8, s, float32(lo32), float32(hi32), int32(start), int32(bins), &off)
		for k := range nsub {
			addAligned(counts, sub[k*stride:(k+1)*stride])
		}
		src = src[n8:]
	}
	histogramAlignedGeneric(counts, src, s, start)
}

// negZeroKey is the key the vector kernel gives -0 (bits 0x80000000
// complemented); no other float32 has it, and it stands for +0.
const negZeroKey = 0x7fffffff

// Sub-histogram policy. Consecutive increments of one counter serialize
// (each waits for the previous store), so data that repeats bins often
// (ReLU outputs, constant runs) ran about twice as fast with the lanes
// spread over four sub-histograms, while well-spread data (a normal
// distribution over 2048 bins) ran about 1.5x slower that way. Calls with
// at least subMinPerBin values per counter estimate the probability that
// two values share a bin from a sample and use four sub-histograms when it
// exceeds subCollide.
const (
	subHists     = 4
	subMinPerBin = 16
	subSample    = 512
	subCollide   = 0.01
)

// finiteNonZero reports whether v is finite and not zero: the divisors and
// multipliers for which v op x is NaN only when x is NaN.
func finiteNonZero(v float32) bool {
	return v == v && v != 0 && v <= math.MaxFloat32 && v >= -math.MaxFloat32
}

// clampBounds returns the float bounds of qtensor's clamp relative to zp,
// computed exactly as the formula does.
func clampBounds(zp, qmin, qmax int32) (lo, hi float32) {
	return float32(qmin - zp), float32(qmax - zp)
}

// quantizeAVX512 runs a quantize kernel k over src, with its non-temporal
// form kNT for the 64-byte aligned whole blocks of 64 of the output when
// stream is set (see StreamQuantize; VMOVNTDQ saves the read for ownership of dst,
// a fifth of the traffic).
func quantizeAVX512(dst []byte, src []float32, k, kNT func(*byte, *float32, int, float32, float32, float32, int32), s, lo, hi float32, zp int32, stream bool) {
	if head := int(-uintptr(unsafe.Pointer(&dst[0])) & 63); stream && head+64 <= len(src) {
		if head > 0 {
			k(&dst[0], &src[0], head, s, lo, hi, zp)
		}
		mid := (len(src) - head) &^ 63
		kNT(&dst[head], &src[head], mid, s, lo, hi, zp)
		dst, src = dst[head+mid:], src[head+mid:]
		if len(src) == 0 {
			return
		}
	}
	k(&dst[0], &src[0], len(src), s, lo, hi, zp)
}

// repetitive estimates sum over bins of p(bin)^2 (the probability that two
// values share a counter) from the bins of the first values of src
// (bin(i) is the bin of src[i]) and reports whether it exceeds subCollide.
func repetitive(n int, bin func(i int) int64) bool {
	var idx [subSample]int64
	n = min(n, subSample)
	for i := range n {
		idx[i] = bin(i)
	}
	b := idx[:n]
	slices.Sort(b)
	pairs := 0
	for i := 0; i < n; {
		j := i
		for j < n && b[j] == b[i] {
			j++
		}
		pairs += (j - i) * (j - i - 1) / 2
		i = j
	}
	return float64(pairs) > subCollide*float64(n*(n-1)/2)
}

// addSubs adds the nsub sub-histograms laid out one after the other in sub
// to counts.
func addSubs(counts, sub []uint32, nsub int) {
	stride := len(sub) / nsub
	for k := range nsub {
		for i, c := range sub[k*stride : (k+1)*stride] {
			counts[i] += c
		}
	}
}

// laneOffsets returns the AVX2 histogram kernels' lane offsets: lane j
// counts into sub-histogram j%nsub, stride counters apart.
func laneOffsets(nsub, stride int) [8]int32 {
	var off [8]int32
	for j := range off {
		off[j] = int32((j % nsub) * stride)
	}
	return off
}

// addAligned adds a kernel's histogram h, laid out below, bins..., above,
// NaN, to counts (bins..., below, above, NaN).
func addAligned(counts, h []uint32) {
	bins := len(counts) - 3
	for i, c := range h[1 : bins+1] {
		counts[i] += c
	}
	counts[bins] += h[0]
	counts[bins+1] += h[bins+1]
	counts[bins+2] += h[bins+2]
}
