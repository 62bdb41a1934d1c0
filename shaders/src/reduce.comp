// reduce.comp - engine MinMax and Histogram, plus the initialisation of
// their outputs (params: shaders.ReduceParams, Mode one of the Reduce*
// modes).
// Floats are classified and ordered by their bits (qtensor and
// engine.MinMaxKey), never by float compares, so devices that flush
// denormals still agree on counts and extremes.

shared uint hist[4099];
shared uint red[6];

// Low 32 bits of the integer-valued float f (0 <= f < 2^64), from its bits.
uint lowBits(float f) {
    uint b = floatBitsToUint(f);
    if (b == 0u) return 0u;
    int e = int(b >> 23) - 150; // f = m * 2^e
    uint m = (b & 0x7fffffu) | 0x800000u;
    if (e >= 32) return 0u;
    if (e >= 0) return m << uint(e);
    return m >> uint(-e);
}

uint key(uint b) {
    if ((b & 0x7fffffffu) == 0u) b = 0u; // -0 counts as +0
    return (b >> 31) != 0u ? ~b : (b | 0x80000000u);
}

// The bits of 2^-100 (the bound below which histogram differences are
// scaled) and 2^-64, 2^-85.
const uint TINY_BITS = 0x0d800000u;
#define P2M64 uintBitsToFloat(0x1f800000u)
#define P2M85 uintBitsToFloat(0x15000000u)

// x * 2^64 for a float x of magnitude below 2^-62 (zeros and denormals
// included), built from its bits so a device that flushes denormals keeps
// them: exact.
float scaled64(uint b) {
    float m = (b & 0x7f800000u) == 0u ? float(b & 0x7fffffu) * P2M85 : uintBitsToFloat((b & 0x7fffffffu) + (64u << 23));
    return (b >> 31) != 0u ? -m : m;
}

void main() {
    uint n = params.N, mode = params.Mode;
    uint i = gid();
    if (mode == ReduceMinMaxInit) { // init MinMax output: per channel {0xffffffff, 0, 0, 0, 0, 0}
        if (i < n) BY[i] = (i % 6u) == 0u ? 0xffffffffu : 0u;
        return;
    }
    if (mode == ReduceHistogramInit) {
        if (i < n) BY[i] = 0u;
        return;
    }
    uint stride = gl_NumWorkGroups.x * gl_NumWorkGroups.y * gl_WorkGroupSize.x;
    uint lid = gl_LocalInvocationID.x;
    if (mode == ReduceMinMax) {
        uint channels = params.Channels, inner = params.Inner;
        if (channels == 1u) {
            if (lid < 6u) red[lid] = lid == 0u ? 0xffffffffu : 0u;
            barrier();
            uint lo = 0xffffffffu, hi = 0u, fin = 0u, nan = 0u, pinf = 0u, ninf = 0u;
            for (uint j = i; j < n; j += stride) {
                uint b = BX[j];
                if (bitsNaN(b)) nan++;
                else if (b == 0x7f800000u) pinf++;
                else if (b == 0xff800000u) ninf++;
                else { fin++; uint k = key(b); lo = min(lo, k); hi = max(hi, k); }
            }
            atomicMin(red[0], lo); atomicMax(red[1], hi);
            atomicAdd(red[2], fin); atomicAdd(red[3], nan); atomicAdd(red[4], pinf); atomicAdd(red[5], ninf);
            memoryBarrierShared();
            barrier();
            if (lid == 0u) {
                atomicMin(BY[0], red[0]); atomicMax(BY[1], red[1]);
                atomicAdd(BY[2], red[2]); atomicAdd(BY[3], red[3]); atomicAdd(BY[4], red[4]); atomicAdd(BY[5], red[5]);
            }
            return;
        }
        for (uint j = i; j < n; j += stride) {
            uint c = (j / inner) % channels;
            uint b = BX[j];
            if (bitsNaN(b)) atomicAdd(BY[6u * c + 3u], 1u);
            else if (b == 0x7f800000u) atomicAdd(BY[6u * c + 4u], 1u);
            else if (b == 0xff800000u) atomicAdd(BY[6u * c + 5u], 1u);
            else {
                uint k = key(b);
                atomicAdd(BY[6u * c + 2u], 1u);
                atomicMin(BY[6u * c], k);
                atomicMax(BY[6u * c + 1u], k);
            }
        }
        return;
    }
    // ReduceHistogram and ReduceHistogramAligned. Slots: bins, then below,
    // above, NaN.
    uint bins = params.Bins;
    bool aligned = mode == ReduceHistogramAligned;
    uint klo = key(params.LoBits), khi = key(params.HiBits);
    float lo = uintBitsToFloat(params.LoBits), s = uintBitsToFloat(params.ScaleBits);
    bool local = bins + 3u <= 4099u;
    if (local) {
        for (uint j = lid; j < bins + 3u; j += gl_WorkGroupSize.x) hist[j] = 0u;
        barrier();
    }
    for (uint j = i; j < n; j += stride) {
        uint b = BX[j];
        uint slot;
        if (bitsNaN(b)) slot = bins + 2u;
        else if (aligned) {
            // qtensor.HistBinAligned: j = f for x >= 0 (-0 included) and
            // j = -1 - f for x < 0, with f = floor(|x|*s), an integer-valued
            // float (the product is exact: s is a power of two). Zeros and
            // denormals give f = 0 from the bits (|x*s| < 1 for every
            // denormal), so flushing devices agree. j itself is never formed
            // in float (-1 - f is inexact beyond 2^24); for an integer a and
            // integer-valued f, f < a exactly when f < up(a), so the window
            // tests compare f with the host's rounded-up edges, and the bin
            // is the low 32 bits of j - start.
            bool neg = (b >> 31) != 0u && (b & 0x7fffffffu) != 0u;
            float f = 0.0;
            if ((b & 0x7f800000u) != 0u) { precise float v = uintBitsToFloat(b & 0x7fffffffu) * s; f = floor(v); }
            if (!neg) { // j = f
                if (f < params.StartUp) slot = bins;
                else if (f >= params.EndUp) slot = bins + 1u;
                else slot = lowBits(f) - params.Start;
            } else { // j = -1 - f: j < start iff f >= -start; j >= end iff f < -end
                if (f >= params.NegStartUp) slot = bins;
                else if (f < params.NegEndUp) slot = bins + 1u;
                else slot = ~lowBits(f) - params.Start;
            }
        }
        else if (key(b) < klo) slot = bins;
        else if (key(b) > khi) slot = bins + 1u;
        else {
            // qtensor.HistBin: float32(x - lo) * s, exact also where a
            // device flushes denormals. When |x| and |lo| are both below
            // 2^-100, x - lo is computed scaled by 2^64 (scaled64: exact,
            // both are multiples of 2^-149 and the scaled values normal) and
            // the product scaled back; otherwise a denormal operand is below
            // half an ulp of the other one and of their difference, so
            // reading it as 0 rounds to the same value. A denormal s (a huge
            // range with few bins) is scaled the same way.
            uint lb = params.LoBits, sb = params.ScaleBits;
            bool tiny = (b & 0x7fffffffu) < TINY_BITS && (lb & 0x7fffffffu) < TINY_BITS;
            bool sden = (sb & 0x7f800000u) == 0u;
            precise float d = tiny ? scaled64(b) - scaled64(lb) : uintBitsToFloat(b) - lo;
            precise float w = d * (sden ? scaled64(sb) : s);
            float v = w;
            if (tiny) { precise float t = v * P2M64; v = t; }
            if (sden) { precise float t = v * P2M64; v = t; }
            slot = v >= float(bins) ? bins - 1u : uint(v);
        }
        if (local) atomicAdd(hist[slot], 1u);
        else atomicAdd(BY[slot], 1u);
    }
    if (local) {
        memoryBarrierShared();
        barrier();
        for (uint j = lid; j < bins + 3u; j += gl_WorkGroupSize.x) {
            if (hist[j] != 0u) atomicAdd(BY[j], hist[j]);
        }
    }
}
