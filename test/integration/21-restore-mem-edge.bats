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

# delexe_victim: start rst-memedge delexe from a copy of it in $T, which
# the victim unlinks.
delexe_victim() {
	cp "$VICTIMS/rst-memedge" "$T/rst-memedge-copy"
	VICTIMS=$T start_victim rst-memedge-copy delexe
}

@test "restore rst-memedge delexe: tasks whose executable was deleted come back running it, /proc/self/exe still '(deleted)'" {
	delexe_victim
	[ ! -e "$T/rst-memedge-copy" ]
	dump_restore_check
	# The restore recreated the executable to map it, and unlinked it again.
	[ ! -e "$T/rst-memedge-copy" ] || { echo "the deleted executable is back in $T" >&2; return 1; }
}

@test "restore rst-memedge delexe: an executable replaced by another file at its path (an upgrade) comes back deleted, the new file untouched" {
	delexe_victim
	printf 'replaced\n' > "$T/rst-memedge-copy"
	dump_restore_check
	[ "$(cat "$T/rst-memedge-copy")" = replaced ]
}
