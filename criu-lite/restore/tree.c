/*
 * Creating the process tree with the dumped pids.
 *
 * criu-lite creates the root with clone3(set_tid); every task starts as a
 * copy of criu-lite running stub_main(), which puts itself into its session
 * and process group, creates its own children the same way (so each task's
 * parent is the right one, and getppid() tells so), waits until the whole
 * tree exists to join process groups led by other tasks, reports ready and
 * sleeps. criu-lite then seizes every task and rebuilds it through remote
 * calls (mm.c, core.c).
 *
 * The stubs and criu-lite share one anonymous page for progress and errors.
 * A stub runs on a copy of criu-lite made by a raw clone3, so it sticks to
 * plain system calls: glibc's idea of the current thread is stale in it.
 */
#include <linux/futex.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "crl/log.h"
#include "crl/proc.h"
#include "restore.h"

struct rst_shared {
	atomic_int created;        /* tasks that exist and set their session */
	atomic_int ready;          /* tasks that also joined their group */
	atomic_int failed;
	int fail_pid;
	int fail_errno;
	char fail_step[64];
	atomic_char alive[];       /* per task: it was created (so it is ours to kill) */
};

#define TREE_TIMEOUT_MS 10000

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * The counters of the shared page are waited on with futexes (the page is
 * MAP_SHARED, so processes share them): a stub sleeps until the count
 * changes, and each change wakes every waiter.
 */
static void futex_wait(atomic_int *word, int seen, int timeout_ms)
{
	struct timespec ts = { timeout_ms / 1000, (timeout_ms % 1000) * 1000000L };

	syscall(SYS_futex, word, FUTEX_WAIT, seen, timeout_ms >= 0 ? &ts : NULL, NULL, 0);
}

static void bump(atomic_int *word)
{
	atomic_fetch_add(word, 1);
	syscall(SYS_futex, word, FUTEX_WAKE, INT32_MAX, NULL, NULL, 0);
}

/* Until every task exists (or the creation failed). */
static void wait_created(struct rst_ctx *ctx)
{
	struct rst_shared *sh = ctx->shared;
	int seen;

	while ((seen = atomic_load(&sh->created)) < (int)ctx->nr_tasks && !atomic_load(&sh->failed))
		futex_wait(&sh->created, seen, 100);
}

static pid_t clone_with_pid(pid_t pid, int exit_signal)
{
	struct clone_args args;

	memset(&args, 0, sizeof(args));
	args.exit_signal = exit_signal;
	args.set_tid = (uintptr_t)&pid;
	args.set_tid_size = 1;
	return syscall(SYS_clone3, &args, sizeof(args));
}

static void __attribute__((noreturn)) stub_fail(struct rst_shared *sh, pid_t pid, const char *step,
						 int err)
{
	if (atomic_exchange(&sh->failed, 1) == 0) {
		sh->fail_pid = pid;
		sh->fail_errno = err;
		snprintf(sh->fail_step, sizeof(sh->fail_step), "%s", step);
	}
	/* Wake whoever waits for a count that will not come. */
	bump(&sh->created);
	bump(&sh->ready);
	syscall(SYS_exit_group, 1);
	__builtin_unreachable();
}

/*
 * A zombie comes back by exiting as it did, once every task exists and it
 * is in its group (it may lead a group others join: a zombie still holds
 * its group). Its parent, a
 * stub too, does not wait for it: it stays a zombie until the restored
 * parent does.
 */
static void __attribute__((noreturn)) stub_zombie(struct rst_ctx *ctx, const PstreeEntry *e)
{
	struct rst_shared *sh = ctx->shared;
	unsigned status = e->has_exit_status ? e->exit_status : 0;
	int sig = status & 0x7f;

	if (e->comm)
		prctl(PR_SET_NAME, e->comm);
	bump(&sh->ready);
	if (sig) {
		/* Killed by a signal: die by it, without a core file of ours
		 * (the core-dump bit of the status is not reproduced). */
		struct rlimit none = { 0, 0 };
		struct sigaction dfl = { .sa_handler = SIG_DFL };
		sigset_t all;

		setrlimit(RLIMIT_CORE, &none);
		syscall(SYS_rt_sigaction, sig, &dfl, NULL, 8);
		sigemptyset(&all);
		syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, 8);
		syscall(SYS_kill, syscall(SYS_getpid), sig);
	}
	syscall(SYS_exit_group, (status >> 8) & 0xff);
	__builtin_unreachable();
}

static void __attribute__((noreturn)) stub_main(struct rst_ctx *ctx, int idx)
{
	struct rst_shared *sh = ctx->shared;
	const struct rst_task *t = &ctx->tasks[idx];
	const PstreeEntry *e = t->pstree;
	pid_t pid = t->pid;

	atomic_store(&sh->alive[idx], 1);
	/* If criu-lite or the parent stub dies before the tree is seized,
	 * take this stub with it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (syscall(SYS_getpid) != pid)
		stub_fail(sh, pid, "clone3 gave another pid", EINVAL);
	/* Keep stdin, stdout and stderr; criu-lite's other files are not the
	 * task's. */
	syscall(SYS_close_range, 3, ~0U, 0);

	if (e->sid == (uint32_t)pid) {
		if (setsid() < 0)
			stub_fail(sh, pid, "setsid", errno);
	} else if (e->pgid == (uint32_t)pid) {
		if (setpgid(0, 0) < 0)
			stub_fail(sh, pid, "setpgid (group leader)", errno);
	}

	for (size_t i = idx + 1; i < ctx->nr_tasks; i++) {
		const struct rst_task *c = &ctx->tasks[i];
		pid_t r;

		if (c->parent != idx)
			continue;
		r = clone_with_pid(c->pid, c->pstree->exit_signal);
		if (r == 0)
			stub_main(ctx, i);
		if (r < 0)
			stub_fail(sh, c->pid, "clone3 with set_tid", errno);
		/* Marked by its parent too: a failure that comes before the
		 * child runs must still find it to kill it. */
		atomic_store(&sh->alive[i], 1);
	}
	bump(&sh->created);

	/* A group led by another task can be joined once that task exists. */
	wait_created(ctx);
	if (e->pgid != (uint32_t)pid && rst_task_index(ctx, e->pgid) >= 0 && getpgid(0) != (pid_t)e->pgid &&
	    setpgid(0, e->pgid) < 0)
		stub_fail(sh, pid, "setpgid (joining a group)", errno);
	if (e->state == TASK_STATE__TASK_ZOMBIE)
		stub_zombie(ctx, e);
	bump(&sh->ready);
	for (;;)
		pause();
}

/*
 * Every dumped pid must be free. A zombie holding one is waited for (its
 * parent, often init, may reap it only every few seconds); a live process
 * stops the restore.
 */
int rst_check_pids_free(struct rst_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		pid_t pid = ctx->tasks[i].pid;
		bool told = false;

		for (int waited = 0;; waited += 50) {
			struct crl_proc_stat st;

			if (crl_proc_stat_read(pid, &st) < 0)
				break; /* free */
			if (st.state != 'Z' && st.state != 'X')
				return log_error_errno(-EBUSY, "pid %d is in use by process '%s' (parent %d): "
							       "the tree cannot be restored with its pids",
						       pid, st.comm, st.ppid);
			if (waited >= TREE_TIMEOUT_MS)
				return log_error_errno(-EBUSY, "pid %d is still held by a zombie after %d s; its "
							       "parent %d does not reap it",
						       pid, TREE_TIMEOUT_MS / 1000, st.ppid);
			if (!told) {
				log_info("Waiting for pid %d: a zombie its parent %d has not reaped yet", pid,
					 st.ppid);
				told = true;
			}
			sleep_ms(50);
		}
	}
	return 0;
}

static int wait_for_stubs(struct rst_ctx *ctx, pid_t root)
{
	struct rst_shared *sh = ctx->shared;
	uint64_t deadline = crl_now_ns() + (uint64_t)TREE_TIMEOUT_MS * 1000000;
	int seen;

	while ((seen = atomic_load(&sh->ready)) < (int)ctx->nr_tasks) {
		int status;

		if (atomic_load(&sh->failed)) {
			errno = sh->fail_errno;
			if (sh->fail_errno == EEXIST)
				return log_error_errno(-EBUSY, "task %d: its pid was taken while the tree was "
							       "being created",
						       sh->fail_pid);
			return log_error_errno(-sh->fail_errno, "task %d: %s failed: %m", sh->fail_pid,
					       sh->fail_step);
		}
		if (waitpid(root, &status, WNOHANG | __WALL) == root)
			return log_error_errno(-ECHILD, "the root task %d died while the tree was being "
							"created",
					       root);
		if (crl_now_ns() > deadline)
			return log_error_errno(-ETIMEDOUT, "the tree was not created within %d s",
					       TREE_TIMEOUT_MS / 1000);
		futex_wait(&sh->ready, seen, 10);
	}
	return 0;
}

/* Zombies must have exited before their parents are seized: a traced
 * parent would get their SIGCHLD queued. */
static int wait_for_zombies(struct rst_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct crl_proc_stat st;
		int waited = 0;

		if (!rst_zombie(&ctx->tasks[i]))
			continue;
		while (crl_proc_stat_read(ctx->tasks[i].pid, &st) == 0 && st.state != 'Z') {
			if (++waited > TREE_TIMEOUT_MS)
				return log_error_errno(-ETIMEDOUT, "task %d did not exit to become a zombie again",
						       ctx->tasks[i].pid);
			sleep_ms(1);
		}
	}
	return 0;
}

int rst_create_tree(struct rst_ctx *ctx)
{
	size_t size = sizeof(struct rst_shared) + ctx->nr_tasks;
	pid_t root;
	int r;

	ctx->shared = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctx->shared == MAP_FAILED) {
		ctx->shared = NULL;
		return log_error_errno(negative_errno(), "cannot map the shared page: %m");
	}
	/* A session or group led from outside the tree cannot be joined
	 * again: the root takes criu-lite's, and says so. */
	{
		const PstreeEntry *e = ctx->tasks[0].pstree;

		if (e->sid != e->pid && rst_task_index(ctx, e->sid) < 0)
			log_info("The tree's session %u was led from outside it: the tree joins criu-lite's "
				 "session %d",
				 e->sid, getsid(0));
		if (e->pgid != e->pid && rst_task_index(ctx, e->pgid) < 0)
			log_info("The tree's process group %u was led from outside it: the tree joins "
				 "criu-lite's group %d",
				 e->pgid, getpgrp());
	}
	/* Orphans of a failed restore come back to criu-lite to be reaped. */
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	fflush(NULL);
	root = clone_with_pid(ctx->tasks[0].pid, ctx->tasks[0].pstree->exit_signal);
	if (root == 0)
		stub_main(ctx, 0);
	if (root > 0)
		atomic_store(&ctx->shared->alive[0], 1);
	if (root < 0) {
		r = negative_errno();
		if (r == -EEXIST)
			return log_error_errno(-EBUSY, "pid %d is taken", ctx->tasks[0].pid);
		return log_error_errno(r, "cannot create the root task %d with clone3(set_tid): %m",
				       ctx->tasks[0].pid);
	}
	r = wait_for_stubs(ctx, root);
	if (r < 0)
		return r;
	r = wait_for_zombies(ctx);
	if (r < 0)
		return r;

	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct rst_task *t = &ctx->tasks[i];

		t->created = true;
		if (rst_zombie(t))
			continue;
		r = crl_ptrace_seize(t->pid, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL, &(struct crl_stop_info){ 0 },
				     TREE_TIMEOUT_MS);
		if (r < 0)
			return log_error_errno(r, "task %d: cannot seize the new task: %m", t->pid);
		t->seized = true;
	}
	log_debug("Created %zu task(s) with their pids", ctx->nr_tasks);
	return 0;
}

/* SIGKILL again to the tasks of ours still there (a task of ours has
 * criu-lite or another task of the tree as its parent). */
static void kill_again(struct rst_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct crl_proc_stat st;

		if (!atomic_load(&ctx->shared->alive[i]) || crl_proc_stat_read(ctx->tasks[i].pid, &st) < 0 ||
		    st.state == 'Z')
			continue;
		if (st.ppid == getpid() || rst_task_index(ctx, st.ppid) >= 0)
			kill(ctx->tasks[i].pid, SIGKILL);
	}
}

void rst_kill_tree(struct rst_ctx *ctx)
{
	struct rst_shared *sh = ctx->shared;
	uint64_t deadline;
	int status;

	if (!sh)
		return;
	/* Only what this restore created: a pid that was taken by another
	 * process is not ours to kill. */
	for (size_t i = ctx->nr_tasks; i-- > 0;)
		if (atomic_load(&sh->alive[i]))
			kill(ctx->tasks[i].pid, SIGKILL);
	/* Reap them all: the root is our child, the others come to us as
	 * the subreaper or as their tracer. A stub that had not run yet when
	 * the first kill went out is killed again. */
	deadline = crl_now_ns() + 5000000000ULL;
	for (unsigned round = 1;; round++) {
		pid_t p = waitpid(-1, &status, __WALL | WNOHANG);

		if (p < 0 && errno == ECHILD)
			break;
		if (p > 0)
			continue;
		if (crl_now_ns() > deadline) {
			log_warn("some restored tasks could not be reaped");
			break;
		}
		if (round % 100 == 0)
			kill_again(ctx);
		sleep_ms(2);
	}
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		ctx->tasks[i].created = false;
		ctx->tasks[i].seized = false;
	}
}
