/*
 * Unix sockets of the tree: what unix_diag (lib/nl.c) says of each, its
 * options, and the messages queued to it, peeked at with SO_PEEK_OFF on a
 * copy of the socket taken with pidfd_getfd(): nothing is taken out of the
 * queue, and the task's own peek offset is put back.
 */
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "fdinfo.pb-c.h"

#include "crl/image.h"
#include "crl/kernel.h"
#include "crl/log.h"
#include "crl/nl.h"
#include "dump.h"

#define PEEK_BUF (256u << 10)

struct dump_sock {
	uint32_t id;
	struct crl_unix_sk diag;
	pid_t pid;
	int fd;
};

struct dump_sockets {
	struct dump_sock *socks;
	size_t nr_socks, cap_socks;
	struct crl_unix_table diag;
	bool have_diag;
};

int dump_sockets_new(struct dump_sockets **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

void dump_sockets_free(struct dump_sockets *f)
{
	if (!f)
		return;
	free(f->socks);
	crl_unix_table_free(&f->diag);
	free(f);
}

/* A unix socket of the tree: what unix_diag says of it, checked. */
int dump_sockets_add(struct dump_ctx *ctx, struct dump_task *t, int fd, const char *link, uint64_t ino,
		     uint32_t *ret)
{
	struct dump_sockets *f = ctx->sockets;
	const struct crl_unix_sk *s;
	int r;

	for (size_t i = 0; i < f->nr_socks; i++)
		if (f->socks[i].diag.ino == ino) {
			*ret = f->socks[i].id;
			return 0;
		}
	if (!f->have_diag) {
		r = crl_unix_diag_all(&f->diag);
		if (r < 0)
			return log_error_errno(r, "cannot list unix sockets with sock_diag: %m");
		f->have_diag = true;
	}
	s = crl_unix_find(&f->diag, ino);
	if (!s) {
		_cleanup_close_ int pidfd = crl_pidfd_open(t->pid), sk = -1;
		int domain = -1;
		socklen_t len = sizeof(domain);

		if (pidfd >= 0)
			sk = crl_pidfd_getfd(pidfd, fd);
		if (sk >= 0)
			getsockopt(sk, SOL_SOCKET, SO_DOMAIN, &domain, &len);
		return dump_refuse_fd(t, fd, link,
				 domain == AF_INET ? "an IPv4 socket" :
				 domain == AF_INET6 ? "an IPv6 socket" :
				 domain == AF_NETLINK ? "a netlink socket" :
				 domain == AF_PACKET ? "a packet socket" : "a socket of another family than unix");
	}
	if (s->nr_icons)
		return dump_refuse_fd(t, fd, link, "a listening unix socket with connections not yet accepted");
	if (GROW(f->socks, f->cap_socks, f->nr_socks + 1) < 0)
		return -ENOMEM;
	f->socks[f->nr_socks] = (struct dump_sock){ .id = f->nr_socks + 1, .diag = *s, .pid = t->pid, .fd = fd };
	*ret = ++f->nr_socks;
	return 0;
}

/* The messages queued to a socket, peeked at from a copy of it: the peek
 * offset walks through the queue without taking anything from it, and is
 * put back afterwards. */
struct queue {
	ProtobufCBinaryData *msgs;
	ProtobufCBinaryData *from;   /* datagrams: sender address of each */
	UnixSkCred *creds;           /* with SO_PASSCRED: sender's credentials of each */
	size_t nr, cap, cap_from, cap_creds;
	bool has_creds;
};

static void queue_free(struct queue *q)
{
	for (size_t i = 0; i < q->nr; i++) {
		free(q->msgs[i].data);
		if (q->from)
			free(q->from[i].data);
	}
	free(q->msgs);
	free(q->from);
	free(q->creds);
}

/* One message peeked at. */
struct peeked {
	ssize_t n;
	int flags;                   /* msg_flags */
	struct sockaddr_un from;
	size_t from_len;             /* bytes of from.sun_path */
	bool rights;                 /* it carries fds */
	bool has_cred;
	struct ucred cred;
};

static void peek_one(int sk, char *buf, struct peeked *p)
{
	/* fds, credentials, a pidfd (SO_PASSPIDFD) */
	char cbuf[CMSG_SPACE(64 * sizeof(int)) + CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int))];
	struct iovec iov = { buf, PEEK_BUF };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf), .msg_name = &p->from,
			     .msg_namelen = sizeof(p->from) };

	memset(p, 0, offsetof(struct peeked, from));
	p->n = recvmsg(sk, &mh, MSG_PEEK | MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	p->flags = mh.msg_flags;
	p->from_len = p->n >= 0 && mh.msg_namelen > offsetof(struct sockaddr_un, sun_path)
			      ? mh.msg_namelen - offsetof(struct sockaddr_un, sun_path)
			      : 0;
	p->rights = p->has_cred = false;
	if (p->n < 0)
		return;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		size_t len = c->cmsg_len - CMSG_LEN(0);

		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_CREDENTIALS && len >= sizeof(p->cred)) {
			memcpy(&p->cred, CMSG_DATA(c), sizeof(p->cred));
			p->has_cred = true;
		} else if (c->cmsg_type == SCM_RIGHTS || c->cmsg_type == SCM_PIDFD) {
			int fds[64];

			memcpy(fds, CMSG_DATA(c), MIN(len, sizeof(fds)));
			for (size_t k = 0; k < MIN(len, sizeof(fds)) / sizeof(int); k++)
				close(fds[k]);
			p->rights |= c->cmsg_type == SCM_RIGHTS;
		}
	}
}

/* Add p (its bytes in buf) to q, first (the head) or last. */
static int queue_add(struct queue *q, const struct peeked *p, const char *buf, bool first)
{
	size_t at = first ? 0 : q->nr;

	if (GROW(q->msgs, q->cap, q->nr + 1) < 0 || GROW(q->from, q->cap_from, q->nr + 1) < 0 ||
	    GROW(q->creds, q->cap_creds, q->nr + 1) < 0)
		return -ENOMEM;
	memmove(q->msgs + at + 1, q->msgs + at, (q->nr - at) * sizeof(*q->msgs));
	memmove(q->from + at + 1, q->from + at, (q->nr - at) * sizeof(*q->from));
	memmove(q->creds + at + 1, q->creds + at, (q->nr - at) * sizeof(*q->creds));
	q->msgs[at] = (ProtobufCBinaryData){ p->n, malloc(p->n ? p->n : 1) };
	q->from[at] = (ProtobufCBinaryData){ p->from_len, malloc(p->from_len + 1) };
	q->creds[at] = (UnixSkCred)UNIX_SK_CRED__INIT;
	q->nr++;
	if (!q->msgs[at].data || !q->from[at].data)
		return -ENOMEM;
	memcpy(q->msgs[at].data, buf, p->n);
	memcpy(q->from[at].data, p->from.sun_path, p->from_len);
	if (p->has_cred) {
		q->has_creds = true;
		q->creds[at].pid = p->cred.pid;
		q->creds[at].uid = p->cred.uid;
		q->creds[at].gid = p->cred.gid;
	}
	return 0;
}

static int peek_socket(const struct dump_sock *s, int sk, struct queue *q, int *ret_peek_off)
{
	_cleanup_free_ char *buf = malloc(PEEK_BUF);
	int saved = -1, zero = 0, r = 0;
	socklen_t len = sizeof(saved);
	bool eof_reads_zero = s->diag.type == SOCK_SEQPACKET && (s->diag.shutdown & 1);
	struct peeked head = { .n = -1 };

	if (!buf)
		return -ENOMEM;
	if (getsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &saved, &len) < 0)
		return log_error_errno(negative_errno(), "task %d fd %d: SO_PEEK_OFF: %m", s->pid, s->fd);
	/* The walk below cannot see an empty message that was peeked at
	 * before (at offset 0 the kernel steps over those); a peek without an
	 * offset still sees the head of the queue, which is where the task's
	 * own MSG_PEEK leaves one. This peek marks an empty head too, so the
	 * walk never sees it: it is added after the walk. */
	if (s->diag.type != SOCK_STREAM) {
		int off = -1;

		if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &off, sizeof(off)) == 0)
			peek_one(sk, buf, &head);
	}
	if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof(zero)) < 0)
		return log_error_errno(negative_errno(), "task %d fd %d: SO_PEEK_OFF: %m", s->pid, s->fd);
	for (size_t got = 0;; got += q->nr ? q->msgs[q->nr - 1].len : 0) {
		struct peeked p;

		/* A stream is peeked at up to the bytes unix_diag counted: a
		 * peek past them would take a pending error (ECONNRESET). */
		if (s->diag.type == SOCK_STREAM && got >= s->diag.rqueue)
			break;
		peek_one(sk, buf, &p);
		if (p.n < 0) {
			if (errno != EAGAIN)
				r = log_error_errno(negative_errno(), "task %d fd %d: peeking at the queue: %m",
						    s->pid, s->fd);
			break;
		}
		if (p.rights) {
			r = log_error_errno(-EOPNOTSUPP, "task %d fd %d: a message queued to this socket carries "
							 "file descriptors; not supported",
					    s->pid, s->fd);
			break;
		}
		if (p.flags & (MSG_TRUNC | MSG_CTRUNC)) {
			r = log_error_errno(-EOPNOTSUPP, "task %d fd %d: a queued message is larger than %u bytes; "
							 "not supported",
					    s->pid, s->fd, PEEK_BUF);
			break;
		}
		/* End of file: a stream's, or a seqpacket's whose peer is gone
		 * or which was shut down for reading. */
		if (p.n == 0 && (s->diag.type == SOCK_STREAM || eof_reads_zero))
			break;
		/* An empty datagram: the kernel marks it peeked, and the next
		 * peek at the same offset steps over it. */
		if (q->nr >= (1u << 20)) {
			r = log_error_errno(-EOPNOTSUPP, "task %d fd %d: more than %u queued messages", s->pid,
					    s->fd, 1u << 20);
			break;
		}
		r = queue_add(q, &p, buf, false);
		if (r < 0)
			break;
	}
	/* An empty message at the head, which the walk stepped over: it was
	 * peeked at (by the probe above, or by the task) before the walk.
	 * A seqpacket socket at end of file also reads 0 from an empty
	 * queue. */
	if (r >= 0 && head.n == 0 && !(eof_reads_zero && q->nr == 0))
		r = queue_add(q, &head, buf, true);
	if (setsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &saved, sizeof(saved)) < 0 && r >= 0)
		r = log_error_errno(negative_errno(), "task %d fd %d: cannot put SO_PEEK_OFF back: %m", s->pid,
				    s->fd);
	*ret_peek_off = saved;
	return r;
}

/* A byte of out-of-band data (send(MSG_OOB)) queued to a stream: a peek
 * with MSG_OOB sees it without taking it, once SO_OOBINLINE (which hides
 * it in the stream) is off; the task's SO_OOBINLINE is put back. The byte
 * and its mark cannot be told apart from the walk: refused. */
static int probe_oob(const struct dump_sock *s, int sk)
{
	int inline_ = 0, off = 0, r = 0;
	socklen_t len = sizeof(inline_);
	char c;

	if (getsockopt(sk, SOL_SOCKET, SO_OOBINLINE, &inline_, &len) < 0)
		return log_error_errno(negative_errno(), "task %d fd %d: SO_OOBINLINE: %m", s->pid, s->fd);
	if (inline_ && setsockopt(sk, SOL_SOCKET, SO_OOBINLINE, &off, sizeof(off)) < 0)
		return log_error_errno(negative_errno(), "task %d fd %d: SO_OOBINLINE: %m", s->pid, s->fd);
	if (recv(sk, &c, 1, MSG_OOB | MSG_PEEK | MSG_DONTWAIT) == 1)
		r = log_error_errno(-EOPNOTSUPP, "task %d fd %d: a byte of out-of-band data (MSG_OOB) is queued to "
						 "this unix stream; not supported",
				    s->pid, s->fd);
	if (inline_ && setsockopt(sk, SOL_SOCKET, SO_OOBINLINE, &inline_, sizeof(inline_)) < 0 && r >= 0)
		r = log_error_errno(negative_errno(), "task %d fd %d: cannot put SO_OOBINLINE back: %m", s->pid,
				    s->fd);
	return r;
}

/* An int option of the socket, or def when it cannot be read (an older
 * kernel). */
static int int_opt(int sk, int opt, int def)
{
	int v;
	socklen_t len = sizeof(v);

	return getsockopt(sk, SOL_SOCKET, opt, &v, &len) == 0 ? v : def;
}

static uint64_t timeo_opt(int sk, int opt)
{
	struct timeval tv;
	socklen_t len = sizeof(tv);

	if (getsockopt(sk, SOL_SOCKET, opt, &tv, &len) < 0 || tv.tv_sec < 0 || tv.tv_usec < 0)
		return 0;
	return (uint64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

/* The options a task may have set, which the kernel keeps per socket: those
 * at their default are not recorded. */
static void sock_options(int sk, UnixSkEntry *e)
{
	/* SO_TIMESTAMPNS sets what SO_TIMESTAMP reads too: asked first. */
	static const int stamps[] = { SO_TIMESTAMPNS_NEW, SO_TIMESTAMP_NEW, SO_TIMESTAMPNS_OLD, SO_TIMESTAMP_OLD };

	e->rcvtimeo_us = timeo_opt(sk, SO_RCVTIMEO_OLD);
	e->has_rcvtimeo_us = e->rcvtimeo_us != 0;
	e->sndtimeo_us = timeo_opt(sk, SO_SNDTIMEO_OLD);
	e->has_sndtimeo_us = e->sndtimeo_us != 0;
	for (size_t i = 0; i < ARRAY_SIZE(stamps) && !e->has_timestamp; i++)
		if (int_opt(sk, stamps[i], 0) == 1) {
			e->has_timestamp = true;
			e->timestamp = stamps[i];
		}
	e->rcvlowat = int_opt(sk, SO_RCVLOWAT, 1);
	e->has_rcvlowat = e->rcvlowat != 1;
	e->has_passpidfd = e->passpidfd = int_opt(sk, SO_PASSPIDFD, 0) == 1;
	e->has_passsec = e->passsec = int_opt(sk, SO_PASSSEC, 0) == 1;
	e->has_oobinline = e->oobinline = int_opt(sk, SO_OOBINLINE, 0) == 1;
	e->has_passrights = int_opt(sk, SO_PASSRIGHTS, 1) == 0;
	e->passrights = false;
}

static bool same_name(const struct crl_unix_sk *a, const struct crl_unix_sk *b)
{
	return a->name_len == b->name_len && !memcmp(a->name, b->name, a->name_len);
}

/* Another socket of the dump bound to s's name whose socket file is ino. */
static bool file_of_other(const struct dump_sockets *f, const struct dump_sock *s, uint64_t ino)
{
	for (size_t i = 0; i < f->nr_socks; i++)
		if (&f->socks[i] != s && f->socks[i].diag.has_vfs && f->socks[i].diag.vfs_ino == ino &&
		    same_name(&f->socks[i].diag, &s->diag))
			return true;
	return false;
}

/* s is a connection the restore makes through a listening socket of the
 * dump of its name and type, without binding it. */
static bool through_listener(const struct dump_sockets *f, const struct dump_sock *s)
{
	if (s->diag.type == SOCK_DGRAM || s->diag.state == TCP_LISTEN || !s->diag.has_peer)
		return false;
	for (size_t i = 0; i < f->nr_socks; i++)
		if (f->socks[i].diag.state == TCP_LISTEN && f->socks[i].diag.type == s->diag.type &&
		    same_name(&f->socks[i].diag, &s->diag))
			return true;
	return false;
}

/*
 * The socket file of a path name: its mode and owner when the path still
 * leads to it. When it does not, the restore binds the name and removes the
 * file again (detached): the path must be free for that, or hold the file
 * of another socket of the dump of that name (bound again after), and its
 * directory must exist. Otherwise refused, but for a connection made
 * through its listener, which binds nothing.
 */
static int sock_file(struct dump_ctx *ctx, const struct dump_sock *s, UnixSkEntry *e)
{
	const struct crl_unix_sk *d = &s->diag;
	int n = strnlen(d->name, d->name_len);
	char path[PATH_MAX], dir[PATH_MAX], *slash;
	struct stat st;

	if (!d->has_vfs)
		return 0;
	e->has_vfs_dev = e->has_vfs_ino = true;
	e->vfs_dev = d->vfs_dev;
	e->vfs_ino = d->vfs_ino;
	if (!d->name_len || !d->name[0])
		return 0;
	/* A relative name is relative to the binder's cwd at bind time; the
	 * task's cwd is the best guess left. */
	if (d->name[0] == '/')
		snprintf(path, sizeof(path), "%.*s", n, d->name);
	else
		snprintf(path, sizeof(path), "/proc/%d/cwd/%.*s", s->pid, n, d->name);
	if (stat(path, &st) == 0 && st.st_ino == d->vfs_ino) {
		e->has_vfs_mode = e->has_vfs_uid = e->has_vfs_gid = true;
		e->vfs_mode = st.st_mode & 07777;
		e->vfs_uid = st.st_uid;
		e->vfs_gid = st.st_gid;
		return 0;
	}
	if (through_listener(ctx->sockets, s))
		return 0;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode) || !file_of_other(ctx->sockets, s, st.st_ino))
			return log_error_errno(-EOPNOTSUPP, "task %d fd %d: unix socket bound to %.*s, which now "
							    "leads to another file; not supported",
					       s->pid, s->fd, n, d->name);
	} else {
		snprintf(dir, sizeof(dir), "%s", path);
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		if (errno != ENOENT || !slash || stat(dir[0] ? dir : "/", &st) < 0 || !S_ISDIR(st.st_mode))
			return log_error_errno(-EOPNOTSUPP, "task %d fd %d: unix socket bound to %.*s, whose "
							    "directory was removed; not supported",
					       s->pid, s->fd, n, d->name);
	}
	e->has_detached = e->detached = true;
	return 0;
}

static uint32_t sock_id_of(const struct dump_sockets *f, uint64_t ino)
{
	for (size_t i = 0; i < f->nr_socks; i++)
		if (f->socks[i].diag.ino == ino)
			return f->socks[i].id;
	return 0;
}

static int dump_socket(struct dump_ctx *ctx, const struct dump_sock *s, struct crl_img *img)
{
	const struct crl_unix_sk *d = &s->diag;
	UnixSkEntry e = UNIX_SK_ENTRY__INIT;
	_cleanup_close_ int pidfd = -1, sk = -1;
	struct queue q = { 0 };
	_cleanup_free_ UnixSkCred **creds = NULL;
	struct sockaddr_un peer;
	socklen_t plen = sizeof(peer), olen;
	int v, r;

	pidfd = crl_pidfd_open(s->pid);
	sk = pidfd < 0 ? pidfd : crl_pidfd_getfd(pidfd, s->fd);
	if (sk < 0)
		return log_error_errno(sk, "task %d fd %d: cannot take a copy of the socket: %m", s->pid, s->fd);
	e.id = s->id;
	e.ino = d->ino;
	e.type = d->type;
	e.state = d->state;
	if (d->name_len) {
		e.has_name = true;
		e.name.data = (uint8_t *)d->name;
		e.name.len = d->name_len;
	}
	if (d->peer_ino) {
		const struct crl_unix_sk *outside;

		e.peer_id = sock_id_of(ctx->sockets, d->peer_ino);
		e.has_peer_id = e.peer_id != 0;
		outside = e.peer_id ? NULL : crl_unix_find(&ctx->sockets->diag, d->peer_ino);
		if (!e.peer_id && d->type == SOCK_DGRAM && outside && outside->name_len) {
			/* A datagram socket connected to a named one outside
			 * the tree (syslog's /dev/log): connected again by
			 * name at restore. */
			e.has_peer_outside = e.peer_outside = true;
			e.has_peer_name = true;
			e.peer_name.data = (uint8_t *)outside->name;
			e.peer_name.len = outside->name_len;
		} else if (!e.peer_id) {
			return log_error_errno(-EOPNOTSUPP,
					       "task %d fd %d: unix socket connected to a socket outside the "
					       "tree; not supported",
					       s->pid, s->fd);
		}
	} else if (d->has_peer) {
		/* Connected to a peer that has no inode: either a closed one
		 * (the kernel shut this end down then), or a connection a
		 * listener has not accepted yet. */
		if (d->type != SOCK_DGRAM && d->shutdown != 3)
			return log_error_errno(-EOPNOTSUPP,
					       "task %d fd %d: unix socket connected to a socket outside the "
					       "tree (a listener that has not accepted it yet); not supported",
					       s->pid, s->fd);
		e.has_peer_closed = e.peer_closed = true;
	}
	if (e.peer_id) {
		if (getpeername(sk, (struct sockaddr *)&peer, &plen) == 0 &&
		    plen > offsetof(struct sockaddr_un, sun_path)) {
			e.has_peer_name = true;
			e.peer_name.data = (uint8_t *)peer.sun_path;
			e.peer_name.len = plen - offsetof(struct sockaddr_un, sun_path);
		}
	}
	if (d->state == TCP_LISTEN) {
		e.has_backlog = true;
		e.backlog = d->wqueue;
	}
	e.has_shutdown = d->shutdown != 0;
	e.shutdown = d->shutdown;
	r = sock_file(ctx, s, &e);
	if (r < 0)
		return r;
	olen = sizeof(v);
	if (getsockopt(sk, SOL_SOCKET, SO_RCVBUF, &v, &olen) == 0) {
		e.has_rcvbuf = true;
		e.rcvbuf = v;
	}
	olen = sizeof(v);
	if (getsockopt(sk, SOL_SOCKET, SO_SNDBUF, &v, &olen) == 0) {
		e.has_sndbuf = true;
		e.sndbuf = v;
	}
	olen = sizeof(v);
	if (getsockopt(sk, SOL_SOCKET, SO_PASSCRED, &v, &olen) == 0 && v) {
		e.has_passcred = true;
		e.passcred = true;
	}
	sock_options(sk, &e);
	if (d->type != SOCK_DGRAM && !d->has_peer && d->state != TCP_LISTEN) {
		/* A stream or seqpacket socket never connected: nothing can
		 * be queued to it, and a peek would fail (EINVAL, ENOTCONN). */
		int peek_off = -1;

		olen = sizeof(peek_off);
		getsockopt(sk, SOL_SOCKET, SO_PEEK_OFF, &peek_off, &olen);
		e.has_peek_off = peek_off >= 0;
		e.peek_off = peek_off;
	} else if (d->state != TCP_LISTEN) {
		int peek_off = -1;
		struct pollfd pfd = { .fd = sk, .events = 0 };

		/* A pending error (ECONNRESET: the peer was closed with bytes
		 * left unread in its own queue) shows in poll() without being
		 * taken; any receive would take it. A stream keeps it after
		 * its queue (made again at restore); a seqpacket or datagram
		 * socket would report it at its next receive, before its
		 * queue: not supported. */
		if (poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLERR)) {
			const char *kind = d->type == SOCK_DGRAM ? "datagram" :
					   d->type == SOCK_SEQPACKET ? "seqpacket" : "stream";

			if (d->type != SOCK_STREAM || !e.peer_closed)
				return log_error_errno(-EOPNOTSUPP, "task %d fd %d: a %s unix socket with an error pending "
								    "(a reset by its closed peer); not supported",
						       s->pid, s->fd, kind);
			e.has_conn_reset = e.conn_reset = true;
		}
		if (d->type == SOCK_STREAM) {
			r = probe_oob(s, sk);
			if (r < 0)
				return r;
		}
		r = peek_socket(s, sk, &q, &peek_off);
		if (r < 0) {
			queue_free(&q);
			return r;
		}
		e.has_peek_off = peek_off >= 0;
		e.peek_off = peek_off;
		if (e.peer_outside && q.nr) {
			queue_free(&q);
			return log_error_errno(-EOPNOTSUPP, "task %d fd %d: messages from a socket outside the tree "
							    "are queued to it; not supported",
					       s->pid, s->fd);
		}
		e.n_queue = q.nr;
		e.queue = q.msgs;
		if (q.has_creds) {
			creds = calloc(q.nr, sizeof(*creds));
			if (!creds) {
				queue_free(&q);
				return -ENOMEM;
			}
			for (size_t k = 0; k < q.nr; k++)
				creds[k] = &q.creds[k];
			e.n_queue_cred = q.nr;
			e.queue_cred = creds;
		}
		if (d->type != SOCK_STREAM) {
			e.n_queue_from = q.nr;
			e.queue_from = q.from;
		}
	}
	r = crl_img_write(img, &e.base);
	queue_free(&q);
	if (r < 0)
		return log_error_errno(r, "unixsk.img: %s", crl_img_error(img));
	return 0;
}

int dump_sockets_write(struct dump_ctx *ctx, struct crl_img *img)
{
	int r = 0;

	for (size_t i = 0; i < ctx->sockets->nr_socks && r >= 0; i++)
		r = dump_socket(ctx, &ctx->sockets->socks[i], img);
	return r;
}
