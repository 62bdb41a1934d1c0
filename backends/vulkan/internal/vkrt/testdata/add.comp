#version 450
// Test shader for package vkrt: c[i] = a[i] + b[i] + pc.addend for i < pc.n,
// or, in mode 1, c[i] = i * pc.addend (index writer); mode 2: c[i] += a[i]
// (in-place accumulate, for chains of dependent dispatches).
// Workgroup size x comes from specialization constant 0 (default 64).
layout(local_size_x = 64, local_size_x_id = 0) in;

layout(std430, binding = 0) readonly buffer A { uint a[]; };
layout(std430, binding = 1) readonly buffer B { uint b[]; };
layout(std430, binding = 2) buffer C { uint c[]; };

layout(push_constant) uniform PC {
    uint n;
    uint addend;
    uint mode;
} pc;

void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= pc.n) return;
    if (pc.mode == 0u) {
        c[i] = a[i] + b[i] + pc.addend;
    } else if (pc.mode == 1u) {
        c[i] = i * pc.addend;
    } else {
        c[i] += a[i];
    }
}
