#!/usr/bin/env bats
# Unix sockets with queued messages, between the tasks of a tree
# (test/victims/fd-socks.c): socketpairs of each type (shared, half-closed,
# with a closed peer, with big queues), listening sockets (by path, relative
# path and abstract name) that accept new connections after the restore and
# whose accepted connections keep their addresses, datagram sockets bound to
# a name with the messages of their clients (their sender addresses, empty
# messages, more than a send buffer). The victim checks each message, in
# order and with its boundaries, from inside after the restore.

load helpers
load fd-helpers

@test "30-fds sockets: stream, datagram and seqpacket socketpairs with messages queued both ways, in order and with their boundaries" {
	dump_restore_check fd-socks pairs
}

# listen_check MODE: fd-socks MODE dumped and restored; the test connects
# to the listening socket too.
listen_check() {
	start_victim fd-socks "$1"
	dump
	restore
	unix_client "$T/listen.sock"
	check_verdict
	client_wait
}

@test "30-fds sockets: a listening socket in the test directory, with an accepted connection holding bytes, accepts the tree's and the test's new connections" {
	listen_check listen
}

@test "30-fds sockets: an accepted connection keeps its addresses: getsockname() and getpeername() name the listening path" {
	listen_check listen-names
}

@test "30-fds sockets: a connection whose listening socket was closed keeps its addresses" {
	dump_restore_check fd-socks listen-names-closed
}

@test "30-fds sockets: two connections whose listening socket was closed keep their one name (test directory on tmpfs)" {
	# On tmpfs a socket file made again never gets the inode number of the
	# old one, as it may on ext4: the restore must know the file it made.
	[ -d /dev/shm ] && [ "$(stat -f -c %T /dev/shm)" = tmpfs ] || skip "no tmpfs at /dev/shm"
	rmdir "$T"
	T=$(mktemp -d /dev/shm/crl-test.XXXXXX)
	IMG=$T/img
	dump_restore_check fd-socks listen-names-closed-two
	[ -S "$T/listen.sock" ] || { echo "no socket file $T/listen.sock after the restore" >&2; return 1; }
}

@test "30-fds sockets: a listening socket bound by a path relative to the working directory, restored from another directory" {
	mkdir "$T/elsewhere"
	cd "$T/elsewhere"
	listen_check listen-relative
	[ -z "$(ls -A "$T/elsewhere")" ] || { echo "the restore left in its own directory: $(ls -A "$T/elsewhere")" >&2; return 1; }
}

@test "30-fds sockets: a listening socket bound by a relative path, whose client works in another directory" {
	mkdir "$T/elsewhere"
	cd "$T/elsewhere"
	listen_check listen-relative-away
}

@test "30-fds sockets: a datagram socket connected to a named one, with messages queued to the named one" {
	dump_restore_check fd-socks dgram
}

@test "30-fds sockets: a datagram socket bound by a relative path, with messages queued from a client in another directory" {
	mkdir "$T/elsewhere"
	start_victim fd-socks dgram-relative
	dump
	cd "$T/elsewhere"
	restore
	check_verdict
}

@test "30-fds sockets: a datagram socket bound by a relative path, with messages queued from a client in the same directory, restored from another one" {
	mkdir "$T/elsewhere"
	start_victim fd-socks dgram-relative-here
	dump
	cd "$T/elsewhere"
	restore
	check_verdict
}

@test "30-fds sockets: two named datagram sockets connected to each other keep their names, peers and queues" {
	dump_restore_check fd-socks dgram-pair-named
}

@test "30-fds sockets: a datagram client bound to a path: the server still sees that path as the sender of the queued messages" {
	dump_restore_check fd-socks dgram-from
}

@test "30-fds sockets: a datagram client bound to a path and connected to a named server keeps the replies queued to it" {
	dump_restore_check fd-socks dgram-reply
}

@test "30-fds sockets: a datagram queue holding empty messages between others" {
	dump_restore_check fd-socks dgram-empty
}

@test "30-fds sockets: a datagram queue starting with an empty message the task peeked at" {
	dump_restore_check fd-socks dgram-empty-peeked
}

@test "30-fds sockets: a datagram queue starting with two empty messages, none peeked at" {
	dump_restore_check fd-socks dgram-empty-head
}

@test "30-fds sockets: a datagram queue starting with two empty messages, the first peeked at" {
	dump_restore_check fd-socks dgram-empty-head-peeked
}

@test "30-fds sockets: a named datagram socket holding more bytes from several clients than one send buffer" {
	dump_restore_check fd-socks dgram-many
}

@test "30-fds sockets: socketpairs whose other end closed after sending keep their messages, then end of file" {
	dump_restore_check fd-socks closed-peer
}

@test "30-fds sockets: a stream with 1500000 bytes queued under a 4 MB send buffer, a 200000-byte seqpacket message" {
	dump_restore_check fd-socks big
}

@test "30-fds sockets: a stream peeked at through SO_PEEK_OFF keeps its peek offset" {
	dump_restore_check fd-socks peek-off
}

@test "30-fds sockets: a datagram socket connected to a named socket outside the tree (as to /dev/log) is connected to it again" {
	outside_listener "$T/outside.sock" dgram
	dump_restore_check fd-refuse dgram-outside
	wait "$OUTSIDE_PID"
	[ "$(cat "$T/outside.out")" = outside ] ||
		{ echo "the outside socket got '$(cat "$T/outside.out")'" >&2; cat "$T/outside.err" >&2; return 1; }
}
