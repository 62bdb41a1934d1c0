# qgpu - the two commands of the README:
#   make bench   runs the qgpu benchmark on the default backend (installs what it needs)
#   make test    runs the whole test suite (installs what it needs); .ci/run calls it
SHELL := /bin/bash
GO ?= go
LVP_ICD := /usr/share/vulkan/icd.d/lvp_icd.x86_64.json
SWS_ICD := /usr/lib/chromium/vk_swiftshader_icd.json
FUZZTIME ?= 10s

.PHONY: bench test deps-bench deps-test build check unit cgo0 fuzz gpu generate-check beam peers models

bench: deps-bench
	$(GO) run ./cmd/qgpu bench

deps-bench:
	@scripts/deps.sh bench

deps-test:
	@echo "==> deps: Go, then the Debian packages the tests need (only the missing ones)"
	@scripts/deps.sh test

build:
	$(GO) build -o bin/qgpu ./cmd/qgpu

test: deps-test check cgo0 unit fuzz gpu generate-check beam
	@echo "make test: all steps passed"

# Formatting and vet: any finding fails the build.
check:
	@echo "==> check: gofmt, then go vet (which compiles every package: about 4 minutes on a cold build cache)"
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v /testdata/)); \
	  if [ -n "$$out" ]; then echo "gofmt -l found:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	CGO_ENABLED=0 $(GO) vet ./qtensor/... ./calib/... ./engine/... ./backends/cpu/... ./onnx/... ./model/...

# The core builds and tests without cgo or any system package.
cgo0:
	@echo "==> cgo0: the pure-Go build and the core's tests without cgo"
	CGO_ENABLED=0 $(GO) build ./...
	CGO_ENABLED=0 $(GO) test -count=1 ./qtensor/...
	CGO_ENABLED=0 $(GO) test -count=1 ./onnx/...
	CGO_ENABLED=0 $(GO) test -count=1 ./model/...
	CGO_ENABLED=0 $(GO) test -count=1 -tags purego ./backends/cpu/...

# Everything but the GPU backends (those run per driver in `gpu`), then the
# engine and the CPU conformance suite under the race detector.
# QGPU_REQUIRE_TESTDATA: the ONNX backend tests fail instead of skipping
# when libonnx-testdata is missing.
unit:
	@echo "==> unit: every package's tests but the GPU backends', then the engine and the suite under the race detector"
	QGPU_REQUIRE_TESTDATA=1 $(GO) test -count=1 $$($(GO) list ./... | grep -v -e /backends/vulkan -e /backends/opengl)
	$(GO) test -count=1 -race ./engine/... ./tests/...

# A short fuzz of every decoder (the committed corpora run in `unit` too).
fuzz:
	@echo "==> fuzz: $(FUZZTIME) of every Fuzz target of the module"
	@FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz.sh

# GPU backends on software drivers; QGPU_REQUIRE makes a broken driver setup fail instead of skip.
# The release-during-run stress (tests.Stress) runs again under the race detector on each driver.
gpu:
	@echo "==> gpu: the Vulkan and OpenGL backends on lavapipe, SwiftShader and llvmpipe (EGL, then GLFW under Xvfb), the stress under the race detector, conformance"
	VK_ICD_FILENAMES=$(LVP_ICD) QGPU_REQUIRE=vulkan $(GO) test -count=1 ./backends/vulkan/...
	VK_ICD_FILENAMES=$(SWS_ICD) QGPU_REQUIRE=vulkan $(GO) test -count=1 ./backends/vulkan/...
	env -u DISPLAY QGPU_REQUIRE=opengl $(GO) test -count=1 ./backends/opengl/...
	VK_ICD_FILENAMES=$(LVP_ICD) QGPU_REQUIRE=vulkan $(GO) test -count=1 -race -run '^TestStress$$' ./backends/vulkan
	VK_ICD_FILENAMES=$(SWS_ICD) QGPU_REQUIRE=vulkan $(GO) test -count=1 -race -run '^TestStress$$' ./backends/vulkan
	env -u DISPLAY QGPU_REQUIRE=opengl $(GO) test -count=1 -race -run '^TestStress$$' ./backends/opengl
	xvfb-run -a -s "-screen 0 1024x768x24 -noreset" env QGPU_REQUIRE=opengl QGPU_GL_CONTEXT=glfw $(GO) test -count=1 -tags glfw ./backends/opengl/...
	$(GO) build -tags glfw -o bin/qgpu-glfw ./cmd/qgpu
	xvfb-run -a -s "-screen 0 1024x768x24 -noreset" env QGPU_REQUIRE=opengl bin/qgpu-glfw conformance --backend opengl --device glfw
	VK_ICD_FILENAMES=$(LVP_ICD) QGPU_REQUIRE=vulkan,opengl $(GO) run ./cmd/qgpu conformance --backend cpu --backend vulkan --backend opengl
	VK_ICD_FILENAMES=$(SWS_ICD) QGPU_REQUIRE=vulkan $(GO) run ./cmd/qgpu conformance --backend vulkan

# Generated files (kernel parameter blocks, SPIR-V, avo assembly) must match their sources.
generate-check:
	@echo "==> generate-check: the committed SPIR-V, kernel parameter blocks, assembly and protobuf code match their sources"
	@command -v glslc >/dev/null || { echo "generate-check: glslc missing (scripts/deps.sh test)"; exit 1; }
	$(GO) generate ./shaders
	@out=$$(git status --porcelain -- shaders); if [ -n "$$out" ]; then echo "$$out"; \
	  echo "generate-check: committed shaders/params_gen.go, src/params.glsl or SPIR-V differ from params.go and the GLSL sources: run go generate ./shaders and commit"; exit 1; fi
	$(GO) generate ./backends/cpu/internal/gemm ./backends/cpu/internal/vec ./backends/cpu/internal/dwconv ./backends/cpu/internal/nbits
	@git diff --exit-code --stat -- backends/cpu/internal/gemm backends/cpu/internal/vec backends/cpu/internal/dwconv backends/cpu/internal/nbits || { echo "generate-check: committed assembly differs from the avo generators: run go generate ./backends/cpu/internal/... and commit"; exit 1; }
	@command -v protoc >/dev/null || { echo "generate-check: protoc missing (scripts/deps.sh test)"; exit 1; }
	$(GO) generate ./onnx/onnxpb
	@git diff --exit-code --stat -- onnx/onnxpb || { echo "generate-check: committed onnx.pb.go differs from onnx.proto: run go generate ./onnx/onnxpb and commit"; exit 1; }

# The Apache Beam pipelines (dist/beam, a Go module of its own so that the core's go.mod stays
# free of Beam's requirements): vet, then the tests on Prism, the Go SDK's embedded runner - the
# identity with `qgpu model quantize` and `qgpu calibrate` (built here), the fault and corrupt-shard
# tests. CGO_ENABLED=0, as Beam compiles the binaries it ships to workers. The first run downloads
# and compiles Beam's modules (a few minutes); then about 2 minutes.
beam:
	@echo "==> beam: dist/beam's pipelines on Prism (vet and tests, CGO_ENABLED=0)"
	cd dist/beam && CGO_ENABLED=0 $(GO) vet ./... && CGO_ENABLED=0 $(GO) test -count=1 ./...

PEERS_FLAGS ?= -repeat 2

# qgpu against ONNX Runtime and PyTorch on the same shapes: one markdown table (bench/peers/README.md).
peers:
	@bench/peers/deps.sh
	$(GO) run ./bench/peers $(PEERS_FLAGS)

# Full-size float and QDQ test models (ResNet-18/50, MobileNetV2; not committed) into
# $(QGPU_MODELS), default out/models; checked with ONNX Runtime when bench/peers is installed.
models:
	@scripts/models.sh $(QGPU_MODELS)
