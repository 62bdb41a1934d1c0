#!/usr/bin/env bash
# gen_ort.sh: regenerates the ONNX Runtime fixture of TestAgainstORT:
#   fashion_cnn_qdq.onnx      the QDQ model package quantize writes (64 images, min-max)
#   fashion_cnn_qdq.ort.npy   ONNX Runtime 1.30's logits for those images
# Needs node and bench/peers's onnxruntime-node (bench/peers/deps.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
cd "$root"
go test ./model/quantize -run '^TestAgainstORT$' -count=1 -args -write-ort >/dev/null
in="${TMPDIR:-/tmp}/qgpu_fashion_calib64.npy"
node "$here/ort_run.js" "$here/fashion_cnn_qdq.onnx" "$in" "$here/fashion_cnn_qdq.ort.npy" 64
rm -f "$in"
go test ./model/quantize -run '^TestAgainstORT$' -count=1 -v | grep -E 'agreement|ok|FAIL'
