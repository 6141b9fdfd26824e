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

@test "31-fds sockets: streams whose peer was closed with bytes unread keep their pending ECONNRESET: reads give what they give without a dump" {
	start_victim fd-socks-edge reset "$T/control.seq"
	check_verdict
	rm -f "$T/ready" "$T/pids" "$T/verdict"
	start_victim fd-socks-edge reset "$T/restored.seq"
	dump
	restore
	check_verdict
	grep -q 'Connection reset by peer' "$T/control.seq" ||
		{ echo "the control run saw no reset:" >&2; cat "$T/control.seq" >&2; return 1; }
	diff -u "$T/control.seq" "$T/restored.seq" >&2
}

@test "31-fds sockets: a seqpacket socket with ECONNRESET pending is refused, and the error stays for the task" {
	start_victim fd-socks-edge reset-seqpacket
	refused_dump "$ROOT" 52 "error pending"
}

@test "31-fds sockets: a stream with a byte of out-of-band data queued is refused, and the byte stays out of band" {
	start_victim fd-socks-edge oob
	refused_dump "$ROOT" 61 "out-of-band"
}

@test "31-fds sockets: a stream with SO_OOBINLINE and a byte of out-of-band data queued is refused, and keeps its mark and option" {
	start_victim fd-socks-edge oob inline
	refused_dump "$ROOT" 61 "out-of-band"
}

@test "31-fds sockets: with SO_PASSCRED, queued messages keep their senders' credentials; a sender gone is a warning" {
	dump_restore_check fd-socks-edge creds
	grep -q "is gone; it is sent with criu-lite's pid and the sender's uid 4321 and gid 4321" "$T/restore.log" ||
		{ echo "restore.log does not warn about the sender that is gone" >&2; return 1; }
}

@test "31-fds sockets: socket options kept: timeouts, SO_PASSPIDFD, timestamps, SO_RCVLOWAT, SO_PASSSEC, SO_OOBINLINE, SO_PASSRIGHTS" {
	dump_restore_check fd-socks-edge sockopts
}

@test "31-fds sockets: a listener and a datagram socket whose socket files were removed: still gone after the restore, connections and queues kept" {
	dump_restore_check fd-socks-edge detached
}

@test "31-fds sockets: a listener whose path was taken by a second listener of the tree: new connections reach the second" {
	dump_restore_check fd-socks-edge rebind
}

@test "31-fds sockets: a listener whose directory was removed is refused, naming the path" {
	start_victim fd-socks-edge dir-removed
	refused_dump "$ROOT" 97 "sd/s.sock, whose directory was removed"
}

@test "31-fds sockets: a listener whose path is now a regular file is refused, naming the path" {
	start_victim fd-socks-edge occupied
	refused_dump "$ROOT" 97 "occ.sock, which now leads to another file"
}

@test "31-fds sockets: the socket file of a listener of uid 65534 keeps its owner: the task can still connect to it" {
	dump_restore_check fd-socks-edge user-owner
}
