#!/usr/bin/env bats
# The same tree (rst-cycles, test/victims/rst-cycles.c) dumped and restored
# three times in a row; it changes its memory between the cycles and
# checks after each restore what it had before the dump.

load helpers
load restore-helpers

# wait_round C: every task of the tree wrote cycle-C-PID; no failure yet.
wait_round() {
	local c=$1 i n
	for ((i = 0; i < 400; i++)); do
		n=$(find "$T" -maxdepth 1 -name "cycle-$c-*" ! -name '*.tmp*' | wc -l)
		[ "$n" -eq "${#PIDS[@]}" ] && break
		sleep 0.05
	done
	[ "$n" -eq "${#PIDS[@]}" ] || { echo "round $c: $n of ${#PIDS[@]} tasks done" >&2; cat "$T/victim.log" >&2; return 1; }
	if [ -e "$T/failures" ]; then
		echo "after restore $c:" >&2
		cat "$T/failures" >&2
		return 1
	fi
}

@test "restore rst-cycles: three dump/restore cycles of the same tree in a row, checked after each" {
	start_victim rst-cycles 3
	[ "${#PIDS[@]}" -eq 3 ]
	local c
	for c in 1 2 3; do
		IMG=$T/img$c
		dump
		wait_pids_gone 10
		# The restore of the previous cycle ends when its root is killed.
		if [ -n "$RESTORE_PID" ]; then
			wait "$RESTORE_PID" || true
			RESTORE_PID=""
		fi
		restore
		if [ "$c" -lt 3 ]; then
			kill -USR1 "$ROOT"
			wait_round "$c"
		fi
	done
	check_verdict
}
