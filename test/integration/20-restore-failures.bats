#!/usr/bin/env bats
# Restores that must fail: a mapped file changed or replaced since the dump,
# a dump made on a kernel with another vDSO or on a CPU with another XSAVE
# size,
# a dumped pid taken by another process. Each must fail before it starts
# the tree, say why (naming the file or the pid on standard error), leave
# no task with a dumped pid behind, and leave the images as they were.

load helpers
load restore-helpers

# restore_must_fail WHAT: run a restore in the foreground; it must fail and
# its standard error must contain WHAT.
restore_must_fail() {
	run timeout 60 "$CRL" restore -D "$IMG" -v 3 -o "$T/restore.log"
	if [ "$status" -eq 0 ]; then
		echo "the restore succeeded" >&2
		return 1
	fi
	[ "$status" -ne 124 ] || { echo "the restore hung" >&2; return 1; }
	if [[ "$output" != *"$1"* ]]; then
		printf 'the restore failed (%d) without naming %s:\n%s\n' "$status" "$1" "$output" >&2
		return 1
	fi
	echo "# criu-lite said: $(echo "$output" | head -n 3)" >&3
}

@test "restore fails: a mapped file's mtime changed since the dump (rst-layout: also an unlinked file and a memfd)" {
	start_victim rst-layout
	dump
	# Wait until init reaped the killed tree: any dumped pid alive after
	# the restore is then the restore's doing.
	wait_pids_free 15
	local sums files
	sums=$(image_sums)
	files=$(cd "$T" && printf '%s\n' * | sort)
	touch -d '+1 hour' "$T/layout.dat"
	restore_must_fail "$T/layout.dat"
	assert_nothing_left
	assert_images_untouched "$sums"
	# No trace of the unlinked file it would have recreated.
	[ "$(cd "$T" && printf '%s\n' * | grep -v -x restore.log | sort)" = "$files" ] || { ls -A "$T" >&2; return 1; }
}

@test "restore fails: a privately mapped file's content changed since the dump (same size)" {
	start_victim rst-files private
	dump
	# Wait until init reaped the killed tree: any dumped pid alive after
	# the restore is then the restore's doing.
	wait_pids_free 15
	local sums
	sums=$(image_sums)
	printf 'X' | dd of="$T/private.dat" bs=1 seek=100 conv=notrunc status=none
	restore_must_fail "$T/private.dat"
	assert_nothing_left
	assert_images_untouched "$sums"
}

@test "restore fails: a shared-mapped file was replaced by another with the same content" {
	start_victim rst-files shared
	dump
	# Wait until init reaped the killed tree: any dumped pid alive after
	# the restore is then the restore's doing.
	wait_pids_free 15
	local sums
	sums=$(image_sums)
	cp -p "$T/shared.dat" "$T/shared.dat.new"
	mv "$T/shared.dat.new" "$T/shared.dat"
	restore_must_fail "$T/shared.dat"
	assert_nothing_left
	assert_images_untouched "$sums"
}

@test "restore fails: the dump's vDSO is not this kernel's (inventory.img says another size and checksum)" {
	start_victim rst-private
	dump
	wait_pids_free 15
	# A dump made on another kernel: same framing, another vDSO identity.
	"$TOOLS/img-set" "$IMG" inventory.img 0 vdso_crc 0x12345678
	"$TOOLS/img-set" "$IMG" inventory.img 0 kernel 0.0.0-elsewhere
	local sums
	sums=$(image_sums)
	restore_must_fail "0.0.0-elsewhere"
	[[ "$output" == *vDSO* ]] || { echo "the refusal does not name the vDSO: $output" >&2; return 1; }
	assert_nothing_left
	assert_images_untouched "$sums"
}

@test "restore fails: a task's XSAVE area is not of this CPU's size (a dump from another kind of CPU)" {
	start_victim rst-private
	dump
	wait_pids_free 15
	local grandchild=${PIDS[2]}
	"$TOOLS/img-set" "$IMG" "core-$grandchild.img" 0 xsave first:576
	local sums
	sums=$(image_sums)
	restore_must_fail "core-$grandchild.img: an XSAVE area of 576 bytes"
	assert_nothing_left
	assert_images_untouched "$sums"
}

@test "restore fails: the dumped tree still runs (dump --leave-running); the original is untouched and passes its checks" {
	start_victim rst-private
	dump --leave-running
	local sums
	sums=$(image_sums)
	restore_must_fail "pid $ROOT"
	assert_images_untouched "$sums"
	assert_running "${PIDS[@]}"
	check_verdict
}

@test "restore fails: one dumped pid (a grandchild's) was taken by another process after the dump; that process lives on" {
	start_victim rst-private
	local taken=${PIDS[2]}
	dump
	wait_pids_free 15
	take_pid "$taken"
	local sums
	sums=$(image_sums)
	restore_must_fail "pid $taken"
	assert_images_untouched "$sums"
	# The sleeper is still there and still a sleeper; no other dumped pid
	# is taken.
	[ "$(cat "/proc/$SLEEPER/comm" 2>/dev/null)" = sleep ] || { echo "the sleeper with pid $taken is gone" >&2; return 1; }
	local alive
	alive=$(dumped_pids_alive | grep -v "^$taken " || true)
	[ -z "$alive" ] || { echo "dumped pids alive after the failed restore: $alive" >&2; return 1; }
}

@test "restore killed with SIGKILL halfway (tree created, memory being restored): no task of the tree survives, images untouched" {
	start_victim rst-layout
	dump
	wait_pids_free 15
	local sums i
	sums=$(image_sums)
	"$CRL" restore -D "$IMG" --pidfile "$T/restore.pid" -v 3 -o "$T/restore.log" &
	RESTORE_PID=$!
	for ((i = 0; i < 2000; i++)); do
		grep -q "Created .* task" "$T/restore.log" 2>/dev/null && break
		sleep 0.005
	done
	kill -9 "$RESTORE_PID"
	wait "$RESTORE_PID" || true
	RESTORE_PID=""
	[ ! -s "$T/restore.pid" ] || skip "the restore finished before it could be killed"
	grep -q "Created .* task" "$T/restore.log" || { echo "the restore never created the tree" >&2; return 1; }
	wait_pids_gone 10 || { echo "alive after criu-lite was killed:" >&2; dumped_pids_alive >&2; return 1; }
	assert_images_untouched "$sums"
}
