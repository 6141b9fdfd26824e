#!/usr/bin/env bats
# Regular files, directories, devices and terminals held open, and open file
# descriptions shared by dup() and fork() (test/victims/fd-files.c): after
# the restore every fd has its number, file, offset and flags, and what was
# shared is shared again. Files that changed since the dump: a log that grew
# is fine, a file that shrank or was replaced stops the restore.

load helpers
load fd-helpers

@test "30-fds files: O_APPEND, offsets, a directory, dup()ed fds, devices, O_CLOEXEC, fds 7 to 1000" {
	dump_restore_check fd-files files
}

@test "30-fds files: a description shared by parent and child moves for both, both ways, after the restore" {
	dump_restore_check fd-files shared
}

@test "30-fds files: an O_PATH fd, a memfd and an unlinked file with their offsets" {
	dump_restore_check fd-files more
}

@test "30-fds files: fd 4000 under a soft RLIMIT_NOFILE raised to 4096, restored by a criu-lite whose soft limit is 1024" {
	[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 4096 ] || skip "the hard RLIMIT_NOFILE is $(ulimit -Hn)"
	start_victim fd-files nofile
	dump
	ulimit -Sn 1024
	restore
	check_verdict
}

@test "30-fds files: a terminal, dumped with --shell-job, is refused by a restore without it and reconnected by one with it" {
	pty_holder
	start_victim fd-files tty
	dump --shell-job
	local rc=0
	"$CRL" restore -D "$IMG" -v 3 -o "$T/restore-no-shell-job.log" > "$T/restore.out" 2>&1 < /dev/null || rc=$?
	[ "$rc" != 0 ] || { echo "a restore without --shell-job succeeded" >&2; return 1; }
	grep -q -- "--shell-job" "$T/restore.out" || { cat "$T/restore.out" >&2; return 1; }
	RESTORE_WRAP="on_pty $T/restore-tty.out" restore --shell-job
	check_verdict
	grep -q "hello from the restored tree" "$T/restore-tty.out" ||
		{ echo "the restore's terminal shows:" >&2; cat "$T/restore-tty.out" >&2; return 1; }
}

@test "30-fds files: a log file held open O_APPEND that grew between the dump and the restore" {
	start_victim fd-files log
	dump
	printf '%050d' 7 >> "$T/log.dat"
	restore
	check_verdict
	local size
	size=$(stat -c %s "$T/log.dat")
	[ "$size" = 160 ] || { echo "log.dat has $size bytes, not 100 + 50 + 10" >&2; return 1; }
	[ "$(tail -c 60 "$T/log.dat")" = "$(printf '%050d' 7)0123456789" ] ||
		{ echo "log.dat does not end with the test's 50 bytes and the task's 10" >&2; return 1; }
}

# refused_restore WHAT: the restore fails, saying WHAT, and no task of the
# tree exists afterwards.
refused_restore() {
	local rc=0
	wait_pids_gone 10
	"$CRL" restore -D "$IMG" -v 3 -o "$T/restore.log" > "$T/restore.out" 2>&1 || rc=$?
	[ "$rc" != 0 ] || { echo "the restore succeeded" >&2; return 1; }
	grep -q "$1" "$T/restore.out" || { echo "the restore does not say '$1':" >&2; cat "$T/restore.out" >&2; return 1; }
	wait_pids_gone 10 || { echo "tasks of the tree exist after a refused restore" >&2; return 1; }
}

@test "30-fds files: a file held open that shrank since the dump is refused by the restore, naming it" {
	start_victim fd-files files
	dump
	truncate -s 1000 "$T/offset.dat"
	refused_restore "offset.dat.*shrank"
}

@test "30-fds files: a file held open that was replaced since the dump is refused by the restore, naming it" {
	start_victim fd-files files
	dump
	mv "$T/dup.dat" "$T/dup.old"
	cp "$T/dup.old" "$T/dup.dat"
	refused_restore "dup.dat.*replaced"
}

@test "30-fds files: a flock, a POSIX and an OFD lock, and an O_ASYNC pipe whose SIGIO is SIGUSR2 to its task" {
	dump_restore_check fd-files locks-img
}
