#!/bin/bash
# make demo: checkpoint a small process tree that shares memory, restore it,
# and show that the restored processes have their pids back and share again.
#
#   scripts/demo.sh          (as root; binaries from ${CRL_BUILD:-build})
#
# The victim is test/victims/demo-counter: 4 processes sharing a counter
# through shared anonymous memory and through a memfd whose fd is closed.
# Everything goes into a mktemp'd directory under /tmp, removed at the end;
# only the pids of that tree are ever killed. The last line says whether
# the demo succeeded; the exit status is non-zero on any failure.
set -u
. "$(dirname "$0")/run-clean.sh"

BUILD=${CRL_BUILD:-build}
CRL=$BUILD/criu-lite
VICTIM=$BUILD/test/victims/demo-counter

STEP=0
W=""
PIDS=()
ROLES=()
PPIDS=()
FAILED=""
DONE=""

step() {
	STEP=$((STEP + 1))
	printf '\n%d. %s\n' "$STEP" "$*"
}
say() { printf '   %s\n' "$*"; }
# Indent a command's output so it stands apart from the narration.
show() { sed 's/^/   | /'; }

fail() {
	FAILED=$*
	say "FAILED: $*"
	exit 1
}

# ---- facts about a pid, read from /proc ---------------------------------

# stat_field PID N: field N of /proc/PID/stat counted after the comm
# (1 state, 2 ppid); nothing if the pid is gone.
stat_field() {
	local s f
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	read -r -a f <<< "$s"
	echo "${f[$2 - 1]}"
}

# ours PID: the process at PID runs the demo victim (pids can be reused:
# never kill a stranger).
ours() {
	local exe comm
	exe=$(readlink "/proc/$1/exe" 2>/dev/null)
	comm=$(cat "/proc/$1/comm" 2>/dev/null)
	[ -n "$exe" ] && [ "$exe" = "$VICTIM_PATH" ] && return 0
	[ "$comm" = demo-counter ]
}

# region PID NAME: the address range of the VMA of PID whose maps line
# ends with NAME.
region() {
	awk -v n="$2" 'index($0, n) { print $1; exit }' "/proc/$1/maps" 2>/dev/null
}

# ident PID NAME: "major:minor inode" of the object mapped there, by
# stat -L /proc/PID/map_files/RANGE.
ident() {
	local r d i
	r=$(region "$1" "$2")
	[ -n "$r" ] || return 1
	read -r d i < <(stat -L -c '%d %i' "/proc/$1/map_files/$r" 2>/dev/null) || return 1
	printf '%02x:%02x %s\n' $(((d >> 8) & 0xfff)) $(((d & 0xff) | ((d >> 12) & 0xfff00))) "$i"
}

ANON_NAME="/dev/zero (deleted)"
MEMFD_NAME="/memfd:demo-counter (deleted)"

# ---- the tree's own protocol (see test/victims/demo-counter.c) ----------

# wait_for SECONDS WHAT COMMAND...: poll COMMAND every 0.1 s until it
# succeeds; fail naming WHAT after SECONDS.
wait_for() {
	local t=$1 what=$2 i
	shift 2
	for ((i = 0; i < t * 10; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	fail "timed out after ${t}s waiting for $what"
}

nr_writes() {
	local n
	n=$(grep -c ' wrote counter' "$W/log" 2>/dev/null)
	echo "${n:-0}"
}
writes_reached() { [ "$(nr_writes)" -ge "$1" ]; }
all_reports() {
	local r
	for r in "${ROLES[@]}"; do
		[ -e "$W/report.$r" ] || return 1
	done
}

# sharing_round WRITER VALUE: signal process number WRITER to write the next
# counter value (SIGUSR1), then every process to report what it sees
# (SIGUSR2); print the reports and check each saw VALUE, written by WRITER,
# in both regions.
sharing_round() {
	local w=$1 v=$2 before i r line bad=0
	before=$(nr_writes)
	say "kill -USR1 ${PIDS[w]}   (${ROLES[w]} writes counter = $v into both regions)"
	kill -USR1 "${PIDS[w]}" || fail "cannot signal ${PIDS[w]}"
	wait_for 5 "${ROLES[w]} to write" writes_reached $((before + 1))
	rm -f "$W"/report.*
	say "kill -USR2 ${PIDS[*]}   (every process reports what it reads)"
	kill -USR2 "${PIDS[@]}" || fail "cannot signal the tree"
	wait_for 5 "the 4 reports" all_reports
	for i in "${!ROLES[@]}"; do
		r=${ROLES[i]}
		line=$(cat "$W/report.$r")
		printf '%s\n' "$line" | show
		case "$line" in
		"$r"*" pid ${PIDS[i]} "*"shared-anon counter = $v (by ${ROLES[w]})  memfd counter = $v (by ${ROLES[w]})") ;;
		*) bad=1 ;;
		esac
	done
	[ $bad = 0 ] || fail "a process did not see counter = $v from ${ROLES[w]} in both regions"
	say "Every process read $v, written by ${ROLES[w]}, in the shared anonymous memory and in the memfd."
}

# print_tree: PID, PPID (from /proc) and role of each process.
print_tree() {
	local i st
	printf '%-8s %-8s %-6s %s\n' PID PPID STATE ROLE | show
	for i in "${!PIDS[@]}"; do
		st=$(stat_field "${PIDS[i]}" 1) || st=gone
		printf '%-8s %-8s %-6s %s\n' "${PIDS[i]}" "$(stat_field "${PIDS[i]}" 2)" "$st" "${ROLES[i]}" | show
	done
}

# ---- the end, whatever happens -------------------------------------------

cleanup() {
	local rc=$? p killed=()
	trap - EXIT INT TERM
	[ -n "$DONE" ] || [ -n "$FAILED" ] || FAILED="interrupted (exit status $rc)"
	if [ -n "$FAILED" ] && [ -n "$W" ]; then
		if [ -s "$W/log" ]; then
			say "the victim's log ($W/log), last lines:"
			tail -n 15 "$W/log" | show
		fi
	fi
	for p in "${PIDS[@]}"; do
		if [ -d "/proc/$p" ] && ours "$p"; then
			kill -9 "$p" 2>/dev/null && killed+=("$p")
		fi
	done
	[ ${#killed[@]} -gt 0 ] && say "killed the demo's processes: ${killed[*]}"
	if [ -n "$W" ]; then
		rm -rf "$W"
		say "removed $W"
	fi
	echo
	if [ -n "$FAILED" ]; then
		echo "DEMO FAILED: $FAILED"
		[ "$rc" -ne 0 ] || rc=1
		exit "$rc"
	fi
	echo "DEMO SUCCEEDED: the tree was dumped, restored with the same pids, and shares memory again."
	exit 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- the demo ----------------------------------------------------------------

echo "criu-lite demo: checkpoint a process tree that shares memory, restore it, check it shares again."

[ "$(id -u)" = 0 ] || fail "run me as root: criu-lite needs ptrace, map_files and clone3(set_tid)"
[ -x "$CRL" ] || fail "$CRL is missing: run 'make demo' (or set CRL_BUILD)"
[ -x "$VICTIM" ] || fail "$VICTIM is missing: run 'make demo' (or set CRL_BUILD)"
VICTIM_PATH=$(readlink -f "$VICTIM")
W=$(mktemp -d /tmp/crl-demo.XXXXXX) || fail "cannot make a temporary directory"
say "(binaries from $BUILD; work directory $W)"

step "Start the victim: 4 processes sharing a counter through shared anonymous memory and a memfd (its fd closed after mmap)."
run_clean "$VICTIM" "$W" || fail "demo-counter did not start"
while read -r pid role; do
	PIDS+=("$pid")
	ROLES+=("$role")
done < "$W/pids"
[ ${#PIDS[@]} = 4 ] || fail "expected 4 processes in $W/pids, found ${#PIDS[@]}"
ROOT=${PIDS[0]}
for i in "${!PIDS[@]}"; do
	PPIDS[i]=$(stat_field "${PIDS[i]}" 2) || fail "pid ${PIDS[i]} (${ROLES[i]}) is not running"
done
say "The tree (the root runs in a session of its own; its parent is whoever adopts orphans):"
print_tree

step "The shared regions in each process's /proc/PID/maps: same addresses, same inode (column 5), inherited through fork."
for i in "${!PIDS[@]}"; do
	say "${ROLES[i]} (${PIDS[i]}):"
	grep -F -e "$ANON_NAME" -e "$MEMFD_NAME" "/proc/${PIDS[i]}/maps" | tr -s ' ' | show
	[ "$(grep -c -F -e "$ANON_NAME" -e "$MEMFD_NAME" "/proc/${PIDS[i]}/maps")" = 2 ] ||
		fail "${ROLES[i]} does not map both shared regions"
done
OLD_ANON=$(ident "$ROOT" "$ANON_NAME") || fail "cannot stat the shared anonymous memory of $ROOT"
OLD_MEMFD=$(ident "$ROOT" "$MEMFD_NAME") || fail "cannot stat the memfd mapping of $ROOT"

step "Before the dump: the root writes the counter, and every process reads it back."
sharing_round 0 1

step "Dump the tree: criu-lite dump -t $ROOT -D $W/img (it freezes the 4 processes, writes images, kills them)."
"$CRL" dump -t "$ROOT" -D "$W/img" 2>&1 | show
[ "${PIPESTATUS[0]}" = 0 ] || fail "criu-lite dump failed"
say "The images: $(find "$W/img" -type f | wc -l) files, $(du -sh "$W/img" | cut -f1)B on disk:"
(cd "$W/img" && ls) | tr '\n' ' ' | fmt -w 90 | show

step "The tree is gone: the dump killed all 4 processes (Z: dead, not yet reaped)."
print_tree
say "Init reaps orphaned zombies only every ~2 s on some machines; criu-lite restore needs the pids"
say "free, so wait (up to 15 s) until they are."
pids_free() {
	local p
	for p in "${PIDS[@]}"; do
		[ -d "/proc/$p" ] && return 1
	done
	return 0
}
t0=$(date +%s%N)
wait_for 15 "the dumped pids to be freed" pids_free
say "All 4 pids are free ($((($(date +%s%N) - t0) / 1000000)) ms later)."

step "What the images hold, from criu-lite show --maps (only the shared regions and the shared-object list):"
"$CRL" show --maps "$W/img" > "$W/show-maps.txt" 2>&1 || { show < "$W/show-maps.txt"; fail "criu-lite show --maps failed"; }
awk '/^shmem / { print; next } /^pid / { print; next } / shared-anon | memfd / { print "    " $0 }' \
	"$W/show-maps.txt" | show
say "One shmem entry per object, listing its users: each object is dumped once, not once per process."
[ "$(grep -c '^shmem ' "$W/show-maps.txt")" = 2 ] || fail "expected 2 shared objects in the images"

step "Restore: criu-lite restore -D $W/img -d (it recreates the 4 processes with their pids and returns)."
# The restored processes get back the fds they had (the victim's are
# /dev/null); criu-lite's own output goes to a file of the work directory.
"$CRL" restore -D "$W/img" -d --pidfile "$W/restored.pid" < /dev/null > "$W/restore.out" 2>&1
rc=$?
show < "$W/restore.out"
[ $rc = 0 ] || fail "criu-lite restore failed (exit status $rc)"
[ "$(cat "$W/restored.pid" 2>/dev/null)" = "$ROOT" ] || fail "the pid file does not name the root $ROOT"
print_tree
for i in "${!PIDS[@]}"; do
	p=${PIDS[i]}
	if ! [ -d "/proc/$p" ] || ! ours "$p"; then
		fail "pid $p (${ROLES[i]}) did not come back"
	fi
	pp=$(stat_field "$p" 2)
	if [ "$pp" != "${PPIDS[i]}" ]; then
		[ "$i" = 0 ] || fail "${ROLES[i]} ($p) has parent $pp, not ${PPIDS[i]}"
		say "(the root was adopted by $pp, not ${PPIDS[i]} as before: orphans go to the nearest subreaper)"
	fi
done
say "The same 4 pids are back, each with the parent it had."

step "After the restore: the grandchild writes the counter, and every process reads it back."
sharing_round 3 2
say "The value 1 from before the dump was restored, and the new write is shared by all 4."

step "The kernel objects: stat -L /proc/PID/map_files/RANGE in each process."
printf '%-8s %-11s %-24s %s\n' PID ROLE "shared anon (dev ino)" "memfd (dev ino)" | show
A0="" M0=""
for i in "${!PIDS[@]}"; do
	p=${PIDS[i]}
	a=$(ident "$p" "$ANON_NAME") || fail "cannot stat the shared anonymous memory of $p"
	m=$(ident "$p" "$MEMFD_NAME") || fail "cannot stat the memfd mapping of $p"
	printf '%-8s %-11s %-24s %s\n' "$p" "${ROLES[i]}" "$a" "$m" | show
	[ -n "$A0" ] || { A0=$a; M0=$m; }
	[ "$a" = "$A0" ] || fail "${ROLES[i]} maps another shared anonymous object ($a, not $A0)"
	[ "$m" = "$M0" ] || fail "${ROLES[i]} maps another memfd ($m, not $M0)"
done
[ "$A0" != "$M0" ] || fail "the two regions map the same object"
say "One inode per region, the same in all 4 processes (before the dump: $OLD_ANON and $OLD_MEMFD;"
say "the restore created new objects, so new inode numbers, shared exactly as before)."

step "Clean up: kill the 4 processes and remove the work directory."
DONE=1
