#version 430
// y[i] = x[i] * mul + add[1] with plain uniforms (no block), for i < n.
layout(local_size_x = 16) in;
layout(std430, binding = 0) buffer X { uint x[]; };
uniform uint n;
uniform uint mul;
uniform int add[2];
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i >= n) {
        return;
    }
    x[i] = x[i] * mul + uint(add[1]);
}
