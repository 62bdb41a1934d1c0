// epilogue.glsl - the engine's Epilogue, shared by gemm, conv and
// requantize, whose parameter blocks embed shaders.Epilogue (OutKind,
// YType, YQMin (ReLU applied), YQMax, YZeroPoint, Bias, Scale, FloatBias
// and their per-channel flags).

uint epilogue(int acc, uint c) {
    if (params.Bias != NoAux) acc += int(BA[params.Bias + (params.BiasPerChannel != 0u ? c : 0u)]);
    uint kind = params.OutKind;
    if (kind == EpilogueInt32) return uint(acc);
    uint mi = params.ScalePerChannel != 0u ? c : 0u;
    if (kind == EpilogueFloat32) {
        float sc = uintBitsToFloat(BA[params.Scale + mi]);
        float fb = 0.0;
        if (params.FloatBias != NoAux) fb = uintBitsToFloat(BA[params.FloatBias + (params.FloatBiasPerChannel != 0u ? c : 0u)]);
        precise float p = float(acc) * sc;
        precise float y = p + fb;
        return floatBitsToUint(y);
    }
    if (kind == EpilogueQuantFloat) return uint(requantFloat(acc, uintBitsToFloat(BA[params.Scale + mi]), params.YZeroPoint, params.YQMin, params.YQMax));
    return uint(requantFixed(acc, int(BA[params.Scale + 2u * mi]), BA[params.Scale + 2u * mi + 1u], params.YZeroPoint, params.YQMin, params.YQMax));
}

// Stores the values of one output word computed by valueAt(i) for the
// word's elements: 32-bit outputs store the value, 8-bit ones pack.
#define STORE_OUTPUT(wi, n, VALUE_OF_I) { \
    uint t_ = params.YType; uint pw_ = perWord(t_); uint first_ = (wi) * pw_; \
    if (pw_ == 1u) { uint i = first_; BY[wi] = (VALUE_OF_I); } \
    else { uint w_ = 0u; \
        for (uint s_ = 0u; s_ < pw_ && first_ + s_ < (n); s_++) { uint i = first_ + s_; w_ = packInto(w_, t_, s_, int(VALUE_OF_I)); } \
        storeWord(wi, t_, n, w_); } }
