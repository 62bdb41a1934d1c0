#version 450
// Test shader for package vkrt that needs the optional 8-bit storage
// features (capabilities StorageBuffer8BitAccess and Int8): out[i] = int(in[i]).
#extension GL_EXT_shader_8bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_int8 : require
layout(local_size_x = 64) in;
layout(std430, binding = 0) readonly buffer In { int8_t v[]; };
layout(std430, binding = 1) writeonly buffer Out { int o[]; };
layout(push_constant) uniform PC { uint n; } pc;
void main() {
    uint i = gl_GlobalInvocationID.x;
    if (i < pc.n) o[i] = int(v[i]);
}
