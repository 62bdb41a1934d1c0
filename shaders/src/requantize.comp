// requantize.comp - engine Requantize (params: shaders.RequantizeParams).
#include_epilogue

uint valueAt(uint i) {
    int acc = LOADQ(BX, params.XType, i) - params.XZeroPoint;
    return epilogue(acc, (i / params.Inner) % params.Channels);
}

void main() {
    uint n = params.N;
    uint wi = gid();
    if (wi * perWord(params.YType) >= n) return;
    STORE_OUTPUT(wi, n, valueAt(i))
}
