#version 430
// o[i] = int8 element i of q (4 per uint, little-endian) minus zp, for i < n.
layout(local_size_x = 32) in;
layout(std430, binding = 0) readonly buffer Q { uint q[]; };
layout(std430, binding = 1) writeonly buffer O { int o[]; };
layout(std430, binding = 2) readonly buffer Params { uint n; int zp; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= n) {
        return;
    }
    int v = bitfieldExtract(int(q[i >> 2]), int((i & 3u) * 8u), 8);
    o[i] = v - zp;
}
