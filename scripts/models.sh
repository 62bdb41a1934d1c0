#!/usr/bin/env bash
# Builds the full-size test models for benchmarks and CI into a directory (not committed):
# torchvision ResNet-18/50 and MobileNetV2 with seeded random init in float
# (model/interp/testdata/torch/gen_torch.py --full) and the QDQ forms of ResNet-50 and
# MobileNetV2 (model/testdata/qdq/gen_qdq.py, ONNX Runtime's quantize_static conventions,
# calibrated on seeded synthetic images), then, when ONNX Runtime is installed
# (bench/peers/deps.sh), checks that ORT loads and runs them and how close the QDQ outputs are
# to the float ones.
#
#   scripts/models.sh [DIR]       DIR: $QGPU_MODELS, else out/models
#
# Writes into DIR, for NAME in resnet18 resnet50 mobilenet_v2:
#   NAME.onnx NAME.input.npy NAME.output.npy NAME.json   float model, input, torch's output
# and for NAME in $QDQ_MODELS:
#   NAME.qdq.onnx NAME.qdq.json        per-tensor int8 weights, uint8 activations (+ report)
#   NAME.qdq_pc.onnx NAME.qdq_pc.json  per-channel weights (PER_CHANNEL=1, the default)
#   NAME.qdq.bB.onnx                   NAME.qdq.onnx at static batch B, for B in $BATCHES
#                                      (scripts/onnx_batch.py; bench/peers times them)
#   NAME.ort_compare.json              ORT: QDQ vs float on $EVAL seeded inputs
#   NAME.ranges.json                   the calibrated ranges (shared by both forms)
#   calib.npy                          the $CALIB calibration images (seeded standard normal)
# Steps whose outputs exist and are newer than their generators are skipped (FORCE=1 redoes all).
# Environment: PYTHON (/usr/bin/python3), QDQ_MODELS ("resnet50 mobilenet_v2"), CALIB (8),
# EVAL (16), PER_CHANNEL (1), BATCHES ("8"), ORT_CHECK (auto: 1 when onnxruntime-node is
# installed).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-${QGPU_MODELS:-$root/out/models}}
py=${PYTHON:-/usr/bin/python3}
qdq_models=${QDQ_MODELS:-resnet50 mobilenet_v2}
calib_n=${CALIB:-8}
eval_n=${EVAL:-16}
per_channel=${PER_CHANNEL:-1}
batches=${BATCHES:-8}
force=${FORCE:-0}
gen_torch=$root/model/interp/testdata/torch/gen_torch.py
gen_qdq=$root/model/testdata/qdq/gen_qdq.py
onnx_np=$root/model/testdata/qdq/onnx_np.py
runner=$root/bench/peers/ort/run_model.js
ort_check=${ORT_CHECK:-auto}
if [ "$ort_check" = auto ]; then
	ort_check=0
	if command -v node >/dev/null && [ -d "$root/bench/peers/node_modules/onnxruntime-node" ]; then ort_check=1; fi
fi
"$py" -c 'import torch, torchvision, onnx, numpy' 2>/dev/null ||
	{ echo "models: $py needs torch, torchvision, onnx and numpy (Debian python3-torch python3-torchvision python3-onnx)" >&2; exit 1; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
# fresh OUT DEP...: OUT exists and is newer than every DEP (and FORCE is off)
fresh() {
	local out=$1
	shift
	[ "$force" = 1 ] && return 1
	[ -f "$out" ] || return 1
	for d in "$@"; do [ "$out" -nt "$d" ] || return 1; done
}

t_all=$(now)
t=$(now)
if fresh "$dir/mobilenet_v2.onnx" "$gen_torch" && fresh "$dir/resnet50.onnx" "$gen_torch" && fresh "$dir/resnet18.onnx" "$gen_torch"; then
	echo "models: float models up to date"
else
	"$py" "$gen_torch" --full "$dir"
	echo "models: float models (gen_torch.py --full): $(since "$t") s"
fi

t=$(now)
if ! fresh "$dir/calib.npy" "$0"; then
	"$py" -c "import numpy as np, sys; np.save(sys.argv[1], np.random.default_rng(20261207).standard_normal(($calib_n, 3, 224, 224)).astype(np.float32))" "$dir/calib.npy"
fi

forms=(qdq)
[ "$per_channel" = 1 ] && forms+=(qdq_pc)
for m in $qdq_models; do
	# the calibrated ranges are saved by the first form built and reused by the next
	ranges=$dir/$m.ranges.json
	fresh "$ranges" "$dir/$m.onnx" "$dir/calib.npy" "$gen_qdq" "$onnx_np" || rm -f "$ranges"
	for f in "${forms[@]}"; do
		out=$dir/$m.$f.onnx
		if fresh "$out" "$dir/$m.onnx" "$dir/calib.npy" "$gen_qdq" "$onnx_np"; then
			echo "models: $m.$f.onnx up to date"
			continue
		fi
		t=$(now)
		extra=()
		[ "$f" = qdq_pc ] && extra=(--per-channel)
		"$py" "$gen_qdq" --model "$dir/$m.onnx" --calib "$dir/calib.npy" --ranges "$ranges" --out "$out" \
			--report "$dir/$m.$f.json" "${extra[@]}"
		echo "models: $m.$f.onnx (gen_qdq.py, $calib_n calibration images): $(since "$t") s"
	done
	for b in $batches; do
		out=$dir/$m.qdq.b$b.onnx
		fresh "$out" "$dir/$m.qdq.onnx" "$root/scripts/onnx_batch.py" && continue
		"$py" "$root/scripts/onnx_batch.py" "$dir/$m.qdq.onnx" "$out" "$b"
		echo "models: $m.qdq.b$b.onnx (batch $b)"
	done
done
echo "models: built in $(since "$t_all") s"

if [ "$ort_check" = 1 ]; then
	for m in $qdq_models; do
		t=$(now)
		qs=()
		for f in "${forms[@]}"; do qs+=(--qdq "$dir/$m.$f.onnx"); done
		"$py" "$root/model/testdata/qdq/ort_compare.py" --float "$dir/$m.onnx" "${qs[@]}" --samples "$eval_n" \
			--json "$dir/$m.ort_compare.json"
		echo "models: ORT check of $m: $(since "$t") s"
	done
else
	echo "models: ONNX Runtime not installed (bench/peers/deps.sh): ORT check skipped"
fi
