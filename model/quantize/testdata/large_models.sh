#!/usr/bin/env bash
# large_models.sh: post-training quantization of the full-size ResNet-50 and
# MobileNetV2 (torchvision architectures, seeded random weights, from
# model/interp/testdata/torch/gen_torch.py --full) on seeded synthetic images
# (standard normal, 3x224x224): calibration time, the error report and plot, and
# the resident memory of `qgpu model quantize` when the calibration set grows 10x.
#
#   model/quantize/testdata/large_models.sh [DIR]    DIR: $QGPU_MODELS, else out/models
#
# Environment: MODELS ("mobilenet_v2 resnet50"), N (32: calibration images of the
# small run; the large run has 10 N), METHOD (l2), REPORT (64: images the error
# report runs on). The models have a static batch of 1: one image per run. Needs /usr/bin/time, Debian's python3-torch/torchvision.
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
dir=${1:-${QGPU_MODELS:-$root/out/models}}
models=${MODELS:-mobilenet_v2 resnet50}
n=${N:-32}
method=${METHOD:-l2}
report=${REPORT:-64}
mkdir -p "$dir"
for m in $models; do
	[ -f "$dir/$m.onnx" ] || /usr/bin/python3 "$root/model/interp/testdata/torch/gen_torch.py" --full "$dir"
done
for k in $n $((10 * n)); do
	f="$dir/synthetic$k.npy"
	[ -f "$f" ] || /usr/bin/python3 -c "
import numpy as np, sys
k = int(sys.argv[1])
x = np.lib.format.open_memmap(sys.argv[2], mode='w+', dtype=np.float32, shape=(k, 3, 224, 224))
rng = np.random.default_rng(16)
for i in range(k):
    x[i] = rng.standard_normal((3, 224, 224), dtype=np.float32)
x.flush()" "$k" "$f"
done
qgpu="$dir/qgpu"
(cd "$root" && go build -o "$qgpu" ./cmd/qgpu)
for m in $models; do
	for k in $n $((10 * n)); do
		out="$dir/$m.$method.$k"
		/usr/bin/time -f "%e s wall, %M KiB max RSS" -o "$out.time" "$qgpu" model quantize --model "$dir/$m.onnx" \
			--calib "$dir/synthetic$k.npy" --method "$method" --per-channel --out "$out.onnx" \
			--report "$out.json" --plot "$out.png" --report-samples "$report" >"$out.txt"
		echo "$m, $k images, $method: $(cat "$out.time"); $(grep -E '^calibration:' "$out.txt")"
		grep -E '^output' "$out.txt"
	done
done
