#!/usr/bin/env bats
# Unix sockets in the corners of their states (test/victims/fd-socks-edge.c):
# accepted connections whose client or listener is gone. The victim checks
# from inside, after the restore, that each socket behaves as it did.

load helpers
load fd-helpers

@test "31-fds sockets: a listener whose accepted connection lost its client (path): the connection reads its bytes then end of file, and the listener accepts new connections" {
	dump_restore_check fd-socks-edge accepted-closed path
	[ -S "$T/edge.sock" ] || { echo "no socket file $T/edge.sock after the restore" >&2; return 1; }
}

@test "31-fds sockets: a listener whose accepted connection lost its client (abstract name)" {
	dump_restore_check fd-socks-edge accepted-closed abstract
}

@test "31-fds sockets: three connections of a closed listener (path), one of them with its client closed" {
	dump_restore_check fd-socks-edge gone-two path
}

@test "31-fds sockets: three connections of a closed listener (abstract name): the name is free again" {
	dump_restore_check fd-socks-edge gone-two abstract
}

@test "31-fds sockets: stream and seqpacket sockets never connected, bound to a path, an abstract name or unbound, keep their names and can listen or connect" {
	dump_restore_check fd-socks-edge unconnected
}
