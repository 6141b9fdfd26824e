#!/usr/bin/env bats
# fds that criu-lite cannot dump (test/victims/fd-refuse.c): the dump fails,
# naming the task, the fd and what it is, and the tree runs on, untraced and
# untouched: signalled afterwards, it finds the bytes of its pipe and the
# state of the refused fd as they were.

load helpers
load fd-helpers

# refused KIND WHAT: fd 42 of the child, of KIND, is refused as WHAT.
refused() {
	start_victim fd-refuse "$1"
	refused_dump "$(role_pid child)" 42 "$2"
}

@test "30-fds refused: an eventfd" {
	refused eventfd "an eventfd"
}

@test "30-fds refused: an epoll instance" {
	refused epoll "an epoll instance"
}

@test "30-fds refused: a signalfd" {
	refused signalfd "a signalfd"
}

@test "30-fds refused: a timerfd" {
	refused timerfd "a timerfd"
}

@test "30-fds refused: an inotify instance" {
	refused inotify "an inotify instance"
}

@test "30-fds refused: a pidfd" {
	refused pidfd "a pidfd"
}

@test "30-fds refused: a listening TCP socket" {
	refused tcp "an IPv4 socket"
}

@test "30-fds refused: a UDP socket on ::1 with a datagram queued" {
	refused udp6 "an IPv6 socket"
}

@test "30-fds refused: a netlink socket" {
	refused netlink "a netlink socket"
}

@test "30-fds refused: a unix socket connected to a socket outside the tree" {
	outside_listener "$T/outside.sock"
	refused outside "unix socket connected to a socket outside the tree"
	wait "$OUTSIDE_PID"
	[ "$(cat "$T/outside.out")" = outside ] ||
		{ echo "the outside listener got '$(cat "$T/outside.out")'" >&2; cat "$T/outside.err" >&2; return 1; }
}

@test "30-fds refused: a unix socket connected to a listening socket outside the tree that has not accepted it yet" {
	outside_listener "$T/outside.sock" late
	refused outside "unix socket connected to a socket outside the tree"
	touch "$T/accept-now"
	wait "$OUTSIDE_PID"
	[ "$(cat "$T/outside.out")" = outside ] ||
		{ echo "the outside listener got '$(cat "$T/outside.out")'" >&2; cat "$T/outside.err" >&2; return 1; }
}

@test "30-fds refused: a listening unix socket with a connection not yet accepted" {
	start_victim fd-refuse backlog
	refused_dump "$ROOT" 42 "a listening unix socket with connections not yet accepted"
}

@test "30-fds refused: a pseudo-terminal slave without --shell-job" {
	refused pts "a terminal: dump with --shell-job"
}

@test "30-fds refused: a pseudo-terminal master" {
	refused ptmx "a pseudo-terminal master"
}
