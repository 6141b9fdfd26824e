/*
 * The kernel state of a task that is not memory, set by remote calls in the
 * task itself: signal dispositions, timers, rseq, the robust futex list,
 * working directory, name, credentials, queued signals. Then the last call,
 * which unmaps the bootstrap area and hands the task its own registers.
 */
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/rseq.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <linux/sched.h>
#include <linux/sched/types.h>

#include "crl/kernel.h"
#include "crl/log.h"
#include "crl/regs.h"
#include "restore.h"


/* Every signal gets the dumped action, or SIG_DFL: the stub inherited
 * criu-lite's, which may ignore some (a shell ignores SIGINT for background
 * jobs, for one). */
static int restore_sigactions(struct rst_task *t)
{
	struct crl_ksigaction acts[65] = { 0 };
	uint64_t addr;
	long ret;
	int r;

	for (size_t i = 0; i < t->core->n_sigactions; i++) {
		const SigactionEntry *e = t->core->sigactions[i];

		acts[e->sig] = (struct crl_ksigaction){ e->handler, e->flags, e->restorer, e->mask };
	}
	for (int sig = 1; sig <= 64; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		crl_rsys_scratch_reset(&t->rsys);
		r = rst_put(t, &acts[sig], sizeof(acts[sig]), &addr);
		if (r >= 0)
			r = RCALL(t, &ret, "rt_sigaction", SYS_rt_sigaction, sig, addr, 0, 8);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * setitimer() adds one tick to the value of a CPU-time timer (VIRTUAL,
 * PROF) that getitimer() does not show, so each dump and restore would make
 * it a tick longer. Learn the tick by arming one in criu-lite.
 */
static uint64_t cpu_timer_tick_us(void)
{
	static uint64_t tick = UINT64_MAX;
	struct itimerval set = { .it_value = { 1000, 0 } }, got, off = { 0 };

	if (tick != UINT64_MAX)
		return tick;
	tick = 0;
	if (setitimer(ITIMER_PROF, &set, NULL) == 0 && getitimer(ITIMER_PROF, &got) == 0) {
		uint64_t us = got.it_value.tv_sec * 1000000ULL + got.it_value.tv_usec;

		/* No CPU time passes in between worth a tick. */
		if (us > 1000000000ULL && us - 1000000000ULL < 100000)
			tick = us - 1000000000ULL;
	}
	setitimer(ITIMER_PROF, &off, NULL);
	return tick;
}

static int restore_itimers(struct rst_task *t)
{
	for (size_t i = 0; i < t->core->n_itimers; i++) {
		const ItimerEntry *e = t->core->itimers[i];
		uint64_t value = e->value_us;
		struct itimerval it;

		if (e->which != ITIMER_REAL && value > cpu_timer_tick_us())
			value -= cpu_timer_tick_us();
		it = (struct itimerval){
			.it_interval = { e->interval_us / 1000000, e->interval_us % 1000000 },
			.it_value = { value / 1000000, value % 1000000 },
		};
		uint64_t addr;
		long ret;
		int r;

		crl_rsys_scratch_reset(&t->rsys);
		r = rst_put(t, &it, sizeof(it), &addr);
		if (r >= 0)
			r = RCALL(t, &ret, "setitimer", SYS_setitimer, e->which, addr, 0);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Write text into /proc/PID/NAME of t; a failure is warned about (the task
 * still comes back). */
static void write_proc_value(const struct rst_task *t, const char *name, const char *text)
{
	char path[64];
	int fd, r;

	snprintf(path, sizeof(path), "/proc/%d/%s", t->pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	r = fd < 0 ? negative_errno() : crl_write_all(fd, text, strlen(text));
	if (fd >= 0)
		close(fd);
	if (r < 0)
		log_warn("task %d: cannot set its %s to %s: %s", t->pid, name, text, strerror(-r));
}

/* The OOM-killer adjustment and the core dump filter (written from
 * outside), the timer slack and the I/O priority; the slack before the scheduling policy, which makes a
 * real-time task ignore it. */
static int restore_tuning(struct rst_task *t)
{
	const CoreEntry *c = t->core;
	long ret;
	int r;

	if (c->has_oom_score_adj) {
		char text[16];

		snprintf(text, sizeof(text), "%d", c->oom_score_adj);
		write_proc_value(t, "oom_score_adj", text);
	}
	if (c->has_coredump_filter) {
		char text[16];

		snprintf(text, sizeof(text), "%#x", c->coredump_filter);
		write_proc_value(t, "coredump_filter", text);
	}
	if (c->has_timer_slack_ns && c->timer_slack_ns) {
		r = crl_rsys_call(&t->rsys, &ret, SYS_prctl, PR_SET_TIMERSLACK, c->timer_slack_ns);
		if (r < 0)
			return r;
		if (ret < 0)
			log_warn("task %d: cannot set its timer slack to %llu ns: %s", t->pid,
				 (unsigned long long)c->timer_slack_ns, strerror(-ret));
	}
	if (c->has_ioprio) {
		r = crl_rsys_call(&t->rsys, &ret, SYS_ioprio_set, 1 /* IOPRIO_WHO_PROCESS */, 0, c->ioprio);
		if (r < 0)
			return r;
		if (ret < 0)
			log_warn("task %d: cannot set its I/O priority to %#x: %s", t->pid, c->ioprio,
				 strerror(-ret));
	}
	return 0;
}

/*
 * Resource limits, scheduling and CPU affinity. A limit above criu-lite's
 * own hard limit cannot be set without CAP_SYS_RESOURCE, and CPUs may be
 * missing on this machine: those are warned about, the task still comes
 * back.
 */
static int restore_limits(struct rst_task *t)
{
	const CoreEntry *c = t->core;
	uint64_t addr;
	long ret;
	int r;

	r = restore_tuning(t);
	if (r < 0)
		return r;
	for (size_t i = 0; i < c->n_rlimits; i++) {
		struct rlimit l = { c->rlimits[i]->cur, c->rlimits[i]->max };

		crl_rsys_scratch_reset(&t->rsys);
		r = rst_put(t, &l, sizeof(l), &addr);
		if (r >= 0)
			r = crl_rsys_call(&t->rsys, &ret, SYS_prlimit64, 0, c->rlimits[i]->resource, addr, 0);
		if (r < 0)
			return r;
		if (ret < 0)
			log_warn("task %d: cannot set resource limit %u to %llu/%llu: %s", t->pid,
				 c->rlimits[i]->resource, (unsigned long long)l.rlim_cur,
				 (unsigned long long)l.rlim_max, strerror(-ret));
	}
	if (c->sched) {
		struct sched_attr a = {
			.size = sizeof(a),
			.sched_policy = c->sched->policy,
			.sched_flags = c->sched->flags,
			.sched_nice = c->sched->nice,
			.sched_priority = c->sched->priority,
			.sched_runtime = c->sched->runtime,
			.sched_deadline = c->sched->deadline,
			.sched_period = c->sched->period,
		};

		crl_rsys_scratch_reset(&t->rsys);
		r = rst_put(t, &a, sizeof(a), &addr);
		if (r >= 0)
			r = crl_rsys_call(&t->rsys, &ret, SYS_sched_setattr, 0, addr, 0);
		if (r < 0)
			return r;
		if (ret < 0)
			log_warn("task %d: cannot set its scheduling policy %u (nice %d, priority %u): %s", t->pid,
				 a.sched_policy, a.sched_nice, a.sched_priority, strerror(-ret));
		/* sched_setattr() takes the nice value only for SCHED_OTHER and
		 * SCHED_BATCH; a SCHED_IDLE task keeps one too. */
		if (a.sched_policy == SCHED_IDLE) {
			r = crl_rsys_call(&t->rsys, &ret, SYS_setpriority, PRIO_PROCESS, 0, a.sched_nice);
			if (r < 0)
				return r;
			if (ret < 0)
				log_warn("task %d: cannot set its nice value %d: %s", t->pid, a.sched_nice,
					 strerror(-ret));
		}
	}
	if (c->has_cpu_affinity) {
		crl_rsys_scratch_reset(&t->rsys);
		r = rst_put(t, c->cpu_affinity.data, c->cpu_affinity.len, &addr);
		if (r >= 0)
			r = crl_rsys_call(&t->rsys, &ret, SYS_sched_setaffinity, 0, c->cpu_affinity.len, addr);
		if (r < 0)
			return r;
		if (ret < 0)
			log_warn("task %d: cannot set its CPU affinity: %s", t->pid, strerror(-ret));
	}
	return 0;
}

static int chdir_cwd(struct rst_ctx *ctx, struct rst_task *t)
{
	const char *cwd = t->core->cwd;
	uint64_t addr;
	long ret;
	int r;

	crl_rsys_scratch_reset(&t->rsys);
	r = rst_put(t, cwd, strlen(cwd) + 1, &addr);
	if (r >= 0)
		r = RCALL(t, &ret, "chdir to its working directory", SYS_chdir, addr);
	return r;
}

static bool ids_are_ours(const CredsEntry *c)
{
	gid_t groups[64];
	int n = getgroups(ARRAY_SIZE(groups), groups);
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	getresuid(&ru, &eu, &su);
	getresgid(&rg, &eg, &sg);
	if (c->uid != ru || c->euid != eu || c->suid != su || c->fsuid != eu || c->gid != rg ||
	    c->egid != eg || c->sgid != sg || c->fsgid != eg || n < 0 || c->n_groups != (size_t)n)
		return false;
	for (int i = 0; i < n; i++)
		if (c->groups[i] != groups[i])
			return false;
	return true;
}

static int set_caps(struct rst_task *t, uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = {
		{ (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		{ eff >> 32, prm >> 32, inh >> 32 },
	};
	uint64_t hdr_addr, data_addr;
	int r;

	crl_rsys_scratch_reset(&t->rsys);
	r = rst_put(t, &hdr, sizeof(hdr), &hdr_addr);
	if (r >= 0)
		r = rst_put(t, data, sizeof(data), &data_addr);
	if (r >= 0)
		r = RCALL(t, NULL, "capset", SYS_capset, hdr_addr, data_addr);
	return r;
}

/*
 * Credentials. The stub has criu-lite's (root, every capability), and the
 * order matters, each step needing what the next one takes away:
 *   1. the bounding set (dropping needs CAP_SETPCAP);
 *   2. groups, gids and uids, capabilities kept across the uid change
 *      (PR_SET_KEEPCAPS), then every permitted one made effective again;
 *   3. the securebits (needs CAP_SETPCAP in the effective set; its lock bits
 *      may then forbid touching KEEP_CAPS, so it comes after step 2);
 *   4. the capability sets, then the ambient ones;
 *   5. no_new_privs.
 * It runs after every other step that needs privileges.
 */
static int restore_creds(struct rst_task *t)
{
	const CredsEntry *c = t->core->creds;
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct mine[2];
	uint64_t prm, addr = 0;
	int r = 0;

	/* The stub's permitted set is criu-lite's. */
	if (syscall(SYS_capget, &hdr, mine) < 0)
		return log_error_errno(negative_errno(), "capget: %m");
	prm = mine[0].permitted | (uint64_t)mine[1].permitted << 32;
	for (int cap = 0; cap < 64 && r >= 0; cap++) {
		if (prctl(PR_CAPBSET_READ, cap) != 1)
			continue; /* criu-lite does not have it either */
		if (!(c->cap_bnd & (1ULL << cap)))
			r = RCALL(t, NULL, "dropping a capability from the bounding set", SYS_prctl,
				  PR_CAPBSET_DROP, cap);
	}
	if (r >= 0 && !ids_are_ours(c)) {
		r = RCALL(t, NULL, "PR_SET_KEEPCAPS", SYS_prctl, PR_SET_KEEPCAPS, 1);
		crl_rsys_scratch_reset(&t->rsys);
		if (r >= 0 && c->n_groups)
			r = rst_put(t, c->groups, c->n_groups * sizeof(uint32_t), &addr);
		if (r >= 0)
			r = RCALL(t, NULL, "setgroups", SYS_setgroups, c->n_groups, addr);
		if (r >= 0)
			r = RCALL(t, NULL, "setresgid", SYS_setresgid, c->gid, c->egid, c->sgid);
		if (r >= 0)
			r = RCALL(t, NULL, "setfsgid", SYS_setfsgid, c->fsgid);
		if (r >= 0)
			r = RCALL(t, NULL, "setresuid", SYS_setresuid, c->uid, c->euid, c->suid);
		if (r >= 0)
			r = RCALL(t, NULL, "setfsuid", SYS_setfsuid, c->fsuid);
		/* The uid change emptied the effective set. */
		if (r >= 0)
			r = set_caps(t, prm, prm, 0);
	}
	if (r >= 0)
		r = RCALL(t, NULL, "PR_SET_SECUREBITS", SYS_prctl, PR_SET_SECUREBITS, c->securebits);
	if (r >= 0)
		r = set_caps(t, c->cap_eff, c->cap_prm, c->cap_inh);
	for (int cap = 0; cap < 64 && r >= 0; cap++)
		if (c->cap_amb & (1ULL << cap))
			r = RCALL(t, NULL, "raising an ambient capability", SYS_prctl, PR_CAP_AMBIENT,
				  PR_CAP_AMBIENT_RAISE, cap, 0, 0);
	if (r >= 0 && c->no_new_privs)
		r = RCALL(t, NULL, "PR_SET_NO_NEW_PRIVS", SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	return r;
}

/* Signals that were queued at dump time, queued again by the task to
 * itself so their siginfo (sender, code) stays as it was. Whatever the stub
 * got meanwhile (all signals are blocked while it is rebuilt) is taken out
 * of its queues first. */
static int restore_pending(struct rst_task *t)
{
	uint64_t all = ~0ULL, set_addr, ts_addr, info_addr;
	struct timespec zero = { 0, 0 };
	int r;

	crl_rsys_scratch_reset(&t->rsys);
	r = rst_put(t, &all, sizeof(all), &set_addr);
	if (r >= 0)
		r = rst_put(t, &zero, sizeof(zero), &ts_addr);
	if (r >= 0)
		r = crl_rsys_reserve(&t->rsys, sizeof(siginfo_t), &info_addr);
	for (int n = 0; r >= 0 && n < 4096; n++) {
		long ret;

		r = crl_rsys_call(&t->rsys, &ret, SYS_rt_sigtimedwait, set_addr, info_addr, ts_addr, 8);
		if (r >= 0 && ret <= 0)
			break; /* -EAGAIN: the queues are empty */
		if (r >= 0)
			log_debug("task %d: signal %ld the stub got was dropped", t->pid, ret);
	}
	if (r < 0)
		return r;

	for (int shared = 0; shared < 2; shared++) {
		size_t n = shared ? t->core->n_pending_shared : t->core->n_pending_thread;
		ProtobufCBinaryData *si = shared ? t->core->pending_shared : t->core->pending_thread;

		for (size_t i = 0; i < n; i++) {
			siginfo_t info;
			uint64_t addr;
			long ret;
			int r;

			memcpy(&info, si[i].data, sizeof(info));
			crl_rsys_scratch_reset(&t->rsys);
			r = rst_put(t, &info, sizeof(info), &addr);
			if (r >= 0 && shared)
				r = RCALL(t, &ret, "rt_sigqueueinfo", SYS_rt_sigqueueinfo, t->pid, info.si_signo,
					  addr);
			else if (r >= 0)
				r = RCALL(t, &ret, "rt_tgsigqueueinfo", SYS_rt_tgsigqueueinfo, t->pid, t->pid,
					  info.si_signo, addr);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int rst_task_env(struct rst_ctx *ctx, struct rst_task *t)
{
	int r = restore_limits(t);

	return r < 0 ? r : chdir_cwd(ctx, t);
}

/*
 * Per-process switches of prctl(): TSC access, the machine-check kill
 * policy, KSM for the whole process (CAP_SYS_RESOURCE: warned about when
 * missing), and memory-deny-write-execute, which the address space, fully
 * restored by now, no longer needs to be free of. Before the creds change,
 * while the task is still privileged.
 */
static int restore_prctls(struct rst_task *t)
{
	const CoreEntry *c = t->core;
	long ret;
	int r = 0;

	if (c->has_tsc && c->tsc == PR_TSC_SIGSEGV)
		r = RCALL(t, &ret, "PR_SET_TSC", SYS_prctl, PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0);
	if (r >= 0 && c->has_mce_kill && c->mce_kill != PR_MCE_KILL_DEFAULT)
		r = RCALL(t, &ret, "PR_MCE_KILL", SYS_prctl, PR_MCE_KILL, PR_MCE_KILL_SET, c->mce_kill, 0, 0);
	if (r >= 0 && c->has_memory_merge && c->memory_merge) {
		r = crl_rsys_call(&t->rsys, &ret, SYS_prctl, PR_SET_MEMORY_MERGE, 1, 0, 0, 0);
		if (r >= 0 && ret < 0)
			log_warn("task %d: cannot turn KSM on for the whole process (PR_SET_MEMORY_MERGE): %s",
				 t->pid, strerror(-ret));
	}
	if (r >= 0 && c->has_mdwe && c->mdwe)
		r = RCALL(t, &ret, "PR_SET_MDWE", SYS_prctl, PR_SET_MDWE, c->mdwe, 0, 0, 0);
	if (r >= 0 && c->has_mempolicy && c->mempolicy) {
		uint64_t addr = 0;
		size_t len = c->has_mempolicy_nodes ? c->mempolicy_nodes.len : 0;

		crl_rsys_scratch_reset(&t->rsys);
		if (len)
			r = rst_put(t, c->mempolicy_nodes.data, len, &addr);
		/* maxnode counts one more than the bits given. */
		if (r >= 0)
			r = RCALL(t, &ret, "set_mempolicy", SYS_set_mempolicy, c->mempolicy, addr, 8 * len + 1);
	}
	/* Only the mappings to come: those locked at dump time were locked
	 * again with their VMAs. */
	if (r >= 0 && c->has_mlockall && c->mlockall)
		r = RCALL(t, &ret, "mlockall", SYS_mlockall, c->mlockall);
	return r;
}

int rst_task_core(struct rst_ctx *ctx, struct rst_task *t)
{
	const CoreEntry *c = t->core;
	uint64_t addr;
	long ret;
	int r;

	r = restore_sigactions(t);
	if (r >= 0)
		r = RCALL(t, &ret, "umask", SYS_umask, c->umask);
	if (r >= 0)
		r = RCALL(t, &ret, "personality", SYS_personality, c->personality);
	if (r >= 0) {
		crl_rsys_scratch_reset(&t->rsys);
		r = rst_put(t, c->comm, strlen(c->comm) + 1, &addr);
		if (r >= 0)
			r = RCALL(t, &ret, "PR_SET_NAME", SYS_prctl, PR_SET_NAME, addr);
	}
	if (r >= 0)
		r = RCALL(t, &ret, "PR_SET_CHILD_SUBREAPER", SYS_prctl, PR_SET_CHILD_SUBREAPER,
			  c->has_child_subreaper && c->child_subreaper);
	if (r >= 0 && c->has_thp_disable && c->thp_disable)
		r = RCALL(t, &ret, "PR_SET_THP_DISABLE", SYS_prctl, PR_SET_THP_DISABLE, 1, 0, 0, 0);
	if (r >= 0)
		r = restore_prctls(t);
	/* The alternate signal stack and the clear-child-tid address of the
	 * stub are criu-lite's: replace both (clear-child-tid with 0 when the
	 * task had none). */
	if (r >= 0) {
		stack_t ss = { .ss_flags = SS_DISABLE };
		uint64_t ss_addr;

		if (c->sigaltstack)
			ss = (stack_t){ .ss_sp = (void *)(uintptr_t)c->sigaltstack->sp,
					.ss_size = c->sigaltstack->size,
					.ss_flags = c->sigaltstack->flags };
		crl_rsys_scratch_reset(&t->rsys);
		r = rst_put(t, &ss, sizeof(ss), &ss_addr);
		if (r >= 0)
			r = RCALL(t, &ret, "sigaltstack", SYS_sigaltstack, ss_addr, 0);
	}
	if (r >= 0)
		r = RCALL(t, &ret, "set_tid_address", SYS_set_tid_address,
			  c->has_clear_tid_addr ? c->clear_tid_addr : 0);
	/* The robust list of the stub belongs to criu-lite's memory: always
	 * replace it, with NULL if the task had none. */
	if (r >= 0)
		r = RCALL(t, &ret, "set_robust_list", SYS_set_robust_list, c->robust_list, 24);
	if (r >= 0 && c->rseq)
		r = RCALL(t, &ret, "registering rseq", SYS_rseq, c->rseq->ptr, c->rseq->size, 0,
			  c->rseq->signature);
	if (r >= 0)
		r = restore_creds(t);
	/* After the uid change, which resets them. The root's parent is now
	 * criu-lite: with -d it exits at once, and the signal would kill the
	 * root; without -d it outlives the root, as its parent did. */
	if (r >= 0 && c->pdeath_signal && t->parent < 0 && ctx->opts->detach)
		log_warn("task %d: its parent-death signal %u is not set: its parent is criu-lite, which "
			 "exits now",
			 t->pid, c->pdeath_signal);
	else if (r >= 0)
		r = RCALL(t, &ret, "PR_SET_PDEATHSIG", SYS_prctl, PR_SET_PDEATHSIG, c->pdeath_signal);
	if (r >= 0)
		r = RCALL(t, &ret, "PR_SET_DUMPABLE", SYS_prctl, PR_SET_DUMPABLE, c->dumpable ? 1 : 0);
	if (r >= 0)
		r = restore_pending(t);
	/* Timers last: a signal one of them sends from now on is kept. */
	if (r >= 0)
		r = restore_itimers(t);
	return r;
}

/*
 * The last remote call unmaps the bootstrap area it runs from. The task is
 * then parked (crl_ptrace_park: stopped on its way back to user mode, before
 * it runs anything) and given its own registers, FPU state and signal mask
 * there: an interrupted syscall's -ERESTART* return is restarted or failed
 * with EINTR by the kernel, according to the signals it then delivers.
 */
int rst_task_finish(struct rst_ctx *ctx, struct rst_task *t)
{
	const CoreEntry *c = t->core;
	struct user_regs_struct regs;
	struct crl_stop_info info = { 0 };
	long ret;
	int r;

	crl_regs_from_image(c->regs, &regs);
	r = crl_rsys_call(&t->rsys, &ret, SYS_munmap, t->boot, RST_BOOT_SIZE);
	if (r < 0)
		return log_error_errno(r, "task %d: cannot unmap the bootstrap area: %m", t->pid);
	if (ret < 0)
		return log_error_errno(ret, "task %d: cannot unmap the bootstrap area: %m", t->pid);
	r = crl_ptrace_park(t->pid, &info);
	if (r >= 0)
		r = crl_ptrace_set_regs(t->pid, &regs);
	if (r < 0)
		return log_error_errno(r, "task %d: cannot set its registers: %m", t->pid);
	/* A SIGSTOP sent to it meanwhile (nothing else gets through the
	 * blocked mask) is delivered when it is let go. */
	for (unsigned i = 0; i < info.nr_stolen; i++)
		t->stop_later |= info.stolen[i].si_signo == SIGSTOP;
	for (unsigned i = 0; i < t->rsys.nr_stolen; i++)
		t->stop_later |= t->rsys.stolen[i].si_signo == SIGSTOP;
	if (c->has_xsave)
		r = crl_ptrace_set_xstate(t->pid, c->xsave.data, c->xsave.len);
	else if (c->has_fpregs)
		r = crl_ptrace_set_fpregs(t->pid, c->fpregs.data, c->fpregs.len);
	if (r < 0)
		return log_error_errno(r, "task %d: cannot set its FPU state: %m", t->pid);
	r = crl_ptrace_set_sigmask(t->pid, c->sigmask);
	if (r < 0)
		return log_error_errno(r, "task %d: cannot set its signal mask: %m", t->pid);
	return 0;
}
