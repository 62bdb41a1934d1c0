// epilogue.glsl - engine.Epilogue, shared by gemm, conv and requantize.
// P: 21 kind (0 int32, 1 float32, 2 quantized float rule, 3 quantized fixed
// rule), 22 output type, 23 qmin (ReLU applied), 24 qmax, 25 yzp, 26 bias
// offset in BA (0xffffffff: none), 27 bias per channel, 28 offset of Scale
// (float), Mult (quantized) or Fixed pairs (multiplier, shift), 29 those per
// channel, 30 float-bias offset (0xffffffff: none), 31 float bias per channel.
const uint NONE = 0xffffffffu;

uint epilogue(int acc, uint c) {
    uint bo = PU(26);
    if (bo != NONE) acc += int(BA[bo + (PU(27) != 0u ? c : 0u)]);
    uint kind = PU(21);
    if (kind == 0u) return uint(acc);
    uint mi = PU(29) != 0u ? c : 0u;
    if (kind == 1u) {
        float sc = uintBitsToFloat(BA[PU(28) + mi]);
        float fb = 0.0;
        if (PU(30) != NONE) fb = uintBitsToFloat(BA[PU(30) + (PU(31) != 0u ? c : 0u)]);
        precise float p = float(acc) * sc;
        precise float y = p + fb;
        return floatBitsToUint(y);
    }
    if (kind == 2u) return uint(requantFloat(acc, uintBitsToFloat(BA[PU(28) + mi]), PI(25), PI(23), PI(24)));
    return uint(requantFixed(acc, int(BA[PU(28) + 2u * mi]), BA[PU(28) + 2u * mi + 1u], PI(25), PI(23), PI(24)));
}

// Stores the values of one output word computed by valueAt(i) for the
// word's elements: 32-bit outputs store the value, 8-bit ones pack.
#define STORE_OUTPUT(wi, n, VALUE_OF_I) { \
    uint t_ = PU(22); uint pw_ = perWord(t_); uint first_ = (wi) * pw_; \
    if (pw_ == 1u) { uint i = first_; BY[wi] = (VALUE_OF_I); } \
    else { uint w_ = 0u; \
        for (uint s_ = 0u; s_ < pw_ && first_ + s_ < (n); s_++) { uint i = first_ + s_; w_ = packInto(w_, t_, s_, int(VALUE_OF_I)); } \
        storeWord(wi, t_, n, w_); } }
