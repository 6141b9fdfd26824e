#!/usr/bin/env bats
# Pipes and FIFOs with unread bytes, between the tasks of a tree
# (test/victims/fd-pipes.c): what was in them at the dump comes out after the
# restore, in order (and packet by packet in packet mode), new bytes flow,
# and readers see end of file when the writers close: no writer is left
# open anywhere.

load helpers
load fd-helpers

@test "30-fds pipes: a pipe each way between parent and child, one enlarged to 256 KiB and holding 200000 bytes; pipes left with only a reader or a writer" {
	dump_restore_check fd-pipes pair
}

@test "30-fds pipes: a pipeline A | B | C with bytes in both pipes at the dump, then new bytes through it" {
	dump_restore_check fd-pipes pipeline
	[ "${#PIDS[@]}" -eq 3 ]
}

@test "30-fds pipes: a FIFO in the test directory with unread bytes" {
	dump_restore_check fd-pipes fifo
}

@test "30-fds pipes: a pipe enlarged to 1 MiB and full" {
	dump_restore_check fd-pipes full
}

@test "30-fds pipes: a pipe in packet mode (O_DIRECT) keeps its packets apart" {
	dump_restore_check fd-pipes packet
}

@test "30-fds pipes: packets left in a packet-mode pipe whose writer closed stay apart" {
	dump_restore_check fd-pipes packet-orphan
}
