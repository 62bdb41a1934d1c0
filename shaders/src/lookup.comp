// lookup.comp - engine Lookup and Concat (params: shaders.LookupParams):
// bytes of X through a 256-entry table into a window of Y's rows.
// One invocation per word of Y; bytes outside the window are kept, so the
// launches of a Concat (one per input, in order) each fill their window.

void main() {
    uint wi = gid();
    if (wi >= params.Words) return;
    uint total = params.Outer * params.InnerY;
    uint w = BY[wi];
    for (uint s = 0u; s < 4u; s++) {
        uint g = wi * 4u + s;
        if (g >= total) break;
        uint row = g / params.InnerY;
        uint col = g - row * params.InnerY;
        if (col < params.Offset || col - params.Offset >= params.InnerX) continue;
        uint src = row * params.InnerX + (col - params.Offset);
        uint b = (BX[src >> 2u] >> ((src & 3u) * 8u)) & 0xffu;
        w = bitfieldInsert(w, BA[params.Table + b], int(s * 8u), 8);
    }
    BY[wi] = w;
}
