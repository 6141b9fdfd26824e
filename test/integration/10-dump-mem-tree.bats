#!/usr/bin/env bats
# Dump of mem-tree (test/victims/mem-tree.c): 7 tasks in 3 levels with
# private anonymous memory, guards and mprotect splits, and sharing shared
# anonymous memory, a memfd, a shared file, a private file with dirty pages
# and an unlinked file.

load helpers

# dump_mem_tree: start mem-tree, dump it with --leave-running, read the
# images with show.
dump_mem_tree() {
	start_victim mem-tree
	[ "${#PIDS[@]}" -eq 7 ] || { echo "mem-tree has ${#PIDS[@]} tasks, not 7" >&2; return 1; }
	dump --leave-running
	show_images
}

@test "dump mem-tree --leave-running: show --maps has every VMA of every task as /proc/PID/maps and map_files" {
	dump_mem_tree
	dump_check maps "${PIDS[@]}"
	dump_check json "${PIDS[@]}"
}

@test "dump mem-tree --leave-running: one shmem object each for the shared anon memory, the memfd and the unlinked file, with all 7 users" {
	dump_mem_tree
	local all want got
	all=$(printf '%s\n' "${PIDS[@]}" | sort -n | paste -sd,)
	want="SHMEM_ANON 2097152 $all -
SHMEM_MEMFD 1048576 $all crl-mem-tree
SHMEM_UNLINKED 524288 $all $T/unlinked.dat"
	got=$(show_json '"\n".join(sorted("%s %d %s %s" % (e["kind"], e["size"],
		",".join(str(u) for u in sorted(e.get("users", []))), e.get("name") or "-")
		for e in d.get("shmem.img", [])))')
	if [ "$got" != "$want" ]; then
		printf 'shmem.img:\n%s\nexpected:\n%s\n' "$got" "$want" >&2
		return 1
	fi
	# The files that exist are identified in files.img, not copied; the
	# unlinked one is not among them.
	got=$(show_json '" ".join(sorted(set(e["path"].rsplit("/", 1)[-1] for e in d["files.img"]
		if e["path"].startswith("'"$T"'/")) & {"private.dat", "shared.dat", "unlinked.dat"}))')
	[ "$got" = "private.dat shared.dat" ] || { echo "files.img has '$got' of $T" >&2; return 1; }
}

@test "dump mem-tree --leave-running: every dumped page equals the live memory" {
	dump_mem_tree
	"$TOOLS/img-pages-check" "$IMG" "${PIDS[@]}"
}

@test "dump mem-tree --leave-running: images are 0600 in a 0700 directory, inventory.img last" {
	dump_mem_tree
	local f mode bad=0
	mode=$(stat -c %a "$IMG")
	[ "$mode" = 700 ] || { echo "$IMG has mode $mode" >&2; bad=1; }
	for f in "$IMG"/*; do
		mode=$(stat -c %a "$f")
		[ "$mode" = 600 ] || { echo "$f has mode $mode" >&2; bad=1; }
	done
	[ "$bad" = 0 ]
	# inventory.img says the dump is complete: it is written last.
	[ -e "$IMG/inventory.img" ] || { echo "no inventory.img" >&2; return 1; }
	f=$(find "$IMG" -type f -newer "$IMG/inventory.img")
	[ -z "$f" ] || { echo "written after inventory.img: $f" >&2; return 1; }
}

@test "dump mem-tree --leave-running: the tree runs on, untraced, and passes its own checks" {
	dump_mem_tree
	assert_running "${PIDS[@]}"
	check_verdict
}

@test "dump mem-tree: the dump succeeds and the whole tree is gone" {
	start_victim mem-tree
	dump
	[ -e "$IMG/inventory.img" ]
	wait_pids_gone 10 || { ps -o pid,stat,cmd -p "${PIDS[*]}" >&2; return 1; }
	show_images
	local n
	n=$(show_json 'len(d["pstree.img"])')
	[ "$n" = 7 ] || { echo "pstree.img has $n tasks" >&2; return 1; }
}

@test "dump into a directory that holds an older dump of another tree: only the new tree's images remain" {
	start_victim mem-tree
	dump
	wait_pids_gone 10
	local old_root=$ROOT
	# A second tree, with other pids, dumped into the same directory.
	rm -f "$T/ready" "$T/pids"
	start_victim mem-tree
	[ "$ROOT" != "$old_root" ]
	dump
	show_images
	local want got
	want=$(show_json '" ".join(str(p) for p in sorted(e["pid"] for e in d["pstree.img"]))')
	got=$(cd "$IMG" && ls | sed -n 's/^core-\([0-9]*\)\.img$/\1/p' | sort -n | tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$want" ] || { echo "core images for pids '$got', pstree.img holds '$want'" >&2; ls -A "$IMG" >&2; return 1; }
	# Nothing but images: no staging or backup directory left behind.
	local other
	other=$(cd "$IMG" && ls -A | grep -v '\.img$' || true)
	[ -z "$other" ] || { echo "left in $IMG: $other" >&2; return 1; }
	for p in $want; do
		for k in mm pagemap pages fdinfo; do
			[ -e "$IMG/$k-$p.img" ] || { echo "no $k-$p.img" >&2; return 1; }
		done
	done
}
