/*
 * The per-task kernel state that is not memory: registers and FPU state,
 * signal dispositions, mask and queues, rseq, the robust futex list,
 * credentials, cwd, and small prctl-level attributes.
 *
 * Some of it only the task itself can tell (sigactions, brk, itimers,
 * pdeath signal...): those are read with remote system calls, run in one
 * session per task with every signal blocked, so nothing is delivered while
 * the task runs our calls.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <linux/rseq.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <linux/sched/types.h>

#include "core.pb-c.h"

#include "crl/image.h"
#include "crl/kernel.h"
#include "crl/limits.h"
#include "crl/log.h"
#include "crl/regs.h"
#include "crl/rsys.h"
#include "dump.h"

#define SCRATCH_SIZE (16 * CRL_PAGE_SIZE)

/* The OOM-killer adjustment, timer slack, core dump filter and I/O
 * priority, read from outside: /proc and ioprio_get() answer for a stopped
 * task. */
/* The number in /proc/PID/NAME (base 10 or 16), within [min, max]. */
static int read_proc_number(const struct dump_task *t, const char *name, int base, int64_t min, int64_t max,
			    int64_t *ret)
{
	_cleanup_free_ char *text = NULL;
	char path[64], *end;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/%s", t->pid, name);
	r = crl_read_file(path, &text, NULL);
	if (r >= 0) {
		errno = 0;
		*ret = strtoll(text, &end, base);
		if (errno || end == text || *ret < min || *ret > max)
			r = -EIO;
	}
	if (r < 0)
		return log_error_errno(r, "task %d: cannot read %s: %m", t->pid, path);
	return 0;
}

static int dump_task_tuning(struct dump_task *t, CoreEntry *core)
{
	int64_t v;
	long prio;
	int r;

	r = read_proc_number(t, "oom_score_adj", 10, -1000, 1000, &v);
	if (r < 0)
		return r;
	core->has_oom_score_adj = true;
	core->oom_score_adj = (int32_t)v;
	r = read_proc_number(t, "timerslack_ns", 10, 0, INT64_MAX, &v);
	if (r < 0)
		return r;
	core->has_timer_slack_ns = true;
	core->timer_slack_ns = (uint64_t)v;
	r = read_proc_number(t, "coredump_filter", 16, 0, UINT32_MAX, &v);
	if (r < 0)
		return r;
	core->has_coredump_filter = true;
	core->coredump_filter = (uint32_t)v;

	prio = syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, t->pid);
	if (prio < 0)
		return log_error_errno(negative_errno(), "task %d: ioprio_get: %m", t->pid);
	core->has_ioprio = true;
	core->ioprio = (uint32_t)prio;
	return 0;
}

/* What the remote calls learn. */
struct remote_state {
	struct crl_ksigaction act[65];
	uint64_t brk;
	int pdeath_signal;
	int dumpable;
	int subreaper;
	int thp_disable;
	int tsc;                     /* PR_GET_TSC */
	int mce_kill;                /* PR_MCE_KILL_GET */
	int mdwe;                    /* PR_GET_MDWE */
	int memory_merge;            /* PR_GET_MEMORY_MERGE */
	int mlock_future;            /* MCL_FUTURE (| MCL_ONFAULT) of mlockall() */
	int mempolicy;               /* get_mempolicy(): mode and mode flags */
	uint8_t mempolicy_nodes[CRL_MAX_NODEMASK];
	int securebits;
	int personality;
	struct itimerval itimer[3];
	struct rlimit rlim[16];
	stack_t altstack;
	uint64_t clear_tid_addr;
};

int dump_task_check(struct dump_ctx *ctx, struct dump_task *t)
{
	static const char *const nss[] = { "mnt", "net", "ipc", "uts", "user", "pid", "cgroup", "time" };
	_cleanup_free_ char *timers = NULL;
	char path[96];
	size_t len = 0;

	for (size_t i = 0; i < ARRAY_SIZE(nss); i++) {
		struct stat mine, its;

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", t->pid, nss[i]);
		if (stat(path, &its) < 0)
			continue; /* namespace type this kernel lacks */
		snprintf(path, sizeof(path), "/proc/self/ns/%s", nss[i]);
		if (stat(path, &mine) < 0)
			continue;
		if (mine.st_ino != its.st_ino || mine.st_dev != its.st_dev)
			return log_error_errno(-EOPNOTSUPP,
					       "task %d (%s) is in another %s namespace than criu-lite: "
					       "namespaces are not supported",
					       t->pid, t->stat.comm, nss[i]);
	}
	{
		/* A task in a chroot: the restore recreates it with criu-lite's
		 * root, where its paths would lead elsewhere. */
		struct stat mine, its;

		snprintf(path, sizeof(path), "/proc/%d/root", t->pid);
		if (stat(path, &its) < 0 || stat("/", &mine) < 0)
			return log_error_errno(negative_errno(), "task %d (%s): cannot stat its root directory: %m",
					       t->pid, t->stat.comm);
		if (mine.st_dev != its.st_dev || mine.st_ino != its.st_ino)
			return log_error_errno(-EOPNOTSUPP,
					       "task %d (%s) has another root directory than criu-lite (chroot): "
					       "not supported",
					       t->pid, t->stat.comm);
	}
	if (t->status.seccomp)
		return log_error_errno(-EOPNOTSUPP, "task %d (%s) runs under seccomp (mode %d): not supported",
				       t->pid, t->stat.comm, t->status.seccomp);
	snprintf(path, sizeof(path), "/proc/%d/timers", t->pid);
	if (crl_read_file(path, &timers, &len) == 0 && len > 0)
		return log_error_errno(-EOPNOTSUPP,
				       "task %d (%s) has POSIX timers (timer_create): not supported",
				       t->pid, t->stat.comm);
	return 0;
}

/*
 * If the task stopped inside an rseq critical section, it must resume at the
 * section's abort handler: the kernel would have sent it there on the way
 * back to user mode, and a restored task must not finish a section that was
 * interrupted.
 */
static void fixup_rseq(struct dump_task *t, const struct crl_rseq_conf *conf)
{
	struct rseq_cs cs;
	uint64_t cs_ptr;

	if (!conf->ptr)
		return;
	if (crl_mem_read(t->pid, conf->ptr + offsetof(struct rseq, rseq_cs), &cs_ptr, sizeof(cs_ptr)) < 0 ||
	    !cs_ptr)
		return;
	if (crl_mem_read(t->pid, cs_ptr, &cs, sizeof(cs)) < 0)
		return;
	if (t->final_regs.rip >= cs.start_ip && t->final_regs.rip - cs.start_ip < cs.post_commit_offset) {
		log_debug("task %d: stopped in an rseq critical section, resuming at its abort handler %#llx",
			  t->pid, (unsigned long long)cs.abort_ip);
		t->final_regs.rip = cs.abort_ip;
	}
}

/* Put back into the task's queue the signals the freeze and our calls took
 * out of it. A signal is queued by the task to itself, so its siginfo stays
 * exactly as it was (the kernel allows any si_code for that). */
static int requeue(struct crl_rsys *r, struct dump_task *t)
{
	siginfo_t all[CRL_MAX_STOLEN * 2];
	unsigned n = 0;
	int err;

	for (unsigned i = 0; !t->requeued && i < t->stop.nr_stolen; i++)
		all[n++] = t->stop.stolen[i];
	for (unsigned i = 0; i < r->nr_stolen; i++)
		all[n++] = r->stolen[i];
	r->nr_stolen = 0;
	for (unsigned i = 0; i < n; i++) {
		/* SIGSTOP cannot be blocked: queued now, the next remote call
		 * would take it again. It is sent once the task is parked;
		 * meanwhile the task counts as stopped. */
		if (all[i].si_signo == SIGSTOP) {
			t->stop_later = t->stop.group_stop = true;
			continue;
		}
		if (all[i].si_signo == SIGKILL)
			continue; /* it dies anyway */
		uint64_t addr;
		long ret;

		crl_rsys_scratch_reset(r);
		err = crl_rsys_put(r, &all[i], sizeof(all[i]), &addr);
		if (err < 0)
			return err;
		err = crl_rsys_call(r, &ret, SYS_rt_tgsigqueueinfo, t->pid, t->pid, all[i].si_signo, addr);
		if (err < 0)
			return err;
		if (ret < 0)
			return log_error_errno(ret, "task %d: cannot queue signal %d again: %m", t->pid,
					       all[i].si_signo);
	}
	t->requeued = true;
	return 0;
}

/* Start remote calls in t: a syscall instruction, all signals blocked, a
 * scratch area mapped. The final registers are computed first, so whatever
 * happens next the task can be resumed correctly. */
static int session_begin(struct dump_ctx *ctx, struct dump_task *t, struct crl_rsys *r)
{
	uint64_t ip;
	long addr;
	int err;

	memset(r, 0, sizeof(*r));
	if (!t->vmas.nr) {
		err = crl_vmas_read(t->pid, &t->vmas);
		if (err < 0)
			return log_error_errno(err, "task %d: cannot read its mappings: %m", t->pid);
	}
	err = crl_rsys_find_syscall(t->pid, &t->vmas, &ip);
	if (err < 0)
		return log_error_errno(err, "task %d: no syscall instruction found in its executable "
					    "mappings to run remote calls from",
				       t->pid);
	err = crl_rsys_init(r, t->pid, ip);
	if (err == -EINVAL)
		return log_error_errno(err, "task %d (%s) is not a 64-bit task; not supported", t->pid,
				       t->stat.comm);
	if (err < 0)
		return log_error_errno(err, "task %d: cannot read its registers: %m", t->pid);
	if (!t->regs_saved) {
		struct crl_rseq_conf conf = { 0 };

		/* The task's own registers, an interrupted syscall's -ERESTART*
		 * return included: they go back at a parking stop, where the
		 * kernel makes the restart-or-EINTR decision itself. Only an
		 * rseq critical section is sent to its abort handler here: the
		 * remote calls made the kernel forget it. */
		t->regs = r->orig;
		t->final_regs = r->orig;
		if (crl_ptrace_get_rseq(t->pid, &conf) == 0)
			fixup_rseq(t, &conf);
		err = crl_ptrace_get_sigmask(t->pid, &t->sigmask);
		if (err < 0)
			return log_error_errno(err, "task %d: cannot read its signal mask: %m", t->pid);
		t->regs_saved = true;
	}
	err = crl_ptrace_set_sigmask(t->pid, ~0ULL);
	if (err < 0)
		return log_error_errno(err, "task %d: cannot block its signals: %m", t->pid);
	t->sigmask_changed = true;

	/* MAP_NORESERVE makes the scratch area unlike the task's usual
	 * private memory, so it rarely merges with a neighbour; if it does
	 * (a neighbour mapped with MAP_NORESERVE too), unmapping it splits
	 * the neighbour back at the same boundary: the layout is unchanged
	 * either way. The VMAs were read before it existed. */
	err = crl_rsys_call(r, &addr, SYS_mmap, 0, SCRATCH_SIZE, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (err < 0)
		return log_error_errno(err, "task %d: remote call failed: %m", t->pid);
	if (addr < 0 && addr > -4096)
		return log_error_errno(addr, "task %d: cannot map a scratch area: %m", t->pid);
	crl_rsys_set_scratch(r, addr, SCRATCH_SIZE);
	return 0;
}

/*
 * End remote calls: queue back what was taken, unmap the scratch area
 * (whatever failed before), and park the task with its own registers and
 * mask, so it is safe to let go at any time from now on.
 */
static int session_end(struct dump_task *t, struct crl_rsys *r)
{
	long ret = 0;
	int err = 0, q;

	if (r->scratch) {
		err = requeue(r, t);
		q = crl_rsys_call(r, &ret, SYS_munmap, r->scratch, r->scratch_size);
		if (q >= 0 && ret < 0)
			q = log_error_errno(ret, "task %d: cannot unmap the scratch area: %m", t->pid);
		if (err >= 0)
			err = q;
		r->scratch = 0;
	}
	q = dump_task_park(t);
	return err < 0 ? err : q;
}

int dump_task_park(struct dump_task *t)
{
	struct crl_stop_info info = { 0 };
	int err;

	if (t->parked || !t->regs_saved)
		return 0;
	err = crl_ptrace_park(t->pid, &info);
	for (unsigned i = 0; i < info.nr_stolen; i++)
		if (info.stolen[i].si_signo == SIGSTOP)
			t->stop_later = t->stop.group_stop = true;
	if (err >= 0)
		err = crl_ptrace_set_regs(t->pid, &t->final_regs);
	if (err >= 0)
		err = crl_ptrace_set_sigmask(t->pid, t->sigmask);
	if (err < 0)
		return log_error_errno(err, "task %d: cannot put its own registers back: %m", t->pid);
	t->sigmask_changed = false;
	t->parked = true;
	return 0;
}

int dump_task_requeue(struct dump_ctx *ctx, struct dump_task *t)
{
	struct crl_rsys r;
	int err = session_begin(ctx, t, &r);
	/* Even a half-begun session ends parked. */
	int q = session_end(t, &r);

	return err < 0 ? err : q;
}

/* One call whose result is returned through a scratch word. */
static int remote_get_int(struct crl_rsys *r, long nr, long a1, long *ret_call, int *ret_val)
{
	uint64_t addr;
	int err;

	crl_rsys_scratch_reset(r);
	err = crl_rsys_reserve(r, sizeof(int), &addr);
	if (err < 0)
		return err;
	err = crl_rsys_call(r, ret_call, nr, a1, addr);
	if (err < 0 || *ret_call < 0)
		return err;
	return crl_mem_read(r->tid, addr, ret_val, sizeof(*ret_val));
}

static int remote_collect(struct dump_task *t, struct crl_rsys *r, struct remote_state *s)
{
	uint64_t addr, vmf = 0;
	long ret;
	int err;

	crl_rsys_scratch_reset(r);
	err = crl_rsys_reserve(r, sizeof(struct crl_ksigaction), &addr);
	if (err < 0)
		return err;
	for (int sig = 1; sig <= 64; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
		err = crl_rsys_call(r, &ret, SYS_rt_sigaction, sig, 0, addr, 8);
		if (err < 0)
			return err;
		if (ret < 0)
			return log_error_errno(ret, "task %d: cannot read the action of signal %d: %m", t->pid,
					       sig);
		err = crl_mem_read(t->pid, addr, &s->act[sig], sizeof(s->act[sig]));
		if (err < 0)
			return err;
	}

	err = crl_rsys_call(r, &ret, SYS_brk, 0);
	if (err < 0)
		return err;
	s->brk = ret;

	err = remote_get_int(r, SYS_prctl, PR_GET_PDEATHSIG, &ret, &s->pdeath_signal);
	if (err < 0 || ret < 0)
		return err < 0 ? err : log_error_errno(ret, "task %d: PR_GET_PDEATHSIG: %m", t->pid);
	err = remote_get_int(r, SYS_prctl, PR_GET_CHILD_SUBREAPER, &ret, &s->subreaper);
	if (err < 0 || ret < 0)
		return err < 0 ? err : log_error_errno(ret, "task %d: PR_GET_CHILD_SUBREAPER: %m", t->pid);
	err = remote_get_int(r, SYS_prctl, PR_GET_TSC, &ret, &s->tsc);
	if (err < 0 || ret < 0)
		return err < 0 ? err : log_error_errno(ret, "task %d: PR_GET_TSC: %m", t->pid);

#define GET(field, ...)                                                                          \
	do {                                                                                     \
		err = crl_rsys_call(r, &ret, __VA_ARGS__);                                       \
		if (err < 0)                                                                     \
			return err;                                                              \
		if (ret < 0)                                                                     \
			return log_error_errno(ret, "task %d: reading " #field ": %m", t->pid); \
		s->field = ret;                                                                  \
	} while (0)
	GET(dumpable, SYS_prctl, PR_GET_DUMPABLE);
	GET(thp_disable, SYS_prctl, PR_GET_THP_DISABLE);
	GET(securebits, SYS_prctl, PR_GET_SECUREBITS);
	GET(personality, SYS_personality, 0xffffffff);
	GET(mce_kill, SYS_prctl, PR_MCE_KILL_GET, 0, 0, 0, 0);
	/* Newer than some kernels criu-lite runs on: EINVAL there means the
	 * task cannot have them. */
#define GET_NEWER(field, ...)                                                                     \
	do {                                                                                     \
		err = crl_rsys_call(r, &ret, __VA_ARGS__);                                       \
		if (err < 0)                                                                     \
			return err;                                                              \
		if (ret < 0 && ret != -EINVAL)                                                   \
			return log_error_errno(ret, "task %d: reading " #field ": %m", t->pid); \
		s->field = ret < 0 ? 0 : ret;                                                    \
	} while (0)
	GET_NEWER(mdwe, SYS_prctl, PR_GET_MDWE, 0, 0, 0, 0);
	GET_NEWER(memory_merge, SYS_prctl, PR_GET_MEMORY_MERGE, 0, 0, 0, 0);
#undef GET_NEWER
#undef GET

	/* mlockall(MCL_FUTURE) shows nowhere but in new mappings: the
	 * scratch area, mapped after it, is locked too. */
	err = crl_smaps_vmflags(t->pid, r->scratch, &vmf);
	if (err < 0)
		return log_error_errno(err, "task %d: cannot read the flags of its scratch area: %m", t->pid);
	s->mlock_future = !(vmf & VMF(LO)) ? 0 : (vmf & VMF(LF)) ? MCL_FUTURE | MCL_ONFAULT : MCL_FUTURE;

	err = dump_check_vma_policies(t, r->scratch);
	if (err < 0)
		return err;

	/* The task's NUMA memory policy, with its mode flags, and nodes. */
	crl_rsys_scratch_reset(r);
	err = crl_rsys_reserve(r, sizeof(int) + sizeof(s->mempolicy_nodes), &addr);
	if (err >= 0)
		err = crl_rsys_call(r, &ret, SYS_get_mempolicy, addr, addr + sizeof(int),
				    8 * sizeof(s->mempolicy_nodes), 0, 0);
	if (err >= 0 && ret < 0)
		return log_error_errno(ret, "task %d: get_mempolicy: %m", t->pid);
	if (err >= 0)
		err = crl_mem_read(t->pid, addr, &s->mempolicy, sizeof(int));
	if (err >= 0)
		err = crl_mem_read(t->pid, addr + sizeof(int), s->mempolicy_nodes, sizeof(s->mempolicy_nodes));
	if (err < 0)
		return err;

	/* The alternate signal stack and the clear-child-tid address: only
	 * the task can tell. */
	crl_rsys_scratch_reset(r);
	err = crl_rsys_reserve(r, sizeof(stack_t), &addr);
	if (err >= 0)
		err = crl_rsys_call(r, &ret, SYS_sigaltstack, 0, addr);
	if (err >= 0 && ret < 0)
		return log_error_errno(ret, "task %d: sigaltstack: %m", t->pid);
	if (err >= 0)
		err = crl_mem_read(t->pid, addr, &s->altstack, sizeof(s->altstack));
	if (err < 0)
		return err;
	crl_rsys_scratch_reset(r);
	err = crl_rsys_reserve(r, sizeof(uint64_t), &addr);
	if (err >= 0)
		err = crl_rsys_call(r, &ret, SYS_prctl, 40 /* PR_GET_TID_ADDRESS */, addr);
	if (err >= 0 && ret == 0)
		err = crl_mem_read(t->pid, addr, &s->clear_tid_addr, sizeof(s->clear_tid_addr));
	if (err < 0)
		return err;

	/* Resource limits: read by the task itself, as prlimit() on another
	 * uid needs CAP_SYS_RESOURCE. */
	crl_rsys_scratch_reset(r);
	err = crl_rsys_reserve(r, sizeof(struct rlimit), &addr);
	if (err < 0)
		return err;
	for (int res = 0; res < 16; res++) {
		err = crl_rsys_call(r, &ret, SYS_prlimit64, 0, res, 0, addr);
		if (err < 0)
			return err;
		if (ret < 0)
			return log_error_errno(ret, "task %d: reading resource limit %d: %m", t->pid, res);
		err = crl_mem_read(t->pid, addr, &s->rlim[res], sizeof(s->rlim[res]));
		if (err < 0)
			return err;
	}

	crl_rsys_scratch_reset(r);
	err = crl_rsys_reserve(r, sizeof(struct itimerval), &addr);
	if (err < 0)
		return err;
	for (int which = 0; which < 3; which++) {
		err = crl_rsys_call(r, &ret, SYS_getitimer, which, addr);
		if (err < 0)
			return err;
		if (ret < 0)
			return log_error_errno(ret, "task %d: getitimer(%d): %m", t->pid, which);
		err = crl_mem_read(t->pid, addr, &s->itimer[which], sizeof(s->itimer[which]));
		if (err < 0)
			return err;
	}
	return 0;
}

/* Read both signal queues without dequeuing anything. */
static int read_pending(pid_t pid, bool shared, siginfo_t **ret, size_t *ret_nr)
{
	_cleanup_free_ siginfo_t *all = NULL;
	size_t nr = 0, cap = 0;

	for (;;) {
		int n;

		if (GROW(all, cap, nr + 64) < 0)
			return -ENOMEM;
		n = crl_ptrace_peek_siginfo(pid, shared, nr, all + nr, 64);
		if (n < 0)
			return n;
		nr += n;
		if (n < 64)
			break;
		if (nr >= 4096)
			return -E2BIG;
	}
	*ret = TAKE_PTR(all);
	*ret_nr = nr;
	return 0;
}

int dump_task_core(struct dump_ctx *ctx, struct dump_task *t)
{
	CoreEntry core = CORE_ENTRY__INIT;
	UserRegsX86 regs = USER_REGS_X86__INIT;
	CredsEntry creds = CREDS_ENTRY__INIT;
	RseqEntry rseq = RSEQ_ENTRY__INIT;
	SigactionEntry acts[64], *actp[64];
	ItimerEntry itimers[3], *itimerp[3];
	RlimitEntry rlims[16], *rlimp[16];
	SigaltstackEntry altstack = SIGALTSTACK_ENTRY__INIT;
	SchedEntry sched = SCHED_ENTRY__INIT;
	struct sched_attr attr = { .size = sizeof(attr) };
	uint8_t affinity[1024];
	long aff_len;
	_cleanup_free_ siginfo_t *pend_thread = NULL, *pend_shared = NULL;
	_cleanup_free_ ProtobufCBinaryData *pend_bin = NULL;
	_cleanup_free_ void *xsave = NULL;
	size_t nr_thread = 0, nr_shared = 0, xlen = crl_xstate_size(), xgot = 0;
	struct remote_state rs = { 0 };
	struct crl_rseq_conf conf = { 0 };
	struct crl_rsys r;
	uint64_t robust_head = 0, robust_len = 0;
	char cwd[PATH_MAX], path[64];
	struct stat st;
	ssize_t n;
	uint32_t cwd_id;
	int err;

	err = session_begin(ctx, t, &r);
	if (err >= 0)
		err = remote_collect(t, &r, &rs);
	if (err >= 0)
		err = session_end(t, &r);
	else
		session_end(t, &r);
	if (err < 0)
		return log_error_errno(err, "task %d (%s): remote calls failed: %m", t->pid, t->stat.comm);
	t->brk = rs.brk;
	t->nofile_max = rs.rlim[RLIMIT_NOFILE].rlim_max;

	/* Registers and FPU state. */
	crl_regs_to_image(&t->final_regs, &regs);
	core.regs = &regs;
	if (xlen) {
		xsave = malloc(xlen);
		if (!xsave)
			return -ENOMEM;
		err = crl_ptrace_get_xstate(t->pid, xsave, xlen, &xgot);
		if (err < 0)
			return log_error_errno(err, "task %d: cannot read its xsave area: %m", t->pid);
		core.has_xsave = true;
		core.xsave.data = xsave;
		core.xsave.len = xgot;
	} else {
		xsave = malloc(512);
		if (!xsave)
			return -ENOMEM;
		err = crl_ptrace_get_fpregs(t->pid, xsave, 512);
		if (err < 0)
			return log_error_errno(err, "task %d: cannot read its FPU state: %m", t->pid);
		core.has_fpregs = true;
		core.fpregs.data = xsave;
		core.fpregs.len = 512;
	}

	/* Signals. */
	core.sigmask = t->sigmask;
	core.sigactions = actp;
	for (int sig = 1; sig <= 64; sig++) {
		const struct crl_ksigaction *a = &rs.act[sig];
		SigactionEntry *e;

		if (sig == SIGKILL || sig == SIGSTOP || (!a->handler && !a->flags && !a->mask))
			continue;
		e = &acts[core.n_sigactions];
		sigaction_entry__init(e);
		e->sig = sig;
		e->handler = a->handler;
		e->flags = a->flags;
		e->restorer = a->restorer;
		e->mask = a->mask;
		actp[core.n_sigactions++] = e;
	}
	err = read_pending(t->pid, false, &pend_thread, &nr_thread);
	if (err >= 0)
		err = read_pending(t->pid, true, &pend_shared, &nr_shared);
	if (err < 0)
		return log_error_errno(err, "task %d: cannot read its queued signals: %m", t->pid);
	pend_bin = calloc(nr_thread + nr_shared + 1, sizeof(*pend_bin));
	if (!pend_bin)
		return -ENOMEM;
	for (size_t i = 0; i < nr_thread; i++)
		pend_bin[i] = (ProtobufCBinaryData){ sizeof(siginfo_t), (uint8_t *)&pend_thread[i] };
	for (size_t i = 0; i < nr_shared; i++)
		pend_bin[nr_thread + i] = (ProtobufCBinaryData){ sizeof(siginfo_t), (uint8_t *)&pend_shared[i] };
	core.n_pending_thread = nr_thread;
	core.pending_thread = pend_bin;
	core.n_pending_shared = nr_shared;
	core.pending_shared = pend_bin + nr_thread;

	/* rseq and the robust futex list. */
	err = crl_ptrace_get_rseq(t->pid, &conf);
	if (err < 0 && err != -EIO && err != -EINVAL)
		return log_error_errno(err, "task %d: cannot read its rseq registration: %m", t->pid);
	if (err == 0 && conf.ptr) {
		rseq.ptr = conf.ptr;
		rseq.size = conf.size;
		rseq.signature = conf.signature;
		core.rseq = &rseq;
	}
	if (syscall(SYS_get_robust_list, t->pid, &robust_head, &robust_len) < 0)
		return log_error_errno(negative_errno(), "task %d: get_robust_list: %m", t->pid);
	core.robust_list = robust_head;
	core.robust_list_len = robust_len;

	/* Credentials, from /proc/PID/status. */
	creds.uid = t->status.uid[0];
	creds.euid = t->status.uid[1];
	creds.suid = t->status.uid[2];
	creds.fsuid = t->status.uid[3];
	creds.gid = t->status.gid[0];
	creds.egid = t->status.gid[1];
	creds.sgid = t->status.gid[2];
	creds.fsgid = t->status.gid[3];
	creds.n_groups = t->status.nr_groups;
	creds.groups = t->status.groups;
	creds.cap_inh = t->status.cap_inh;
	creds.cap_prm = t->status.cap_prm;
	creds.cap_eff = t->status.cap_eff;
	creds.cap_bnd = t->status.cap_bnd;
	creds.cap_amb = t->status.cap_amb;
	creds.securebits = rs.securebits;
	creds.no_new_privs = t->status.no_new_privs;
	core.creds = &creds;

	/* The working directory: a directory that must exist at restore. */
	snprintf(path, sizeof(path), "/proc/%d/cwd", t->pid);
	n = readlink(path, cwd, sizeof(cwd) - 1);
	if (n < 0 || stat(path, &st) < 0)
		return log_error_errno(negative_errno(), "task %d: cannot read its working directory: %m",
				       t->pid);
	cwd[n] = '\0';
	if (cwd[0] != '/' || st.st_nlink == 0)
		return log_error_errno(-EOPNOTSUPP, "task %d: its working directory %s was removed: not "
						    "supported",
				       t->pid, cwd);
	err = dump_objects_add_file(ctx->objects, cwd, &st, false, &cwd_id);
	if (err < 0)
		return err;
	core.cwd = cwd;
	core.has_cwd_id = true;
	core.cwd_id = cwd_id;

	core.pid = t->pid;
	core.comm = t->stat.comm;
	core.personality = rs.personality;
	core.umask = t->status.umask;
	core.pdeath_signal = rs.pdeath_signal;
	core.dumpable = rs.dumpable;
	core.has_child_subreaper = true;
	core.child_subreaper = rs.subreaper;
	core.has_thp_disable = true;
	core.thp_disable = rs.thp_disable;
	core.has_tsc = core.has_mce_kill = core.has_mdwe = core.has_memory_merge = true;
	core.tsc = rs.tsc;
	core.mce_kill = rs.mce_kill;
	core.mdwe = rs.mdwe;
	core.memory_merge = rs.memory_merge;
	core.has_mlockall = true;
	core.mlockall = rs.mlock_future;
	if (rs.mempolicy) {
		size_t len = sizeof(rs.mempolicy_nodes);

		while (len && !rs.mempolicy_nodes[len - 1])
			len--;
		core.has_mempolicy = core.has_mempolicy_nodes = true;
		core.mempolicy = rs.mempolicy;
		core.mempolicy_nodes.data = rs.mempolicy_nodes;
		core.mempolicy_nodes.len = len;
	}
	core.itimers = itimerp;
	for (int w = 0; w < 3; w++) {
		const struct itimerval *it = &rs.itimer[w];
		ItimerEntry *e = &itimers[core.n_itimers];

		if (!it->it_value.tv_sec && !it->it_value.tv_usec && !it->it_interval.tv_sec &&
		    !it->it_interval.tv_usec)
			continue;
		itimer_entry__init(e);
		e->which = w;
		e->interval_us = it->it_interval.tv_sec * 1000000ULL + it->it_interval.tv_usec;
		e->value_us = it->it_value.tv_sec * 1000000ULL + it->it_value.tv_usec;
		itimerp[core.n_itimers++] = e;
	}

	if (!(rs.altstack.ss_flags & SS_DISABLE)) {
		altstack.sp = (uintptr_t)rs.altstack.ss_sp;
		altstack.size = rs.altstack.ss_size;
		altstack.flags = rs.altstack.ss_flags & ~(SS_ONSTACK | SS_DISABLE);
		core.sigaltstack = &altstack;
	}
	core.has_clear_tid_addr = true;
	core.clear_tid_addr = rs.clear_tid_addr;
	core.rlimits = rlimp;
	for (int res = 0; res < 16; res++) {
		rlimit_entry__init(&rlims[res]);
		rlims[res].resource = res;
		rlims[res].cur = rs.rlim[res].rlim_cur;
		rlims[res].max = rs.rlim[res].rlim_max;
		rlimp[core.n_rlimits++] = &rlims[res];
	}
	/* Scheduling and CPU placement: anyone may read them. */
	if (syscall(SYS_sched_getattr, t->pid, &attr, sizeof(attr), 0) < 0)
		return log_error_errno(negative_errno(), "task %d: sched_getattr: %m", t->pid);
	sched.policy = attr.sched_policy;
	sched.flags = attr.sched_flags;
	sched.nice = attr.sched_nice;
	sched.priority = attr.sched_priority;
	if (attr.sched_policy == 6 /* SCHED_DEADLINE */) {
		sched.has_runtime = sched.has_deadline = sched.has_period = true;
		sched.runtime = attr.sched_runtime;
		sched.deadline = attr.sched_deadline;
		sched.period = attr.sched_period;
	}
	core.sched = &sched;
	aff_len = syscall(SYS_sched_getaffinity, t->pid, sizeof(affinity), affinity);
	if (aff_len < 0)
		return log_error_errno(negative_errno(), "task %d: sched_getaffinity: %m", t->pid);
	core.has_cpu_affinity = true;
	core.cpu_affinity.data = affinity;
	core.cpu_affinity.len = aff_len;
	err = dump_task_tuning(t, &core);
	if (err < 0)
		return err;

	err = crl_img_write_single(ctx->stagefd, CRL_IMG_CORE, t->pid, &core.base);
	if (err < 0)
		return log_error_errno(err, "cannot write core-%d.img: %m", t->pid);
	return 0;
}
