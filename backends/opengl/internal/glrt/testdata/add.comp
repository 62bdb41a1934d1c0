#version 430
// y[i] = a[i] + b[i] + param (uint, wrapping), for i < n.
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer A { uint a[]; };
layout(std430, binding = 1) readonly buffer B { uint b[]; };
layout(std430, binding = 2) writeonly buffer Y { uint y[]; };
layout(std140, binding = 0) uniform Params { uint n; uint param; };
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= n) {
        return;
    }
    y[i] = a[i] + b[i] + param;
}
