#!/usr/bin/env bash
# gen_fixtures.sh: regenerates the oracle fixtures of package quantize's tests
# from the committed float model and the 64 images of calib_u8.npy:
#   fashion_cnn_qdq.onnx      the QDQ model package quantize writes (min-max, per tensor)
#   fashion_cnn_qdq.ort.npy   ONNX Runtime 1.30's logits for it (TestAgainstORT)
#   fashion_cnn.gen_qdq.onnx  model/testdata/qdq/gen_qdq.py's QDQ form of the float
#                             model on the same images: ONNX Runtime's quantize_static
#                             conventions reproduced in numpy (TestAgainstGenQDQ)
# Needs node and bench/peers's onnxruntime-node (bench/peers/deps.sh) and
# Debian's python3-onnx and numpy.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../.." && pwd)
cd "$root"
go test ./model/quantize -run '^TestAgainstORT$' -count=1 -args -write-ort >/dev/null
in="${TMPDIR:-/tmp}/qgpu_fashion_calib64.npy"
node bench/peers/ort/run_model.js --model "$here/fashion_cnn_qdq.onnx" --in "$in" --out "$here/fashion_cnn_qdq.ort.npy" --split 64
/usr/bin/python3 model/testdata/qdq/gen_qdq.py --model "$here/fashion_cnn.onnx" --calib "$in" --batch 64 \
	--out "$here/fashion_cnn.gen_qdq.onnx"
rm -f "$in"
go test ./model/quantize -run '^TestAgainst(ORT|GenQDQ)$' -count=1 -v | grep -E 'agreement|ulp|^ok|FAIL'
