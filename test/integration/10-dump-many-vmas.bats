#!/usr/bin/env bats
# Dump of many-vmas (test/victims/many-vmas.c): two tasks with ~760 VMAs
# each: one-page VMAs of cycling protections (PROT_NONE ones holding data),
# one-page windows on a file at scattered offsets, a MAP_GROWSDOWN region.

load helpers

@test "dump many-vmas --leave-running: every VMA and every page as live, and the tree runs on" {
	start_victim many-vmas
	local n
	n=$(wc -l < "/proc/$ROOT/maps")
	[ "$n" -gt 700 ] || { echo "many-vmas has only $n VMAs" >&2; return 1; }
	dump --leave-running
	show_images
	dump_check maps "${PIDS[@]}"
	dump_check json "${PIDS[@]}"
	"$TOOLS/img-pages-check" "$IMG" "${PIDS[@]}"
	assert_running "${PIDS[@]}"
	check_verdict
}

@test "dump many-vmas: the dump succeeds and the tree is gone" {
	start_victim many-vmas
	dump
	[ -e "$IMG/inventory.img" ]
	wait_pids_gone 10
}
