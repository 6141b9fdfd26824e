#!/bin/bash
# Runs every libFuzzer target for a while; fails when one finds a crash.
#
#   scripts/fuzz.sh [SECONDS]        (make fuzz FUZZ_SECONDS=N calls it)
#
# The targets are the binaries in $CRL_BUILD/fuzz (else $BUILD/fuzz, which
# make exports when BUILD=... is given on its command line, else build/fuzz).
# Each runs for SECONDS on a temporary copy of its seed corpus
# test/fuzz/corpus/<target>/, so the committed corpus does not grow. A crash,
# leak, timeout or sanitizer report leaves the reproducer in
# <build>/fuzz/artifacts/<target>/ and the log beside it; replay it with
#   <build>/fuzz/<target> <build>/fuzz/artifacts/<target>/crash-...
# Extra libFuzzer flags can be given in FUZZ_ARGS.
set -u
cd "$(dirname "$0")/.." || exit 2

secs=${1:-60}
build=${CRL_BUILD:-${BUILD:-build}}
case "$secs" in
'' | *[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 2 ;;
esac

work=""
trap '[ -n "$work" ] && rm -rf "$work"' EXIT

targets=0 failed=0
for bin in "$build"/fuzz/*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	name=$(basename "$bin")
	targets=$((targets + 1))
	seeds=test/fuzz/corpus/$name
	artifacts=$build/fuzz/artifacts/$name
	mkdir -p "$artifacts" || exit 2

	work=$(mktemp -d "${TMPDIR:-/tmp}/crl-fuzz-$name.XXXXXX") || exit 2
	mkdir "$work/corpus"
	if [ -d "$seeds" ]; then
		cp -- "$seeds"/* "$work/corpus/" 2>/dev/null
	else
		echo "# $name: no seed corpus in $seeds, starting from nothing"
	fi
	nseeds=$(find "$work/corpus" -type f | wc -l)

	echo "# $name: $secs s from $nseeds seeds"
	# shellcheck disable=SC2086
	"$bin" -max_total_time="$secs" -timeout=20 -print_final_stats=1 \
		-artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} "$work/corpus" >"$work/log" 2>&1
	rc=$?
	# The last status line: executions, coverage, corpus size.
	grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)' "$work/log" | tail -n 1
	grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$work/log"
	if [ $rc -ne 0 ]; then
		failed=$((failed + 1))
		cp "$work/log" "$artifacts/log"
		echo "not ok - $name: libFuzzer exited $rc; log and reproducer in $artifacts/"
		grep -E 'ERROR: |SUMMARY: |Test unit written to' "$work/log" | head -n 10
	else
		echo "ok - $name: no crash in $secs s"
	fi
	rm -rf "$work"
	work=""
done

if [ $targets -eq 0 ]; then
	echo "no fuzz targets in $build/fuzz (build them with: make BUILD=$build fuzz)" >&2
	exit 2
fi
[ $failed -eq 0 ]
