#!/usr/bin/env bats
# Restores that must fail: a mapped file changed or replaced since the dump,
# a dump made on a kernel with another vDSO or on a CPU with another XSAVE
# size,
# a dumped pid taken by another process, images damaged one field at a time
# (test/tools/img-set) that each record alone would let through. Each must
# fail before it starts
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

# damaged_must_fail WHAT FILE RECORD FIELD VALUE: from a pristine copy of
# the dump ($T/pristine), damage one field with img-set; the restore (in
# the background, -d) must fail naming WHAT before any task is left, and
# leave the images as they were.
damaged_must_fail() {
	local what=$1
	shift
	rm -rf "$IMG"
	cp -a "$T/pristine" "$IMG"
	"$TOOLS/img-set" "$IMG" "$@"
	local sums
	sums=$(image_sums)
	run timeout 60 "$CRL" restore -D "$IMG" -d -v 3 -o "$T/restore.log"
	[ "$status" -ne 0 ] || { echo "the restore of $* succeeded" >&2; return 1; }
	[ "$status" -ne 124 ] || { echo "the restore of $* hung" >&2; return 1; }
	[[ "$output" == *"$what"* ]] ||
		{ printf 'the restore of %s failed without naming %s:\n%s\n' "$*" "$what" "$output" >&2; return 1; }
	echo "# $*: $(echo "$output" | head -n 1)" >&3
	assert_nothing_left
	assert_images_untouched "$sums"
}

@test "restore fails: damaged descriptions of fd-files locks-img (O_TRUNC in the flags, a signal owner outside the tree, locks the description cannot hold); the locked file keeps its bytes" {
	start_victim fd-files locks-img
	dump
	wait_pids_free 15
	cp -a "$IMG" "$T/pristine"
	local sum pid=${PIDS[0]}
	sum=$(sha256sum < "$T/lock.dat")
	# filedesc.img record 2 is fd 7's description of lock.dat (O_RDWR, a
	# flock), 4 fd 9's (O_RDONLY, an OFD read lock), 5 the O_ASYNC pipe's.
	damaged_must_fail "filedesc.img: record 2: description 3: flags" filedesc.img 2 flags 0x8202
	damaged_must_fail "filedesc.img: record 2: description 3: flags" filedesc.img 2 flags 0x8040
	damaged_must_fail "filedesc.img: record 2: description 3: flags" filedesc.img 2 flags 0x418002
	damaged_must_fail "record 5: description 6: its signals go to task 1, which is not in the tree" \
		filedesc.img 5 owner_pid 1
	damaged_must_fail "filedesc.img: record 4: lock 0: a write lock through a description open read-only" \
		filedesc.img 4 locks.0.write true
	damaged_must_fail "filedesc.img: record 2: lock 0: on an O_PATH description" filedesc.img 2 flags 0x208002
	# fd 8's POSIX lock through the read end of the pipe.
	damaged_must_fail "fdinfo-$pid.img: record 4: fd 8: lock 0: a write lock" "fdinfo-$pid.img" 4 desc_id 6
	[ "$(sha256sum < "$T/lock.dat")" = "$sum" ] || { echo "lock.dat changed" >&2; return 1; }
}

@test "restore fails, without waiting: a regular file's description names a FIFO, a FIFO's names a regular file (fd-pipes fifo)" {
	start_victim fd-pipes fifo
	dump
	wait_pids_free 15
	cp -a "$IMG" "$T/pristine"
	# record 1 is stdout's (victim.log), record 2 a description of the FIFO;
	# object 6 is the FIFO's path, object 5 victim.log.
	"$CRL" show "$IMG/files.img" | grep -q '"path":"'"$T"'/fifo"' || skip "the FIFO is not object 6"
	damaged_must_fail "record 1: description 2 names a file that is not a regular file" filedesc.img 1 object_id 6
	damaged_must_fail "record 2: description 3 names a FIFO whose path is not a FIFO's" filedesc.img 2 object_id 5
}

@test "restore fails: damaged unix sockets of fd-socks-edge creds (a credential pid past PID_MAX_LIMIT, senders for part of a queue, a closed peer that is named, a listening pair, a negative peek offset, streams not connected back)" {
	start_victim fd-socks-edge creds
	dump
	wait_pids_free 15
	cp -a "$IMG" "$T/pristine"
	# 0, 1: a stream pair (1 with 3 messages and their credentials);
	# 2, 3: a datagram pair (3 with 3 messages, senders and credentials).
	damaged_must_fail "unixsk.img: record 1: socket 2: message 0: credentials pid 4194304" unixsk.img 1 queue_cred.0.pid 4194304
	damaged_must_fail "unixsk.img: record 3: socket 4: senders for 1 of 3 queued messages" \
		unixsk.img 3 queue_from count:1
	damaged_must_fail "unixsk.img: record 3: socket 4: credentials for 2 of 3" unixsk.img 3 queue_cred count:2
	damaged_must_fail "unixsk.img: record 1: socket 2: its peer was closed, yet it names a peer" \
		unixsk.img 1 peer_closed true
	damaged_must_fail "unixsk.img: record 1: socket 2: listening" unixsk.img 1 state 10
	damaged_must_fail "unixsk.img: record 1: socket 2: SO_PEEK_OFF -5" unixsk.img 1 peek_off -5
	damaged_must_fail "unixsk.img: record 0: socket 1: a connected stream whose peer 1 is not connected back" \
		unixsk.img 0 peer_id 1
	damaged_must_fail "unixsk.img: record 2: socket 3 is connected to socket 3, which has no name" \
		unixsk.img 2 peer_id 3
}
