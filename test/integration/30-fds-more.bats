#!/usr/bin/env bats
# More of what file descriptors hold. Restored (test/victims/fd-files.c):
# flock, POSIX and OFD locks, who gets the signals of O_ASYNC files, O_PATH
# fds on a FIFO, a socket file and a device, an O_TMPFILE file, a standard
# input from a pipe outside the tree, a FIFO held open outside the tree.
# Refused at dump (test/victims/fd-refuse.c), naming the task, the fd and
# what it is, the tree running on: a file of /proc, an unlinked FIFO, a
# pipe held outside the tree, an fd too near the hard RLIMIT_NOFILE, an
# unlinked file whose directory is gone, a lease, an O_ASYNC file whose
# signals go outside the tree.

load helpers
load fd-helpers

@test "30-fds more: flock, POSIX and OFD locks of root and child, seen in fdinfo and by a process forked after the restore" {
	dump_restore_check fd-files locks
}

@test "30-fds more: a dump with --leave-running leaves every lock in place" {
	leave_running_check fd-files locks
}

@test "30-fds more: O_ASYNC pipes keep their owner (the task, or its child) and F_SETSIG, and a write signals the owner" {
	dump_restore_check fd-files async
}

@test "30-fds more: O_PATH fds on a FIFO, a socket file and /dev/null come back O_PATH on the same files, without blocking" {
	dump_restore_check fd-files opath
}

@test "30-fds more: an O_TMPFILE file keeps its bytes, offset and mode, and can still be linked into the directory" {
	dump_restore_check fd-files tmpfile
}

@test "30-fds more: a standard input from a pipe outside the tree reads what the restore's standard input holds" {
	pipe_writer before
	start_victim fd-files stdin
	dump
	RESTORE_WRAP="with_stdin after" restore
	check_verdict
	grep -q "task $ROOT fd 0: .*it is now criu-lite's fd 0" "$T/restore.log" ||
		{ echo "restore.log does not say that fd 0 of task $ROOT is criu-lite's:" >&2; cat "$T/restore.log" >&2; return 1; }
}

@test "30-fds more: a standard input from a pipe outside the tree with unread bytes gets them back, then end of file" {
	pipe_writer "before
unread"
	start_victim fd-files stdin unread
	dump
	RESTORE_WRAP="with_stdin after" restore
	check_verdict
}

@test "30-fds more: a FIFO held open outside the tree is not refilled: its bytes come once" {
	mkfifo "$T/outside.fifo"
	sleep 300 7<> "$T/outside.fifo" &
	local holder=$!
	STARTED+=("$holder")
	dump_restore_check fd-files fifo-outside
	grep -q "FIFO $T/outside.fifo is held open by process $holder" "$T/restore.log" ||
		{ echo "restore.log does not name the FIFO's holder $holder:" >&2; cat "$T/restore.log" >&2; return 1; }
}

# refused_child KIND FD WHAT: fd FD of the child of fd-refuse KIND is
# refused as WHAT.
refused_child() {
	start_victim fd-refuse "$1"
	refused_dump "$(role_pid child)" "$2" "$3"
}

@test "30-fds more: a file of /proc is refused" {
	refused_child procfile 42 "a file of /proc"
}

@test "30-fds more: a FIFO whose path was unlinked is refused" {
	refused_child fifo-unlinked 42 "a FIFO whose path no longer leads to it"
}

@test "30-fds more: a pipe whose write end a process outside the tree holds is dumped with a warning naming that process, and comes back with its bytes, then end of file" {
	start_victim fd-refuse pipe-outside
	local outside
	outside=$(cat "$T/outside.pid")
	STARTED+=("$outside")
	dump
	grep -q "task $(role_pid child): fd 42 (pipe:\[[0-9]*\]) is a pipe also held by process $outside, outside the tree" "$T/dump.log" ||
		{ echo "dump.log does not warn about fd 42 and process $outside:" >&2; cat "$T/dump.log" >&2; return 1; }
	restore
	check_verdict
}

@test "30-fds more: fd 4095 under a hard RLIMIT_NOFILE of 4096 is refused: the restore needs room above it" {
	refused_child hifd 4095 "is within 64 of its hard RLIMIT_NOFILE"
}

@test "30-fds more: an unlinked file whose directory was removed too is refused, naming the directory" {
	refused_child unlinked-dir 42 "an unlinked file whose directory $T/gone is gone too"
}

@test "30-fds more: a file with a lease is refused" {
	refused_child lease 42 "a lease"
}

@test "30-fds more: an O_ASYNC pipe whose signals go to a process outside the tree is refused, naming it" {
	start_victim fd-refuse async-outside
	local parent
	parent=$(awk 'NR == 1 {print $2}' "$T/pids")
	refused_dump "$(role_pid child)" 42 "an O_ASYNC file whose signals go to process $parent, outside the tree"
}
