#version 430
layout(local_size_x = 1) in;
void main() {
    undeclared_identifier_qgpu = 1;
}
