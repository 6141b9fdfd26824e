/*
 * Unix sockets of the tree, made again by kind before any fd is placed: a
 * connected pair with socketpair(); a listening or bound socket with bind()
 * (and listen()); an accepted connection by connecting a new client to the
 * restored listener and accepting it; a datagram socket connected to a named
 * one with connect(), once every socket is bound. Each description is then
 * taken into place by the fd table (files.c). Queued messages are sent again
 * from the peer, or to the socket's name, in their order; shutdowns and peek
 * offsets last.
 */
#include <fcntl.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>

#include "crl/kernel.h"
#include "crl/log.h"
#include "crl/nl.h"
#include "restore.h"

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

/* The socket that this restore bound to path, whose file st is. */
static struct rst_sock *bound_by(struct rst_ctx *ctx, const char *path, const struct stat *st)
{
	for (size_t i = 0; i < ctx->nr_socks; i++)
		if (ctx->socks[i].bound_path[0] && ctx->socks[i].bound_ino == st->st_ino &&
		    !strcmp(ctx->socks[i].bound_path, path))
			return &ctx->socks[i];
	return NULL;
}

/* st, at path, is a socket file that a dumped socket bound to name left
 * behind (its vfs_ino), not one this restore made. */
static bool left_behind(struct rst_ctx *ctx, const ProtobufCBinaryData *name, const char *path,
			const struct stat *st)
{
	if (!S_ISSOCK(st->st_mode) || bound_by(ctx, path, st))
		return false;
	for (size_t i = 0; i < ctx->nr_socks; i++) {
		const UnixSkEntry *o = ctx->socks[i].e;

		if (o->has_name && same_bytes(&o->name, name) && (!o->has_vfs_ino || o->vfs_ino == st->st_ino))
			return true;
	}
	return false;
}

/* A path name must be free to bind: a socket file a dumped socket of that
 * name left behind is removed, and so is the file this restore made for a
 * detached socket (it goes anyway); anything else there (another restored
 * socket's file among them) stops the restore. */
static int free_path(struct rst_ctx *ctx, const struct rst_task *t, const UnixSkEntry *e)
{
	char path[PATH_MAX];
	struct stat st;
	struct rst_sock *o;

	if (!e->has_name || e->name.data[0] == '\0')
		return 0;
	sock_path(t, &e->name, path, sizeof(path));
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : log_error_errno(negative_errno(), "socket %s: %m", path);
	o = bound_by(ctx, path, &st);
	if (o && o->e->detached)
		o->bound_path[0] = '\0';
	else if (!left_behind(ctx, &e->name, path, &st))
		return log_error_errno(-EEXIST, "socket %s: something else took the path since the dump", path);
	if (unlink(path) < 0)
		return log_error_errno(negative_errno(), "socket %s: cannot remove the old socket file: %m", path);
	return 0;
}

static int set_opt(struct rst_task *t, int fd, int opt, const void *v, size_t len, const char *what)
{
	uint64_t addr;
	int r;

	crl_rsys_scratch_reset(&t->rsys);
	r = rst_put(t, v, len, &addr);
	if (r >= 0)
		r = RCALL(t, NULL, what, SYS_setsockopt, fd, SOL_SOCKET, opt, addr, len);
	return r;
}

static int set_int_opt(struct rst_task *t, int fd, int opt, int v, const char *what)
{
	return set_opt(t, fd, opt, &v, sizeof(v), what);
}

static int set_timeo(struct rst_task *t, int fd, int opt, uint64_t us, const char *what)
{
	struct timeval tv = { .tv_sec = us / 1000000, .tv_usec = us % 1000000 };

	return set_opt(t, fd, opt, &tv, sizeof(tv), what);
}

static int sock_options(struct rst_task *t, int fd, const UnixSkEntry *e)
{
	int r = 0;

	/* The kernel doubles what it is given and reports the double. */
	if (e->has_rcvbuf)
		r = set_int_opt(t, fd, SO_RCVBUFFORCE, e->rcvbuf / 2, "SO_RCVBUFFORCE");
	if (r >= 0 && e->has_sndbuf)
		r = set_int_opt(t, fd, SO_SNDBUFFORCE, e->sndbuf / 2, "SO_SNDBUFFORCE");
	if (r >= 0 && e->has_rcvtimeo_us)
		r = set_timeo(t, fd, SO_RCVTIMEO_OLD, e->rcvtimeo_us, "SO_RCVTIMEO");
	if (r >= 0 && e->has_sndtimeo_us)
		r = set_timeo(t, fd, SO_SNDTIMEO_OLD, e->sndtimeo_us, "SO_SNDTIMEO");
	if (r >= 0 && e->has_timestamp)
		r = set_int_opt(t, fd, e->timestamp, 1, "SO_TIMESTAMP");
	if (r >= 0 && e->has_rcvlowat)
		r = set_int_opt(t, fd, SO_RCVLOWAT, e->rcvlowat, "SO_RCVLOWAT");
	if (r >= 0 && e->has_passsec && e->passsec)
		r = set_int_opt(t, fd, SO_PASSSEC, 1, "SO_PASSSEC");
	if (r >= 0 && e->has_oobinline && e->oobinline)
		r = set_int_opt(t, fd, SO_OOBINLINE, 1, "SO_OOBINLINE");
	if (r >= 0 && e->has_passrights && !e->passrights)
		r = set_int_opt(t, fd, SO_PASSRIGHTS, 0, "SO_PASSRIGHTS");
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

/* A call that takes a unix address (bind, connect) made by t on fd: the
 * address of the socket binder bound to name (see reach_addr; binder 0: the
 * name as it is). */
static int sock_call(struct rst_task *t, long nr, const char *what, int fd, const ProtobufCBinaryData *name,
		     pid_t binder)
{
	struct sockaddr_un a;
	socklen_t alen = reach_addr(name, binder, &a);
	uint64_t addr;
	int r;

	crl_rsys_scratch_reset(&t->rsys);
	r = rst_put(t, &a, alen, &addr);
	if (r >= 0)
		r = RCALL(t, NULL, what, nr, fd, addr, alen);
	return r;
}

/* Bind s (made in t) to its name: the old socket file removed, the new one
 * given the dumped mode. */
static int bind_name(struct rst_ctx *ctx, struct rst_task *t, struct rst_sock *s)
{
	const UnixSkEntry *e = s->e;
	int r = free_path(ctx, t, e);

	if (r >= 0)
		r = sock_call(t, SYS_bind, "bind", s->fd, &e->name, 0);
	if (r >= 0 && e->name.data[0]) {
		struct stat st;

		sock_path(t, &e->name, s->bound_path, sizeof(s->bound_path));
		s->bound_ino = lstat(s->bound_path, &st) == 0 ? st.st_ino : 0;
		if (e->has_vfs_mode && chmod(s->bound_path, e->vfs_mode) < 0)
			log_warn("socket %s: cannot give it mode %o: %m", s->bound_path, e->vfs_mode);
		if ((e->has_vfs_uid || e->has_vfs_gid) &&
		    lchown(s->bound_path, e->has_vfs_uid ? e->vfs_uid : (uid_t)-1,
			   e->has_vfs_gid ? e->vfs_gid : (gid_t)-1) < 0)
			log_warn("socket %s: cannot give it owner %u:%u: %m", s->bound_path, e->vfs_uid, e->vfs_gid);
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

/* A new unix socket in t, non-blocking while restored (nothing may hang the
 * restore; each description gets its dumped flags when it is placed), kept
 * in the holding range. */
static int new_socket(struct rst_task *t, uint32_t type, int *ret_fd)
{
	long fd;
	int r = RCALL(t, &fd, "socket", SYS_socket, AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	return r < 0 ? r : rst_hold_fd(t, fd, ret_fd);
}

/* socket(), in t, kept in the holding range; bound to its name if it has
 * one, listening if it was. */
static int make_plain(struct rst_ctx *ctx, struct rst_task *t, struct rst_sock *s)
{
	const UnixSkEntry *e = s->e;
	int r = new_socket(t, e->type, &s->fd);

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

/* x was accepted from a listener: a stream or seqpacket socket that bears a
 * name without listening, whose peer y names it (or whose peer was closed,
 * y NULL). A socketpair() end bound after the fact looks the same, and is
 * made the same way (its name then is not taken any more; see
 * architecture.md). */
static bool accepted_end(const UnixSkEntry *x, const UnixSkEntry *y)
{
	return x->type != SOCK_DGRAM && x->state != TCP_LISTEN && x->has_name &&
	       (y ? y->has_peer_name && same_bytes(&x->name, &y->peer_name) : x->peer_closed);
}

/* The restored listening socket with x's name and type, if any: the one
 * the name leads to (a detached one's file may be gone already). */
static struct rst_sock *listener_of(struct rst_ctx *ctx, const UnixSkEntry *x)
{
	struct rst_sock *found = NULL;

	for (size_t i = 0; i < ctx->nr_socks; i++) {
		struct rst_sock *l = &ctx->socks[i];

		if (l->e->state == TCP_LISTEN && l->e->type == x->type && l->e->has_name && l->owner &&
		    same_bytes(&l->e->name, &x->name) && (!found || found->e->detached))
			found = l;
	}
	return found;
}

/* A listening socket that accepts connections for the restore: a restored
 * one, or one made for the time it takes. */
struct acceptor {
	struct rst_task *t;                /* the task holding it */
	int fd;
	const ProtobufCBinaryData *name;
	pid_t binder;                      /* who bound the name (relative names) */
};

/*
 * An accepted connection made again the way it was made: the client
 * connects to the listener, which accepts it; both ends keep their
 * addresses. A client that was closed is a new socket of the listener's
 * task, kept as the accepted end's dead_fd: the queue is refilled through
 * it, then it is closed and the accepted end sees its peer gone again.
 */
static int make_accepted(struct rst_ctx *ctx, const struct acceptor *l, struct rst_sock *accepted,
			 struct rst_sock *client)
{
	struct rst_task *tc = client ? (client->holder ? client->holder : accepted->holder) : l->t;
	int cfd = -1;
	long fd;
	int r;

	if (client) {
		r = make_plain(ctx, tc, client);
		cfd = client->fd;
	} else {
		r = new_socket(tc, accepted->e->type, &accepted->dead_fd);
		cfd = accepted->dead_fd;
	}
	if (r >= 0)
		r = sock_call(tc, SYS_connect, "connect to the listener", cfd, l->name, l->binder);
	if (r >= 0)
		r = RCALL(l->t, &fd, "accept", SYS_accept4, l->fd, 0, 0, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (r >= 0)
		r = rst_hold_fd(l->t, fd, &accepted->fd);
	if (r < 0)
		return r;
	accepted->owner = l->t->pid;
	return sock_options(l->t, accepted->fd, accepted->e);
}

/* The peer of s in a pair, or NULL (a closed peer). */
static struct rst_sock *pair_peer(struct rst_ctx *ctx, struct rst_sock *s)
{
	return mutual(ctx, s->e) ? &ctx->socks[s->e->peer_id - 1] : NULL;
}

/*
 * The connections accepted from a listener that is gone, all of one name
 * (the first is first): a listener is bound to the name again in the task
 * of the first, accepts them, and is closed. Its socket file stays, as the
 * old one did.
 */
static int accept_from_gone(struct rst_ctx *ctx, struct rst_sock *first)
{
	struct rst_task *t = first->holder;
	struct rst_sock tmp = { .e = first->e, .fd = -1, .owner = t->pid };
	struct acceptor l = { t, -1, &first->e->name, t->pid };
	long fd;
	int r;

	r = RCALL(t, &fd, "socket", SYS_socket, AF_UNIX, first->e->type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (r < 0)
		return r;
	tmp.fd = l.fd = fd;
	r = bind_name(ctx, t, &tmp);
	/* A failed restore removes the file; the first accepted end answers
	 * for it. */
	memcpy(first->bound_path, tmp.bound_path, sizeof(tmp.bound_path));
	first->bound_ino = tmp.bound_ino;
	if (r >= 0)
		r = RCALL(t, NULL, "listen", SYS_listen, l.fd, 128);
	for (size_t i = first - ctx->socks; i < ctx->nr_socks && r >= 0; i++) {
		struct rst_sock *s = &ctx->socks[i], *p;

		if (s->owner || !s->holder || s->e->type != first->e->type)
			continue;
		p = pair_peer(ctx, s);
		if ((p || s->e->peer_closed) && accepted_end(s->e, p ? p->e : NULL) &&
		    same_bytes(&s->e->name, &first->e->name))
			r = make_accepted(ctx, &l, s, p);
	}
	if (RCALL(t, NULL, "close", SYS_close, l.fd) < 0 && r >= 0)
		r = -EIO;
	return r;
}

/*
 * Every socket, before any fd is placed, in the order their links need:
 * names first (listeners, bound datagram sockets), then connections
 * (accepted ones through their listener, or through a listener made for
 * them when theirs is gone; other pairs with socketpair()), then datagram
 * sockets connected to a name, then the rest.
 */
int rst_make_sockets(struct rst_ctx *ctx)
{
	int r = 0;

	/* Detached ones first: another socket may bind their path after. */
	for (int detached = 1; detached >= 0; detached--)
		for (size_t i = 0; i < ctx->nr_socks && r >= 0; i++) {
			struct rst_sock *s = &ctx->socks[i];

			if (s->holder && !s->owner && s->e->has_name && !s->e->peer_id && !s->e->peer_closed &&
			    !s->e->peer_outside && s->e->detached == detached)
				r = make_plain(ctx, s->holder, s);
		}
	for (size_t i = 0; i < ctx->nr_socks && r >= 0; i++) {
		struct rst_sock *s = &ctx->socks[i], *p, *x, *y, *l;

		if (s->owner || !s->holder)
			continue;
		if (!s->e->peer_closed && !mutual(ctx, s->e))
			continue;
		p = pair_peer(ctx, s);
		/* x the accepted end, y the client (NULL: closed) */
		if (accepted_end(s->e, p ? p->e : NULL)) {
			x = s;
			y = p;
		} else if (p && accepted_end(p->e, s->e)) {
			x = p;
			y = s;
		} else {
			r = make_pair(ctx, s->holder, s, p);
			continue;
		}
		if ((l = listener_of(ctx, x->e))) {
			struct acceptor a = { task_of(ctx, l->owner), l->fd, &l->e->name, l->owner };

			r = make_accepted(ctx, &a, x, y);
		} else {
			r = accept_from_gone(ctx, x);
		}
	}
	for (size_t i = 0; i < ctx->nr_socks && r >= 0; i++) {
		struct rst_sock *s = &ctx->socks[i];
		const UnixSkEntry *peer;

		if (s->owner || !s->holder)
			continue;
		r = make_plain(ctx, s->holder, s);
		if (r >= 0 && s->e->peer_outside) {
			/* Outside the tree: the name leads to it again. */
			r = sock_call(s->holder, SYS_connect, "connect to a socket outside the tree", s->fd, &s->e->peer_name, 0);
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
		r = sock_call(s->holder, SYS_connect, "connect", s->fd, &peer->name, ctx->socks[s->e->peer_id - 1].owner);
	}
	return r;
}

int rst_open_socket(struct rst_ctx *ctx, struct rst_task *t, const FileDescEntry *d, int *ret_fd)
{
	struct rst_sock *s = &ctx->socks[d->sk_id - 1];
	int r;

	if (!s->owner)
		return log_error_errno(-EINVAL, "task %d: unix socket %u was not made", t->pid, s->e->id);
	r = rst_take_fd(t, s->owner, s->fd, ret_fd);
	if (r >= 0)
		r = rst_set_status_flags(t, *ret_fd, d->flags);
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

/*
 * Send len bytes of message k of e's queue from fd (to an address, or to its
 * peer), never waiting. With SO_PASSCRED the receiver reads the sender's
 * credentials: the recorded ones are sent with it (root may name any
 * process that exists); a sender that is gone (ESRCH) leaves criu-lite's,
 * with a warning, and *gone is set for the rest of the message.
 */
static ssize_t send_queued(const UnixSkEntry *e, size_t k, int fd, const void *data, size_t len,
			   const struct sockaddr_un *to, socklen_t tolen, bool *gone)
{
	/* pid 0: it came with none, and goes with none (neither end has
	 * SO_PASSCRED while the queues are refilled). */
	const UnixSkCred *cred = k < e->n_queue_cred && e->queue_cred[k]->pid ? e->queue_cred[k] : NULL;
	char cbuf[CMSG_SPACE(sizeof(struct ucred))] = { 0 };
	struct iovec iov = { (void *)data, len };
	struct msghdr mh = { .msg_name = tolen ? (void *)to : NULL, .msg_namelen = tolen, .msg_iov = &iov,
			     .msg_iovlen = 1 };
	ssize_t n;

	if (cred) {
		struct ucred u = { .pid = *gone ? getpid() : (pid_t)cred->pid, .uid = cred->uid, .gid = cred->gid };
		struct cmsghdr *c;

		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_CREDENTIALS;
		c->cmsg_len = CMSG_LEN(sizeof(u));
		memcpy(CMSG_DATA(c), &u, sizeof(u));
	}
	n = sendmsg(fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (n < 0 && errno == ESRCH && cred && !*gone) {
		/* The uid and gid stay the sender's; the pid must be of a
		 * live process: criu-lite's, which is gone soon too. */
		log_warn("unix socket %u: message %zu of its queue: its sender, pid %u, is gone; it is sent with "
			 "criu-lite's pid and the sender's uid %u and gid %u",
			 e->id, k, cred->pid, cred->uid, cred->gid);
		*gone = true;
		return send_queued(e, k, fd, data, len, to, tolen, gone);
	}
	return n;
}

static int send_one(const UnixSkEntry *e, size_t k, int fd, const struct sockaddr_un *to, socklen_t tolen)
{
	bool gone = false;
	ssize_t n = send_queued(e, k, fd, e->queue[k].data, e->queue[k].len, to, tolen, &gone);

	if (n != (ssize_t)e->queue[k].len)
		return n < 0 ? negative_errno() : -EIO;
	return 0;
}

/* Queued messages sent again, in order: by the peer of a pair (or the end
 * of a closed peer), by the peer a datagram socket is connected to, or by
 * their senders to the socket's name. Then the shutdowns. */
int rst_refill_sockets(struct rst_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_socks; i++) {
		struct rst_sock *s = &ctx->socks[i];
		const UnixSkEntry *e = s->e;
		_cleanup_close_ int peer = -1;
		struct sockaddr_un to;
		socklen_t tolen = 0;
		int r, had, fd_had;

		if (!s->owner || (!e->n_queue && !e->conn_reset))
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
				bool gone = false;

				/* Never wait: a full buffer would hang the restore. */
				for (size_t done = 0; done < m->len;) {
					ssize_t n = send_queued(e, k, peer, m->data + done, m->len - done, NULL, 0,
								&gone);

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
			r = send_one(e, k, fd, &to, tolen);
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
		if (e->conn_reset) {
			/* A byte left unread in the closed end's queue: closing
			 * it sets ECONNRESET on this end, as it was. */
			_cleanup_close_ int self = local_copy(s->owner, s->fd);

			if (self < 0 || send(self, "", 1, MSG_DONTWAIT) != 1)
				return log_error_errno(self < 0 ? self : negative_errno(),
						       "unix socket %u: cannot make its pending reset again: %m", e->id);
		}
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
	/* The peek offset last: refilling the queue does not move it. And
	 * SO_PASSCRED and SO_PASSPIDFD: an unbound socket that has them is
	 * given an abstract name by its first connect() or send(), which the
	 * dumped one did not have (the refill sends with the recorded
	 * credentials, whatever the receiver asks). */
	for (size_t i = 0; i < ctx->nr_socks; i++) {
		struct rst_sock *s = &ctx->socks[i];
		struct rst_task *t = s->owner ? task_of(ctx, s->owner) : NULL;
		const UnixSkEntry *e = s->e;
		int r = 0;

		if (!t)
			continue;
		if (e->has_peek_off)
			r = set_int_opt(t, s->fd, SO_PEEK_OFF, e->peek_off, "SO_PEEK_OFF");
		if (r >= 0 && e->has_passcred && e->passcred)
			r = set_int_opt(t, s->fd, SO_PASSCRED, 1, "SO_PASSCRED");
		if (r >= 0 && e->has_passpidfd && e->passpidfd)
			r = set_int_opt(t, s->fd, SO_PASSPIDFD, 1, "SO_PASSPIDFD");
		if (r < 0)
			return r;
	}
	/* Socket files the dumped sockets no longer had: kept until every
	 * socket was connected and refilled (by name), removed now. */
	for (size_t i = 0; i < ctx->nr_socks; i++) {
		struct rst_sock *s = &ctx->socks[i];

		if (s->e->detached && s->bound_path[0]) {
			if (unlink(s->bound_path) < 0)
				return log_error_errno(negative_errno(), "socket %s: cannot remove it again: %m",
						       s->bound_path);
			s->bound_path[0] = '\0';
		}
	}
	return 0;
}

/* The first task (tree order) holding each socket: the one that makes it. */
void rst_find_socket_holders(struct rst_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		for (size_t k = 0; k < ctx->tasks[i].nr_fds; k++) {
			const FileDescEntry *d = ctx->descs[ctx->tasks[i].fds[k]->desc_id - 1].e;

			if (d->kind == FD_KIND__FD_UNIX && !ctx->socks[d->sk_id - 1].holder)
				ctx->socks[d->sk_id - 1].holder = &ctx->tasks[i];
		}
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
		if (lstat(path, &st) == 0 && !left_behind(ctx, &s->e->name, path, &st))
			return log_error_errno(-EEXIST, "socket %s: something else took the path since the dump", path);
	}
	return 0;
}
