#version 430
// Does nothing: measures dispatch overhead.
layout(local_size_x = 1) in;
void main() {
}
