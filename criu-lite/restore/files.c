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
 * new pipe. Unix sockets are made by kind: a connected pair with
 * socketpair(); a listening or bound socket with bind() (and listen()); a
 * datagram socket connected to a named one with connect(), once every
 * socket is bound. Their queued messages are then sent again from the peer,
 * or to the socket's name, in their order; shutdowns last.
 */
#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <termios.h>

#include "crl/kernel.h"
#include "crl/log.h"
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
		if (!o || !o->file)
			bad = "a file that is not in files.img";
		break;
	case FD_KIND__FD_FIFO:
		if (!o || !o->file)
			bad = "a FIFO whose path is not in files.img";
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
		return log_error_errno(-EBADMSG, "%s/filedesc.img: description %u names %s", ctx->opts->dir,
				       e->id, bad);
	return 0;
}

static void sock_path(const struct rst_task *t, const ProtobufCBinaryData *name, char *buf, size_t len);

/* The first task (tree order) holding each socket: the one that makes it. */
static void find_socket_holders(struct rst_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		for (size_t k = 0; k < ctx->tasks[i].nr_fds; k++) {
			const FileDescEntry *d = ctx->descs[ctx->tasks[i].fds[k]->desc_id - 1].e;

			if (d->kind == FD_KIND__FD_UNIX && !ctx->socks[d->sk_id - 1].holder)
				ctx->socks[d->sk_id - 1].holder = &ctx->tasks[i];
		}
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
	}
	for (size_t i = 0; i < ctx->nr_socks && r >= 0; i++)
		if (ctx->socks[i].e->peer_id > ctx->nr_socks)
			r = log_error_errno(-EBADMSG, "%s/unixsk.img: socket %u: its peer %u is not in the dump",
					    ctx->opts->dir, ctx->socks[i].e->id, ctx->socks[i].e->peer_id);
	for (size_t i = 0; i < ctx->nr_tasks && r >= 0; i++)
		if (!rst_zombie(&ctx->tasks[i]))
			r = rst_read_all(ctx, CRL_IMG_FDINFO, ctx->tasks[i].pid, add_fd, &ctx->tasks[i], false);
	if (r >= 0)
		find_socket_holders(ctx);
	return r;
}

/* Before any task exists: every path a socket will be bound to is free, or
 * holds the socket file the dumped one left behind. */
int rst_check_socket_paths(struct rst_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_socks; i++) {
		const struct rst_sock *s = &ctx->socks[i];
		char path[PATH_MAX];
		struct stat st;

		if (!s->holder || !s->e->has_name || !s->e->name.data[0])
			continue;
		sock_path(s->holder, &s->e->name, path, sizeof(path));
		if (lstat(path, &st) == 0 && (!S_ISSOCK(st.st_mode) || (s->e->has_vfs_ino && st.st_ino != s->e->vfs_ino)))
			return log_error_errno(-EEXIST, "socket %s: something else took the path since the dump", path);
	}
	return 0;
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
		if ((uint64_t)t->hold_base + 64 > cur.rlim_max)
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
static int take(struct rst_task *t, pid_t owner, int fd, int *ret_fd)
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

/* Status flags of a description made by pipe2/socket, which take none. */
static int set_status_flags(struct rst_task *t, int fd, uint32_t flags)
{
	return RCALL(t, NULL, "F_SETFL", SYS_fcntl, fd, F_SETFL, flags & (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME));
}

/* --- pipes ------------------------------------------------------------ */

/* The pipe of a first description: made in t (a FIFO opened by path), its
 * size set and its bytes written back. */
static int make_pipe(struct rst_ctx *ctx, struct rst_task *t, const FileDescEntry *d, struct rst_pipe *p)
{
	_cleanup_close_ int w = -1;
	char path[64];
	uint64_t addr;
	int r;

	if (d->kind == FD_KIND__FD_FIFO) {
		int fd;

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
	if (r < 0)
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
		r = take(t, p->owner, p->rfd, ret_fd);
	} else if (d->kind == FD_KIND__FD_PIPE && mode == O_WRONLY && !p->w_used) {
		p->w_used = true;
		r = take(t, p->owner, p->wfd, ret_fd);
	} else {
		snprintf(path, sizeof(path), "/proc/%d/fd/%d", p->owner, mode == O_WRONLY ? p->wfd : p->rfd);
		r = rst_open(t, path, mode | O_NONBLOCK, ret_fd);
	}
	if (r >= 0)
		r = set_status_flags(t, *ret_fd, d->flags);
	return r;
}

/* --- unix sockets ----------------------------------------------------- */

/* Connected to each other: a pair (a socket connected to itself is not). */
static bool mutual(struct rst_ctx *ctx, const UnixSkEntry *e)
{
	return e->peer_id && e->peer_id != e->id && ctx->socks[e->peer_id - 1].e->peer_id == e->id;
}

static struct rst_task *task_of(struct rst_ctx *ctx, pid_t pid)
{
	int i = rst_task_index(ctx, pid);

	return i < 0 ? NULL : &ctx->tasks[i];
}

static socklen_t make_addr(const uint8_t *name, size_t len, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	memcpy(a->sun_path, name, MIN(len, sizeof(a->sun_path)));
	return offsetof(struct sockaddr_un, sun_path) + MIN(len, sizeof(a->sun_path));
}

static bool same_bytes(const ProtobufCBinaryData *a, const ProtobufCBinaryData *b)
{
	return a->len == b->len && !memcmp(a->data, b->data, a->len);
}

/* The file system path of a socket's name, as criu-lite sees it: a relative
 * name is relative to the task's working directory. */
static void sock_path(const struct rst_task *t, const ProtobufCBinaryData *name, char *buf, size_t len)
{
	int n = strnlen((char *)name->data, name->len);

	if (name->data[0] == '/')
		snprintf(buf, len, "%.*s", n, name->data);
	else
		snprintf(buf, len, "%s/%.*s", t->core->cwd, n, name->data);
}

/* Whether path is the socket file st that a socket of this restore bound:
 * several sockets bear one name when a listener that is gone left
 * accepted connections. */
static bool bound_here(const struct rst_ctx *ctx, const char *path, const struct stat *st)
{
	for (size_t i = 0; i < ctx->nr_socks; i++)
		if (ctx->socks[i].bound_path[0] && ctx->socks[i].bound_ino == st->st_ino &&
		    !strcmp(ctx->socks[i].bound_path, path))
			return true;
	return false;
}

/* A path name must be free to bind: the socket file the dumped socket left
 * behind (or another restored socket of the same name made) is removed;
 * anything else there stops the restore. */
static int free_path(const struct rst_ctx *ctx, const struct rst_task *t, const UnixSkEntry *e)
{
	char path[PATH_MAX];
	struct stat st;

	if (!e->has_name || e->name.data[0] == '\0')
		return 0;
	sock_path(t, &e->name, path, sizeof(path));
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : log_error_errno(negative_errno(), "socket %s: %m", path);
	if (!S_ISSOCK(st.st_mode) ||
	    (e->has_vfs_ino && st.st_ino != e->vfs_ino && !bound_here(ctx, path, &st)))
		return log_error_errno(-EEXIST, "socket %s: something else took the path since the dump", path);
	if (unlink(path) < 0)
		return log_error_errno(negative_errno(), "socket %s: cannot remove the old socket file: %m", path);
	return 0;
}

static int set_int_opt(struct rst_task *t, int fd, int opt, int v, const char *what)
{
	uint64_t addr;
	int r;

	crl_rsys_scratch_reset(&t->rsys);
	r = rst_put(t, &v, sizeof(v), &addr);
	if (r >= 0)
		r = RCALL(t, NULL, what, SYS_setsockopt, fd, SOL_SOCKET, opt, addr, sizeof(v));
	return r;
}

static int sock_options(struct rst_task *t, int fd, const UnixSkEntry *e)
{
	int r = 0;

	/* The kernel doubles what it is given and reports the double. */
	if (e->has_rcvbuf)
		r = set_int_opt(t, fd, SO_RCVBUFFORCE, e->rcvbuf / 2, "SO_RCVBUFFORCE");
	if (r >= 0 && e->has_sndbuf)
		r = set_int_opt(t, fd, SO_SNDBUFFORCE, e->sndbuf / 2, "SO_SNDBUFFORCE");
	if (r >= 0 && e->has_passcred && e->passcred)
		r = set_int_opt(t, fd, SO_PASSCRED, 1, "SO_PASSCRED");
	return r;
}

/*
 * The address to reach a socket bound to name by task binder: a path
 * relative to the binder's working directory is reached through
 * /proc/BINDER/cwd, whatever the working directory of whoever connects.
 */
static socklen_t reach_addr(const ProtobufCBinaryData *name, pid_t binder, struct sockaddr_un *a)
{
	char path[sizeof(a->sun_path) + 1];
	int n = strnlen((char *)name->data, name->len);

	if (!name->len || name->data[0] == '\0' || name->data[0] == '/' || !binder)
		return make_addr(name->data, name->len, a);
	if (snprintf(path, sizeof(path), "/proc/%d/cwd/%.*s", binder, n, name->data) >= (int)sizeof(a->sun_path))
		return make_addr(name->data, name->len, a); /* too long: the name as it is */
	return make_addr((const uint8_t *)path, strlen(path) + 1, a);
}

static int sock_call_addr(struct rst_task *t, long nr, const char *what, int fd, const ProtobufCBinaryData *name)
{
	struct sockaddr_un a;
	socklen_t alen = make_addr(name->data, name->len, &a);
	uint64_t addr;
	int r;

	crl_rsys_scratch_reset(&t->rsys);
	r = rst_put(t, &a, alen, &addr);
	if (r >= 0)
		r = RCALL(t, NULL, what, nr, fd, addr, alen);
	return r;
}

/* connect() fd of task t to the socket binder bound to name. */
static int sock_connect(struct rst_task *t, int fd, const ProtobufCBinaryData *name, pid_t binder, const char *what)
{
	struct sockaddr_un a;
	socklen_t alen = reach_addr(name, binder, &a);
	uint64_t addr;
	int r;

	crl_rsys_scratch_reset(&t->rsys);
	r = rst_put(t, &a, alen, &addr);
	if (r >= 0)
		r = RCALL(t, NULL, what, SYS_connect, fd, addr, alen);
	return r;
}

/* Bind s (made in t) to its name: the old socket file removed, the new one
 * given the dumped mode. */
static int bind_name(struct rst_ctx *ctx, struct rst_task *t, struct rst_sock *s)
{
	const UnixSkEntry *e = s->e;
	int r = free_path(ctx, t, e);

	if (r >= 0)
		r = sock_call_addr(t, SYS_bind, "bind", s->fd, &e->name);
	if (r >= 0 && e->name.data[0]) {
		struct stat st;

		sock_path(t, &e->name, s->bound_path, sizeof(s->bound_path));
		s->bound_ino = lstat(s->bound_path, &st) == 0 ? st.st_ino : 0;
		if (e->has_vfs_mode && chmod(s->bound_path, e->vfs_mode) < 0)
			log_warn("socket %s: cannot give it mode %o: %m", s->bound_path, e->vfs_mode);
	}
	return r;
}

void rst_unbind_sockets(struct rst_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_socks; i++)
		if (ctx->socks[i].bound_path[0]) {
			unlink(ctx->socks[i].bound_path);
			ctx->socks[i].bound_path[0] = '\0';
		}
}

/* socket(), in t, kept in the holding range; bound to its name if it has
 * one, listening if it was. */
static int make_plain(struct rst_ctx *ctx, struct rst_task *t, struct rst_sock *s)
{
	const UnixSkEntry *e = s->e;
	long fd;
	int r;

	/* Non-blocking while restored (nothing may hang the restore); each
	 * description gets its dumped flags when it is placed. */
	r = RCALL(t, &fd, "socket", SYS_socket, AF_UNIX, e->type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (r >= 0)
		r = rst_hold_fd(t, fd, &s->fd);
	if (r < 0)
		return r;
	s->owner = t->pid;
	r = sock_options(t, s->fd, e);
	if (r >= 0 && e->has_name)
		r = bind_name(ctx, t, s);
	if (r >= 0 && e->state == TCP_LISTEN)
		r = RCALL(t, NULL, "listen", SYS_listen, s->fd, e->has_backlog ? e->backlog : 128);
	return r;
}

/* socketpair() in t: a for s, b for peer (or for the end that was closed). */
static int make_pair(struct rst_ctx *ctx, struct rst_task *t, struct rst_sock *s, struct rst_sock *peer)
{
	uint64_t addr;
	int sv[2], r;

	crl_rsys_scratch_reset(&t->rsys);
	r = crl_rsys_reserve(&t->rsys, sizeof(sv), &addr);
	if (r >= 0)
		r = RCALL(t, NULL, "socketpair", SYS_socketpair, AF_UNIX, s->e->type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
			  addr);
	if (r >= 0)
		r = crl_mem_read(t->pid, addr, sv, sizeof(sv));
	if (r >= 0)
		r = rst_hold_fd(t, sv[0], &s->fd);
	if (r >= 0)
		r = rst_hold_fd(t, sv[1], peer ? &peer->fd : &s->dead_fd);
	if (r < 0)
		return r;
	s->owner = t->pid;
	r = sock_options(t, s->fd, s->e);
	if (r >= 0 && peer) {
		peer->owner = t->pid;
		r = sock_options(t, peer->fd, peer->e);
	}
	/* An end of socketpair() is unbound and may be bound: so the names
	 * come back (a datagram pair connected by name, an accepted
	 * connection whose listener is gone). */
	if (r >= 0 && s->e->has_name)
		r = bind_name(ctx, t, s);
	if (r >= 0 && peer && peer->e->has_name)
		r = bind_name(ctx, t, peer);
	return r;
}

/* The listening socket of the tree whose connection x (accepted) and y (the
 * client) are: x bears the listener's name, y's peer name is it. */
static struct rst_sock *listener_of(struct rst_ctx *ctx, const UnixSkEntry *x, const UnixSkEntry *y)
{
	if (!x->has_name || !y->has_peer_name || !same_bytes(&x->name, &y->peer_name))
		return NULL;
	for (size_t i = 0; i < ctx->nr_socks; i++) {
		struct rst_sock *l = &ctx->socks[i];

		if (l->e->state == TCP_LISTEN && l->e->type == x->type && l->e->has_name && l->owner &&
		    same_bytes(&l->e->name, &x->name))
			return l;
	}
	return NULL;
}

/* An accepted connection made again the way it was made: the client
 * connects to the restored listener, which accepts it; both ends keep their
 * addresses. */
static int make_accepted(struct rst_ctx *ctx, struct rst_sock *l, struct rst_sock *accepted, struct rst_sock *client)
{
	struct rst_task *tc = client->holder ? client->holder : accepted->holder, *tl = task_of(ctx, l->owner);
	long fd;
	int r;

	r = make_plain(ctx, tc, client);
	if (r >= 0)
		r = sock_connect(tc, client->fd, &l->e->name, l->owner, "connect to the listener");
	if (r >= 0)
		r = RCALL(tl, &fd, "accept", SYS_accept4, l->fd, 0, 0, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (r >= 0)
		r = rst_hold_fd(tl, fd, &accepted->fd);
	if (r < 0)
		return r;
	accepted->owner = tl->pid;
	return sock_options(tl, accepted->fd, accepted->e);
}

/*
 * Every socket, before any fd is placed, in the order their links need:
 * names first (listeners, bound datagram sockets), then connections
 * (accepted ones through their listener, other pairs with socketpair()),
 * then datagram sockets connected to a name, then the rest.
 */
static int make_sockets(struct rst_ctx *ctx)
{
	int r = 0;

	for (size_t i = 0; i < ctx->nr_socks && r >= 0; i++) {
		struct rst_sock *s = &ctx->socks[i];

		if (s->holder && !s->owner && s->e->has_name && !s->e->peer_id && !s->e->peer_closed &&
		    !s->e->peer_outside)
			r = make_plain(ctx, s->holder, s);
	}
	for (size_t i = 0; i < ctx->nr_socks && r >= 0; i++) {
		struct rst_sock *s = &ctx->socks[i], *p, *l;

		if (s->owner || !s->holder)
			continue;
		if (s->e->peer_closed) {
			r = make_pair(ctx, s->holder, s, NULL);
			continue;
		}
		if (!mutual(ctx, s->e))
			continue;
		p = &ctx->socks[s->e->peer_id - 1];
		if (s->e->type != SOCK_DGRAM && (l = listener_of(ctx, s->e, p->e)))
			r = make_accepted(ctx, l, s, p);
		else if (s->e->type != SOCK_DGRAM && (l = listener_of(ctx, p->e, s->e)))
			r = make_accepted(ctx, l, p, s);
		else
			r = make_pair(ctx, s->holder, s, p);
	}
	for (size_t i = 0; i < ctx->nr_socks && r >= 0; i++) {
		struct rst_sock *s = &ctx->socks[i];
		const UnixSkEntry *peer;

		if (s->owner || !s->holder)
			continue;
		r = make_plain(ctx, s->holder, s);
		if (r >= 0 && s->e->peer_outside) {
			/* Outside the tree: the name leads to it again. */
			r = sock_connect(s->holder, s->fd, &s->e->peer_name, 0, "connect to a socket outside the tree");
			continue;
		}
		if (r < 0 || !s->e->peer_id)
			continue;
		/* Connected, not as a pair: a datagram socket to a named one. */
		peer = ctx->socks[s->e->peer_id - 1].e;
		if (s->e->type != SOCK_DGRAM)
			return log_error_errno(-EBADMSG, "unix socket %u: a connected stream whose peer %u is not "
							 "connected back",
					       s->e->id, peer->id);
		if (!peer->has_name)
			return log_error_errno(-EOPNOTSUPP, "unix socket %u is connected to socket %u, which has no "
							    "name to connect to again",
					       s->e->id, peer->id);
		r = sock_connect(s->holder, s->fd, &peer->name, ctx->socks[s->e->peer_id - 1].owner, "connect");
	}
	return r;
}

static int open_socket(struct rst_ctx *ctx, struct rst_task *t, const FileDescEntry *d, int *ret_fd)
{
	struct rst_sock *s = &ctx->socks[d->sk_id - 1];
	int r;

	if (!s->owner)
		return log_error_errno(-EINVAL, "task %d: unix socket %u was not made", t->pid, s->e->id);
	r = take(t, s->owner, s->fd, ret_fd);
	if (r >= 0)
		r = set_status_flags(t, *ret_fd, d->flags);
	return r;
}

/* criu-lite's own copy of a restored socket. */
static int local_copy(pid_t owner, int fd)
{
	_cleanup_close_ int pidfd = crl_pidfd_open(owner);

	if (pidfd < 0)
		return pidfd;
	return crl_pidfd_getfd(pidfd, fd);
}

/* A socket to send datagram i of s's queue from: the one of the tree
 * bound to its sender's address, else a temporary one bound to it (when
 * the address is free), else an unnamed one. *ret_bound: a path to unlink
 * afterwards. */
static int sender_for(struct rst_ctx *ctx, const UnixSkEntry *e, pid_t owner, size_t i, char *ret_bound,
		      size_t len)
{
	const ProtobufCBinaryData *from = i < e->n_queue_from ? &e->queue_from[i] : NULL;
	struct sockaddr_un a;
	int fd;

	ret_bound[0] = '\0';
	if (from && from->len) {
		for (size_t k = 0; k < ctx->nr_socks; k++) {
			const struct rst_sock *o = &ctx->socks[k];

			if (o->owner && o->e->type == e->type && o->e->has_name && same_bytes(&o->e->name, from))
				return local_copy(o->owner, o->fd);
		}
	}
	fd = socket(AF_UNIX, e->type | SOCK_CLOEXEC, 0);
	if (fd >= 0 && from && from->len) {
		socklen_t alen = make_addr(from->data, from->len, &a);
		bool relative = from->data[0] && from->data[0] != '/';
		_cleanup_close_ int here = relative ? open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
		char cwd[64];
		int n = strnlen((char *)from->data, from->len);

		/* The sender's address is recorded as it was bound: a relative
		 * one is bound from the receiver's directory, as the best
		 * guess of where it was. */
		snprintf(cwd, sizeof(cwd), "/proc/%d/cwd", owner);
		if (relative && (here < 0 || chdir(cwd) < 0)) {
			log_debug("unix socket %u: cannot bind a sender to a relative name", e->id);
		} else if (bind(fd, (struct sockaddr *)&a, alen) == 0) {
			if (from->data[0] && relative)
				snprintf(ret_bound, len, "%s/%.*s", cwd, n, from->data);
			else if (from->data[0])
				snprintf(ret_bound, len, "%.*s", n, from->data);
		} else {
			log_debug("unix socket %u: its message %zu came from an address now in use", e->id, i);
		}
		if (relative && here >= 0 && fchdir(here) < 0)
			log_warn("cannot go back to criu-lite's working directory: %m");
	}
	return fd;
}

/* A datagram's bytes stay charged to its sender until they are read: a
 * sender needs a send buffer for the whole queue. Returns the size it had
 * (to put back), or -1 when it was big enough. */
static int widen_sndbuf(int fd, const UnixSkEntry *e)
{
	uint64_t need = 65536;
	int have = 0, v;
	socklen_t len = sizeof(have);

	for (size_t k = 0; k < e->n_queue; k++)
		need += e->queue[k].len + 1024; /* and each one's overhead */
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &have, &len) < 0 || (uint64_t)have >= need)
		return -1;
	v = MIN(need, (uint64_t)INT32_MAX / 2);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &v, sizeof(v));
	return have;
}

static void restore_sndbuf(int fd, int had)
{
	if (had > 0) {
		had /= 2; /* the kernel doubles what it is given */
		setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &had, sizeof(had));
	}
}

static int send_one(int fd, const ProtobufCBinaryData *m, const struct sockaddr_un *to, socklen_t tolen)
{
	ssize_t n;

	n = tolen ? sendto(fd, m->data, m->len, MSG_DONTWAIT, (const struct sockaddr *)to, tolen)
		  : send(fd, m->data, m->len, MSG_DONTWAIT);
	if (n != (ssize_t)m->len)
		return n < 0 ? negative_errno() : -EIO;
	return 0;
}

/* Queued messages sent again, in order: by the peer of a pair (or the end
 * of a closed peer), by the peer a datagram socket is connected to, or by
 * their senders to the socket's name. Then the shutdowns. */
static int refill_sockets(struct rst_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_socks; i++) {
		struct rst_sock *s = &ctx->socks[i];
		const UnixSkEntry *e = s->e;
		_cleanup_close_ int peer = -1;
		struct sockaddr_un to;
		socklen_t tolen = 0;
		int r, had, fd_had;

		if (!s->owner || !e->n_queue)
			continue;
		if (e->peer_closed) {
			peer = local_copy(s->owner, s->dead_fd);
		} else if (e->peer_id) {
			struct rst_sock *p = &ctx->socks[e->peer_id - 1];

			peer = local_copy(p->owner, p->fd);
			if (!mutual(ctx, e)) {
				/* It accepts only its peer's datagrams, sent to
				 * its name. */
				if (!e->has_name)
					return log_error_errno(-EOPNOTSUPP, "unix socket %u: its queue came from its "
									    "peer, but it has no name to send to",
							       e->id);
				tolen = reach_addr(&e->name, s->owner, &to);
			}
		} else if (e->has_name) {
			tolen = reach_addr(&e->name, s->owner, &to);
		} else {
			return log_error_errno(-EOPNOTSUPP, "unix socket %u: messages queued to it cannot be sent "
							    "again (no peer in the tree, no name)",
					       e->id);
		}
		if ((e->peer_closed || e->peer_id) && peer < 0)
			return log_error_errno(peer, "unix socket %u: cannot get its peer to send its queue from: %m",
					       e->id);
		had = peer >= 0 ? widen_sndbuf(peer, e) : -1;
		for (size_t k = 0; k < e->n_queue; k++) {
			const ProtobufCBinaryData *m = &e->queue[k];
			char bound[PATH_MAX];
			int fd = peer;

			if (e->type == SOCK_STREAM) {
				/* Never wait: a full buffer would hang the restore. */
				for (size_t done = 0; done < m->len;) {
					ssize_t n = send(peer, m->data + done, m->len - done, MSG_DONTWAIT);

					if (n <= 0)
						return log_error_errno(n < 0 ? negative_errno() : -EIO,
								       "unix socket %u: cannot queue %zu bytes again: %m",
								       e->id, m->len);
					done += n;
				}
				continue;
			}
			bound[0] = '\0';
			if (peer < 0) {
				fd = sender_for(ctx, e, s->owner, k, bound, sizeof(bound));
				if (fd < 0)
					return log_error_errno(negative_errno(), "unix socket %u: no socket to send "
										   "from: %m",
							       e->id);
			}
			fd_had = fd != peer ? widen_sndbuf(fd, e) : -1;
			r = send_one(fd, m, &to, tolen);
			if (fd != peer) {
				/* A sender of the tree keeps its own size;
				 * what it sent stays charged to it. */
				restore_sndbuf(fd, fd_had);
				close(fd);
			}
			if (bound[0])
				unlink(bound);
			if (r < 0)
				return log_error_errno(r, "unix socket %u: cannot queue message %zu again: %m", e->id, k);
		}
		restore_sndbuf(peer, had);
	}
	for (size_t i = 0; i < ctx->nr_socks; i++) {
		struct rst_sock *s = &ctx->socks[i];
		unsigned how = s->e->has_shutdown ? s->e->shutdown : 0;
		int r;

		if (!s->owner || !how)
			continue;
		r = RCALL(task_of(ctx, s->owner), NULL, "shutdown", SYS_shutdown, s->fd,
			  how == 3 ? SHUT_RDWR : how == 1 ? SHUT_RD : SHUT_WR);
		if (r < 0)
			return r;
	}
	/* The peek offset last: refilling the queue does not move it. */
	for (size_t i = 0; i < ctx->nr_socks; i++) {
		struct rst_sock *s = &ctx->socks[i];
		int r;

		if (!s->owner || !s->e->has_peek_off)
			continue;
		r = set_int_opt(task_of(ctx, s->owner), s->fd, SO_PEEK_OFF, s->e->peek_off, "SO_PEEK_OFF");
		if (r < 0)
			return r;
	}
	return 0;
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
		return open_socket(ctx, t, d, ret_fd);
	default:
		return log_error_errno(-EOPNOTSUPP, "description %u: kind %d cannot be restored", d->id, d->kind);
	}
}

/*
 * Standard output or error writing into a pipe whose reader is outside the
 * tree: that reader cannot be reached again, and a new pipe nobody reads
 * would kill the task with SIGPIPE at its first write. It writes to
 * criu-lite's own fd of that number instead (what restore was given), and
 * the log says so.
 */
static bool stdio_to_outside(struct rst_ctx *ctx, const FdEntry *f, const FileDescEntry *d)
{
	return (f->fd == 1 || f->fd == 2) && d->kind == FD_KIND__FD_PIPE &&
	       (d->flags & O_ACCMODE) == O_WRONLY && !ctx->pipes[d->pipe_id - 1].has_reader &&
	       fcntl(f->fd, F_GETFD) >= 0;
}

static int restore_task_fds(struct rst_ctx *ctx, struct rst_task *t)
{
	for (size_t i = 0; i < t->nr_fds; i++) {
		const FdEntry *f = t->fds[i];
		struct rst_desc *d = &ctx->descs[f->desc_id - 1];
		int fd, r;

		if (d->owner) {
			r = take(t, d->owner, d->owner_fd, &fd);
		} else if (stdio_to_outside(ctx, f, d->e)) {
			log_info("task %d fd %u: its pipe led out of the tree; it now goes to criu-lite's fd %u",
				 t->pid, f->fd, f->fd);
			r = take(t, getpid(), f->fd, &fd);
			if (r >= 0)
				r = set_status_flags(t, fd, d->e->flags);
		} else {
			r = open_desc(ctx, t, d->e, &fd);
		}
		if (r >= 0)
			r = place(t, fd, f->fd, f->cloexec);
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
		r = make_sockets(ctx);
	for (size_t i = 0; i < ctx->nr_tasks && r >= 0; i++)
		r = restore_task_fds(ctx, &ctx->tasks[i]);
	if (r >= 0)
		r = refill_sockets(ctx);
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
