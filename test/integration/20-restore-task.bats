#!/usr/bin/env bats
# The state of each task, after a restore: rst-sleepers (tasks dumped asleep
# in nanosleep, FUTEX_WAIT, waitpid, sigsuspend or read() wake up right,
# with their pids, ppids, signal handlers, blocked masks and pending
# signals) and rst-state (timers, credentials, prctl settings, umask, cwd,
# rseq, vDSO).

load helpers
load restore-helpers

@test "restore rst-sleepers: pids, ppids, sigactions, blocked masks, pending signals; nanosleep, futex, waitpid, sigsuspend resume" {
	start_victim rst-sleepers
	[ "${#PIDS[@]}" -eq 5 ]
	# The reaper's own child is in the tree too (not a vl task).
	wait_file "$T/extra-pids" 5
	local extra
	while read -r extra; do PIDS+=("$extra"); done < "$T/extra-pids"
	dump
	wait_pids_gone 10
	# criu-lite runs with signals ignored that the tree had at SIG_DFL: the
	# restored tasks must not inherit that.
	trap '' TERM PIPE XFSZ VTALRM
	restore
	trap - TERM PIPE XFSZ VTALRM
	check_verdict
}

@test "restore rst-sleepers pipe: a reader blocked in read() of a pipe gets what its sibling writes after the restore" {
	start_victim rst-sleepers pipe
	dump_restore_check
}

@test "restore rst-state: itimers, credentials and capabilities, prctl settings, umask, cwd, name, rseq and vDSO time" {
	start_victim rst-state
	[ "${#PIDS[@]}" -eq 3 ]
	dump_restore_check
}

@test "restore rst-cow: a task stopped by SIGSTOP at dump time is stopped again after the restore, and goes on after SIGCONT" {
	start_victim rst-cow
	local stopped=${PIDS[1]} i
	kill -STOP "$stopped"
	for ((i = 0; i < 100; i++)); do
		[ "$(task_state "$stopped")" = T ] && break
		sleep 0.02
	done
	dump
	wait_pids_gone 10
	restore
	for ((i = 0; i < 100; i++)); do
		[ "$(task_state "$stopped")" = T ] && break
		sleep 0.02
	done
	[ "$(task_state "$stopped")" = T ] || { echo "pid $stopped is in state $(task_state "$stopped") after the restore, not T" >&2; return 1; }
	[ "$(tracer_of "$stopped")" = 0 ] || { echo "pid $stopped is still traced" >&2; return 1; }
	assert_running "${PIDS[0]}" "${PIDS[2]}" "${PIDS[3]}"
	kill -CONT "$stopped"
	check_verdict
}

@test "restore rst-state limits: resource limits, nice value, scheduling policy, CPU affinity, oom_score_adj, timer slack, I/O priority, TSC mode, machine-check policy, MDWE, core dump filter, memory policy and mlockall(MCL_FUTURE) of each task" {
	start_victim rst-state limits
	[ "${#PIDS[@]}" -eq 3 ]
	dump_restore_check
}

@test "restore rst-regs: a task dumped while spinning in user space keeps every GPR and vector register (xmm/ymm/zmm); MXCSR and x87 control word kept" {
	start_victim rst-regs
	[ "${#PIDS[@]}" -eq 2 ]
	dump_restore_check
	grep -h "spun" "$T/victim.log" | sed 's/^/# /' >&3 || true
}
