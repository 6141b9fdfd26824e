/*
 * File descriptors, for the whole tree at once.
 *
 * Each dumped open file description is created once, in the first task (in
 * tree order, then fd order) that has an fd of it; every other fd of it, in
 * that task or another, takes that very description with pidfd_getfd() run
 * in its task, so one offset and one set of flags are shared again, as
 * before the dump.
 *
 * A task's old fds are all closed first; new fds are made at the lowest free
 * number and moved to their dumped number with dup3(). Things that must live
 * until the tree is done (the other end of a new pipe, a socket of a pair
 * another task will take, a pidfd) are moved up to a holding range above
 * every dumped fd, and closed at the end.
 *
 * Pipes get their unread bytes back through a writer criu-lite opens on the
 * new pipe. Unix sockets are made before any fd is placed (sockets.c).
 */
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>

#include "crl/kernel.h"
#include "crl/limits.h"
#include "crl/log.h"
#include "crl/proc.h"
#include "restore.h"

#define FREE_MSG(m) do { if (m) protobuf_c_message_free_unpacked(&(m)->base, NULL); } while (0)

/* --- reading -------------------------------------------------------- */

static int add_desc(struct rst_ctx *ctx, ProtobufCMessage *m, void *arg, char *why, size_t len)
{
	FileDescEntry *e = (FileDescEntry *)m;

	if (GROW(ctx->descs, ctx->cap_descs, ctx->nr_descs + 1) < 0) {
		FREE_MSG(e);
		return -ENOMEM;
	}
	ctx->descs[ctx->nr_descs++] = (struct rst_desc){ .e = e };
	if (e->id != ctx->nr_descs) {
		snprintf(why, len, "description %u out of order", e->id);
		return -EBADMSG;
	}
	return 0;
}

static int add_pipe(struct rst_ctx *ctx, ProtobufCMessage *m, void *arg, char *why, size_t len)
{
	PipeEntry *e = (PipeEntry *)m;

	if (GROW(ctx->pipes, ctx->cap_pipes, ctx->nr_pipes + 1) < 0) {
		FREE_MSG(e);
		return -ENOMEM;
	}
	ctx->pipes[ctx->nr_pipes++] = (struct rst_pipe){ .e = e, .rfd = -1, .wfd = -1 };
	if (e->id != ctx->nr_pipes) {
		snprintf(why, len, "pipe %u out of order", e->id);
		return -EBADMSG;
	}
	return 0;
}

static int add_sock(struct rst_ctx *ctx, ProtobufCMessage *m, void *arg, char *why, size_t len)
{
	UnixSkEntry *e = (UnixSkEntry *)m;

	if (GROW(ctx->socks, ctx->cap_socks, ctx->nr_socks + 1) < 0) {
		FREE_MSG(e);
		return -ENOMEM;
	}
	ctx->socks[ctx->nr_socks++] = (struct rst_sock){ .e = e, .fd = -1, .dead_fd = -1 };
	if (e->id != ctx->nr_socks) {
		snprintf(why, len, "socket %u out of order", e->id);
		return -EBADMSG;
	}
	return 0;
}

static int add_fd(struct rst_ctx *ctx, ProtobufCMessage *m, void *arg, char *why, size_t len)
{
	struct rst_task *t = arg;
	FdEntry *e = (FdEntry *)m;

	if (GROW(t->fds, t->cap_fds, t->nr_fds + 1) < 0) {
		FREE_MSG(e);
		return -ENOMEM;
	}
	t->fds[t->nr_fds++] = e;
	if (t->nr_fds > 1 && e->fd <= t->fds[t->nr_fds - 2]->fd) {
		snprintf(why, len, "fd %u is not after fd %u", e->fd, t->fds[t->nr_fds - 2]->fd);
		return -EBADMSG;
	}
	if (e->desc_id > ctx->nr_descs) {
		snprintf(why, len, "fd %u names description %u, which is not in filedesc.img", e->fd, e->desc_id);
		return -EBADMSG;
	}
	return 0;
}

/* Each description names things of the right kind. */
static int check_desc(struct rst_ctx *ctx, const FileDescEntry *e)
{
	struct rst_object *o = e->has_object_id ? rst_object(ctx, e->object_id) : NULL;
	const char *bad = NULL;

	switch (e->kind) {
	case FD_KIND__FD_REG:
	case FD_KIND__FD_DIR:
		/* Opened again by path: a FIFO or a device opened for
		 * reading or writing (not O_PATH) would wait or act. */
		if (!o || !o->file)
			bad = "a file that is not in files.img";
		else if (e->kind == FD_KIND__FD_DIR ? !S_ISDIR(o->file->mode)
			 : (e->flags & O_PATH) ? S_ISDIR(o->file->mode) : !S_ISREG(o->file->mode))
			bad = e->kind == FD_KIND__FD_DIR ? "a file that is not a directory" :
			      (e->flags & O_PATH) ? "a directory" : "a file that is not a regular file";
		break;
	case FD_KIND__FD_FIFO:
		if (!o || !o->file)
			bad = "a FIFO whose path is not in files.img";
		else if (!S_ISFIFO(o->file->mode))
			bad = "a FIFO whose path is not a FIFO's in files.img";
		/* fall through */
	case FD_KIND__FD_PIPE:
		if (e->pipe_id > ctx->nr_pipes)
			bad = "a pipe that is not in pipes.img";
		break;
	case FD_KIND__FD_MEMFD:
		if (!o || !o->shmem || o->shmem->kind != SHMEM_KIND__SHMEM_MEMFD)
			bad = "a memfd that is not in shmem.img";
		break;
	case FD_KIND__FD_UNLINKED:
		if (!o || !o->shmem || o->shmem->kind != SHMEM_KIND__SHMEM_UNLINKED)
			bad = "an unlinked file that is not in shmem.img";
		break;
	case FD_KIND__FD_UNIX:
		if (e->sk_id > ctx->nr_socks)
			bad = "a socket that is not in unixsk.img";
		break;
	case FD_KIND__FD_TTY:
		ctx->has_tty = true;
		break;
	default:
		break;
	}
	if (bad)
		return log_error_errno(-EBADMSG, "%s/filedesc.img: record %u: description %u names %s",
				       ctx->opts->dir, e->id - 1, e->id, bad);
	return 0;
}

/* A description's or an fd's locks can be taken again through it: not
 * through an O_PATH description, a write lock (POSIX, OFD) only through one
 * open for writing, a read lock only through one open for reading. */
static int check_locks(struct rst_ctx *ctx, const FileDescEntry *d, FileLock *const *locks, size_t n,
		       const char *where)
{
	int mode = d->flags & O_ACCMODE;

	for (size_t k = 0; k < n; k++) {
		const FileLock *l = locks[k];
		const char *bad = NULL;

		if (d->flags & O_PATH)
			bad = "on an O_PATH description";
		else if (l->kind != LOCK_KIND__LOCK_FLOCK && l->write && mode == O_RDONLY)
			bad = "a write lock through a description open read-only";
		else if (l->kind != LOCK_KIND__LOCK_FLOCK && !l->write && mode == O_WRONLY)
			bad = "a read lock through a description open write-only";
		if (bad)
			return log_error_errno(-EBADMSG, "%s/%s: lock %zu: %s (description %u)", ctx->opts->dir,
					       where, k, bad, d->id);
	}
	return 0;
}

/* The task, or the process group, that gets the signals of an O_ASYNC
 * description is one of the tree: F_SETOWN_EX would point a restored
 * file's signals at any process that has that pid now. */
static int check_signal_owner(struct rst_ctx *ctx, const FileDescEntry *e)
{
	bool found = false;

	if (!e->has_owner_pid || !e->owner_pid)
		return 0;
	for (size_t i = 0; i < ctx->nr_tasks && !found; i++) {
		const struct rst_task *t = &ctx->tasks[i];

		found = e->owner_type == F_OWNER_PGRP ? t->pstree->pgid == (uint32_t)e->owner_pid
						      : t->pid == e->owner_pid && !rst_zombie(t);
	}
	if (!found)
		return log_error_errno(-EBADMSG, "%s/filedesc.img: record %u: description %u: its signals go to "
						 "%s %d, which is not in the tree",
				       ctx->opts->dir, e->id - 1, e->id, e->owner_type == F_OWNER_PGRP ? "process group" : "task",
				       e->owner_pid);
	return 0;
}

/* The restore makes a connection from a pair (or from a listener) or a
 * datagram socket connected to a name: a stream or seqpacket socket whose
 * peer does not name it back, or a datagram socket connected to an unnamed
 * socket that is not its pair, cannot be made (found now, before any task
 * exists). */
static int check_peer(struct rst_ctx *ctx, const UnixSkEntry *e)
{
	const UnixSkEntry *p;

	if (!e->peer_id)
		return 0;
	p = ctx->socks[e->peer_id - 1].e;
	if (e->peer_id != e->id && p->peer_id == e->id)
		return 0;
	if (e->type != SOCK_DGRAM)
		return log_error_errno(-EBADMSG, "%s/unixsk.img: record %u: socket %u: a connected stream whose peer "
						 "%u is not connected back",
				       ctx->opts->dir, e->id - 1, e->id, p->id);
	if (!p->has_name)
		return log_error_errno(-EBADMSG, "%s/unixsk.img: record %u: socket %u is connected to socket %u, "
						 "which has no name to connect to again",
				       ctx->opts->dir, e->id - 1, e->id, p->id);
	return 0;
}

/* Before the tree exists: the fds of t leave room under its hard
 * RLIMIT_NOFILE for those the restore holds above them (nofile_room). */
static int check_fd_room(struct rst_ctx *ctx, const struct rst_task *t)
{
	const CoreEntry *c = t->core;

	if (rst_zombie(t) || !t->nr_fds || !c)
		return 0;
	for (size_t i = 0; i < c->n_rlimits; i++) {
		uint64_t top = t->fds[t->nr_fds - 1]->fd;

		if (c->rlimits[i]->resource == RLIMIT_NOFILE && top + 1 + CRL_FD_HOLD_ROOM > c->rlimits[i]->max)
			return log_error_errno(-EMFILE, "%s: task %d holds fd %llu, too close to its hard "
							"RLIMIT_NOFILE %llu to be restored",
					       ctx->opts->dir, t->pid, (unsigned long long)top,
					       (unsigned long long)c->rlimits[i]->max);
	}
	return 0;
}

int rst_load_files(struct rst_ctx *ctx)
{
	int r;

	r = rst_read_all(ctx, CRL_IMG_FILEDESC, 0, add_desc, NULL, false);
	if (r >= 0)
		r = rst_read_all(ctx, CRL_IMG_PIPES, 0, add_pipe, NULL, false);
	if (r >= 0)
		r = rst_read_all(ctx, CRL_IMG_UNIXSK, 0, add_sock, NULL, false);
	for (size_t i = 0; i < ctx->nr_descs && r >= 0; i++) {
		const FileDescEntry *e = ctx->descs[i].e;

		r = check_desc(ctx, e);
		if (r >= 0 && e->kind == FD_KIND__FD_PIPE && (e->flags & O_ACCMODE) != O_WRONLY)
			ctx->pipes[e->pipe_id - 1].has_reader = true;
		if (r >= 0 && e->kind == FD_KIND__FD_PIPE && (e->flags & O_ACCMODE) != O_RDONLY)
			ctx->pipes[e->pipe_id - 1].has_writer = true;
	}
	for (size_t i = 0; i < ctx->nr_descs && r >= 0; i++) {
		char where[64];

		snprintf(where, sizeof(where), "filedesc.img: record %zu", i);
		r = check_locks(ctx, ctx->descs[i].e, ctx->descs[i].e->locks, ctx->descs[i].e->n_locks, where);
		if (r >= 0)
			r = check_signal_owner(ctx, ctx->descs[i].e);
	}
	for (size_t i = 0; i < ctx->nr_socks && r >= 0; i++)
		if (ctx->socks[i].e->peer_id > ctx->nr_socks)
			r = log_error_errno(-EBADMSG, "%s/unixsk.img: socket %u: its peer %u is not in the dump",
					    ctx->opts->dir, ctx->socks[i].e->id, ctx->socks[i].e->peer_id);
	for (size_t i = 0; i < ctx->nr_socks && r >= 0; i++)
		r = check_peer(ctx, ctx->socks[i].e);
	for (size_t i = 0; i < ctx->nr_tasks && r >= 0; i++)
		if (!rst_zombie(&ctx->tasks[i]))
			r = rst_read_all(ctx, CRL_IMG_FDINFO, ctx->tasks[i].pid, add_fd, &ctx->tasks[i], false);
	for (size_t i = 0; i < ctx->nr_tasks && r >= 0; i++) {
		struct rst_task *t = &ctx->tasks[i];
		char name[40], where[96];

		crl_img_filename(CRL_IMG_FDINFO, t->pid, name, sizeof(name));
		for (size_t k = 0; k < t->nr_fds && r >= 0; k++) {
			snprintf(where, sizeof(where), "%s: record %zu: fd %u", name, k, t->fds[k]->fd);
			r = check_locks(ctx, ctx->descs[t->fds[k]->desc_id - 1].e, t->fds[k]->locks,
					t->fds[k]->n_locks, where);
		}
	}
	for (size_t i = 0; i < ctx->nr_tasks && r >= 0; i++)
		r = check_fd_room(ctx, &ctx->tasks[i]);
	if (r >= 0)
		rst_find_socket_holders(ctx);
	return r;
}

void rst_free_files(struct rst_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_descs; i++)
		FREE_MSG(ctx->descs[i].e);
	for (size_t i = 0; i < ctx->nr_pipes; i++)
		FREE_MSG(ctx->pipes[i].e);
	for (size_t i = 0; i < ctx->nr_socks; i++)
		FREE_MSG(ctx->socks[i].e);
	free(ctx->descs);
	free(ctx->pipes);
	free(ctx->socks);
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct rst_task *t = &ctx->tasks[i];

		for (size_t k = 0; k < t->nr_fds; k++)
			FREE_MSG(t->fds[k]);
		free(t->fds);
		free(t->holds);
		free(t->pidfd_of);
		free(t->pidfd_fd);
	}
}

/* --- fds in a task ---------------------------------------------------- */

/*
 * Fds held for a while go above the task's highest fd, which may be just
 * under its soft RLIMIT_NOFILE: while fds are restored the soft limit is
 * raised to the hard one, then put back (grow: true, then false).
 */
static int nofile_room(struct rst_task *t, bool grow)
{
	struct rlimit cur, want;
	uint64_t addr;
	int r;

	crl_rsys_scratch_reset(&t->rsys);
	r = crl_rsys_reserve(&t->rsys, sizeof(cur), &addr);
	if (r >= 0)
		r = RCALL(t, NULL, "prlimit64", SYS_prlimit64, 0, RLIMIT_NOFILE, 0, addr);
	if (r >= 0)
		r = crl_mem_read(t->pid, addr, &cur, sizeof(cur));
	if (r < 0)
		return r;
	if (grow) {
		t->nofile_soft = cur.rlim_cur;
		if ((uint64_t)t->hold_base + CRL_FD_HOLD_ROOM > cur.rlim_max)
			return log_error_errno(-EMFILE, "task %d: its fds reach its RLIMIT_NOFILE hard limit %llu; "
							"no room to restore them",
					       t->pid, (unsigned long long)cur.rlim_max);
		want = (struct rlimit){ cur.rlim_max, cur.rlim_max };
	} else {
		want = (struct rlimit){ t->nofile_soft, cur.rlim_max };
	}
	crl_rsys_scratch_reset(&t->rsys);
	r = rst_put(t, &want, sizeof(want), &addr);
	if (r >= 0)
		r = RCALL(t, NULL, "prlimit64", SYS_prlimit64, 0, RLIMIT_NOFILE, addr, 0);
	return r;
}

int rst_hold_fd(struct rst_task *t, int fd, int *ret_fd)
{
	long ret;
	int r;

	if (fd >= t->hold_base) {
		ret = fd; /* already out of the way */
	} else {
		r = RCALL(t, &ret, "moving an fd up", SYS_fcntl, fd, F_DUPFD_CLOEXEC, t->hold_base);
		if (r >= 0)
			r = RCALL(t, NULL, "close", SYS_close, fd);
		if (r < 0)
			return r;
	}
	if (GROW(t->holds, t->cap_holds, t->nr_holds + 1) < 0)
		return -ENOMEM;
	t->holds[t->nr_holds++] = ret;
	*ret_fd = ret;
	return 0;
}

/* A pidfd of pid in task t (kept in the holding range). */
static int pidfd_in(struct rst_task *t, pid_t pid, int *ret_fd)
{
	long fd;
	int r;

	for (size_t i = 0; i < t->nr_pidfds; i++)
		if (t->pidfd_of[i] == pid) {
			*ret_fd = t->pidfd_fd[i];
			return 0;
		}
	r = RCALL(t, &fd, "pidfd_open", SYS_pidfd_open, pid, 0);
	if (r >= 0)
		r = rst_hold_fd(t, fd, ret_fd);
	if (r < 0)
		return r;
	if (GROW(t->pidfd_of, t->cap_pidfds, t->nr_pidfds + 1) < 0)
		return -ENOMEM;
	t->pidfd_fd = realloc(t->pidfd_fd, t->cap_pidfds * sizeof(int));
	if (!t->pidfd_fd)
		return -ENOMEM;
	t->pidfd_of[t->nr_pidfds] = pid;
	t->pidfd_fd[t->nr_pidfds++] = *ret_fd;
	return 0;
}

/* A new fd in t for the very description fd of owner holds. */
int rst_take_fd(struct rst_task *t, pid_t owner, int fd, int *ret_fd)
{
	long ret;
	int pidfd, r;

	if (owner == t->pid) {
		r = RCALL(t, &ret, "dup", SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0);
	} else {
		r = pidfd_in(t, owner, &pidfd);
		if (r >= 0)
			r = RCALL(t, &ret, "pidfd_getfd", SYS_pidfd_getfd, pidfd, fd, 0);
	}
	if (r < 0)
		return log_error_errno(r, "task %d: cannot take fd %d of task %d: %m", t->pid, fd, owner);
	*ret_fd = ret;
	return 0;
}

/* Put fd at its dumped number. */
static int place(struct rst_task *t, int fd, int target, bool cloexec)
{
	int r;

	if (fd == target)
		return RCALL(t, NULL, "F_SETFD", SYS_fcntl, fd, F_SETFD, cloexec ? FD_CLOEXEC : 0);
	r = RCALL(t, NULL, "dup3", SYS_dup3, fd, target, cloexec ? O_CLOEXEC : 0);
	if (r >= 0)
		r = RCALL(t, NULL, "close", SYS_close, fd);
	return r;
}

/* The status flags F_SETFL changes, O_ASYNC apart (signal_owner()). */
#define SETFL_FLAGS (O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME)

/* Status flags of a description made by pipe2/socket, which take none. */
int rst_set_status_flags(struct rst_task *t, int fd, uint32_t flags)
{
	return RCALL(t, NULL, "F_SETFL", SYS_fcntl, fd, F_SETFL, flags & SETFL_FLAGS);
}

/* --- pipes ------------------------------------------------------------ */

struct fifo_scan {
	struct rst_ctx *ctx;
	const FileEntry *file;
	pid_t holder;
};

static int fifo_holder(pid_t pid, int fd, const char *link, void *arg)
{
	struct fifo_scan *s = arg;
	_cleanup_free_ char *info = NULL;
	char path[64];
	const char *p;
	struct stat st;

	/* By identity: another name (a hard link, another mount) leads to the
	 * same FIFO. Not the tree's own fds (an O_PATH fd made first). */
	if (link[0] != '/' || rst_task_index(s->ctx, pid) >= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	if (stat(path, &st) < 0 || st.st_dev != s->file->dev || st.st_ino != s->file->ino)
		return 0;
	/* An O_PATH fd does not keep the buffer. */
	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	if (crl_read_file(path, &info, NULL) < 0 || !(p = strstr(info, "flags:")) ||
	    (strtoul(p + 6, NULL, 8) & O_PATH))
		return 0;
	s->holder = pid;
	return 1;
}

/*
 * A FIFO's buffer lives as long as someone holds the FIFO open. One that a
 * process outside the tree held through the dump and holds still kept its
 * unread bytes: they must not be written a second time.
 */
static pid_t fifo_held(struct rst_ctx *ctx, const FileDescEntry *d)
{
	struct fifo_scan s = { ctx, rst_object(ctx, d->object_id)->file, 0 };

	if (crl_proc_each_fd(fifo_holder, &s) < 0)
		return 0;
	return s.holder;
}

/* The pipe of a first description: made in t (a FIFO opened by path), its
 * size set and its bytes written back. */
static int make_pipe(struct rst_ctx *ctx, struct rst_task *t, const FileDescEntry *d, struct rst_pipe *p)
{
	_cleanup_close_ int w = -1;
	bool refill = true;
	char path[64];
	uint64_t addr;
	int r;

	if (d->kind == FD_KIND__FD_FIFO) {
		pid_t holder = fifo_held(ctx, d);
		int fd;

		if (holder) {
			log_info("FIFO %s is held open by process %d, outside the tree: its unread bytes are still "
				 "in it",
				 rst_object(ctx, d->object_id)->file->path, holder);
			refill = false;
		}

		/* O_RDWR never waits for the other side; the descriptions
		 * proper are opened from this one. */
		r = rst_object_open(ctx, t, d->object_id, O_RDWR | O_NONBLOCK, &fd);
		if (r >= 0)
			r = rst_hold_fd(t, fd, &p->rfd);
		p->wfd = p->rfd;
		p->r_used = p->w_used = true;
	} else {
		int ends[2];

		crl_rsys_scratch_reset(&t->rsys);
		r = crl_rsys_reserve(&t->rsys, sizeof(ends), &addr);
		/* Packet mode is a property the pipe is made with. */
		if (r >= 0)
			r = RCALL(t, NULL, "pipe2", SYS_pipe2, addr,
				  O_CLOEXEC | O_NONBLOCK | (p->e->packets ? O_DIRECT : 0));
		if (r >= 0)
			r = crl_mem_read(t->pid, addr, ends, sizeof(ends));
		if (r >= 0)
			r = rst_hold_fd(t, ends[0], &p->rfd);
		if (r >= 0)
			r = rst_hold_fd(t, ends[1], &p->wfd);
	}
	if (r < 0)
		return r;
	p->owner = t->pid;
	r = RCALL(t, NULL, "F_SETPIPE_SZ", SYS_fcntl, p->wfd, F_SETPIPE_SZ, p->e->size);
	if (r < 0 || !refill)
		return r;
	/* Packets are written one by one through the pipe's own packet-mode
	 * end, by the task. */
	for (size_t k = 0; k < p->e->n_packet; k++) {
		crl_rsys_scratch_reset(&t->rsys);
		r = rst_put(t, p->e->packet[k].data, p->e->packet[k].len, &addr);
		if (r >= 0)
			r = RCALL(t, NULL, "writing a packet back", SYS_write, p->wfd, addr, p->e->packet[k].len);
		if (r < 0)
			return r;
	}
	if (!p->e->has_data || !p->e->data.len)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", t->pid, p->wfd);
	w = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (w < 0)
		return log_error_errno(negative_errno(), "task %d: cannot open its new pipe to refill it: %m", t->pid);
	r = crl_write_all(w, p->e->data.data, p->e->data.len);
	if (r < 0)
		return log_error_errno(r, "task %d: cannot put %zu bytes back into pipe %u: %m", t->pid,
				       p->e->data.len, p->e->id);
	return 0;
}

static int open_pipe(struct rst_ctx *ctx, struct rst_task *t, const FileDescEntry *d, int *ret_fd)
{
	struct rst_pipe *p = &ctx->pipes[d->pipe_id - 1];
	int mode = d->flags & O_ACCMODE, r;
	char path[64];

	if (!p->owner) {
		r = make_pipe(ctx, t, d, p);
		if (r < 0)
			return r;
	}
	/* The two descriptions pipe2() made go to the first reading and
	 * writing ones; any other is opened anew on the same pipe. */
	if (d->kind == FD_KIND__FD_PIPE && mode == O_RDONLY && !p->r_used) {
		p->r_used = true;
		r = rst_take_fd(t, p->owner, p->rfd, ret_fd);
	} else if (d->kind == FD_KIND__FD_PIPE && mode == O_WRONLY && !p->w_used) {
		p->w_used = true;
		r = rst_take_fd(t, p->owner, p->wfd, ret_fd);
	} else {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", p->owner, mode == O_WRONLY ? p->wfd : p->rfd);
		r = rst_open(t, path, mode | O_NONBLOCK, ret_fd);
	}
	if (r >= 0)
		r = rst_set_status_flags(t, *ret_fd, d->flags);
	return r;
}

/* --- the fd table ----------------------------------------------------- */

/* criu-lite's terminal, for --shell-job. */
static int tty_path(char *buf, size_t len)
{
	for (int fd = 0; fd < 3; fd++)
		if (isatty(fd) && ttyname_r(fd, buf, len) == 0)
			return 0;
	return -ENOTTY;
}

static int open_desc(struct rst_ctx *ctx, struct rst_task *t, const FileDescEntry *d, int *ret_fd)
{
	int flags = d->flags & ~O_CLOEXEC, r;
	char tty[PATH_MAX];
	struct stat st;

	switch (d->kind) {
	case FD_KIND__FD_REG:
	case FD_KIND__FD_DIR:
	case FD_KIND__FD_MEMFD:
	case FD_KIND__FD_UNLINKED:
		r = rst_object_open(ctx, t, d->object_id, flags, ret_fd);
		if (r >= 0 && d->pos)
			r = RCALL(t, NULL, "lseek", SYS_lseek, *ret_fd, d->pos, SEEK_SET);
		return r;
	case FD_KIND__FD_CHR: {
		char path[64];

		r = rst_open(t, d->path, flags, ret_fd);
		if (r < 0)
			return r;
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", t->pid, *ret_fd);
		if (stat(path, &st) < 0 || st.st_rdev != d->rdev)
			return log_error_errno(-ESTALE, "task %d: %s is no longer the device it was", t->pid, d->path);
		return 0;
	}
	case FD_KIND__FD_TTY:
		r = tty_path(tty, sizeof(tty));
		if (r < 0)
			return log_error_errno(r, "task %d had a terminal; restore --shell-job needs one on "
						  "criu-lite's standard input, output or error",
					       t->pid);
		return rst_open(t, tty, flags | O_NOCTTY, ret_fd);
	case FD_KIND__FD_PIPE:
	case FD_KIND__FD_FIFO:
		return open_pipe(ctx, t, d, ret_fd);
	case FD_KIND__FD_UNIX:
		return rst_open_socket(ctx, t, d, ret_fd);
	default:
		return log_error_errno(-EOPNOTSUPP, "description %u: kind %d cannot be restored", d->id, d->kind);
	}
}

/*
 * Standard input (when it held no unread bytes), output or error on a pipe
 * whose other end was outside the tree: that end cannot be reached again, and a new pipe nobody reads would
 * kill the task with SIGPIPE at its first write (or give end of file to its
 * first read). It takes criu-lite's own fd of that number instead (what the
 * restore was given), and the log says so. A dump that did not record who
 * held the pipe (PipeEntry.outside) goes by its ends: a writer on fd 1 or 2
 * of a pipe with no reader in the dump.
 */
static bool stdio_to_outside(struct rst_ctx *ctx, const FdEntry *f, const FileDescEntry *d)
{
	const struct rst_pipe *p;
	int mode = d->flags & O_ACCMODE;

	if (d->kind != FD_KIND__FD_PIPE || f->fd > 2 || fcntl(f->fd, F_GETFD) < 0)
		return false;
	p = &ctx->pipes[d->pipe_id - 1];
	/* Unread bytes of standard input stay in the old pipe, out of reach:
	 * a pipe that held some is made again with them instead. */
	if (f->fd == 0)
		return mode == O_RDONLY && p->e->has_outside && p->e->outside && !p->has_writer &&
		       !(p->e->has_data && p->e->data.len) && !p->e->n_packet;
	return mode == O_WRONLY && !p->has_reader && (!p->e->has_outside || p->e->outside);
}

/* Who gets the signals of an O_ASYNC description (F_SETOWN_EX, F_SETSIG),
 * and O_ASYNC itself, which open() does not set. */
static int signal_owner(struct rst_task *t, int fd, const FileDescEntry *e)
{
	int r = 0;

	if (e->has_owner_pid && e->owner_pid) {
		struct f_owner_ex owner = { .type = e->owner_type, .pid = e->owner_pid };
		uint64_t addr;

		crl_rsys_scratch_reset(&t->rsys);
		r = rst_put(t, &owner, sizeof(owner), &addr);
		if (r >= 0)
			r = RCALL(t, NULL, "F_SETOWN_EX", SYS_fcntl, fd, F_SETOWN_EX, addr);
	}
	if (r >= 0 && e->has_sig && e->sig)
		r = RCALL(t, NULL, "F_SETSIG", SYS_fcntl, fd, F_SETSIG, e->sig);
	if (r >= 0 && (e->flags & O_ASYNC))
		r = RCALL(t, NULL, "F_SETFL O_ASYNC", SYS_fcntl, fd, F_SETFL,
			  e->flags & (SETFL_FLAGS | O_ASYNC));
	return r;
}

/* One lock taken again through fd of t; never waits. */
static int take_lock(struct rst_task *t, int fd, const FileLock *l)
{
	struct flock fl = { .l_type = l->write ? F_WRLCK : F_RDLCK, .l_whence = SEEK_SET,
			    .l_start = l->start, .l_len = l->len };
	uint64_t addr;
	long res;
	int r;

	if (l->kind == LOCK_KIND__LOCK_FLOCK) {
		r = crl_rsys_call(&t->rsys, &res, SYS_flock, fd, (l->write ? LOCK_EX : LOCK_SH) | LOCK_NB);
	} else {
		crl_rsys_scratch_reset(&t->rsys);
		r = rst_put(t, &fl, sizeof(fl), &addr);
		if (r >= 0)
			r = crl_rsys_call(&t->rsys, &res, SYS_fcntl, fd,
					  l->kind == LOCK_KIND__LOCK_OFD ? F_OFD_SETLK : F_SETLK, addr);
	}
	if (r < 0)
		return r;
	return (unsigned long)res >= -4095UL ? (int)res : 0;
}

static int take_locks(struct rst_task *t, int fd, FileLock *const *locks, size_t n)
{
	static const char *const kinds[] = { [LOCK_KIND__LOCK_FLOCK] = "flock", [LOCK_KIND__LOCK_POSIX] = "POSIX",
					     [LOCK_KIND__LOCK_OFD] = "OFD" };

	for (size_t k = 0; k < n; k++) {
		int r = take_lock(t, fd, locks[k]);

		if (r == -EAGAIN || r == -EWOULDBLOCK)
			return log_error_errno(r, "task %d fd %d: cannot take its %s lock again: another process "
						  "holds a conflicting one",
					       t->pid, fd, kinds[locks[k]->kind]);
		if (r < 0)
			return log_error_errno(r, "task %d fd %d: cannot take its %s lock again: %m", t->pid, fd,
					       kinds[locks[k]->kind]);
	}
	return 0;
}

/*
 * Locks last, once no fd of the tree is closed any more: closing any fd of
 * a file drops the POSIX locks the task holds on it. flock and OFD locks
 * belong to a description (taken once, where it was made); POSIX locks to
 * a task.
 */
static int restore_locks(struct rst_ctx *ctx)
{
	int r = 0;

	for (size_t i = 0; i < ctx->nr_descs && r >= 0; i++) {
		const struct rst_desc *d = &ctx->descs[i];

		if (d->e->n_locks && d->owner)
			r = take_locks(&ctx->tasks[rst_task_index(ctx, d->owner)], d->owner_fd, d->e->locks,
				       d->e->n_locks);
	}
	for (size_t i = 0; i < ctx->nr_tasks && r >= 0; i++)
		for (size_t k = 0; k < ctx->tasks[i].nr_fds && r >= 0; k++) {
			const FdEntry *f = ctx->tasks[i].fds[k];

			if (f->n_locks)
				r = take_locks(&ctx->tasks[i], f->fd, f->locks, f->n_locks);
		}
	return r;
}

static int restore_task_fds(struct rst_ctx *ctx, struct rst_task *t)
{
	for (size_t i = 0; i < t->nr_fds; i++) {
		const FdEntry *f = t->fds[i];
		struct rst_desc *d = &ctx->descs[f->desc_id - 1];
		int fd, r;

		if (d->owner) {
			r = rst_take_fd(t, d->owner, d->owner_fd, &fd);
		} else if (stdio_to_outside(ctx, f, d->e)) {
			log_info("task %d fd %u: its pipe led out of the tree; it is now criu-lite's fd %u",
				 t->pid, f->fd, f->fd);
			r = rst_take_fd(t, getpid(), f->fd, &fd);
			if (r >= 0)
				r = rst_set_status_flags(t, fd, d->e->flags);
		} else {
			r = open_desc(ctx, t, d->e, &fd);
		}
		if (r >= 0)
			r = place(t, fd, f->fd, f->cloexec);
		/* On the fd's own number: SIGIO's si_fd names the fd that
		 * turned O_ASYNC on. */
		if (r >= 0 && !d->owner)
			r = signal_owner(t, f->fd, d->e);
		if (r < 0)
			return log_error_errno(r, "task %d: cannot restore fd %u: %m", t->pid, f->fd);
		if (!d->owner) {
			d->owner = t->pid;
			d->owner_fd = f->fd;
		}
	}
	return 0;
}

int rst_restore_files(struct rst_ctx *ctx)
{
	int r = 0;

	if (ctx->has_tty && !ctx->opts->shell_job)
		return log_error_errno(-EINVAL, "the dump holds terminals: restore it with --shell-job");

	/* The stubs' fds are criu-lite's: none of them stays. */
	for (size_t i = 0; i < ctx->nr_tasks && r >= 0; i++) {
		struct rst_task *t = &ctx->tasks[i];

		if (rst_zombie(t))
			continue;
		t->hold_base = t->nr_fds ? (int)t->fds[t->nr_fds - 1]->fd + 1 : 0;
		r = RCALL(t, NULL, "close_range", SYS_close_range, 0, ~0U, 0);
		if (r >= 0)
			r = nofile_room(t, true);
	}
	if (r >= 0)
		r = rst_make_sockets(ctx);
	for (size_t i = 0; i < ctx->nr_tasks && r >= 0; i++)
		r = restore_task_fds(ctx, &ctx->tasks[i]);
	if (r >= 0)
		r = rst_refill_sockets(ctx);
	/* Seals go on while a memfd held only by fds can still be reached
	 * through the fd the holding range keeps of it. */
	if (r >= 0)
		r = rst_seal_memfds(ctx);
	for (size_t i = 0; i < ctx->nr_tasks && r >= 0; i++) {
		struct rst_task *t = &ctx->tasks[i];

		for (size_t k = 0; k < t->nr_holds && r >= 0; k++)
			r = RCALL(t, NULL, "close", SYS_close, t->holds[k]);
		t->nr_holds = 0;
		if (r >= 0 && !rst_zombie(t))
			r = nofile_room(t, false);
	}
	if (r >= 0)
		r = restore_locks(ctx);
	return r;
}

void rst_tty_foreground(struct rst_ctx *ctx, bool to_tree)
{
	pid_t pgid = ctx->tasks[0].pstree->pgid;
	sigset_t block, old;

	if (!ctx->has_tty || !isatty(STDIN_FILENO) || rst_task_index(ctx, pgid) < 0)
		return;
	/* Giving the terminal away and taking it back from the background
	 * would stop criu-lite with SIGTTOU. */
	sigemptyset(&block);
	sigaddset(&block, SIGTTOU);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (tcsetpgrp(STDIN_FILENO, to_tree ? pgid : getpgrp()) < 0)
		log_warn("cannot hand the terminal to process group %d: %m", to_tree ? pgid : getpgrp());
	sigprocmask(SIG_SETMASK, &old, NULL);
}
