// Command peers runs qgpu's CPU backend and two peers, ONNX Runtime (the
// npm package onnxruntime-node, CPU execution provider, MLAS kernels) and
// PyTorch (Debian's python3-torch, quantized engine oneDNN), on the same
// shapes back to back, and prints one markdown table of the times and the
// ratio qgpu / best peer (above 1: qgpu is faster).
//
// Run it from the repository root (make peers installs the peers first):
//
//	go run ./bench/peers                    # the full comparison, 1 and 2 threads
//	go run ./bench/peers -quick -threads 1  # small sizes, a smoke test
//	go run ./bench/peers -json out.json -md out.md
//
// See bench/peers/README.md for what each column measures.
package main
