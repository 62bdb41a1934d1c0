#!/usr/bin/env bash
# Installs the Debian packages qgpu needs, only those missing. Idempotent.
#   scripts/deps.sh bench   - the Vulkan headers the qgpu command's cgo build needs
#   scripts/deps.sh test    - GPU headers, software drivers, shader tools, Xvfb
set -euo pipefail
what=${1:-test}
pkgs=()
case "$what" in
bench)
	# The qgpu command links the GPU backends (cgo); the Vulkan binding
	# compiles against <vulkan/vulkan.h>. Loaders and drivers are opened at
	# run time and are optional.
	pkgs=(libvulkan-dev)
	;;
test)
	pkgs=(
		pkg-config
		libvulkan-dev libvulkan1 mesa-vulkan-drivers vulkan-tools # Vulkan loader, headers, lavapipe
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
	echo "deps: installing ${missing[*]}" >&2
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "deps: Go is required (https://go.dev/dl)" >&2; exit 1; }
