#!/usr/bin/env bats
# Dumps that must fail: a task dies while the dump runs, a mapping criu-lite
# does not support, bad command lines. A failed dump must say why, naming
# the task or the path, must not leave a dump that looks complete
# (inventory.img), and must leave the tree running as it was.

load helpers

# no_inventory: the image directory holds no inventory.img.
no_inventory() {
	if [ -e "$IMG/inventory.img" ]; then
		echo "a failed dump left $IMG/inventory.img: it looks complete" >&2
		return 1
	fi
}

# image_written NAME: the dump has written NAME, into $IMG or a hidden
# staging directory in it.
image_written() {
	local f
	for f in "$IMG/$1" "$IMG"/.[!.]*/"$1"; do
		[ -e "$f" ] && return 0
	done
	return 1
}

# mentions TEXT FILE...: one of the files contains TEXT.
mentions() {
	local text=$1
	shift
	grep -qF -- "$text" "$@" 2>/dev/null && return 0
	echo "the dump's messages do not mention '$text':" >&2
	cat "$@" >&2 2>/dev/null
	return 1
}

# kill_mid_dump WHERE [DUMP ARGS...]: start big-tree with 2 GiB in WHERE
# (root or hog), dump it in the background, kill -9 the task "expendable"
# while the dump copies the big memory, and check that the dump fails
# naming it, leaves no inventory.img, and leaves every other task running,
# untraced and passing its checks.
kill_mid_dump() {
	local where=$1
	shift
	start_victim big-tree 2048 "$where"
	local victim p i others=()
	victim=$(role_pid expendable)
	for p in "${PIDS[@]}"; do
		[ "$p" = "$victim" ] || others+=("$p")
	done

	dump_bg "$@"
	# Kill as soon as the tree is frozen; with a hog, once the dump has
	# written mm-PID.img of the expendable task (it has been through it;
	# the dump may write into a hidden staging directory first) and is
	# busy with the hog's memory.
	wait_traced "$victim" 20
	if [ "$where" = hog ]; then
		for ((i = 0; i < 2000; i++)); do
			image_written "mm-$victim.img" && break
			kill -0 "$DUMP_PID" 2>/dev/null || break
			sleep 0.002
		done
	fi
	if ! kill -0 "$DUMP_PID" 2>/dev/null; then
		echo "the dump ended before the kill: make big-tree bigger" >&2
		return 1
	fi
	echo "# killing $victim; in $IMG now: $(shopt -s nullglob; cd "$IMG" 2>/dev/null && echo * .[!.]*/*)"
	kill -9 "$victim"
	dump_wait
	cat "$T/dump.out"

	if [ "$DUMP_RC" -eq 0 ]; then
		echo "the dump succeeded though pid $victim died during it" >&2
		return 1
	fi
	mentions "$victim" "$T/dump.out"
	no_inventory
	assert_running "${others[@]}"
	# The killed task is gone (a zombie until the root reaps it).
	[ "$(task_state "$victim")" = Z ] || [ ! -e "/proc/$victim" ]
	check_verdict
}

@test "dump of a tree where a task is killed mid-dump fails naming it, leaves no inventory.img, and the others run on" {
	kill_mid_dump root
}

@test "dump --leave-running of a tree where a task is killed after the dump went through it fails the same way" {
	kill_mid_dump hog --leave-running
}

@test "dump of a tree with an AIO ring fails naming the pid and the range; the tree runs on" {
	start_victim aio-ring
	local aio range start end
	aio=$(role_pid aio)
	range=$(awk '/\[aio\]/ {print $1; exit}' "/proc/$aio/maps")
	[ -n "$range" ] || { echo "pid $aio has no [aio] mapping" >&2; return 1; }
	start=${range%-*}
	end=${range#*-}

	run dump
	echo "$output"
	[ "$status" -ne 0 ] || { echo "the dump succeeded" >&2; return 1; }
	mentions "$aio" <(echo "$output")
	# The range, as maps writes it or with 0x prefixes.
	if ! grep -qiE -- "(0x)?0*$start-(0x)?0*$end" <<<"$output"; then
		echo "the message does not name the range $range" >&2
		return 1
	fi
	no_inventory
	assert_running "${PIDS[@]}"
	check_verdict
}

@test "dump of a pid that does not exist fails naming it" {
	local pid
	pid=$(unused_pid)
	run "$CRL" dump -t "$pid" -D "$IMG"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$pid"* ]] || { echo "the message does not name pid $pid" >&2; return 1; }
	no_inventory
}

@test "dump without -t fails and says -t is needed" {
	run "$CRL" dump -D "$IMG"
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"-t"* ]]
	[ ! -e "$IMG" ]
}

@test "dump into a directory that cannot be created fails naming it; the tree runs on" {
	start_victim mem-tree
	: > "$T/not-a-dir"
	IMG=$T/not-a-dir/img
	run dump
	echo "$output"
	[ "$status" -ne 0 ]
	[[ "$output" == *"$IMG"* ]] || { echo "the message does not name $IMG" >&2; return 1; }
	assert_running "${PIDS[@]}"
	check_verdict
}
