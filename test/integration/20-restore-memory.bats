#!/usr/bin/env bats
# Restore of memory that tasks share, or must not share: copy-on-write
# pages (rst-cow), shared anonymous memory in a 3-level tree (rst-shanon),
# and a root and a child mapping one object (rst-files): a shared file, a
# private file with dirty pages, a memfd, an unlinked file.

load helpers
load restore-helpers

@test "restore rst-cow: copy-on-write pages stay private to each of 4 tasks, before and after the restore" {
	start_victim rst-cow
	[ "${#PIDS[@]}" -eq 4 ]
	dump_restore_check
}

@test "restore rst-shanon: shared anonymous memory in a 3-level tree: contents, one inode, writes seen by all" {
	start_victim rst-shanon
	[ "${#PIDS[@]}" -eq 5 ]
	dump_restore_check
}

@test "restore rst-files shared: a MAP_SHARED file: identity is the file's, writes reach the file and the other task" {
	start_victim rst-files shared
	dump_restore_check
	# The writes after the restore are in the file.
	[ -s "$T/shared.dat" ]
}

@test "restore rst-files private: a MAP_PRIVATE file with dirty pages: dirty bytes back, clean pages are the file's, file unchanged" {
	start_victim rst-files private
	local before
	before=$(sha256sum < "$T/private.dat")
	dump
	wait_pids_gone 10
	[ "$(sha256sum < "$T/private.dat")" = "$before" ] || { echo "the dump changed private.dat" >&2; return 1; }
	restore
	check_verdict
}

@test "restore rst-files memfd: a memfd shared by parent and child after its fd was closed: same name, one inode, shared" {
	start_victim rst-files memfd
	dump_restore_check
}

@test "restore rst-files unlinked: an unlinked file mapped shared: contents, name and sharing intact, nothing left on disk" {
	start_victim rst-files unlinked
	local before after
	before=$(cd "$T" && printf '%s\n' * | grep -v -x -e 'gather-.*')
	dump_restore_check
	# The restore recreated the file to map it, and unlinked it again:
	# nothing new in its directory but what the test itself wrote.
	after=$(cd "$T" && printf '%s\n' * | grep -v -x -e 'gather-.*' -e img -e dump.log -e restore.log -e restore.pid -e verdict)
	[ "$after" = "$before" ] ||
		{ printf 'files in %s before the dump:\n%s\nafter the restore:\n%s\n' "$T" "$before" "$after" >&2; return 1; }
}

@test "restore rst-layout: 600+ VMAs of every kind: /proc/self/maps and VmFlags equal before and after, in both tasks" {
	start_victim rst-layout
	dump_restore_check
}

@test "restore rst-objsize: objects bigger than their mappings, and reached through an fd and a mapping at once, keep size, data and identity" {
	start_victim rst-objsize
	dump_restore_check
}

# Without address space randomization (setarch -R, as under gdb, or with
# kernel.randomize_va_space=1 for the heap) the heap begins right after the
# bss, and the tree's libraries, stack and vDSO sit where criu-lite's own
# are when it runs without randomization too.
@test "restore rst-private without ASLR (setarch -R for the tree and criu-lite): heap right after the bss, maps unchanged" {
	VICTIM_WRAP="setarch -R" start_victim rst-private alpha beta
	RESTORE_WRAP="setarch -R" dump_restore_check
}

@test "restore rst-layout without ASLR (setarch -R for the tree and criu-lite): 600+ VMAs on top of criu-lite's own layout" {
	VICTIM_WRAP="setarch -R" start_victim rst-layout
	RESTORE_WRAP="setarch -R" dump_restore_check
}
