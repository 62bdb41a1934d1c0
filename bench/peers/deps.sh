#!/usr/bin/env bash
# Installs what `go run ./bench/peers` needs, only what is missing. Idempotent.
#   Node.js + npm (Debian nodejs npm) and onnxruntime-node 1.30.0 from package-lock.json
#   PyTorch (Debian python3-torch, run with /usr/bin/python3)
# SKIP_APT=1 installs no Debian package (it only reports what is missing).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pkgs=()
command -v node >/dev/null || pkgs+=(nodejs)
command -v npm >/dev/null || pkgs+=(npm)
/usr/bin/python3 -c 'import torch' 2>/dev/null || pkgs+=(python3-torch)
if ((${#pkgs[@]})); then
	if [ "${SKIP_APT:-}" = 1 ]; then
		echo "peers deps: missing Debian packages: ${pkgs[*]} (apt-get install ${pkgs[*]})" >&2
		exit 1
	fi
	echo "peers deps: installing ${pkgs[*]}" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "peers deps: Go is required (https://go.dev/dl)" >&2; exit 1; }
# onnxruntime-node ships its CPU binaries in the npm tarball; its postinstall
# script only fetches the CUDA EP (and fails offline), so scripts are skipped.
lock="$here/package-lock.json"
stamp="$here/node_modules/.package-lock.json"
if [ ! -f "$here/node_modules/onnxruntime-node/package.json" ] || [ "$lock" -nt "$stamp" ]; then
	echo "peers deps: npm ci in bench/peers (onnxruntime-node)" >&2
	(cd "$here" && ONNXRUNTIME_NODE_INSTALL=skip npm ci --ignore-scripts --no-audit --no-fund >/dev/null)
fi
