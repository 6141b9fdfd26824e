/*
 * criu-lite restore: bring a dumped tree back.
 *
 * The order:
 *   1. read and check every image (images.c); check every pid is free and
 *      every file the tree uses is still the dumped one; recreate unlinked
 *      files (objects.c) — all before any task exists;
 *   2. create the tasks with their pids, sessions and groups (tree.c);
 *   3. per task in tree order: its address space (mm.c); the first task
 *      mapping a shared object creates it, the later ones reopen it through
 *      map_files; then every fd of the tree (files.c), then per task the rest
 *      of its kernel state (core.c): memfds sealed before the fds holding
 *      them close, credentials late, interval timers last;
 *   4. park every task in an interrupt stop, hand it its registers
 *      (core.c), and let all of them go at once: the kernel restarts or
 *      fails an interrupted syscall as it would have;
 *   5. with -d, return; otherwise wait for the root and pass on its status.
 * A failure at any step kills every task this restore created; the images
 * are only ever read.
 */
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "crl/log.h"
#include "restore.h"

static int write_pidfile(const char *path, pid_t pid)
{
	char buf[32], tmp[4096];
	int fd, n, r;

	n = snprintf(buf, sizeof(buf), "%d\n", pid);
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return log_error_errno(negative_errno(), "cannot write the pid file %s: %m", path);
	r = crl_write_all(fd, buf, n);
	close(fd);
	/* Renamed into place: a reader never sees a half-written file. */
	if (r >= 0 && rename(tmp, path) < 0)
		r = negative_errno();
	if (r < 0) {
		unlink(tmp);
		return log_error_errno(r, "cannot write the pid file %s: %m", path);
	}
	return 0;
}

/* Let every task go, together. */
static void release_tree(struct rst_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct rst_task *t = &ctx->tasks[i];

		if (!t->seized)
			continue; /* a zombie */
		/* A task dumped while stopped by job control stops again, as
		 * does one that was sent SIGSTOP while it was rebuilt. */
		if (t->pstree->state == TASK_STATE__TASK_STOPPED || t->stop_later)
			kill(t->pid, SIGSTOP);
		if (crl_ptrace_detach(t->pid) < 0)
			log_warn("task %d: cannot detach: %m", t->pid);
		t->seized = false;
	}
}

static int wait_root(struct rst_ctx *ctx, int *ret_status)
{
	pid_t root = ctx->tasks[0].pid;
	int status;

	for (;;) {
		/* __WALL: the root's exit signal may not be SIGCHLD. */
		pid_t p = waitpid(root, &status, __WALL);

		if (p == root)
			break;
		if (p < 0 && errno != EINTR)
			return log_error_errno(negative_errno(), "cannot wait for the root task %d: %m", root);
	}
	if (WIFEXITED(status)) {
		log_info("The root task %d exited with status %d", root, WEXITSTATUS(status));
		*ret_status = WEXITSTATUS(status);
	} else {
		log_info("The root task %d was killed by signal %d", root, WTERMSIG(status));
		*ret_status = 0x100 + WTERMSIG(status);
	}
	return 0;
}

int cmd_restore(const struct crl_opts *o, int *ret_status)
{
	struct rst_ctx ctx = { .opts = o, .dirfd = -1 };
	uint64_t t0 = crl_now_ns();
	int r;

	ctx.dirfd = open(o->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctx.dirfd < 0)
		return log_error_errno(negative_errno(), "cannot open the image directory %s: %m", o->dir);
	r = rst_load_images(&ctx);
	if (r >= 0)
		r = rst_load_files(&ctx);
	if (r >= 0)
		r = rst_check_files(&ctx);
	if (r >= 0)
		r = rst_check_socket_paths(&ctx);
	if (r >= 0)
		r = rst_check_pids_free(&ctx);
	if (r >= 0)
		r = rst_prepare_ghosts(&ctx);
	if (r >= 0)
		r = rst_create_tree(&ctx);
	/* Zombies exited in tree creation: nothing more to do for them. */
	for (size_t i = 0; i < ctx.nr_tasks && r >= 0; i++) {
		if (rst_zombie(&ctx.tasks[i]))
			continue;
		if (crl_interrupted()) {
			r = log_error_errno(-EINTR, "interrupted by signal %d", crl_interrupted());
			break;
		}
		r = rst_task_mm(&ctx, &ctx.tasks[i]);
		if (r >= 0)
			r = rst_task_env(&ctx, &ctx.tasks[i]);
	}
	if (r >= 0)
		r = rst_restore_files(&ctx);
	for (size_t i = 0; i < ctx.nr_tasks && r >= 0; i++)
		if (!rst_zombie(&ctx.tasks[i]))
			r = rst_task_core(&ctx, &ctx.tasks[i]);
	for (size_t i = 0; i < ctx.nr_tasks && r >= 0; i++)
		if (!rst_zombie(&ctx.tasks[i]))
			r = rst_task_finish(&ctx, &ctx.tasks[i]);
	if (r >= 0 && crl_interrupted())
		r = log_error_errno(-EINTR, "interrupted by signal %d", crl_interrupted());
	if (r >= 0 && o->pidfile)
		r = write_pidfile(o->pidfile, ctx.tasks[0].pid);
	if (r < 0) {
		if (ctx.shared) {
			rst_kill_tree(&ctx);
			rst_unbind_sockets(&ctx);
			log_error("Restore from %s failed; every task it created was killed", o->dir);
		} else {
			log_error("Restore from %s refused; nothing was created", o->dir);
		}
		goto out;
	}

	release_tree(&ctx);
	crl_default_termination();
	/* Orphans of the restored tree go to init again, as they would
	 * have before the dump. */
	prctl(PR_SET_CHILD_SUBREAPER, 0);
	log_info("Restored %zu task(s) from %s in %llu ms", ctx.nr_tasks, o->dir,
		 (unsigned long long)((crl_now_ns() - t0) / 1000000));
	if (!o->detach) {
		rst_release_objects(&ctx);
		rst_tty_foreground(&ctx, true);
		r = wait_root(&ctx, ret_status);
		rst_tty_foreground(&ctx, false);
	}
out:
	rst_release_objects(&ctx);
	rst_free_files(&ctx);
	rst_free_images(&ctx);
	close(ctx.dirfd);
	return r;
}
