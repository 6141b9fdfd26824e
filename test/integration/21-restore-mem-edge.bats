#!/usr/bin/env bats
# Restore of shared memory objects at their edges (test/victims/rst-memedge.c):
# memfd seals, read-only shared mappings, a deleted executable, huge pages,
# ownership; and the objects a dump must refuse rather than dump what
# cannot come back.

load helpers
load restore-helpers

@test "restore rst-memedge seals: memfds sealed grow/shrink, future-write, write come back with the same seals and contents" {
	start_victim rst-memedge seals
	dump_restore_check
}

@test "restore rst-memedge romap: read-only shared mappings of memfds and an unlinked file stay read-only (mprotect EACCES), a write-sealed one restores" {
	start_victim rst-memedge romap
	dump_restore_check
}
