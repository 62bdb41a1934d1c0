#!/usr/bin/env bash
# Checks for Go, then installs the Debian packages qgpu needs, only those
# missing. Idempotent.
#   scripts/deps.sh bench   - nothing beyond Go (and gcc for the GPU backends)
#   scripts/deps.sh test    - GPU headers, software drivers, shader tools, Xvfb
set -euo pipefail
what=${1:-test}

# Go first: nothing else is worth installing without it.
want_go=$(sed -n 's/^go \([0-9][0-9.]*\).*/\1/p' "$(dirname "$0")/../go.mod")
if ! command -v go >/dev/null; then
	echo "deps: Go $want_go or later is required and not on PATH (https://go.dev/dl)" >&2
	exit 1
fi
have_go=$(go env GOVERSION | sed 's/^go//')
if [ "$(printf '%s\n%s\n' "$want_go" "$have_go" | sort -V | head -n1)" != "$want_go" ]; then
	echo "deps: go.mod needs Go $want_go, this is Go $have_go (https://go.dev/dl)" >&2
	exit 1
fi

pkgs=()
case "$what" in
bench)
	# The qgpu command builds with Go alone (CGO_ENABLED=0: the CPU backend)
	# or with gcc (the GPU backends too: they declare what they use of
	# Vulkan and EGL themselves and open the libraries at run time, so no
	# -dev package is needed).
	if ! command -v "${CC:-gcc}" >/dev/null; then
		echo "deps: no C compiler: qgpu builds without its GPU backends (apt-get install gcc adds them)" >&2
	fi
	;;
test)
	pkgs=(
		pkg-config
		libvulkan-dev libvulkan1 mesa-vulkan-drivers vulkan-tools # Vulkan loader, lavapipe; headers to check the binding's declarations
		chromium                                                  # ships SwiftShader's Vulkan ICD
		glslc glslang-tools spirv-tools                           # shader compiler and validator
		protobuf-compiler                                         # protoc, for onnx/onnxpb
		libonnx-testdata                                          # ONNX backend tests (model/interp)
		libegl-dev libegl-mesa0 libgl1-mesa-dri libgl-dev         # EGL + llvmpipe (OpenGL 4.5)
		xvfb xauth libx11-dev libxcursor-dev libxrandr-dev         # GLFW path under Xvfb
		libxinerama-dev libxi-dev libxxf86vm-dev
	)
	;;
*)
	echo "usage: $0 bench|test" >&2
	exit 2
	;;
esac
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	echo "deps: installing ${missing[*]} (apt-get: a few minutes the first time)" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
