#!/bin/sh
# Regenerates onnx.pb.go from onnx.proto with protoc (Debian: protobuf-compiler)
# and protoc-gen-go at the google.golang.org/protobuf version of go.mod.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/protoc-gen-go" google.golang.org/protobuf/cmd/protoc-gen-go
protoc --plugin=protoc-gen-go="$tmp/protoc-gen-go" --proto_path=. \
	--go_out=. --go_opt=paths=source_relative \
	--go_opt=Monnx.proto=github.com/qgpu/qgpu/onnx/onnxpb onnx.proto
