#!/bin/bash
# make bench: dump and restore throughput, beside a memcpy baseline.
#
#   scripts/bench.sh          (as root; binaries from ${CRL_BUILD:-build})
#
# Two cases, each a tree started by test/victims/bench-mem with every byte
# of its memory written before it reports ready:
#   1. one process with 1 GiB of private anonymous memory;
#   2. 8 processes with 64 MiB of private anonymous memory each (mapped and
#      filled after the fork: nothing shared copy-on-write) and 64 MiB of
#      MAP_SHARED|MAP_ANONYMOUS memory shared by all.
# Each case runs BENCH_RUNS times (default 3), on a fresh tree each time:
# `criu-lite dump` (kill mode) and `criu-lite restore -d` are timed by the
# wall clock around the command; the table shows the medians, GB/s = bytes
# of the victim's memory / seconds (GB = 10^9 bytes). After each restore
# every process checks all of its memory against the pattern it wrote.
#
# Nothing is asserted about time. The exit status is non-zero only when a
# command fails or the restored data is wrong (figures of a broken restore
# mean nothing). Images go to a mktemp'd directory under /tmp, removed at
# the end; only the pids of the benchmark's own trees are ever killed.
set -u
. "$(dirname "$0")/run-clean.sh"

BUILD=${CRL_BUILD:-build}
CRL=$BUILD/criu-lite
BENCH=$BUILD/test/victims/bench-mem

W=""
PIDS=()
ALL_PIDS=()
ROWS=()
NOTES=()
STATUS=0
MEMCPY=0
# Runs per case; the table shows the medians.
RUNS=${BENCH_RUNS:-3}

# row CASE TASKS MEMORY IMAGE DUMP_S DUMP_RATE RESTORE_S RESTORE_RATE VERDICT:
# one line of the table.
row() { printf '%-35s %5s %9s %9s %8s  %-12s %9s  %-12s  %s\n' "$@"; }

say() { printf '%s\n' "$*"; }
die() {
	say "bench: $*" >&2
	exit 1
}

now_ns() { date +%s%N; }
# secs NS: nanoseconds as seconds with 3 decimals.
secs() { awk -v n="$1" 'BEGIN { printf "%.3f", n / 1e9 }'; }
# rate BYTES NS: "GB/s (N% of memcpy)".
rate() {
	awk -v b="$1" -v n="$2" -v m="$MEMCPY" 'BEGIN {
		if (n <= 0) { print "-"; exit }
		r = b / n
		if (m > 0) printf "%.2f (%2.0f%%)", r, 100 * r / m; else printf "%.2f", r
	}'
}
mib() { awk -v b="$1" 'BEGIN { printf "%.0f MiB", b / 1048576 }'; }

# ours PID: the process at PID runs bench-mem (pids can be reused: never
# kill a stranger).
ours() {
	local exe
	exe=$(readlink "/proc/$1/exe" 2>/dev/null)
	[ -n "$exe" ] && [ "$exe" = "$BENCH_PATH" ] && return 0
	[ "$(cat "/proc/$1/comm" 2>/dev/null)" = bench-mem ]
}

kill_tree() {
	local p
	for p in "${PIDS[@]}"; do
		[ -d "/proc/$p" ] && ours "$p" && kill -9 "$p" 2>/dev/null
	done
}

# wait_free SECONDS: until no pid of the current tree exists (init may take
# ~2 s to reap orphaned zombies; a restore needs the pids free).
wait_free() {
	local i p busy
	for ((i = 0; i < $1 * 20; i++)); do
		busy=""
		for p in "${PIDS[@]}"; do
			[ -d "/proc/$p" ] && busy=1 && break
		done
		[ -z "$busy" ] && return 0
		sleep 0.05
	done
	return 1
}

# field FILE KEY: the number after "KEY:" in a /proc status file.
field() { awk -v k="$2:" '$1 == k { print $2; exit }' "$1" 2>/dev/null; }

# tool_ms FILE: the "in N ms" criu-lite printed about itself.
tool_ms() { sed -n 's/.* in \([0-9]*\) ms.*/\1/p' "$1" | tail -n 1; }

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	kill_tree
	[ -n "$W" ] && rm -rf "$W"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_once LABEL NPROC MIB SHARED_MIB: start a fresh tree, dump it, restore
# it, have it check its memory. Sets ONE_DUMP and ONE_REST (ns), ONE_IMG
# (bytes on disk), ONE_TOOL (criu-lite's own "in N ms" figures) and
# ONE_FAIL (empty, or what went wrong). Dies only when the machine, not
# criu-lite, is the problem.
run_once() {
	local label=$1 n=$2 m=$3 s=$4
	local d=$W/case img t0 rc p rss_anon=0 rss_shm kb ok=0 inos i why=""

	ONE_DUMP="" ONE_REST="" ONE_IMG="" ONE_TOOL="" ONE_FAIL=""
	rm -rf "$d"
	mkdir -p "$d/run"
	img=$d/img
	run_clean "$BENCH" tree "$d/run" "$n" "$m" "$s" || { cat "$d/run/log" 2>/dev/null; die "bench-mem did not start"; }
	mapfile -t PIDS < "$d/run/pids"
	ALL_PIDS+=("${PIDS[@]}")
	for p in "${PIDS[@]}"; do
		kb=$(field "/proc/$p/status" RssAnon)
		rss_anon=$((rss_anon + ${kb:-0}))
	done
	rss_shm=$(field "/proc/${PIDS[0]}/status" RssShmem)
	ONE_RSS="RssAnon $((rss_anon / 1024)) MiB in all, RssShmem $((${rss_shm:-0} / 1024)) MiB"

	t0=$(now_ns)
	"$CRL" dump -t "${PIDS[0]}" -D "$img" > "$d/dump.out" 2>&1
	rc=$?
	ONE_DUMP=$(($(now_ns) - t0))
	if [ $rc != 0 ]; then
		sed 's/^/   | /' "$d/dump.out"
		ONE_FAIL="dump FAILED (exit status $rc)"
		kill_tree
		return
	fi
	ONE_IMG=$(($(du -sk "$img" | cut -f1) * 1024))

	wait_free 15 || die "the dumped pids were not freed within 15 s"

	t0=$(now_ns)
	"$CRL" restore -D "$img" -d --pidfile "$d/restored.pid" < /dev/null > "$d/restore.out" 2>&1
	rc=$?
	ONE_REST=$(($(now_ns) - t0))
	if [ $rc != 0 ]; then
		sed 's/^/   | /' "$d/restore.out"
		ONE_FAIL="restore FAILED (exit status $rc)"
		return
	fi
	ONE_TOOL="$(tool_ms "$d/dump.out")/$(tool_ms "$d/restore.out")"

	for p in "${PIDS[@]}"; do
		kill -USR1 "$p" 2>/dev/null || why="pid $p is not running after the restore"
	done
	for ((i = 0; i < 1200; i++)); do
		[ "$(find "$d/run" -name 'verify.*' ! -name '*.tmp*' | wc -l)" -ge "$n" ] && break
		[ -n "$why" ] && break
		sleep 0.05
	done
	for p in "${PIDS[@]}"; do
		if [ -f "$d/run/verify.$p" ]; then
			grep -q '^OK' "$d/run/verify.$p" && ok=$((ok + 1))
			grep -q '^BAD' "$d/run/verify.$p" && why="pid $p: $(cut -c 5- "$d/run/verify.$p")"
		else
			[ -n "$why" ] || why="pid $p did not report"
		fi
	done
	if [ "$s" -gt 0 ]; then
		inos=$(cat "$d"/run/verify.* 2>/dev/null | sed -n 's/.*shared_ino=\([0-9]*\).*/\1/p' | sort -u | wc -l)
		[ "$inos" = 1 ] || why="${why:+$why; }the shared region is $inos different objects, not one"
	fi
	[ -z "$why" ] && [ $ok = "$n" ] || ONE_FAIL="data BAD ($ok/$n tasks OK: $why)"

	kill_tree
	wait_free 15 || true
	rm -rf "$d"
}

# median NS...: the median of the numbers (the lower middle one).
median() { printf '%s\n' "$@" | sort -n | sed -n "$((($# + 1) / 2))p"; }

# run_case LABEL NPROC MIB SHARED_MIB: RUNS runs of run_once; a row of
# medians and a note with every run.
run_case() {
	local label=$1 n=$2 m=$3 s=$4 bytes r dumps=() rests=() runs="" fail="" img=""

	bytes=$(((n * m + s) * 1048576))
	say "-- $label: $RUNS run(s), each a fresh tree filling $(mib "$bytes"), dumped, restored, checked"
	for ((r = 1; r <= RUNS; r++)); do
		run_once "$@"
		say "   run $r: dump $(secs "${ONE_DUMP:-0}") s, restore $(secs "${ONE_REST:-0}") s${ONE_FAIL:+, $ONE_FAIL}"
		if [ -n "$ONE_FAIL" ]; then
			fail=$ONE_FAIL
			STATUS=1
			break
		fi
		dumps+=("$ONE_DUMP")
		rests+=("$ONE_REST")
		img=$ONE_IMG
		runs+="${runs:+, }$(secs "$ONE_DUMP")/$(secs "$ONE_REST") s (tool: $ONE_TOOL ms)"
	done
	if [ -n "$fail" ]; then
		ROWS+=("$(row "$label" "$n" "$(mib "$bytes")" - - - - - "$fail")")
		return
	fi
	ROWS+=("$(row "$label" "$n" "$(mib "$bytes")" "$(mib "$img")" "$(secs "$(median "${dumps[@]}")")" \
		"$(rate "$bytes" "$(median "${dumps[@]}")")" "$(secs "$(median "${rests[@]}")")" \
		"$(rate "$bytes" "$(median "${rests[@]}")")" "OK: $RUNS runs x $n task(s)")")
	NOTES+=("$label: resident before each dump: $ONE_RSS")
	NOTES+=("$label: dump/restore per run: $runs")
}

[ "$(id -u)" = 0 ] || die "run me as root: criu-lite needs ptrace, map_files and clone3(set_tid)"
[ -x "$CRL" ] || die "$CRL is missing: run 'make bench' (or set CRL_BUILD)"
[ -x "$BENCH" ] || die "$BENCH is missing: run 'make bench' (or set CRL_BUILD)"
BENCH_PATH=$(readlink -f "$BENCH")
W=$(mktemp -d /tmp/crl-bench.XXXXXX) || die "cannot make a temporary directory"
avail=$(df -Pk "$W" | awk 'NR == 2 { print $4 }')
[ "${avail:-0}" -ge $((2 * 1024 * 1024)) ] || die "$W needs 2 GiB free for the images, has $((avail / 1024)) MiB"

say "criu-lite bench: dump and restore throughput (binaries from $BUILD, images in $W)"
say "-- memcpy baseline: 1 GiB copied 5 times by one thread (bench-mem memcpy)"
MEMCPY=$("$BENCH" memcpy 1024 5) || die "bench-mem memcpy failed"
MEMCPY_FRESH=$("$BENCH" memcpy-fresh 1024 3) || die "bench-mem memcpy-fresh failed"
START=$(now_ns)

run_case "1 x 1 GiB private" 1 1024 0
run_case "8 x 64 MiB private + 64 MiB shared" 8 64 64

say ""
say "memcpy baseline: $MEMCPY GB/s (1 GiB, 5 copies, one thread)"
say "memcpy into freshly mapped memory: $MEMCPY_FRESH GB/s (what a restore's page faults cost on this machine)"
say "Medians of $RUNS runs per case, each on a fresh tree. GB = 10^9 bytes."
say "GB/s = the victim's memory / wall-clock seconds of the criu-lite command."
say "image: the image directory's size on disk."
say "dump: kill mode. restore: 'restore -d', timed until it returns, i.e. once every task has all its"
say "memory back and has been released. Images on $(df -P "$W" | awk 'NR == 2 { print $1 }'); page images go to and from the"
say "disk with O_DIRECT where the file system allows it (no page-cache copy), the rest through the page cache (no fsync)."
say ""
row case tasks memory "image" "dump s" "dump GB/s" "restore s" "restore GB/s" \
	"data after restore"
for r in "${ROWS[@]}"; do
	say "$r"
done
say ""
for r in "${NOTES[@]}"; do
	say "  $r"
done
say "  (percentages: of the memcpy baseline; total run $(secs $(($(now_ns) - START))) s after the baseline)"
PIDS=("${ALL_PIDS[@]}")
exit $STATUS
