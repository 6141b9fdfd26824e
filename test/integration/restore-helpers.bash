# Helpers of the restore tests (20-restore-*.bats), loaded after helpers.bash.
# (Without ASLR: VICTIM_WRAP="setarch -R" start_victim ..., and
# RESTORE_WRAP="setarch -R" for the restore: helpers.bash.)
#
#   dump_restore_check [DUMP ARGS...]   dump (the tree is killed), wait for
#                              its pids to be free, restore, check_verdict
#   wait_pids_free [SECONDS]   every pid of the tree is free (not even a zombie)
#   close_fds_above_2          in a subshell: close every fd beyond 0-2
#   image_sums                 checksums of every image file, one per line
#   dumped_pids_alive          the pids of the tree that some process holds
#   take_pid PID               start a sleeper that gets exactly PID
#   assert_images_untouched SUMS   image_sums is still SUMS
#   assert_nothing_left        no task with a dumped pid exists

# wait_pids_free [SECONDS]: no process (not even a zombie) holds a pid of
# the tree. Init reaps orphans only every few seconds here.
wait_pids_free() {
	local t=${1:-15} i p busy
	for ((i = 0; i < t * 20; i++)); do
		busy=""
		for p in "${PIDS[@]}"; do
			[ -e "/proc/$p" ] && { busy=$p; break; }
		done
		[ -z "$busy" ] && return 0
		sleep 0.05
	done
	echo "pid $busy is still taken after ${t}s: $(cat "/proc/$busy/stat" 2>/dev/null)" >&2
	return 1
}

# close_fds_above_2: close every descriptor of this shell above 2 (in a
# subshell, before it execs a program that is not a victim: a victim closes
# them itself in vl_init). bats keeps its output files open, and a dump
# records every file a task holds: one that bats writes to after the dump
# makes the restore refuse it as changed.
close_fds_above_2() {
	local fd
	for fd in "/proc/$BASHPID/fd/"*; do
		fd=${fd##*/}
		[ "$fd" -gt 2 ] && eval "exec $fd>&-"
	done
	return 0
}

# dump_restore_check [DUMP ARGS...]: the whole cycle of most tests.
dump_restore_check() {
	dump "$@"
	wait_pids_gone 10
	restore
	check_verdict
}

# image_sums: sha256 of every file of $IMG, sorted by name.
image_sums() {
	(cd "$IMG" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
}

# dumped_pids_alive: the pids of the tree that exist now (zombies too), one
# per line with their state and name.
dumped_pids_alive() {
	local p
	for p in "${PIDS[@]}"; do
		[ -e "/proc/$p" ] && echo "$p $(awk '{print $2, $3}' "/proc/$p/stat" 2>/dev/null)"
	done
	return 0
}

# take_pid PID: start a sleeper with exactly that pid (through
# ns_last_pid; another process forking in between can steal it, so try a
# few times). Its pid is recorded in STARTED and set in SLEEPER.
take_pid() {
	local want=$1 i
	for ((i = 0; i < 20; i++)); do
		[ -e "/proc/$want" ] && { echo "pid $want is not free" >&2; return 1; }
		echo $((want - 1)) > /proc/sys/kernel/ns_last_pid
		sleep 1000 &
		STARTED+=($!)
		if [ "$!" = "$want" ]; then
			# shellcheck disable=SC2034 # for the caller
			SLEEPER=$!
			return 0
		fi
		kill -9 $! 2>/dev/null
		wait $! 2>/dev/null
	done
	echo "could not get pid $want for a sleeper" >&2
	return 1
}

# assert_images_untouched SUMS: image_sums equals SUMS.
assert_images_untouched() {
	local now
	now=$(image_sums)
	if [ "$now" != "$1" ]; then
		echo "the images changed:" >&2
		diff <(echo "$1") <(echo "$now") >&2
		return 1
	fi
}

# assert_nothing_left: no task of the dumped tree exists (zombies neither).
assert_nothing_left() {
	local alive
	alive=$(dumped_pids_alive)
	if [ -n "$alive" ]; then
		echo "tasks with dumped pids alive after the failed restore:" >&2
		echo "$alive" >&2
		return 1
	fi
}
