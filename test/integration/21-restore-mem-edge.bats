#!/usr/bin/env bats
# Restore of shared memory objects at their edges (test/victims/rst-memedge.c):
# memfd seals, read-only shared mappings, a deleted executable, huge pages,
# ownership; and the objects a dump must refuse rather than dump what
# cannot come back.

load helpers
load restore-helpers

# dump_refused WHAT REGEX: the dump failed, and said why on its standard
# error and in dump.log, in a line that matches REGEX (WHAT says what it
# should have refused); it left no inventory.img; the tree runs on,
# untraced, and passes its own checks.
dump_refused() {
	local what=$1 regex=$2 rc=0 f
	dump > "$T/dump.out" 2>&1 || rc=$?
	[ "$rc" != 0 ] || { echo "the dump succeeded; it should have refused $what" >&2; return 1; }
	for f in "$T/dump.out" "$T/dump.log"; do
		grep -q "$regex" "$f" || { echo "$f does not refuse $what ('$regex'):" >&2; cat "$f" >&2; return 1; }
	done
	[ ! -e "$IMG/inventory.img" ] || { echo "a refused dump left $IMG/inventory.img" >&2; return 1; }
	assert_running "${PIDS[@]}"
	check_verdict
}

# refused_mapping PID RANGE TEXT: dump_refused for the mapping RANGE
# (START-END, as in maps) of task PID, with TEXT in the message.
refused_mapping() {
	dump_refused "mapping $2 of task $1" "task $1\b.*mapping $2\b.*$3"
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

@test "dump of rst-memedge hugefd: an fd of an MFD_HUGETLB memfd is refused, naming the task, the fd and hugetlbfs; the tree runs on" {
	start_victim rst-memedge hugefd
	[ ! -e "$T/huge-unsupported" ] || skip "memfd_create(MFD_HUGETLB) fails here: no hugetlbfs"
	dump_refused "fd 10 of task $ROOT (hugetlbfs)" "task $ROOT\b.*/proc/$ROOT/fd/10\b.*hugetlbfs"
}

@test "dump of rst-memedge hugemap: a mapping of an MFD_HUGETLB memfd is refused, naming the task, the range and hugetlb; the tree runs on" {
	start_victim rst-memedge hugemap
	[ ! -e "$T/huge-unsupported" ] || skip "memfd_create(MFD_HUGETLB) fails here: no hugetlbfs"
	refused_mapping "$ROOT" "$(cat "$T/huge-range")" "hugetlb"
}

@test "dump of rst-memedge mbind: a mapping with a NUMA memory policy of its own is refused, naming the task and the range; the tree runs on" {
	start_victim rst-memedge mbind
	refused_mapping "$ROOT" "$(cat "$T/mbind-range")" "NUMA memory policy"
}

@test "restore rst-memedge owner: memfds, an unlinked file and shared anonymous memory keep their owner 1234:1234 and mode" {
	start_victim rst-memedge owner
	dump_restore_check
}

@test "dump of rst-memedge chroot: a task in a chroot is refused, naming it; the tree runs on" {
	start_victim rst-memedge chroot
	local child
	child=$(role_pid child)
	dump_refused "task $child (chroot)" "task $child\b.*root directory.*chroot"
}
