#!/usr/bin/env bats
# Restore of shared memory objects at their edges (test/victims/rst-memedge.c):
# memfd seals, read-only shared mappings, a deleted executable, huge pages,
# ownership; and the objects a dump must refuse rather than dump what
# cannot come back.

load helpers
load restore-helpers

# refused_mapping PID RANGE TEXT: the dump failed, and said on its
# standard error and in dump.log that the mapping RANGE (START-END, as in
# maps) of task PID is refused, with TEXT; it left no inventory.img; the
# tree runs on, untraced, and passes its own checks.
refused_mapping() {
	local pid=$1 range=$2 text=$3 rc=0 f
	dump > "$T/dump.out" 2>&1 || rc=$?
	[ "$rc" != 0 ] || { echo "the dump succeeded; it should have refused $range of task $pid" >&2; return 1; }
	for f in "$T/dump.out" "$T/dump.log"; do
		grep -q "task $pid\b.*mapping $range\b.*$text" "$f" ||
			{ echo "$f does not say that mapping $range of task $pid is $text:" >&2; cat "$f" >&2; return 1; }
	done
	[ ! -e "$IMG/inventory.img" ] || { echo "a refused dump left $IMG/inventory.img" >&2; return 1; }
	assert_running "${PIDS[@]}"
	check_verdict
}

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

@test "dump of rst-memedge unldir: a mapped unlinked file whose directory was removed too is refused, naming pid, range and path; the tree runs on" {
	start_victim rst-memedge unldir
	refused_mapping "$ROOT" "$(cat "$T/unldir-range")" "$T/gone/data.*directory $T/gone is gone"
}

@test "restore rst-memedge thp: a MADV_HUGEPAGE region keeps 'hg' and comes back in huge pages (AnonHugePages), not 4 KiB ones" {
	start_victim rst-memedge thp
	dump_restore_check
	grep 'thp: AnonHugePages' "$T/victim.log"
	if ! grep -qE '\[(always|madvise)\]' /sys/kernel/mm/transparent_hugepage/enabled; then
		skip "transparent huge pages are off here ($(cat /sys/kernel/mm/transparent_hugepage/enabled)): only 'hg' and the contents were checked, not AnonHugePages"
	fi
}
