/*
 * Freezing the process tree, and leaving it afterwards.
 *
 * The tree is walked breadth first from the root: a task is seized and
 * stopped before its children file is read, so a frozen parent cannot add a
 * child behind our back, and the list of children read after the stop is
 * complete. A final pass re-reads every children file to prove it.
 */
#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "pstree.pb-c.h"

#include "crl/image.h"
#include "crl/log.h"
#include "dump.h"

#define FREEZE_TIMEOUT_MS 10000

static int add_task(struct dump_ctx *ctx, pid_t pid, int parent)
{
	struct dump_task *t;

	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid)
			return log_error_errno(-EINVAL, "task %d appears twice in the tree", pid);
	if (GROW(ctx->tasks, ctx->cap_tasks, ctx->nr_tasks + 1) < 0)
		return log_error_errno(-ENOMEM, "out of memory");
	t = &ctx->tasks[ctx->nr_tasks++];
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->parent = parent;
	return 0;
}

/* Pids of criu-lite and its ancestors: a tree holding one of them cannot be
 * frozen by us. */
static bool is_self_or_ancestor(pid_t pid)
{
	pid_t p = getpid();

	for (int depth = 0; p > 1 && depth < 4096; depth++) {
		struct crl_proc_stat st;

		if (p == pid)
			return true;
		if (crl_proc_stat_read(p, &st) < 0)
			break;
		p = st.ppid;
	}
	return false;
}

static int tracer_of(pid_t pid)
{
	_cleanup_free_ char *text = NULL;
	char path[64], *p;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (crl_read_file(path, &text, NULL) < 0)
		return 0;
	p = strstr(text, "TracerPid:");
	return p ? atoi(p + 10) : 0;
}

/* Seize one task and check it is a task we can dump. */
static int freeze_task(struct dump_ctx *ctx, struct dump_task *t)
{
	_cleanup_free_ pid_t *tids = NULL;
	size_t nr_tids = 0;
	int r;

	if (is_self_or_ancestor(t->pid))
		return log_error_errno(-EINVAL, "task %d is criu-lite itself or one of its ancestors: "
						"it cannot dump the tree it runs in",
				       t->pid);
	r = crl_proc_stat_read(t->pid, &t->stat);
	if (r == -ENOENT)
		return log_error_errno(-ESRCH, "task %d does not exist (or exited during the freeze)",
				       t->pid);
	if (r < 0)
		return log_error_errno(r, "task %d: cannot read /proc/%d/stat: %m", t->pid, t->pid);
	if (t->stat.state == 'X')
		return log_error_errno(-ESRCH, "task %d (%s) exited while the tree was being frozen", t->pid,
				       t->stat.comm);
	if (t->stat.state == 'Z') {
		/* It exited; its parent has not reaped it. It comes back as
		 * the zombie it is, with its exit status. */
		if (t->parent < 0)
			return log_error_errno(-EINVAL, "task %d (%s) is a zombie: there is no tree to dump",
					       t->pid, t->stat.comm);
		t->zombie = true;
		log_debug("task %d (%s) is a zombie with exit status %#x", t->pid, t->stat.comm,
			  t->stat.exit_code);
		return 0;
	}
	if (t->stat.flags & 0x00200000 /* PF_KTHREAD */)
		return log_error_errno(-EINVAL, "task %d (%s) is a kernel thread", t->pid, t->stat.comm);

	r = crl_ptrace_seize(t->pid, PTRACE_O_TRACESYSGOOD, &t->stop, FREEZE_TIMEOUT_MS);
	if (r == -ETIMEDOUT) {
		crl_proc_stat_read(t->pid, &t->stat);
		return log_error_errno(r, "task %d (%s) did not stop within %d s: it waits in the kernel "
					  "(state %c; a vfork() parent waits for its child); not supported",
				       t->pid, t->stat.comm, FREEZE_TIMEOUT_MS / 1000, t->stat.state);
	}
	if (r == -ESRCH)
		return log_error_errno(r, "task %d (%s) exited while the tree was being frozen", t->pid,
				       t->stat.comm);
	if (r == -EPERM) {
		int tracer = tracer_of(t->pid);

		if (tracer)
			return log_error_errno(r, "task %d (%s) is already traced by process %d", t->pid,
					       t->stat.comm, tracer);
		return log_error_errno(r, "task %d (%s) cannot be traced: %m", t->pid, t->stat.comm);
	}
	if (r < 0)
		return log_error_errno(r, "task %d (%s): cannot seize it: %m", t->pid, t->stat.comm);
	t->seized = true;
	log_debug("task %d (%s) frozen%s, %u signal(s) taken from its queue", t->pid, t->stat.comm,
		  t->stop.group_stop ? " (it was stopped)" : "", t->stop.nr_stolen);

	/* The task is still now: read what it is. */
	r = crl_proc_stat_read(t->pid, &t->stat);
	if (r >= 0)
		r = crl_proc_status_read(t->pid, &t->status);
	if (r < 0)
		return log_error_errno(r, "task %d: cannot read its /proc state: %m", t->pid);
	r = crl_proc_threads(t->pid, &tids, &nr_tids);
	if (r < 0)
		return log_error_errno(r, "task %d: cannot list its threads: %m", t->pid);
	if (nr_tids > 1)
		return log_error_errno(-EOPNOTSUPP,
				       "task %d (%s) has %zu threads: multi-threaded tasks are not "
				       "supported yet",
				       t->pid, t->stat.comm, nr_tids);
	if (t->status.nspid_depth > 1)
		return log_error_errno(-EOPNOTSUPP,
				       "task %d (%s) lives in a nested pid namespace: not supported",
				       t->pid, t->stat.comm);
	return 0;
}

static int find_task(const struct dump_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid)
			return i;
	return -1;
}

/*
 * Sessions and process groups must be re-creatable by the restorer, which
 * forks each task from its parent: a task either leads its own session or
 * inherited its parent's; a process group outside the tree can only be
 * inherited.
 */
static int check_sessions(const struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		const struct dump_task *t = &ctx->tasks[i], *p;

		if (t->parent < 0)
			continue;
		p = &ctx->tasks[t->parent];
		if (t->stat.sid != t->pid && t->stat.sid != p->stat.sid)
			return log_error_errno(-EOPNOTSUPP,
					       "task %d is in session %d, which is neither its own nor "
					       "its parent's (%d): not supported",
					       t->pid, t->stat.sid, p->stat.sid);
		if (t->stat.pgid != t->pid && find_task(ctx, t->stat.pgid) < 0 &&
		    t->stat.pgid != p->stat.pgid)
			return log_error_errno(-EOPNOTSUPP,
					       "task %d is in process group %d, outside the tree and "
					       "not its parent's: not supported",
					       t->pid, t->stat.pgid);
	}
	return 0;
}

int dump_freeze_tree(struct dump_ctx *ctx)
{
	int r;

	r = add_task(ctx, ctx->opts->pid, -1);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		_cleanup_free_ pid_t *kids = NULL;
		size_t nr_kids = 0;

		r = freeze_task(ctx, &ctx->tasks[i]);
		if (r < 0)
			return r;
		if (ctx->tasks[i].zombie)
			continue; /* it has no children any more */
		r = crl_proc_children(ctx->tasks[i].pid, ctx->tasks[i].pid, &kids, &nr_kids);
		if (r < 0)
			return log_error_errno(r, "task %d: cannot read its children: %m",
					       ctx->tasks[i].pid);
		for (size_t k = 0; k < nr_kids; k++) {
			r = add_task(ctx, kids[k], i);
			if (r < 0)
				return r;
		}
	}

	/* Every task is stopped: its children cannot change any more. Check
	 * that the walk saw them all. */
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		_cleanup_free_ pid_t *kids = NULL;
		size_t nr_kids = 0;

		if (ctx->tasks[i].zombie)
			continue;
		r = crl_proc_children(ctx->tasks[i].pid, ctx->tasks[i].pid, &kids, &nr_kids);
		if (r < 0)
			return log_error_errno(r, "task %d: cannot read its children: %m",
					       ctx->tasks[i].pid);
		for (size_t k = 0; k < nr_kids; k++)
			if (find_task(ctx, kids[k]) < 0)
				return log_error_errno(-EAGAIN, "task %d got a new child %d during the freeze",
						       ctx->tasks[i].pid, kids[k]);
	}
	log_info("Froze %zu task(s) of the tree of %d", ctx->nr_tasks, ctx->opts->pid);
	return check_sessions(ctx);
}

int dump_check_alive(struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct dump_task *t = &ctx->tasks[i];
		int status;
		pid_t r;

		if (!t->seized)
			continue;
		/* A traced task that died reports to us, its tracer. */
		r = waitpid(t->pid, &status, __WALL | WNOHANG);
		if (r == t->pid && (WIFEXITED(status) || WIFSIGNALED(status))) {
			t->exited = true;
			return log_error_errno(-ESRCH, "task %d (%s) exited during the dump", t->pid,
					       t->stat.comm);
		}
	}
	return 0;
}

void dump_resume_tree(struct dump_ctx *ctx)
{
	for (size_t i = ctx->nr_tasks; i-- > 0;) {
		struct dump_task *t = &ctx->tasks[i];
		int r;

		if (!t->seized || t->exited)
			continue;
		if (t->stop.nr_stolen && !t->requeued) {
			r = dump_task_requeue(ctx, t);
			if (r < 0)
				log_warn("task %d: %u signal(s) taken while freezing it could not be "
					 "queued again",
					 t->pid, t->stop.nr_stolen);
		}
		/* Remote calls left it parked with its own registers; if one
		 * failed half-way, park it now. */
		if (dump_task_park(t) < 0) {
			if (t->regs_saved && crl_ptrace_set_regs(t->pid, &t->final_regs) < 0)
				log_warn("task %d: cannot put its registers back: %m", t->pid);
			if (t->sigmask_changed && crl_ptrace_set_sigmask(t->pid, t->sigmask) < 0)
				log_warn("task %d: cannot put its signal mask back: %m", t->pid);
		}
		/* A SIGSTOP taken from it is delivered now. */
		if (t->stop_later)
			syscall(SYS_tgkill, t->pid, t->pid, SIGSTOP);
		r = crl_ptrace_detach(t->pid);
		if (r < 0 && r != -ESRCH)
			log_warn("task %d: cannot detach: %m", t->pid);
		t->seized = false;
	}
}

int dump_kill_tree(struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].seized && !ctx->tasks[i].exited)
			kill(ctx->tasks[i].pid, SIGKILL);
	/* As their tracer we see each one die; wait so that when this command
	 * returns, none is still running. */
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct dump_task *t = &ctx->tasks[i];
		int status;

		while (t->seized && !t->exited) {
			if (crl_ptrace_wait(t->pid, &status) < 0 || WIFEXITED(status) || WIFSIGNALED(status))
				t->exited = true;
		}
		t->seized = false;
	}
	return 0;
}

int dump_write_pstree(struct dump_ctx *ctx)
{
	struct crl_img *img = NULL;
	int r;

	r = crl_img_open(ctx->stagefd, CRL_IMG_PSTREE, 0, CRL_IMG_WRITE, &img);
	if (r < 0)
		return log_error_errno(r, "cannot create pstree.img: %m");
	for (size_t i = 0; i < ctx->nr_tasks && r >= 0; i++) {
		const struct dump_task *t = &ctx->tasks[i];
		PstreeEntry e = PSTREE_ENTRY__INIT;
		uint32_t tid = t->pid;

		e.pid = t->pid;
		e.ppid = t->parent < 0 ? 0 : ctx->tasks[t->parent].pid;
		e.pgid = t->stat.pgid;
		e.sid = t->stat.sid;
		e.n_threads = 1;
		e.threads = &tid;
		e.exit_signal = t->stat.exit_signal;
		e.state = t->zombie ? TASK_STATE__TASK_ZOMBIE :
			  t->stop.group_stop ? TASK_STATE__TASK_STOPPED : TASK_STATE__TASK_ALIVE;
		if (t->zombie) {
			e.has_exit_status = true;
			e.exit_status = t->stat.exit_code;
		}
		e.comm = (char *)t->stat.comm;
		r = crl_img_write(img, &e.base);
	}
	if (r < 0) {
		log_error("pstree.img: %s", crl_img_error(img));
		crl_img_close(img);
		return r;
	}
	r = crl_img_close(img);
	if (r < 0)
		return log_error_errno(r, "cannot write pstree.img: %m");
	return 0;
}
