#!/usr/bin/env bats
# dump --leave-running of trees with bytes in their pipes and messages in
# their sockets: the dump copies them (the images hold them) without taking
# them; signalled afterwards, with no restore, each task finds every byte
# still there, in order. A later dump and restore of the same tree still
# works.

load helpers
load fd-helpers

# queues_in_images: "type:lengths" per socket of unixsk.img, sorted; a
# stream's queue counts as one run of bytes.
queues_in_images() {
	show_json '" ".join(sorted("%d:%s" % (e["type"],
		str(sum(len(q) // 2 for q in e.get("queue", []))) if e["type"] == 1 else
		",".join(str(len(q) // 2) for q in e.get("queue", [])))
		for e in d["unixsk.img"]))'
}

# expect_in_images pipes|queues WANT: after show_images, the bytes each pipe
# of pipes.img holds (sorted), or queues_in_images, are WANT.
expect_in_images() {
	local got
	show_images
	case "$1" in
	pipes) got=$(show_json '" ".join(str(n) for n in sorted(len(e.get("data", "")) // 2 for e in d["pipes.img"]))') ;;
	queues) got=$(queues_in_images) ;;
	esac
	[ "$got" = "$2" ] || { printf '%s in the images:\n%s\nexpected:\n%s\n' "$1" "$got" "$2" >&2; return 1; }
}

@test "30-fds leave-running: pipes between parent and child keep their 1000, 200000 and 300 bytes" {
	leave_running_check fd-pipes pair
	expect_in_images pipes "0 300 1000 200000"
}

@test "30-fds leave-running: a pipeline A | B | C keeps the bytes of both pipes" {
	leave_running_check fd-pipes pipeline
	expect_in_images pipes "2000 3000"
}

@test "30-fds leave-running: a FIFO keeps its bytes" {
	leave_running_check fd-pipes fifo
}

@test "30-fds leave-running: socketpairs of each type keep their queued messages, in order" {
	leave_running_check fd-socks pairs
	expect_in_images queues \
		"1:0 1:500 1:52100 1:777 2:1,100,3000,60000,7 2:10,20,30 2:33,4000 2:5000 5:300,2,9000 5:5,1000,1,40000"
}

@test "30-fds leave-running: a named datagram socket keeps the messages of its client, and the connection its bytes" {
	leave_running_check fd-socks dgram
	expect_in_images queues "2: 2:10,2000,1,30000"
}

@test "30-fds leave-running: then a dump and a restore of the same tree still find every message" {
	start_victim fd-socks pairs
	dump --leave-running
	rm -rf "$IMG"
	dump
	restore
	check_verdict
}

@test "30-fds leave-running: two dumps in a row of a datagram queue with empty messages both hold every message" {
	skip "known limitation: peeking at an empty datagram marks it (skb->peeked) and no later non-consuming walk of the queue sees it again; a second --leave-running dump misses empty datagrams the first one peeked at (see docs/architecture.md)"
	start_victim fd-socks dgram-empty
	local i got
	for i in 1 2; do
		rm -rf "$IMG"
		dump --leave-running
		show_images
		got=$(queues_in_images)
		[ "$got" = "2: 2:100,0,200,0,300" ] || { echo "dump $i: unixsk.img queues: $got" >&2; return 1; }
	done
	check_verdict
}

@test "30-fds leave-running: a stream peeked at through SO_PEEK_OFF keeps its peek offset and its bytes" {
	leave_running_check fd-socks peek-off
}
