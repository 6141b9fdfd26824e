#!/usr/bin/env bats
# Restore of rst-private (test/victims/rst-private.c): a 3-level tree whose
# private memory, heap, brk, cmdline, environ, auxv and maps must come back
# unchanged; and how `criu-lite restore` ends: with -d at once, without it
# with the root's exit status.

load helpers
load restore-helpers

LONG_ARG=$(printf 'cmdline-%.0s' {1..60})

start_private() {
	CRL_RST_ENV="an environment variable: $(printf 'env%.0s' {1..100})" \
		start_victim rst-private "$@" alpha "beta gamma" "$LONG_ARG"
	[ "${#PIDS[@]}" -eq 3 ] || { echo "rst-private has ${#PIDS[@]} tasks, not 3" >&2; return 1; }
}

# restore_ends: signal the root, wait for criu-lite restore to end (its exit
# status in RESTORE_RC) and require the verdict to be PASS.
restore_ends() {
	kill -USR1 "$ROOT"
	RESTORE_RC=0
	wait "$RESTORE_PID" || RESTORE_RC=$?
	RESTORE_PID=""
	wait_file "$T/verdict" 5
	[ "$(head -n1 "$T/verdict")" = PASS ] || { cat "$T/verdict" >&2; return 1; }
}

@test "restore rst-private: private anon memory, heap, brk, cmdline, environ, auxv and maps unchanged" {
	start_private
	dump_restore_check
}

@test "restore rst-private: without -d, criu-lite waits for the root and exits with its status (3)" {
	start_private --exit 3
	dump
	wait_pids_gone 10
	restore
	# criu-lite waits while the tree runs.
	sleep 0.3
	kill -0 "$RESTORE_PID" || { echo "criu-lite restore did not wait for the root" >&2; return 1; }
	restore_ends
	[ "$RESTORE_RC" -eq 3 ] || { echo "criu-lite restore exited $RESTORE_RC, the root exited 3" >&2; return 1; }
}

@test "restore rst-private: without -d, criu-lite dies of the signal that killed the root" {
	start_private --signal 15
	dump
	wait_pids_gone 10
	restore
	restore_ends
	[ "$RESTORE_RC" -eq $((128 + 15)) ] ||
		{ echo "criu-lite restore exited $RESTORE_RC, the root was killed by SIGTERM" >&2; return 1; }
}

@test "restore -d rst-private: criu-lite returns at once, the tree runs untraced and passes its checks" {
	start_private
	dump
	wait_pids_gone 10
	local rc=0 t0 t1
	t0=$(date +%s%N)
	timeout 60 "$CRL" restore -D "$IMG" -d --pidfile "$T/restore.pid" -v 3 -o "$T/restore.log" || rc=$?
	t1=$(date +%s%N)
	[ "$rc" -eq 0 ] || { echo "restore -d exited $rc" >&2; return 1; }
	[ "$(cat "$T/restore.pid")" = "$ROOT" ] || { echo "pidfile has $(cat "$T/restore.pid"), root is $ROOT" >&2; return 1; }
	echo "# restore -d took $(((t1 - t0) / 1000000)) ms" >&3
	# The tree is on its own: running, not traced, not stopped.
	assert_running "${PIDS[@]}"
	sleep 0.2
	assert_running "${PIDS[@]}"
	check_verdict
}

@test "restore rst-private: once restored, the tree does not depend on criu-lite (killed with SIGKILL while it waits)" {
	start_private
	dump
	wait_pids_gone 10
	restore
	kill -9 "$RESTORE_PID"
	wait "$RESTORE_PID" || true
	RESTORE_PID=""
	sleep 0.2
	assert_running "${PIDS[@]}"
	check_verdict
}
