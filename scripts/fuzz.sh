#!/usr/bin/env bash
# Fuzzes every Fuzz* target of the main module for FUZZTIME each (default
# 10s); dist/ holds modules of their own (their seed corpora run in their
# tests).
#   scripts/fuzz.sh [FUZZTIME]
# The committed seed corpora run in `make unit` too; this adds discovery.
#
# Go 1.26's fuzz coordinator can end a time-bounded run with a bare
# "context deadline exceeded" failure when a worker is mid-input at the
# deadline on a loaded machine (go.dev/issue/75804, fixed in Go 1.27). Such
# a run wrote no failing input and printed no panic; it is reported and
# counted as a pass only after the target's whole corpus replays cleanly.
# Any other failure fails the script.
set -uo pipefail
cd "$(dirname "$0")/.."
fuzztime=${1:-${FUZZTIME:-10s}}
go=${GO:-go}
fail=0
while read -r dir; do
	for f in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/func //' | sort -u); do
		echo "fuzz $dir $f"
		log=$(mktemp)
		if $go test "./$dir" -run '^$' -fuzz "^$f\$" -fuzztime "$fuzztime" -parallel 2 >"$log" 2>&1; then
			tail -n 2 "$log"
		elif grep -q 'context deadline exceeded' "$log" && ! grep -qE 'Failing input written|panic:' "$log" &&
			$go test "./$dir" -run "^$f\$" -count=1 >/dev/null 2>&1; then
			echo "  $f: the fuzz run ended on Go's deadline race (go.dev/issue/75804) with no failing input; the corpus replays cleanly"
		else
			cat "$log"
			fail=1
		fi
		rm -f "$log"
	done
done < <(grep -l '^func Fuzz' $(git ls-files '*_test.go' ':!dist/') | xargs -n1 dirname | sort -u)
exit $fail
