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
};

struct dump_pipe {
	uint32_t id;
	uint64_t ino;
	pid_t pid;
	int fd;
};

struct dump_files {
	struct dump_desc *descs;
	size_t nr_descs, cap_descs;
	struct dump_pipe *pipes;
	size_t nr_pipes, cap_pipes;
};

int dump_files_new(struct dump_files **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

void dump_files_free(struct dump_files *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nr_descs; i++)
		free(f->descs[i].path);
	free(f->descs);
	free(f->pipes);
	free(f);
}

int dump_refuse_fd(const struct dump_task *t, int fd, const char *link, const char *what)
{
	return log_error_errno(-EOPNOTSUPP, "task %d (%s): fd %d (%s) is %s; not supported", t->pid,
			       t->stat.comm, fd, link, what);
}

/* "pos:" and "flags:" of /proc/PID/fdinfo/N. */
static int read_fdinfo(pid_t pid, int fd, uint64_t *pos, uint32_t *flags)
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
	return 0;
}

/* The description this fd shares with one seen before, if any. */
static int find_desc(struct dump_files *f, pid_t pid, int fd, const struct stat *st, uint32_t *ret_id)
{
	for (size_t i = 0; i < f->nr_descs; i++) {
		const struct dump_desc *d = &f->descs[i];
		int r;

		if (d->dev != st->st_dev || d->ino != st->st_ino)
			continue;
		r = crl_kcmp_file(d->pid, d->fd, pid, fd);
		if (r < 0)
			return log_error_errno(r, "kcmp of fd %d of task %d with fd %d of task %d: %m", fd, pid,
					       d->fd, d->pid);
		if (r == 0) {
			*ret_id = d->id;
			return 1;
		}
	}
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
	f->pipes[f->nr_pipes] = (struct dump_pipe){ f->nr_pipes + 1, ino, pid, fd };
	*ret = ++f->nr_pipes;
	return 0;
}

static bool is_tty(dev_t rdev)
{
	unsigned maj = major(rdev), min = minor(rdev);

	return (maj >= 136 && maj <= 143) || maj == 4 || (maj == 5 && min != 2);
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

	if (S_ISSOCK(st->st_mode)) {
		d->kind = FD_KIND__FD_UNIX;
		return dump_sockets_add(ctx, t, fd, link, st->st_ino, &d->sk_id);
	}
	if (S_ISFIFO(st->st_mode)) {
		if (!strncmp(link, "pipe:", 5)) {
			d->kind = FD_KIND__FD_PIPE;
		} else {
			d->kind = FD_KIND__FD_FIFO;
			if (link[0] != '/')
				return dump_refuse_fd(t, fd, link, "a FIFO without a path");
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
		size_t len;

		if (!name)
			return -ENOMEM;
		len = strlen(name);
		if (len > 10 && !strcmp(name + len - 10, " (deleted)"))
			name[len - 10] = '\0';
		if (name[0] != '/')
			return dump_refuse_fd(t, fd, link, "an unlinked file without a path");
		d->kind = FD_KIND__FD_UNLINKED;
		return dump_objects_add_shmem(ctx->objects, SHMEM_KIND__SHMEM_UNLINKED, name, st, t->pid, src,
					      &d->object_id);
	}
	if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode)) {
		struct stat now;

		if (link[0] != '/' || stat(link, &now) < 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino)
			return dump_refuse_fd(t, fd, link, "a file whose path no longer leads to it");
		d->kind = S_ISDIR(st->st_mode) ? FD_KIND__FD_DIR : FD_KIND__FD_REG;
		return dump_objects_add_file(ctx->objects, link, st, false, &d->object_id);
	}
	return dump_refuse_fd(t, fd, link, "of a kind criu-lite does not know");
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
	r = crl_img_open(ctx->stagefd, CRL_IMG_FDINFO, t->pid, CRL_IMG_WRITE, &img);
	if (r < 0)
		return log_error_errno(r, "cannot create fdinfo-%d.img: %m", t->pid);
	for (size_t i = 0; i < nr && r >= 0; i++) {
		FdEntry e = FD_ENTRY__INIT;
		char path[64], link[PATH_MAX];
		struct stat st;
		uint32_t flags = 0, id = 0;
		uint64_t pos = 0;
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", t->pid, fds[i]);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0 || stat(path, &st) < 0 || read_fdinfo(t->pid, fds[i], &pos, &flags) < 0) {
			r = log_error_errno(negative_errno(), "task %d: cannot inspect fd %d: %m", t->pid, fds[i]);
			break;
		}
		link[n] = '\0';
		r = find_desc(f, t->pid, fds[i], &st, &id);
		if (r == 0) {
			struct dump_desc d = { .id = f->nr_descs + 1, .pid = t->pid, .fd = fds[i],
					       .dev = st.st_dev, .ino = st.st_ino,
					       .flags = flags & ~O_CLOEXEC, .pos = pos };

			r = describe(ctx, t, fds[i], link, &st, &d);
			if (r >= 0 && GROW(f->descs, f->cap_descs, f->nr_descs + 1) < 0)
				r = -ENOMEM;
			if (r < 0) {
				free(d.path);
				break;
			}
			f->descs[f->nr_descs++] = d;
			id = d.id;
		}
		if (r < 0)
			break;
		e.fd = fds[i];
		e.desc_id = id;
		e.cloexec = !!(flags & O_CLOEXEC);
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
		r = crl_img_write(descs, &e.base);
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
