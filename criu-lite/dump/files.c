/*
 * File descriptors: every fd of every task, and the open file descriptions
 * behind them.
 *
 * Two fds (in one task or two) that share a description, by dup() or by
 * fork(), are found with kcmp(KCMP_FILE) among the fds of the same inode,
 * and recorded as one description, so the restore shares it again.
 *
 * Pipes and FIFOs are read without taking anything out of them: criu-lite
 * opens a reader on the pipe through /proc/PID/fd/N and tee()s its buffers
 * into a pipe of its own; unix sockets are peeked at (sockets.c). With
 * --leave-running every byte stays where it was.
 *
 * What cannot be restored is refused here, naming the task, the fd and what
 * it is.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fdinfo.pb-c.h"

#include "crl/image.h"
#include "crl/kernel.h"
#include "crl/limits.h"
#include "crl/log.h"
#include "dump.h"

struct dump_desc {
	uint32_t id;
	FdKind kind;
	pid_t pid;              /* an fd that holds it, for kcmp and reading */
	int fd;
	dev_t dev;
	ino_t ino;
	uint32_t flags;
	uint64_t pos;
	uint32_t object_id;
	char *path;
	uint64_t rdev;
	uint32_t pipe_id;
	uint32_t sk_id;
	struct crl_lock *locks;  /* flock and OFD locks held through it */
	size_t nr_locks;
	int owner_type, owner_pid, sig; /* O_ASYNC: who gets which signal */
	pid_t posix_noted;      /* the last task whose POSIX locks on it were recorded */
};

struct dump_pipe {
	uint32_t id;
	uint64_t ino;
	pid_t pid;
	int fd;
	/* The tree's ends of it: readers, writers, and whether any of them
	 * is not standard input (readers) or output and error (writers). */
	bool reader, writer, reader_not_stdin, writer_not_stdio;
	pid_t bad_pid;               /* the first end of it that is not stdio */
	int bad_fd;
	pid_t outside;               /* a process outside the tree holding it */
};

struct dump_files {
	dev_t proc_dev;              /* procfs: its files name tasks */
	struct dump_desc *descs;
	size_t nr_descs, cap_descs;
	size_t *order;               /* indices of descs, sorted (find_desc) */
	size_t cap_order;
	struct dump_pipe *pipes;
	size_t nr_pipes, cap_pipes;
};

int dump_files_new(struct dump_files **ret)
{
	struct stat st;

	*ret = calloc(1, sizeof(**ret));
	if (!*ret)
		return -ENOMEM;
	if (stat("/proc/self", &st) < 0)
		return negative_errno();
	(*ret)->proc_dev = st.st_dev;
	return 0;
}

void dump_files_free(struct dump_files *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nr_descs; i++) {
		free(f->descs[i].path);
		free(f->descs[i].locks);
	}
	free(f->descs);
	free(f->order);
	free(f->pipes);
	free(f);
}

int dump_refuse_fd(const struct dump_task *t, int fd, const char *link, const char *what)
{
	return log_error_errno(-EOPNOTSUPP, "task %d (%s): fd %d (%s) is %s; not supported", t->pid,
			       t->stat.comm, fd, link, what);
}

/* "pos:" and "flags:" of /proc/PID/fdinfo/N. */
static int read_fdinfo(pid_t pid, int fd, char **ret_text, uint64_t *pos, uint32_t *flags)
{
	_cleanup_free_ char *text = NULL;
	char path[64], *p;
	int r;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	r = crl_read_file(path, &text, NULL);
	if (r < 0)
		return r;
	p = strstr(text, "pos:");
	*pos = p ? strtoull(p + 4, NULL, 10) : 0;
	p = strstr(text, "flags:");
	if (!p)
		return -EINVAL;
	*flags = strtoul(p + 6, NULL, 8);
	*ret_text = TAKE_PTR(text);
	return 0;
}

/*
 * Where fd of pid goes in f->order (descriptions sorted by inode, then by
 * the order kcmp gives their open files): *ret_pos. 1 and *ret_id when it
 * is a description seen before. A binary search: a few kcmp calls per fd,
 * however many fds share an inode.
 */
static int find_desc(struct dump_files *f, pid_t pid, int fd, const struct stat *st, uint32_t *ret_id,
		     size_t *ret_pos)
{
	size_t lo = 0, hi = f->nr_descs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct dump_desc *d = &f->descs[f->order[mid]];
		int c;

		if (d->dev != st->st_dev)
			c = d->dev < st->st_dev ? -1 : 1;
		else if (d->ino != st->st_ino)
			c = d->ino < st->st_ino ? -1 : 1;
		else {
			c = crl_kcmp_file(d->pid, d->fd, pid, fd);
			if (c < 0)
				return log_error_errno(c, "kcmp of fd %d of task %d with fd %d of task %d: %m", fd,
						       pid, d->fd, d->pid);
			if (c == 0) {
				*ret_id = d->id;
				return 1;
			}
			c = c == 1 ? -1 : 1; /* 1: d's file comes first */
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*ret_pos = lo;
	return 0;
}

static int pipe_id(struct dump_files *f, uint64_t ino, pid_t pid, int fd, uint32_t *ret)
{
	for (size_t i = 0; i < f->nr_pipes; i++)
		if (f->pipes[i].ino == ino) {
			*ret = f->pipes[i].id;
			return 0;
		}
	if (GROW(f->pipes, f->cap_pipes, f->nr_pipes + 1) < 0)
		return -ENOMEM;
	f->pipes[f->nr_pipes] = (struct dump_pipe){ .id = f->nr_pipes + 1, .ino = ino, .pid = pid, .fd = fd };
	*ret = ++f->nr_pipes;
	return 0;
}

static bool is_tty(dev_t rdev)
{
	unsigned maj = major(rdev), min = minor(rdev);

	return (maj >= 136 && maj <= 143) || maj == 4 || (maj == 5 && min != 2);
}

/* Whether link, what /proc/PID/fd/N reads, is a path that leads to the
 * very inode st (not unlinked, replaced or renamed since it was opened). */
static bool still_there(const char *link, const struct stat *st)
{
	struct stat now;

	return link[0] == '/' && stat(link, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino;
}

/*
 * An O_PATH fd: it reads and writes nothing, whatever it names, so a FIFO,
 * a socket file or a device is opened again by path like a file (files.img
 * checks its identity). Memfds and unlinked files keep their own kinds,
 * opened O_PATH through the object.
 */
static int path_only(struct dump_ctx *ctx, struct dump_task *t, int fd, const char *link, const struct stat *st,
		     struct dump_desc *d)
{
	if (S_ISREG(st->st_mode) && (st->st_nlink == 0 || st->st_dev == ctx->shm_dev))
		return 1;
	if (!still_there(link, st))
		return dump_refuse_fd(t, fd, link, "an O_PATH fd whose path no longer leads to its file");
	d->kind = S_ISDIR(st->st_mode) ? FD_KIND__FD_DIR : FD_KIND__FD_REG;
	return dump_objects_add_file(ctx->objects, link, st, false, &d->object_id);
}

/* Fill a new description for fd from what it is. */
static int describe(struct dump_ctx *ctx, struct dump_task *t, int fd, const char *link,
		    const struct stat *st, struct dump_desc *d)
{
	char src[64];
	int r;

	snprintf(src, sizeof(src), "/proc/%d/fd/%d", t->pid, fd);
	if (!strncmp(link, "anon_inode:", 11)) {
		const char *what = link + 11;

		return dump_refuse_fd(t, fd, link,
				 !strcmp(what, "[eventfd]") ? "an eventfd" :
				 !strcmp(what, "[eventpoll]") ? "an epoll instance" :
				 !strcmp(what, "[signalfd]") ? "a signalfd" :
				 !strcmp(what, "[timerfd]") ? "a timerfd" :
				 !strcmp(what, "inotify") ? "an inotify instance" :
				 !strcmp(what, "[fanotify]") ? "a fanotify instance" :
				 !strcmp(what, "[pidfd]") ? "a pidfd" :
				 !strcmp(what, "[io_uring]") ? "an io_uring" :
				 !strcmp(what, "[userfaultfd]") ? "a userfaultfd" :
				 "a kernel object without a file (anon inode)");
	}
	if (!strncmp(link, "pidfd:", 6))
		return dump_refuse_fd(t, fd, link, "a pidfd");
	if (st->st_dev == ctx->files->proc_dev)
		return dump_refuse_fd(t, fd, link, "a file of /proc (it names tasks by pid)");
	if (d->flags & O_PATH) {
		r = path_only(ctx, t, fd, link, st, d);
		if (r <= 0)
			return r;
	}

	if (S_ISSOCK(st->st_mode)) {
		d->kind = FD_KIND__FD_UNIX;
		return dump_sockets_add(ctx, t, fd, link, st->st_ino, &d->sk_id);
	}
	if (S_ISFIFO(st->st_mode)) {
		if (!strncmp(link, "pipe:", 5)) {
			d->kind = FD_KIND__FD_PIPE;
		} else {
			d->kind = FD_KIND__FD_FIFO;
			if (!still_there(link, st))
				return dump_refuse_fd(t, fd, link, "a FIFO whose path no longer leads to it");
			r = dump_objects_add_file(ctx->objects, link, st, false, &d->object_id);
			if (r < 0)
				return r;
		}
		return pipe_id(ctx->files, st->st_ino, t->pid, fd, &d->pipe_id);
	}
	if (S_ISCHR(st->st_mode)) {
		struct stat now;

		if (is_tty(st->st_rdev)) {
			if (!ctx->opts->shell_job)
				return dump_refuse_fd(t, fd, link, "a terminal: dump with --shell-job to reconnect it "
							      "to the terminal of the restore");
			d->kind = FD_KIND__FD_TTY;
		} else if (major(st->st_rdev) == 1 &&
			   (minor(st->st_rdev) == 3 || minor(st->st_rdev) == 5 || minor(st->st_rdev) == 7 ||
			    minor(st->st_rdev) == 8 || minor(st->st_rdev) == 9)) {
			d->kind = FD_KIND__FD_CHR; /* null, zero, full, random, urandom: no state */
		} else if (major(st->st_rdev) == 5 && minor(st->st_rdev) == 2) {
			return dump_refuse_fd(t, fd, link, "a pseudo-terminal master");
		} else {
			return dump_refuse_fd(t, fd, link, "a character device with state criu-lite cannot save");
		}
		if (link[0] != '/' || stat(link, &now) < 0 || now.st_rdev != st->st_rdev)
			return dump_refuse_fd(t, fd, link, "a device whose path no longer names it");
		d->path = strdup(link);
		d->rdev = st->st_rdev;
		return d->path ? 0 : -ENOMEM;
	}
	if (S_ISREG(st->st_mode) && st->st_dev == ctx->shm_dev) {
		_cleanup_free_ char *name = NULL;
		size_t len = strlen(link);

		if (strncmp(link, "/memfd:", 7))
			return dump_refuse_fd(t, fd, link, "an internal shared-memory file");
		if (len > 10 && !strcmp(link + len - 10, " (deleted)"))
			len -= 10;
		name = strndup(link + 7, len - 7);
		if (!name)
			return -ENOMEM;
		d->kind = FD_KIND__FD_MEMFD;
		return dump_objects_add_shmem(ctx->objects, SHMEM_KIND__SHMEM_MEMFD, name, st, t->pid, src,
					      &d->object_id);
	}
	if (S_ISREG(st->st_mode) && st->st_nlink == 0) {
		_cleanup_free_ char *name = strdup(link);
		char why[PATH_MAX + 128];
		size_t len;

		if (!name)
			return -ENOMEM;
		len = strlen(name);
		if (len > 10 && !strcmp(name + len - 10, " (deleted)"))
			name[len - 10] = '\0';
		if (name[0] != '/')
			return dump_refuse_fd(t, fd, link, "an unlinked file without a path");
		r = dump_unlinked_restorable(name, why, sizeof(why));
		if (r == -EOPNOTSUPP)
			return dump_refuse_fd(t, fd, link, why);
		if (r < 0)
			return r;
		d->kind = FD_KIND__FD_UNLINKED;
		return dump_objects_add_shmem(ctx->objects, SHMEM_KIND__SHMEM_UNLINKED, name, st, t->pid, src,
					      &d->object_id);
	}
	if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) {
		if (!still_there(link, st))
			return dump_refuse_fd(t, fd, link, "a file whose path no longer leads to it");
		d->kind = S_ISDIR(st->st_mode) ? FD_KIND__FD_DIR : FD_KIND__FD_REG;
		return dump_objects_add_file(ctx->objects, link, st, false, &d->object_id);
	}
	return dump_refuse_fd(t, fd, link, "of a kind criu-lite does not know");
}

static void note_pipe_end(struct dump_files *f, const struct dump_desc *d, pid_t pid, int fd)
{
	struct dump_pipe *p;

	if (d->kind != FD_KIND__FD_PIPE)
		return;
	p = &f->pipes[d->pipe_id - 1];
	if ((d->flags & O_ACCMODE) == O_WRONLY) {
		p->writer = true;
		if (fd != 1 && fd != 2 && !p->writer_not_stdio) {
			p->writer_not_stdio = true;
			p->bad_pid = pid;
			p->bad_fd = fd;
		}
	} else {
		p->reader = true;
		if (fd != 0 && !p->reader_not_stdin) {
			p->reader_not_stdin = true;
			p->bad_pid = pid;
			p->bad_fd = fd;
		}
	}
}

struct outside_scan {
	struct dump_ctx *ctx;
	pid_t self;
};

static int note_outside(pid_t pid, int fd, const char *link, void *arg)
{
	struct outside_scan *s = arg;
	struct dump_files *f = s->ctx->files;
	unsigned long long ino;

	if (pid == s->self || strncmp(link, "pipe:[", 6) || sscanf(link + 6, "%llu]", &ino) != 1)
		return 0;
	for (size_t i = 0; i < f->nr_pipes; i++)
		if (f->pipes[i].ino == ino && !f->pipes[i].outside) {
			for (size_t k = 0; k < s->ctx->nr_tasks; k++)
				if (s->ctx->tasks[k].pid == pid)
					return 0;
			f->pipes[i].outside = pid;
		}
	return 0;
}

/*
 * Pipes also held by processes outside the tree. That other end cannot be
 * reached again. A tree that only writes into such a pipe from its standard
 * output or error, or only reads from it on its standard input, gets
 * criu-lite's own fd of that number at restore (as a job started from a
 * shell would). Any other such pipe comes back as if the outside process
 * had closed its end (as a restore that cannot reach it does for any
 * process), and the dump says so.
 */
static int check_outside_pipes(struct dump_ctx *ctx)
{
	struct dump_files *f = ctx->files;
	struct outside_scan s = { ctx, getpid() };
	int r;

	if (!f->nr_pipes)
		return 0;
	r = crl_proc_each_fd(note_outside, &s);
	if (r < 0)
		return log_error_errno(r, "cannot look for processes outside the tree holding its pipes: %m");
	for (size_t i = 0; i < f->nr_pipes; i++) {
		const struct dump_pipe *p = &f->pipes[i];
		pid_t pid = p->bad_pid ? p->bad_pid : p->pid;
		int fd = p->bad_pid ? p->bad_fd : p->fd;

		if (!p->outside || (p->writer && !p->reader && !p->writer_not_stdio) ||
		    (p->reader && !p->writer && !p->reader_not_stdin))
			continue;
		log_warn("task %d: fd %d (pipe:[%llu]) is a pipe also held by process %d, outside the tree: the "
			 "restore cannot connect that end again, and the pipe comes back as if process %d had "
			 "closed it",
			 pid, fd, (unsigned long long)p->ino, p->outside, p->outside);
	}
	return 0;
}

/* The restore holds fds above a task's highest one for a while: that fd
 * must be far enough under the hard RLIMIT_NOFILE (read by the task's
 * remote calls; RLIM_INFINITY is far enough). */
static int check_fd_room(const struct dump_task *t, int top)
{
	if ((uint64_t)top + 1 + CRL_FD_HOLD_ROOM <= t->nofile_max)
		return 0;
	return log_error_errno(-EOPNOTSUPP, "task %d (%s): fd %d is within %d of its hard RLIMIT_NOFILE (%llu); "
					    "the restore needs that room above its fds; not supported",
			       t->pid, t->stat.comm, top, CRL_FD_HOLD_ROOM, (unsigned long long)t->nofile_max);
}

/* The locks of one owner kind (POSIX: the task's; else the description's)
 * as image records: *ret_msgs holds them, *ret_ptrs points to each. */
static int file_locks(const struct crl_lock *locks, size_t nr, bool posix, FileLock **ret_msgs,
		      FileLock ***ret_ptrs, size_t *ret_n)
{
	size_t n = 0;

	*ret_msgs = NULL;
	*ret_ptrs = NULL;
	*ret_n = 0;
	for (size_t k = 0; k < nr; k++)
		n += (locks[k].kind == CRL_LOCK_POSIX) == posix;
	if (!n)
		return 0;
	*ret_msgs = calloc(n, sizeof(**ret_msgs));
	*ret_ptrs = calloc(n, sizeof(**ret_ptrs));
	if (!*ret_msgs || !*ret_ptrs)
		return -ENOMEM;
	for (size_t k = 0; k < nr; k++) {
		FileLock *l = &(*ret_msgs)[*ret_n];

		if ((locks[k].kind == CRL_LOCK_POSIX) != posix)
			continue;
		file_lock__init(l);
		l->kind = locks[k].kind == CRL_LOCK_FLOCK ? LOCK_KIND__LOCK_FLOCK :
			  locks[k].kind == CRL_LOCK_OFD ? LOCK_KIND__LOCK_OFD : LOCK_KIND__LOCK_POSIX;
		l->write = locks[k].write;
		l->has_start = l->has_len = locks[k].kind != CRL_LOCK_FLOCK;
		l->start = locks[k].start;
		l->len = locks[k].len;
		(*ret_ptrs)[(*ret_n)++] = l;
	}
	return 0;
}

/* The flock and OFD locks of a new description. */
static int desc_locks(struct dump_desc *d, const struct crl_lock *locks, size_t nr)
{
	for (size_t k = 0; k < nr; k++) {
		if (locks[k].kind == CRL_LOCK_POSIX)
			continue;
		if (!d->locks) {
			d->locks = calloc(nr, sizeof(*d->locks));
			if (!d->locks)
				return -ENOMEM;
		}
		d->locks[d->nr_locks++] = locks[k];
	}
	return 0;
}

/* Who gets the signals of an O_ASYNC description, read from a copy of it:
 * a task or a process group of the tree. */
static int read_owner(struct dump_ctx *ctx, struct dump_task *t, int fd, const char *link, struct dump_desc *d)
{
	_cleanup_close_ int pidfd = crl_pidfd_open(t->pid), copy = -1;
	struct f_owner_ex owner;
	bool in_tree = false;
	char what[96];

	copy = pidfd < 0 ? pidfd : crl_pidfd_getfd(pidfd, fd);
	if (copy < 0 || fcntl(copy, F_GETOWN_EX, &owner) < 0 || (d->sig = fcntl(copy, F_GETSIG)) < 0)
		return log_error_errno(copy < 0 ? copy : negative_errno(),
				       "task %d: cannot read who gets the signals of fd %d: %m", t->pid, fd);
	d->owner_type = owner.type;
	d->owner_pid = owner.pid;
	if (!owner.pid)
		return 0;
	/* A process group comes back only if its leader does. */
	for (size_t k = 0; k < ctx->nr_tasks && !in_tree; k++)
		in_tree = ctx->tasks[k].pid == owner.pid &&
			  (owner.type != F_OWNER_PGRP || ctx->tasks[k].stat.pgid == owner.pid);
	if (in_tree)
		return 0;
	snprintf(what, sizeof(what), "an O_ASYNC file whose signals go to %s %d, outside the tree",
		 owner.type == F_OWNER_PGRP ? "process group" : "process", owner.pid);
	return dump_refuse_fd(t, fd, link, what);
}

/* The flags a description is opened again with: O_CLOEXEC belongs to the
 * fd, and a file made with O_TMPFILE shows that flag (and O_DIRECTORY)
 * for good, which no open of a file takes. */
static uint32_t desc_flags(uint32_t flags, const struct stat *st)
{
	flags &= ~O_CLOEXEC;
	if (!S_ISDIR(st->st_mode))
		flags &= ~(O_TMPFILE | O_DIRECTORY);
	return flags;
}

int dump_task_fds(struct dump_ctx *ctx, struct dump_task *t)
{
	struct dump_files *f = ctx->files;
	_cleanup_free_ int *fds = NULL;
	struct crl_img *img = NULL;
	size_t nr = 0;
	int r;

	char dir[64];

	snprintf(dir, sizeof(dir), "/proc/%d/fd", t->pid);
	r = crl_proc_list_ids(dir, &fds, &nr);
	if (r < 0)
		return log_error_errno(r, "task %d: cannot list its fds: %m", t->pid);
	r = nr ? check_fd_room(t, fds[nr - 1]) : 0;
	if (r < 0)
		return r;
	r = crl_img_open(ctx->stagefd, CRL_IMG_FDINFO, t->pid, CRL_IMG_WRITE, &img);
	if (r < 0)
		return log_error_errno(r, "cannot create fdinfo-%d.img: %m", t->pid);
	for (size_t i = 0; i < nr && r >= 0; i++) {
		FdEntry e = FD_ENTRY__INIT;
		_cleanup_free_ char *info = NULL;
		_cleanup_free_ struct crl_lock *locks = NULL;
		_cleanup_free_ FileLock *posix = NULL;
		_cleanup_free_ FileLock **posix_ptrs = NULL;
		char path[64], link[PATH_MAX];
		const char *what;
		struct stat st;
		uint32_t flags = 0, id = 0;
		uint64_t pos = 0;
		size_t nr_locks = 0, pos_in_order = 0;
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", t->pid, fds[i]);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0 || stat(path, &st) < 0 || read_fdinfo(t->pid, fds[i], &info, &pos, &flags) < 0) {
			r = log_error_errno(negative_errno(), "task %d: cannot inspect fd %d: %m", t->pid, fds[i]);
			break;
		}
		link[n] = '\0';
		r = crl_fdinfo_parse_locks(info, &locks, &nr_locks, &what);
		if (r == -EOPNOTSUPP)
			r = dump_refuse_fd(t, fds[i], link, what);
		else if (r < 0)
			r = log_error_errno(r, "task %d: cannot read the locks of fd %d: %m", t->pid, fds[i]);
		else if (nr_locks > CRL_MAX_LOCKS)
			r = dump_refuse_fd(t, fds[i], link, "a file with more than 1024 locks held through it");
		if (r >= 0)
			r = find_desc(f, t->pid, fds[i], &st, &id, &pos_in_order);
		if (r == 0) {
			struct dump_desc d = { .id = f->nr_descs + 1, .pid = t->pid, .fd = fds[i],
					       .dev = st.st_dev, .ino = st.st_ino,
					       .flags = desc_flags(flags, &st), .pos = pos };

			r = describe(ctx, t, fds[i], link, &st, &d);
			if (r >= 0 && (d.flags & O_ASYNC))
				r = read_owner(ctx, t, fds[i], link, &d);
			if (r >= 0)
				r = desc_locks(&d, locks, nr_locks);
			if (r >= 0 && (GROW(f->descs, f->cap_descs, f->nr_descs + 1) < 0 ||
				       GROW(f->order, f->cap_order, f->nr_descs + 1) < 0))
				r = -ENOMEM;
			if (r < 0) {
				free(d.path);
				free(d.locks);
				break;
			}
			memmove(f->order + pos_in_order + 1, f->order + pos_in_order,
				(f->nr_descs - pos_in_order) * sizeof(*f->order));
			f->order[pos_in_order] = f->nr_descs;
			f->descs[f->nr_descs++] = d;
			id = d.id;
		}
		if (r < 0)
			break;
		note_pipe_end(f, &f->descs[id - 1], t->pid, fds[i]);
		e.fd = fds[i];
		e.desc_id = id;
		e.cloexec = !!(flags & O_CLOEXEC);
		/* A POSIX lock shows on every fd of the task that shares the
		 * description it was taken through: recorded on the first. */
		if (f->descs[id - 1].posix_noted != t->pid) {
			f->descs[id - 1].posix_noted = t->pid;
			r = file_locks(locks, nr_locks, true, &posix, &posix_ptrs, &e.n_locks);
			if (r < 0)
				break;
			e.locks = posix_ptrs;
		}
		r = crl_img_write(img, &e.base);
	}
	if (r < 0) {
		crl_img_close(img);
		return r;
	}
	r = crl_img_close(img);
	if (r < 0)
		return log_error_errno(r, "cannot write fdinfo-%d.img: %m", t->pid);
	return 0;
}

/* Read the copy of a pipe's contents: as bytes, or packet by packet (a
 * packet-mode reader gets one buffer per read). */
static int read_copy(int fd, ssize_t n, PipeEntry *e, char *buf)
{
	/* A read stops at the end of a packet buffer (the buffer's own flag,
	 * whatever the reader), and never before the end of plain data: more
	 * than one read means packets, even when no writer is left to show
	 * O_DIRECT. */
	for (ssize_t got = 0; got < n;) {
		ssize_t k = read(fd, buf + got, n - got);
		ProtobufCBinaryData *np;

		if (k <= 0)
			return k < 0 ? negative_errno() : -EIO;
		np = realloc(e->packet, (e->n_packet + 1) * sizeof(*np));
		if (!np)
			return -ENOMEM;
		e->packet = np;
		e->packet[e->n_packet++] = (ProtobufCBinaryData){ k, (uint8_t *)buf + got };
		got += k;
	}
	if (e->n_packet > 1)
		e->has_packets = e->packets = true;
	if (!e->packets) {
		e->n_packet = 0;
		if (n > 0) {
			e->has_data = true;
			e->data.len = n;
			e->data.data = (uint8_t *)buf;
		}
	}
	return 0;
}

/* The unread bytes of a pipe, copied with tee(): they stay in the pipe. */
static int peek_pipe(const struct dump_pipe *p, PipeEntry *e, void **ret_buf)
{
	_cleanup_close_ int rfd = -1;
	int helper[2] = { -1, -1 }, size;
	char path[64];
	void *buf;
	ssize_t n;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", p->pid, p->fd);
	/* A reader of our own on the same pipe (O_NONBLOCK: never waits for
	 * a writer). */
	rfd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (rfd < 0)
		return log_error_errno(negative_errno(), "pipe %llu: cannot open it through %s: %m",
				       (unsigned long long)p->ino, path);
	size = fcntl(rfd, F_GETPIPE_SZ);
	if (size < 0)
		return log_error_errno(negative_errno(), "pipe %llu: F_GETPIPE_SZ: %m", (unsigned long long)p->ino);
	e->size = size;
	buf = malloc(size);
	if (!buf)
		return -ENOMEM;
	if (pipe2(helper, O_CLOEXEC | O_NONBLOCK | (e->packets ? O_DIRECT : 0)) < 0 ||
	    fcntl(helper[1], F_SETPIPE_SZ, size) < size) {
		r = log_error_errno(negative_errno(), "cannot make a pipe of %d bytes to copy pipe %llu: %m",
				    size, (unsigned long long)p->ino);
		goto out;
	}
	n = tee(rfd, helper[1], size, SPLICE_F_NONBLOCK);
	if (n < 0 && errno != EAGAIN) {
		r = log_error_errno(negative_errno(), "pipe %llu: tee: %m", (unsigned long long)p->ino);
		goto out;
	}
	if (n > 0) {
		r = read_copy(helper[0], n, e, buf);
		if (r < 0) {
			r = log_error_errno(r, "pipe %llu: cannot read the copy: %m", (unsigned long long)p->ino);
			goto out;
		}
	}
out:
	if (helper[0] >= 0)
		close(helper[0]);
	if (helper[1] >= 0)
		close(helper[1]);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret_buf = buf;
	return 0;
}

int dump_files_write(struct dump_ctx *ctx)
{
	struct dump_files *f = ctx->files;
	struct crl_img *descs = NULL, *pipes = NULL, *socks = NULL;
	int r;

	r = check_outside_pipes(ctx);
	if (r < 0)
		return r;
	r = crl_img_open(ctx->stagefd, CRL_IMG_FILEDESC, 0, CRL_IMG_WRITE, &descs);
	if (r >= 0)
		r = crl_img_open(ctx->stagefd, CRL_IMG_PIPES, 0, CRL_IMG_WRITE, &pipes);
	if (r >= 0)
		r = crl_img_open(ctx->stagefd, CRL_IMG_UNIXSK, 0, CRL_IMG_WRITE, &socks);
	if (r < 0)
		r = log_error_errno(r, "cannot create the file images: %m");
	for (size_t i = 0; i < f->nr_descs && r >= 0; i++) {
		const struct dump_desc *d = &f->descs[i];
		FileDescEntry e = FILE_DESC_ENTRY__INIT;
		FileLock *lock_msgs = NULL;

		e.id = d->id;
		e.kind = d->kind;
		e.flags = d->flags;
		e.has_pos = true;
		e.pos = d->pos;
		e.has_object_id = d->object_id != 0;
		e.object_id = d->object_id;
		e.path = d->path;
		e.has_rdev = d->rdev != 0;
		e.rdev = d->rdev;
		e.has_pipe_id = d->pipe_id != 0;
		e.pipe_id = d->pipe_id;
		e.has_sk_id = d->sk_id != 0;
		e.sk_id = d->sk_id;
		if (d->owner_pid || d->sig) {
			e.has_owner_type = e.has_owner_pid = e.has_sig = true;
			e.owner_type = d->owner_type;
			e.owner_pid = d->owner_pid;
			e.sig = d->sig;
		}
		r = file_locks(d->locks, d->nr_locks, false, &lock_msgs, &e.locks, &e.n_locks);
		if (r >= 0)
			r = crl_img_write(descs, &e.base);
		free(lock_msgs);
		free(e.locks);
	}
	for (size_t i = 0; i < f->nr_pipes && r >= 0; i++) {
		PipeEntry e = PIPE_ENTRY__INIT;
		void *buf = NULL;

		e.id = f->pipes[i].id;
		e.ino = f->pipes[i].ino;
		/* Packet mode (pipe2 with O_DIRECT) shows in its ends' flags. */
		for (size_t k = 0; k < f->nr_descs; k++)
			if (f->descs[k].pipe_id == e.id && (f->descs[k].flags & O_DIRECT))
				e.has_packets = e.packets = true;
		e.has_outside = e.outside = f->pipes[i].outside != 0;
		r = peek_pipe(&f->pipes[i], &e, &buf);
		if (r >= 0)
			r = crl_img_write(pipes, &e.base);
		free(e.packet);
		free(buf);
	}
	if (r >= 0)
		r = dump_sockets_write(ctx, socks);
	if (r >= 0) {
		r = crl_img_close(descs);
		descs = NULL;
		if (r >= 0) {
			r = crl_img_close(pipes);
			pipes = NULL;
		}
		if (r >= 0) {
			r = crl_img_close(socks);
			socks = NULL;
		}
		if (r < 0)
			r = log_error_errno(r, "cannot write the file images: %m");
	}
	crl_img_close(descs);
	crl_img_close(pipes);
	crl_img_close(socks);
	return r;
}
