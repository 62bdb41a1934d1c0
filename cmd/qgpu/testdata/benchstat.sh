#!/bin/sh
# Runs the quick bench twice in Go benchmark format and compares the two
# runs with benchstat (fetched with `go run ...@latest` in a scratch
# module, so the repository's go.mod is not touched). Needs the network
# for the first download; skips when benchstat cannot be fetched.
#   sh cmd/qgpu/testdata/benchstat.sh [bench args...]
set -eu
root=$(cd "$(dirname "$0")/../../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/qgpu" "$root/cmd/qgpu"
args=${*:-gemm --shape 64x64x64 --shape 128x128x128 --runs 6 --time 0}
# shellcheck disable=SC2086
"$tmp/qgpu" bench --benchfmt $args > "$tmp/old.txt"
# shellcheck disable=SC2086
"$tmp/qgpu" bench --benchfmt $args > "$tmp/new.txt"
mkdir "$tmp/mod"
cd "$tmp/mod"
go mod init benchstatcheck >/dev/null 2>&1
if ! go run golang.org/x/perf/cmd/benchstat@latest "$tmp/old.txt" "$tmp/new.txt"; then
	echo "benchstat.sh: could not run benchstat (offline?); skipped" >&2
	exit 0
fi
