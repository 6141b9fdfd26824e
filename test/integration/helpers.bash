# Shared by the integration tests: start a victim tree, dump it, restore it,
# signal it and read its verdict. Every process a test starts is recorded and
# killed (by pid) in teardown.
#
# Variables a test may use after start_victim:
#   $T          the test's scratch directory (CRL_TEST_DIR of the victim)
#   $IMG        the image directory
#   $ROOT       the victim's root pid
#   ${PIDS[@]}  every pid of the tree;  role_pid ROLE  gives one by role
#   $DUMP_PID   after dump_bg: the background dump;  $DUMP_RC after dump_wait
#
# Variables a test may set (for one call: VAR=... start_victim ...):
#   VICTIM_WRAP   a command prefix for the victim in start_victim ("setarch -R")
#   RESTORE_WRAP  a command prefix for criu-lite in restore ("setarch -R",
#                 "on_pty FILE" of fd-helpers.bash)

CRL_BUILD=${CRL_BUILD:-${CRL_TOP:-$BATS_TEST_DIRNAME/../..}/build}
CRL=$CRL_BUILD/criu-lite
VICTIMS=$CRL_BUILD/test/victims
TOOLS=$CRL_BUILD/test/tools

setup() {
	T=$(mktemp -d /tmp/crl-test.XXXXXX)
	IMG=$T/img
	STARTED=()
	RESTORE_PID=""
}

teardown() {
	local p
	# Kill only what this test started: the victim's pids and criu-lite.
	for p in "${PIDS[@]:-}" "${STARTED[@]:-}" ${RESTORE_PID:-}; do
		[ -n "$p" ] && kill -9 "$p" 2>/dev/null
	done
	# Reap only our own children: a bare `wait` would also wait for the
	# sleep behind bats' BATS_TEST_TIMEOUT.
	for p in "${STARTED[@]:-}" ${RESTORE_PID:-}; do
		[ -n "$p" ] && wait "$p" 2>/dev/null
	done
	if [ -n "${BATS_TEST_COMPLETED:-}" ]; then
		rm -rf "$T"
	else
		echo "# kept $T for inspection" >&3
		[ -f "$T/victim.log" ] && sed 's/^/# victim: /' "$T/victim.log" | tail -n 40 >&3
		[ -f "$T/restore.log" ] && sed 's/^/# restore: /' "$T/restore.log" | tail -n 40 >&3
		[ -s "$T/restore-tty.out" ] && sed 's/^/# restore terminal: /' "$T/restore-tty.out" | tail -n 20 >&3
		[ -f "$T/dump.log" ] && sed 's/^/# dump: /' "$T/dump.log" | tail -n 40 >&3
		[ -s "$T/dump.out" ] && sed 's/^/# dump output: /' "$T/dump.out" | tail -n 20 >&3
	fi
	return 0
}

# wait_file FILE [SECONDS]: wait until FILE exists.
wait_file() {
	local f=$1 t=${2:-20} i
	for ((i = 0; i < t * 20; i++)); do
		[ -e "$f" ] && return 0
		sleep 0.05
	done
	echo "timed out after ${t}s waiting for $f" >&2
	return 1
}

# start_victim NAME [ARGS...]: run a victim program (under $VICTIM_WRAP, if
# set), wait for its tree to be ready and load its pids. The victim closes
# the descriptors beyond 0-2 that it inherits from bats (vl_init).
start_victim() {
	local name=$1
	shift
	# shellcheck disable=SC2086 # VICTIM_WRAP is a command and its words
	CRL_TEST_DIR=$T ${VICTIM_WRAP:-} "$VICTIMS/$name" "$@" &
	STARTED+=($!)
	wait_file "$T/ready" 30 || { cat "$T/victim.log" >&2; return 1; }
	load_pids
}

load_pids() {
	PIDS=()
	ROLES=()
	local pid ppid role
	while read -r pid ppid role; do
		PIDS+=("$pid")
		ROLES+=("$role")
	done < "$T/pids"
	ROOT=${PIDS[0]}
}

role_pid() {
	local i
	for i in "${!ROLES[@]}"; do
		[ "${ROLES[$i]}" = "$1" ] && { echo "${PIDS[$i]}"; return 0; }
	done
	return 1
}

# dump [ARGS...]: dump the victim's tree into $IMG; output in $T/dump.log.
dump() {
	"$CRL" dump -t "$ROOT" -D "$IMG" -v 3 -o "$T/dump.log" "$@"
}

# dump_bg [ARGS...]: like dump, in the background (recorded in STARTED for
# teardown); its pid in DUMP_PID, what it prints in $T/dump.out. Collect its
# exit status with dump_wait.
dump_bg() {
	"$CRL" dump -t "$ROOT" -D "$IMG" -v 3 -o "$T/dump.log" "$@" > "$T/dump.out" 2>&1 &
	DUMP_PID=$!
	STARTED+=("$DUMP_PID")
}

# dump_wait: wait for the dump_bg dump; its exit status in DUMP_RC.
dump_wait() {
	DUMP_RC=0
	wait "$DUMP_PID" || DUMP_RC=$?
}

# show_images: `criu-lite show` of $IMG as JSON into $T/show.json, and
# `show --maps` into $T/show-maps.txt.
show_images() {
	"$CRL" show "$IMG" > "$T/show.json" || { echo "criu-lite show $IMG failed" >&2; return 1; }
	"$CRL" show --maps "$IMG" > "$T/show-maps.txt" ||
		{ echo "criu-lite show --maps $IMG failed" >&2; return 1; }
}

# dump_check maps|json PID...: compare $T/show-maps.txt or $T/show.json with
# the live tree (see dump-check.py); prints every difference.
dump_check() {
	local what=$1 file
	shift
	case "$what" in
	maps) file=$T/show-maps.txt ;;
	json) file=$T/show.json ;;
	*) echo "dump_check maps|json PID..." >&2; return 2 ;;
	esac
	python3 "$BATS_TEST_DIRNAME/dump-check.py" "$what" "$file" "$@"
}

# show_json EXPR: print the Python expression EXPR evaluated over the images
# of $T/show.json, bound to d (a dict: image file name -> list of records).
show_json() {
	python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
		"$T/show.json" "$1"
}

# tracer_of PID: the TracerPid of PID (nothing if PID is gone).
tracer_of() {
	awk '/^TracerPid:/ {print $2}' "/proc/$1/status" 2>/dev/null
}

# task_state PID: the state letter of /proc/PID/stat (nothing if gone).
task_state() {
	sed -n 's/^.*) \(.\).*$/\1/p' "/proc/$1/stat" 2>/dev/null
}

# wait_traced PID [SECONDS]: wait until some process traces PID. Polls
# without forking but for sleep, so that it notices soon even when the
# machine is busy (a dump is).
wait_traced() {
	local pid=$1 end=$((SECONDS + ${2:-10})) k v
	while ((SECONDS <= end)); do
		while read -r k v; do
			[ "$k" = TracerPid: ] && [ "$v" != 0 ] && return 0
		done 2>/dev/null < "/proc/$pid/status"
		sleep 0.005
	done
	echo "pid $pid was not traced within ${2:-10}s" >&2
	return 1
}

# assert_running PID...: each pid exists, is neither a zombie nor stopped,
# and nothing traces it.
assert_running() {
	local p st tr
	for p in "$@"; do
		st=$(task_state "$p")
		tr=$(tracer_of "$p")
		case "$st" in
		"") echo "pid $p is gone" >&2; return 1 ;;
		Z|X|T|t) echo "pid $p is in state $st" >&2; return 1 ;;
		esac
		[ "$tr" = 0 ] || { echo "pid $p is still traced by $tr" >&2; return 1; }
	done
}

# unused_pid: a pid that no process has now.
unused_pid() {
	local p
	for ((p = $(cat /proc/sys/kernel/pid_max) - 1; p > 300; p--)); do
		[ -e "/proc/$p" ] || { echo "$p"; return 0; }
	done
	return 1
}

# pids_gone: every pid of the tree has exited (zombies count as gone).
pids_gone() {
	local p st
	for p in "${PIDS[@]}"; do
		st=$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null) || continue
		[ "$st" = Z ] || return 1
	done
	return 0
}

# wait_pids_gone [SECONDS]
wait_pids_gone() {
	local t=${1:-10} i
	for ((i = 0; i < t * 20; i++)); do
		pids_gone && return 0
		sleep 0.05
	done
	return 1
}

# restore [ARGS...]: restore $IMG in the background (criu-lite waits for the
# root and exits with its status); returns once the tree runs. RESTORE_WRAP,
# if set, is a command prefix for criu-lite ("setarch -R"); RESTORE_PID is
# then the wrapper's pid, which must end with criu-lite's status.
restore() {
	rm -f "$T/restore.pid"
	# shellcheck disable=SC2086 # RESTORE_WRAP is a command and its words
	${RESTORE_WRAP:-} "$CRL" restore -D "$IMG" --pidfile "$T/restore.pid" -v 3 -o "$T/restore.log" "$@" &
	RESTORE_PID=$!
	local i
	for ((i = 0; i < 600; i++)); do
		[ -s "$T/restore.pid" ] && return 0
		kill -0 "$RESTORE_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "restore${RESTORE_WRAP:+ (under $RESTORE_WRAP)} did not start the tree:" >&2
	cat "$T/restore.log" >&2
	return 1
}

# check_verdict: signal the root, wait for the tree to check itself and
# exit, and fail with the victim's reasons unless it passed.
check_verdict() {
	rm -f "$T/verdict"
	kill -USR1 "$ROOT"
	wait_file "$T/verdict" 60 || { cat "$T/victim.log" >&2; return 1; }
	if [ -n "$RESTORE_PID" ]; then
		local rc=0
		wait "$RESTORE_PID" || rc=$?
		RESTORE_PID=""
		if [ "$rc" -ne 0 ]; then
			echo "criu-lite restore exited $rc; verdict:" >&2
			cat "$T/verdict" >&2
			return 1
		fi
	fi
	if [ "$(head -n1 "$T/verdict")" != PASS ]; then
		cat "$T/verdict" >&2
		return 1
	fi
}
