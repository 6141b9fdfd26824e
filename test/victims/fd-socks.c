/*
 * fd-socks: unix sockets between the tasks of a tree, with messages queued
 * at the dump; after the restore each task receives what was queued to it,
 * in order and (datagram, seqpacket) with the same boundaries, then new
 * messages flow both ways.
 *
 *   fd-socks pairs      root and child share a socketpair of each type
 *                         (stream fds 10/11, dgram 12/13, seqpacket 14/15:
 *                         even in the root, odd in the child), with messages
 *                         queued both ways; the root also holds both ends of
 *                         a datagram pair (16, 17) with messages queued both
 *                         ways, and shares end 16 with the child, which sends
 *                         through it after the restore; a stream pair (18
 *                         root, 19 child) that the child shut down for
 *                         writing after sending 500 bytes. After the checks,
 *                         each end is closed and the other end of a stream
 *                         or seqpacket sees end of file. SO_SNDBUF and
 *                         SO_RCVBUF set on two sockets are kept.
 *   fd-socks listen     the root listens on $CRL_TEST_DIR/listen.sock (fd 20,
 *                         mode 0640) and on an abstract name (fd 23), and has
 *                         accepted a connection (fd 22) from the child
 *                         (fd 21), with bytes queued both ways. After the
 *                         restore the root accepts two new connections on
 *                         fd 20: one from the child, which sends "child\n",
 *                         and one from the test, which sends "test\n"; then
 *                         one from the child on fd 23 ("abstract\n"); each
 *                         gets "ok LINE\n" back.
 *   fd-socks listen-names  the same, and the connection made before the dump
 *                         keeps its addresses: getsockname() of the accepted
 *                         socket and getpeername() of the child's both give
 *                         the listening path, as they did before.
 *   fd-socks listen-names-closed  the root accepted the child's connection
 *                         (root fd 22, child fd 21) and closed its listening
 *                         socket: both ends keep their addresses.
 *   fd-socks listen-names-closed-two  the same with two children, whose
 *                         connections the root accepted (fds 22 and 24)
 *                         before closing the listener: two restored sockets
 *                         bear the one name.
 *   fd-socks listen-relative  the same as listen, but the root binds the
 *                         relative path "listen.sock" from its working
 *                         directory $CRL_TEST_DIR.
 *   fd-socks listen-relative-away  the same, and the child works in / (it
 *                         connects by the full path).
 *   fd-socks dgram      the root's datagram socket is bound to
 *                         $CRL_TEST_DIR/dgram.sock (fd 30); the child's (fd 31)
 *                         is connected to it and has sent it 4 messages. After
 *                         the restore the child sends 2 more; the root gets
 *                         the 6 in order.
 *   fd-socks dgram-from  the same, but the child's socket is bound to
 *                         $CRL_TEST_DIR/client.sock: the root sees that
 *                         address as the sender of every message.
 *   fd-socks dgram-reply  the same as dgram-from, and the root has queued 3
 *                         replies to the child's address before the dump.
 *   fd-socks dgram-relative  the same as dgram, but the root binds the
 *                         relative name "dgram.sock" from its working
 *                         directory $CRL_TEST_DIR, and the child works in /.
 *   fd-socks dgram-relative-here  the same, the child working in
 *                         $CRL_TEST_DIR too.
 *   fd-socks dgram-pair-named  two datagram sockets, a.sock (root, fd 30) and
 *                         b.sock (child, fd 31), connected to each other,
 *                         with 2 messages queued each way: they keep their
 *                         names and their peers.
 *   fd-socks dgram-empty  a datagram pair in the root (fds 16, 17) with
 *                         messages and empty messages queued between them.
 *   fd-socks dgram-empty-peeked  the same, the queue starting with an empty
 *                         message that the root peeked at (MSG_PEEK) before
 *                         the dump.
 *   fd-socks dgram-empty-head  the same, the queue starting with two empty
 *                         messages; dgram-empty-head-peeked: the root peeked
 *                         at the first.
 *   fd-socks dgram-many   a datagram socket bound to $CRL_TEST_DIR/many.sock
 *                         (root, fd 30) holding 2 messages of 100000 bytes
 *                         from each of 3 clients of the child (fds 31-33):
 *                         more than one socket's send buffer.
 *   fd-socks closed-peer  stream, datagram and seqpacket pairs (fds 10, 12,
 *                         14 in the root) whose other end was closed after
 *                         sending: the messages, then end of file.
 *   fd-socks peek-off     a stream pair (10 -> 11) with 1000 bytes queued, 300 of
 *                         them peeked at through SO_PEEK_OFF: the peek
 *                         offset is still 300.
 *   fd-socks big          a stream pair (10 -> 11) with SO_SNDBUF 4 MB
 *                         holding 1500000 bytes, and a seqpacket pair
 *                         (14 -> 15) holding a 200000-byte message.
 *
 * Every task also checks its pid and parent, the exact set of its open fds,
 * each fd's access mode, status flags, close-on-exec flag, SO_TYPE, and
 * that SO_PEEK_OFF is off (-1) and MSG_PEEK gives the first message.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "victim.h"

static struct vl_ids ids; /* this task's, recorded before the dump */

/* --- sockets --- */

static void expect_type(const char *what, int fd, int type)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0)
		vl_fail("%s: fd %d: SO_TYPE: %s", what, fd, strerror(errno));
	else if (v != type)
		vl_fail("%s: fd %d: SO_TYPE %d, expected %d", what, fd, v, type);
}

/* SO_PEEK_OFF is off, as the task left it (a dump peeks with it). */
static void expect_no_peek_off(const char *what, int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, &v, &len) < 0)
		vl_fail("%s: fd %d: SO_PEEK_OFF: %s", what, fd, strerror(errno));
	else if (v != -1)
		vl_fail("%s: fd %d: SO_PEEK_OFF is %d, expected -1", what, fd, v);
}

/* The length and seed of message i of a queue: lengths differ, so a merge
 * or a split shows. */
struct msgspec {
	size_t len;
	uint64_t seed;
};

static void send_msg(const char *what, int fd, const struct msgspec *m)
{
	char *buf = malloc(m->len + 1);
	ssize_t n;

	vl_fill(buf, m->len, m->seed);
	do
		n = send(fd, buf, m->len, 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)m->len)
		vl_fail("%s: send of %zu bytes: %zd (%s)", what, m->len, n, n < 0 ? strerror(errno) : "short");
	free(buf);
}

#define MSG_MAX (512 * 1024)

/* Receive one message (flags: MSG_PEEK or 0) and compare it with m. */
static bool recv_msg(const char *what, int fd, const struct msgspec *m, int flags)
{
	char *buf = malloc(MSG_MAX), *want = malloc(m->len + 1);
	struct iovec iov = { buf, MSG_MAX };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	bool ok = false;
	ssize_t n;

	vl_fill(want, m->len, m->seed);
	if (vl_wait_fd(fd, POLLIN) <= 0) {
		vl_fail("%s: no message of %zu bytes within %d ms", what, m->len, VL_TIMEOUT_MS);
		goto out;
	}
	do
		n = recvmsg(fd, &mh, flags | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		vl_fail("%s: recv: %s", what, strerror(errno));
	else if (mh.msg_flags & MSG_TRUNC)
		vl_fail("%s: a message longer than %d bytes, expected %zu", what, MSG_MAX, m->len);
	else if ((size_t)n != m->len)
		vl_fail("%s: a message of %zd bytes, expected %zu", what, n, m->len);
	else
		ok = vl_expect_bytes(what, buf, want, m->len);
out:
	free(buf);
	free(want);
	return ok;
}

/* Nothing more is queued. */
static void expect_empty(const char *what, int fd)
{
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);

	if (n >= 0 || errno != EAGAIN)
		vl_fail("%s: expected an empty queue, recv gives %zd (%s)", what, n, n < 0 ? strerror(errno) : "data");
}

/* A queue of messages: sent before the dump, checked after the restore. */
static void send_all(const char *what, int fd, const struct msgspec *q, int n)
{
	for (int i = 0; i < n; i++)
		send_msg(what, fd, &q[i]);
}

static void recv_all(const char *what, int fd, const struct msgspec *q, int n)
{
	char w[256];

	/* A peek first: the dump must not have left the peek offset on. */
	if (n) {
		snprintf(w, sizeof(w), "%s, peeking at message 0", what);
		recv_msg(w, fd, &q[0], MSG_PEEK);
	}
	for (int i = 0; i < n; i++) {
		snprintf(w, sizeof(w), "%s, message %d of %d", what, i, n);
		if (!recv_msg(w, fd, &q[i], 0))
			return;
	}
}

/* --- pairs --- */

static const struct msgspec stream_down[] = { { 100, 11 }, { 2000, 12 }, { 50000, 13 } };
static const struct msgspec stream_up[] = { { 777, 14 } };
static const struct msgspec dgram_down[] = { { 1, 21 }, { 100, 22 }, { 3000, 23 }, { 60000, 24 }, { 7, 25 } };
static const struct msgspec dgram_up[] = { { 33, 26 }, { 4000, 27 } };
static const struct msgspec seq_down[] = { { 5, 31 }, { 1000, 32 }, { 1, 33 }, { 40000, 34 } };
static const struct msgspec seq_up[] = { { 300, 35 }, { 2, 36 }, { 9000, 37 } };
static const struct msgspec self_a[] = { { 10, 41 }, { 20, 42 }, { 30, 43 } };
static const struct msgspec self_b[] = { { 5000, 44 } };
static const struct msgspec after_down[] = { { 123, 51 } };
static const struct msgspec after_up[] = { { 321, 52 } };
static const struct msgspec child_self = { 99, 91 };
#define N(q) ((int)(sizeof(q) / sizeof((q)[0])))
#define HALF_BYTES 500

/* A stream carries bytes, not messages: the queue of q is one run of the
 * bytes of all its messages. */
static void read_stream(const char *what, int fd, const struct msgspec *q, int n)
{
	size_t total = 0, off = 0;
	char *want, *got;

	for (int i = 0; i < n; i++)
		total += q[i].len;
	want = malloc(total);
	got = malloc(total);
	for (int i = 0; i < n; i++) {
		vl_fill(want + off, q[i].len, q[i].seed);
		off += q[i].len;
	}
	if (vl_read_exact(what, fd, got, total))
		vl_expect_bytes(what, got, want, total);
	free(want);
	free(got);
}

/* The checks of one end (fd) of the three pairs, fd+0 stream, fd+2 dgram,
 * fd+4 seqpacket; in and out: what this end receives and sends. */
static void pairs_end(bool root)
{
	int b = root ? 10 : 11;
	const char *who = root ? "root" : "child";
	char w[128];

	for (int k = 0; k < 3; k++) {
		snprintf(w, sizeof(w), "%s: %s end", who, k == 0 ? "stream" : k == 1 ? "dgram" : "seqpacket");
		expect_type(w, b + 2 * k, k == 0 ? SOCK_STREAM : k == 1 ? SOCK_DGRAM : SOCK_SEQPACKET);
		expect_no_peek_off(w, b + 2 * k);
	}
	/* New messages after the queued ones. */
	send_all("stream, after the restore", b, root ? after_down : after_up, 1);
	send_all("dgram, after the restore", b + 2, root ? after_down : after_up, 1);
	send_all("seqpacket, after the restore", b + 4, root ? after_down : after_up, 1);

	if (root) {
		read_stream("root: stream, queued at the dump", 10, stream_up, N(stream_up));
		recv_all("root: dgram, queued at the dump", 12, dgram_up, N(dgram_up));
		recv_all("root: seqpacket, queued at the dump", 14, seq_up, N(seq_up));
	} else {
		read_stream("child: stream, queued at the dump", 11, stream_down, N(stream_down));
		recv_all("child: dgram, queued at the dump", 13, dgram_down, N(dgram_down));
		recv_all("child: seqpacket, queued at the dump", 15, seq_down, N(seq_down));
	}
	snprintf(w, sizeof(w), "%s: stream, sent after the restore", who);
	read_stream(w, b, root ? after_up : after_down, 1);
	snprintf(w, sizeof(w), "%s: dgram, sent after the restore", who);
	recv_all(w, b + 2, root ? after_up : after_down, 1);
	snprintf(w, sizeof(w), "%s: seqpacket, sent after the restore", who);
	recv_all(w, b + 4, root ? after_up : after_down, 1);
	snprintf(w, sizeof(w), "%s: dgram", who);
	expect_empty(w, b + 2);

	/* The child closes first; the root sees end of file, then closes. */
	if (root) {
		vl_expect_eof("root: stream, after the child closed it", 10);
		vl_expect_eof("root: seqpacket, after the child closed it", 14);
	} else {
		close(11);
		close(15);
	}
}

static void pairs_child(void *arg)
{
	static const int fds[] = { 11, 13, 15, 16, 19 };
	char buf[16];

	close(10);
	close(12);
	close(14);
	close(17);
	close(18);
	vl_ids_save(&ids);
	send_all("child: stream, before the dump", 11, stream_up, N(stream_up));
	send_all("child: dgram, before the dump", 13, dgram_up, N(dgram_up));
	send_all("child: seqpacket, before the dump", 15, seq_up, N(seq_up));
	vl_write_fill("child: half-closed stream, before the dump", 19, HALF_BYTES, 92);
	if (shutdown(19, SHUT_WR) < 0)
		vl_fail("child: shutdown: %s", strerror(errno));
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, true, false);
	vl_expect_fds(fds, 5);
	/* The root's own pair, whose end 16 the child shares: the root
	 * waits for this message before it sends its own. */
	vl_expect_flags("child: the root's own pair, end 16", 16, O_RDWR, 0, O_NONBLOCK, 1);
	send_all("child: through the shared end 16", 16, &child_self, 1);
	vl_expect_flags("child: stream end", 11, O_RDWR, 0, O_NONBLOCK, 0);
	vl_expect_flags("child: dgram end", 13, O_RDWR, 0, O_NONBLOCK, 1);
	vl_expect_flags("child: seqpacket end", 15, O_RDWR, O_NONBLOCK, 0, 0);
	pairs_end(false);
	/* The half-closed stream: the child's sending side is shut. */
	if (send(19, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) != -1 || errno != EPIPE)
		vl_fail("child: half-closed stream: a send does not fail with EPIPE (%s)", strerror(errno));
	if (vl_read_exact("child: half-closed stream, from the root", 19, buf, 10) && memcmp(buf, "0123456789", 10))
		vl_fail("child: half-closed stream: the root's 10 bytes differ");
}

static void make_pair(int type, int a, int b)
{
	int sv[2];

	if (socketpair(AF_UNIX, type, 0, sv) < 0) {
		vl_fail("socketpair(%d): %s", type, strerror(errno));
		vl_exit();
	}
	vl_move_fd(sv[0], a);
	vl_move_fd(sv[1], b);
}

static int get_int(int fd, int opt)
{
	int v = -1;
	socklen_t len = sizeof(v);

	getsockopt(fd, SOL_SOCKET, opt, &v, &len);
	return v;
}

static void pairs(void)
{
	static const int fds[] = { 10, 12, 14, 16, 17, 18 };
	int sndbuf, rcvbuf, v = 50000;

	make_pair(SOCK_STREAM, 10, 11);
	make_pair(SOCK_DGRAM, 12, 13);
	make_pair(SOCK_SEQPACKET, 14, 15);
	make_pair(SOCK_DGRAM, 16, 17);
	make_pair(SOCK_STREAM, 18, 19);
	setsockopt(10, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
	v = 70000;
	setsockopt(12, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
	sndbuf = get_int(10, SO_SNDBUF);
	rcvbuf = get_int(12, SO_RCVBUF);
	fcntl(13, F_SETFD, FD_CLOEXEC);
	fcntl(16, F_SETFD, FD_CLOEXEC);
	vl_add_flags(15, O_NONBLOCK);
	vl_add_flags(17, O_NONBLOCK);
	vl_ids_save(&ids);
	vl_fork("child", pairs_child, NULL);
	close(11);
	close(13);
	close(15);
	close(19);
	send_all("root: stream, before the dump", 10, stream_down, N(stream_down));
	send_all("root: dgram, before the dump", 12, dgram_down, N(dgram_down));
	send_all("root: seqpacket, before the dump", 14, seq_down, N(seq_down));
	send_all("root: own pair, 16 to 17", 16, self_a, N(self_a));
	send_all("root: own pair, 17 to 16", 17, self_b, N(self_b));
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 6);
	if (get_int(10, SO_SNDBUF) != sndbuf)
		vl_fail("root: stream end: SO_SNDBUF %d, expected %d", get_int(10, SO_SNDBUF), sndbuf);
	if (get_int(12, SO_RCVBUF) != rcvbuf)
		vl_fail("root: dgram end: SO_RCVBUF %d, expected %d", get_int(12, SO_RCVBUF), rcvbuf);
	vl_expect_flags("root: stream end", 10, O_RDWR, 0, O_NONBLOCK, 0);
	vl_expect_flags("root: dgram end", 12, O_RDWR, 0, O_NONBLOCK, 0);
	vl_expect_flags("root: seqpacket end", 14, O_RDWR, 0, O_NONBLOCK, 0);
	vl_expect_flags("root: own pair, end 16", 16, O_RDWR, 0, O_NONBLOCK, 1);
	vl_expect_flags("root: own pair, end 17", 17, O_RDWR, O_NONBLOCK, 0, 0);
	expect_type("root: own pair", 16, SOCK_DGRAM);
	expect_type("root: own pair", 17, SOCK_DGRAM);
	recv_all("root: own pair, queued to 17", 17, self_a, N(self_a));
	recv_all("root: own pair, queued to 16", 16, self_b, N(self_b));
	expect_empty("root: own pair, 16", 16);
	recv_all("root: own pair, 17, from the child through the shared end 16", 17, &child_self, 1);
	send_all("root: own pair, 16 to 17 after the restore", 16, after_down, 1);
	recv_all("root: own pair, 17 after the restore", 17, after_down, 1);
	expect_empty("root: own pair, 17", 17);
	pairs_end(true);
	/* The half-closed stream: bytes, end of file, and the other way
	 * still open. */
	vl_expect_flags("root: half-closed stream", 18, O_RDWR, 0, O_NONBLOCK, 0);
	vl_read_fill("root: half-closed stream, queued at the dump", 18, HALF_BYTES, 92);
	vl_expect_eof("root: half-closed stream", 18);
	vl_write_all("root: half-closed stream, to the child", 18, "0123456789", 10);
}

/* --- listen --- */

#define L_UP 3000
#define L_DOWN 500

static socklen_t addr_of(const char *path, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof(a->sun_path), "%s", path);
	return offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1;
}

/* The address (getsockname or getpeername) of fd is path. */
static void expect_name(const char *what, int fd, bool peer, const char *path)
{
	struct sockaddr_un a;
	socklen_t len = sizeof(a);
	int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len) : getsockname(fd, (struct sockaddr *)&a, &len);
	size_t n = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;

	if (r < 0) {
		vl_fail("%s: fd %d: %s: %s", what, fd, peer ? "getpeername" : "getsockname", strerror(errno));
		return;
	}
	if (n > sizeof(a.sun_path))
		n = sizeof(a.sun_path);
	if (strnlen(a.sun_path, n) != strlen(path) || strncmp(a.sun_path, path, n))
		vl_fail("%s: fd %d: %s is '%.*s' (%zu bytes), expected '%s'", what, fd,
			peer ? "getpeername" : "getsockname", (int)n, a.sun_path, n, path);
}

static int connect_to(const char *what, const char *path, int type)
{
	struct sockaddr_un a;
	socklen_t len = addr_of(path, &a);
	int fd = socket(AF_UNIX, type, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&a, len) < 0) {
		vl_fail("%s: connect to %s: %s", what, path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* Read one line (at most len-1 bytes) from a stream. */
static bool read_line(const char *what, int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		if (!vl_read_exact(what, fd, buf + n, 1))
			return false;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return true;
}

static const char *listen_mode;

/* The path the root bound, as getsockname gives it back. */
static const char *bound_name(void)
{
	return !strncmp(listen_mode, "listen-relative", 15) ? "listen.sock" : vl_path("listen.sock");
}

/* An abstract name, unique to the tree. */
static socklen_t abstract_addr(pid_t root, struct sockaddr_un *a)
{
	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path + 1, sizeof(a->sun_path) - 1, "crl-fd-socks-%d", root);
	return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(a->sun_path + 1);
}

static void listen_child(void *arg)
{
	static const int fds[] = { 21 };
	struct sockaddr_un a;
	socklen_t alen = abstract_addr(getppid(), &a);
	char line[64];
	int fd;

	close(20);
	close(23);
	if (!strcmp(listen_mode, "listen-relative-away") && chdir("/") < 0)
		vl_fail("child: chdir /: %s", strerror(errno));
	fd = connect_to("child: before the dump", vl_path("listen.sock"), SOCK_STREAM);
	if (fd < 0)
		return;
	vl_move_fd(fd, 21);
	vl_ids_save(&ids);
	vl_write_fill("child: to the accepted socket, before the dump", 21, L_UP, 61);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, true, false);
	vl_expect_fds(fds, 1);
	vl_expect_flags("child: connected socket", 21, O_RDWR, 0, O_NONBLOCK, 0);
	expect_type("child: connected socket", 21, SOCK_STREAM);
	if (!strncmp(listen_mode, "listen-names", 12))
		expect_name("child: connected socket, its peer", 21, true, bound_name());
	vl_read_fill("child: from the accepted socket, queued at the dump", 21, L_DOWN, 62);
	/* A new connection. */
	fd = connect_to("child: after the restore", vl_path("listen.sock"), SOCK_STREAM);
	if (fd < 0)
		return;
	vl_write_all("child: new connection", fd, "child\n", 6);
	if (read_line("child: new connection, the answer", fd, line, sizeof(line)) && strcmp(line, "ok child\n"))
		vl_fail("child: new connection: the answer is '%s'", line);
	close(fd);
	/* And one to the abstract name. */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, alen) < 0) {
		vl_fail("child: connect to the abstract name: %s", strerror(errno));
	} else {
		vl_write_all("child: abstract connection", fd, "abstract\n", 9);
		if (read_line("child: abstract connection, the answer", fd, line, sizeof(line)) &&
		    strcmp(line, "ok abstract\n"))
			vl_fail("child: abstract connection: the answer is '%s'", line);
	}
	if (fd >= 0)
		close(fd);
	close(21);
}

/* Accept one connection on fd, read its line, answer "ok LINE". */
static bool answer_one(const char *what, int lfd, char *line, size_t size)
{
	int fd;

	if (vl_wait_fd(lfd, POLLIN) <= 0) {
		vl_fail("%s: no new connection within %d ms", what, VL_TIMEOUT_MS);
		return false;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		vl_fail("%s: accept after the restore: %s", what, strerror(errno));
		return false;
	}
	if (!read_line(what, fd, line, size)) {
		close(fd);
		line[0] = '\0';
		return true;
	}
	vl_write_all(what, fd, "ok ", 3);
	vl_write_all(what, fd, line, strlen(line));
	close(fd);
	return true;
}

static void listen_root(const char *mode)
{
	static const int fds[] = { 20, 22, 23 };
	struct sockaddr_un a;
	socklen_t len = addr_of(bound_name(), &a);
	bool seen_child = false, seen_test = false;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), v = 0;
	socklen_t vlen = sizeof(v);
	char *path = vl_path("listen.sock");
	struct stat st;

	if (!strncmp(mode, "listen-relative", 15) && chdir(vl_dir()) < 0)
		vl_fail("chdir %s: %s", vl_dir(), strerror(errno));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) < 0 || listen(fd, 8) < 0) {
		vl_fail("socket/bind/listen %s: %s", bound_name(), strerror(errno));
		vl_exit();
	}
	vl_move_fd(fd, 20);
	if (chmod(path, 0640) < 0)
		vl_fail("chmod listen.sock: %s", strerror(errno));
	len = abstract_addr(getpid(), &a);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) < 0 || listen(fd, 8) < 0)
		vl_die("socket/bind/listen to an abstract name");
	vl_move_fd(fd, 23);
	vl_ids_save(&ids);
	vl_fork("child", listen_child, NULL);
	fd = accept4(20, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		vl_die("accept");
	vl_move_fd(fd, 22);
	fcntl(22, F_SETFD, FD_CLOEXEC);
	vl_write_fill("root: to the child, before the dump", 22, L_DOWN, 62);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 3);
	vl_expect_flags("root: listening socket", 20, O_RDWR, 0, O_NONBLOCK, 0);
	vl_expect_flags("root: accepted socket", 22, O_RDWR, 0, O_NONBLOCK, 1);
	expect_type("root: listening socket", 20, SOCK_STREAM);
	expect_type("root: accepted socket", 22, SOCK_STREAM);
	expect_name("root: listening socket", 20, false, bound_name());
	if (getsockopt(20, SOL_SOCKET, SO_ACCEPTCONN, &v, &vlen) < 0 || v != 1)
		vl_fail("root: listening socket: SO_ACCEPTCONN is %d (%s)", v, strerror(errno));
	if (stat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		vl_fail("root: %s is not a socket file", path);
	if (!strncmp(mode, "listen-names", 12))
		expect_name("root: accepted socket", 22, false, bound_name());
	vl_read_fill("root: from the child, queued at the dump", 22, L_UP, 61);
	if (stat(path, &st) == 0 && (st.st_mode & 07777) != 0640)
		vl_fail("root: listen.sock has mode %o, expected 640", st.st_mode & 07777);
	vl_expect_flags("root: abstract listening socket", 23, O_RDWR, 0, O_NONBLOCK, 0);
	if (getsockopt(23, SOL_SOCKET, SO_ACCEPTCONN, &v, &vlen) < 0 || v != 1)
		vl_fail("root: abstract listening socket: SO_ACCEPTCONN is %d (%s)", v, strerror(errno));
	/* Two new connections, from the child and from the test. */
	for (int i = 0; i < 2; i++) {
		char line[64];

		if (!answer_one("root: listening socket", 20, line, sizeof(line)))
			break;
		if (!strcmp(line, "child\n") && !seen_child)
			seen_child = true;
		else if (!strcmp(line, "test\n") && !seen_test)
			seen_test = true;
		else
			vl_fail("root: a new connection says '%s'", line);
	}
	if (!seen_child || !seen_test)
		vl_fail("root: new connections: the child's %s, the test's %s", seen_child ? "came" : "is missing",
			seen_test ? "came" : "is missing");
	/* One to the abstract name, from the child. */
	{
		char line[64];

		if (answer_one("root: abstract listening socket", 23, line, sizeof(line)) &&
		    strcmp(line, "abstract\n"))
			vl_fail("root: the abstract connection says '%s'", line);
	}
	close(22);
	free(path);
}

/* --- listen-names-closed --- */

static void closed_listener_child(void *arg)
{
	static const int fds[] = { 21 };
	int fd;

	(void)arg;
	close(20);
	close(22); /* the first child's accepted end, in the second child */
	fd = connect_to("child: before the dump", vl_path("listen.sock"), SOCK_STREAM);
	if (fd < 0)
		return;
	vl_move_fd(fd, 21);
	vl_write_fill("child: to the accepted socket, before the dump", 21, L_UP, 61);
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, true, false);
	vl_expect_fds(fds, 1);
	expect_name("child: connected socket, its peer", 21, true, vl_path("listen.sock"));
	vl_read_fill("child: from the accepted socket, queued at the dump", 21, L_DOWN, 62);
	vl_write_fill("child: to the accepted socket, after the restore", 21, L_UP, 63);
}

/* Connections whose listener was closed after accepting them: both ends
 * of each keep their addresses all the same. */
static void listen_closed(int nr)
{
	static const int fds[] = { 22, 24 };
	struct sockaddr_un a;
	socklen_t len = addr_of(vl_path("listen.sock"), &a);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) < 0 || listen(fd, 8) < 0)
		vl_die("socket/bind/listen listen.sock");
	vl_move_fd(fd, 20);
	vl_ids_save(&ids);
	for (int i = 0; i < nr; i++) {
		/* One at a time, so fd 22 is the first child's. */
		vl_fork(i ? "child-2" : "child", closed_listener_child, NULL);
		fd = accept(20, NULL, NULL);
		if (fd < 0)
			vl_die("accept");
		vl_move_fd(fd, fds[i]);
	}
	close(20);
	for (int i = 0; i < nr; i++)
		vl_write_fill("root: to a child, before the dump", fds[i], L_DOWN, 62);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, nr);
	for (int i = 0; i < nr; i++) {
		expect_name("root: accepted socket", fds[i], false, vl_path("listen.sock"));
		vl_read_fill("root: from a child, queued at the dump", fds[i], L_UP, 61);
		vl_read_fill("root: from a child, after the restore", fds[i], L_UP, 63);
	}
}

/* --- dgram --- */

static const struct msgspec d_before[] = { { 10, 71 }, { 2000, 72 }, { 1, 73 }, { 30000, 74 } };
static const struct msgspec d_after[] = { { 55, 75 }, { 6000, 76 } };
static const struct msgspec d_replies[] = { { 16, 77 }, { 1500, 78 }, { 3, 79 } };

static void dgram_child(void *arg)
{
	static const int fds[] = { 31 };
	/* 0 dgram, 1 dgram-from, 2 dgram-reply, 3 dgram-relative,
	 * 4 dgram-relative-here */
	int mode = (int)(long)arg;
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un a;
	socklen_t len;

	close(30);
	if (mode == 3 && chdir("/") < 0)
		vl_fail("child: chdir /: %s", strerror(errno));
	if (mode == 1 || mode == 2) {
		len = addr_of(vl_path("client.sock"), &a);
		if (bind(fd, (struct sockaddr *)&a, len) < 0)
			vl_fail("child: bind client.sock: %s", strerror(errno));
	}
	len = addr_of(vl_path("dgram.sock"), &a);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, len) < 0) {
		vl_fail("child: connect to dgram.sock: %s", strerror(errno));
		return;
	}
	vl_move_fd(fd, 31);
	vl_ids_save(&ids);
	send_all("child: before the dump", 31, d_before, N(d_before));
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, true, false);
	vl_expect_fds(fds, 1);
	vl_expect_flags("child: datagram client", 31, O_RDWR, 0, O_NONBLOCK, 0);
	expect_type("child: datagram client", 31, SOCK_DGRAM);
	expect_name("child: datagram client, its peer", 31, true, mode >= 3 ? "dgram.sock" : vl_path("dgram.sock"));
	if (mode == 1 || mode == 2)
		expect_name("child: datagram client", 31, false, vl_path("client.sock"));
	if (mode == 2) {
		recv_all("child: replies queued at the dump", 31, d_replies, N(d_replies));
	}
	send_all("child: after the restore", 31, d_after, N(d_after));
	close(31);
}

/* Receive one datagram, check it and its sender's address. */
static void recv_from(const char *what, int fd, const struct msgspec *m, const char *sender)
{
	char *buf = malloc(MSG_MAX), *want = malloc(m->len + 1);
	struct sockaddr_un a;
	socklen_t alen = sizeof(a);
	ssize_t n;

	vl_fill(want, m->len, m->seed);
	if (vl_wait_fd(fd, POLLIN) <= 0) {
		vl_fail("%s: no message of %zu bytes within %d ms", what, m->len, VL_TIMEOUT_MS);
		goto out;
	}
	n = recvfrom(fd, buf, MSG_MAX, MSG_DONTWAIT, (struct sockaddr *)&a, &alen);
	if (n < 0) {
		vl_fail("%s: recvfrom: %s", what, strerror(errno));
	} else if ((size_t)n != m->len) {
		vl_fail("%s: a message of %zd bytes, expected %zu", what, n, m->len);
	} else if (vl_expect_bytes(what, buf, want, m->len) && sender) {
		size_t k = alen > offsetof(struct sockaddr_un, sun_path) ? alen - offsetof(struct sockaddr_un, sun_path) : 0;

		if (strnlen(a.sun_path, k) != strlen(sender) || strncmp(a.sun_path, sender, k))
			vl_fail("%s: the sender is '%.*s' (%zu bytes of address), expected '%s'", what, (int)k,
				a.sun_path, k, sender);
	}
out:
	free(buf);
	free(want);
}

static void dgram(int mode)
{
	static const int fds[] = { 30 };
	const char *sender = mode == 1 || mode == 2 ? vl_path("client.sock") : NULL;
	const char *name = mode >= 3 ? "dgram.sock" : vl_path("dgram.sock");
	struct sockaddr_un a;
	socklen_t len = addr_of(name, &a);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	char w[128];

	if (mode >= 3 && chdir(vl_dir()) < 0)
		vl_fail("chdir %s: %s", vl_dir(), strerror(errno));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) < 0)
		vl_die("socket/bind dgram.sock");
	vl_move_fd(fd, 30);
	vl_ids_save(&ids);
	vl_fork("child", dgram_child, (void *)(long)mode);
	if (mode == 2) {
		/* Replies to the child's address, once it is bound; the
		 * child leaves them queued until after the restore. */
		struct sockaddr_un c;
		socklen_t clen = addr_of(sender, &c);

		for (int i = 0; i < 500 && access(sender, F_OK); i++)
			usleep(10000);
		for (int i = 0; i < N(d_replies); i++) {
			char *buf = malloc(d_replies[i].len);

			vl_fill(buf, d_replies[i].len, d_replies[i].seed);
			if (sendto(30, buf, d_replies[i].len, 0, (struct sockaddr *)&c, clen) < 0)
				vl_fail("root: reply %d: %s", i, strerror(errno));
			free(buf);
		}
	}
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 1);
	vl_expect_flags("root: datagram server", 30, O_RDWR, 0, O_NONBLOCK, 0);
	expect_type("root: datagram server", 30, SOCK_DGRAM);
	expect_name("root: datagram server", 30, false, name);
	expect_no_peek_off("root: datagram server", 30);
	for (int i = 0; i < N(d_before); i++) {
		snprintf(w, sizeof(w), "root: message %d, queued at the dump", i);
		recv_from(w, 30, &d_before[i], sender);
	}
	for (int i = 0; i < N(d_after); i++) {
		snprintf(w, sizeof(w), "root: message %d, sent after the restore", i);
		recv_from(w, 30, &d_after[i], sender);
	}
	expect_empty("root: datagram server", 30);
}

/* --- dgram-empty --- */

static void dgram_empty(bool head, bool peeked)
{
	static const int fds[] = { 16, 17 };
	static const struct msgspec q1[] = { { 100, 81 }, { 0, 82 }, { 200, 83 }, { 0, 84 }, { 300, 85 } };
	static const struct msgspec q2[] = { { 0, 86 }, { 100, 87 }, { 0, 88 }, { 200, 89 } };
	static const struct msgspec q3[] = { { 0, 90 }, { 0, 91 }, { 50, 92 }, { 0, 93 } };
	const struct msgspec *q = head ? q3 : peeked ? q2 : q1;
	int nq = head ? N(q3) : peeked ? N(q2) : N(q1);
	char c;

	make_pair(SOCK_DGRAM, 16, 17);
	vl_ids_save(&ids);
	send_all("root: before the dump", 16, q, nq);
	/* A look at the head of the queue, as a server does to size its
	 * buffer: it takes nothing. */
	if (peeked && recv(17, &c, 1, MSG_PEEK | MSG_DONTWAIT) != 0)
		vl_fail("root: peeking at the empty message at the head: %s", strerror(errno));
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 2);
	for (int i = 0; i < nq; i++) {
		char w[64];

		snprintf(w, sizeof(w), "root: message %d (%zu bytes) of %d", i, q[i].len, nq);
		if (!recv_msg(w, 17, &q[i], 0))
			break;
	}
	expect_empty("root: after the queued messages", 17);
}

/* --- dgram-pair-named --- */

static const struct msgspec pn_ab[] = { { 12, 111 }, { 1200, 112 } };
static const struct msgspec pn_ba[] = { { 13, 113 }, { 1300, 114 } };

static void pair_named_child(void *arg)
{
	static const int fds[] = { 31 };
	const char *a = vl_path("a.sock"), *b = vl_path("b.sock");
	struct sockaddr_un sa;
	socklen_t len = addr_of(b, &sa);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	close(30);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0) {
		vl_fail("child: bind b.sock: %s", strerror(errno));
		return;
	}
	len = addr_of(a, &sa);
	if (connect(fd, (struct sockaddr *)&sa, len) < 0) {
		vl_fail("child: connect to a.sock: %s", strerror(errno));
		return;
	}
	vl_move_fd(fd, 31);
	send_all("child: b to a, before the dump", 31, pn_ba, N(pn_ba));
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, true, false);
	vl_expect_fds(fds, 1);
	expect_name("child: b.sock", 31, false, b);
	expect_name("child: b.sock, its peer", 31, true, a);
	recv_all("child: a to b, queued at the dump", 31, pn_ab, N(pn_ab));
	send_all("child: b to a, after the restore", 31, after_up, 1);
}

/* Two named datagram sockets connected to each other. */
static void dgram_pair_named(void)
{
	static const int fds[] = { 30 };
	const char *a = vl_path("a.sock"), *b = vl_path("b.sock");
	struct sockaddr_un sa;
	socklen_t len = addr_of(a, &sa);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0)
		vl_die("bind a.sock");
	vl_move_fd(fd, 30);
	vl_ids_save(&ids);
	vl_fork("child", pair_named_child, NULL);
	for (int i = 0; i < 500 && access(b, F_OK); i++)
		usleep(10000);
	len = addr_of(b, &sa);
	if (connect(30, (struct sockaddr *)&sa, len) < 0)
		vl_fail("connect to b.sock: %s", strerror(errno));
	send_all("root: a to b, before the dump", 30, pn_ab, N(pn_ab));
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 1);
	expect_name("root: a.sock", 30, false, a);
	expect_name("root: a.sock, its peer", 30, true, b);
	recv_all("root: b to a, queued at the dump", 30, pn_ba, N(pn_ba));
	recv_all("root: b to a, sent after the restore", 30, after_up, 1);
}

/* --- peek-off --- */

/* A stream whose task peeks through it with SO_PEEK_OFF: 1000 bytes queued,
 * 300 of them peeked at; the peek offset is 300. */
static void peek_off(void)
{
	static const int fds[] = { 10, 11 };
	char want[1000], buf[1000];
	int v = 0;

	make_pair(SOCK_STREAM, 10, 11);
	vl_fill(want, sizeof(want), 121);
	vl_write_all("stream, before the dump", 10, want, sizeof(want));
	if (setsockopt(11, SOL_SOCKET, SO_PEEK_OFF, &v, sizeof(v)) < 0 || recv(11, buf, 300, MSG_PEEK) != 300)
		vl_fail("SO_PEEK_OFF and a peek of 300 bytes: %s", strerror(errno));
	if (get_int(11, SO_PEEK_OFF) != 300)
		vl_fail("SO_PEEK_OFF is %d before the dump, expected 300", get_int(11, SO_PEEK_OFF));
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 2);
	if (get_int(11, SO_PEEK_OFF) != 300)
		vl_fail("SO_PEEK_OFF is %d, expected 300", get_int(11, SO_PEEK_OFF));
	if (recv(11, buf, 100, MSG_PEEK | MSG_DONTWAIT) != 100)
		vl_fail("a peek after the restore: %s", strerror(errno));
	else
		vl_expect_bytes("a peek after the restore, from the peek offset", buf, want + 300, 100);
	if (vl_read_exact("the stream, read", 11, buf, sizeof(buf)))
		vl_expect_bytes("the stream, read", buf, want, sizeof(buf));
}

/* --- closed-peer --- */

/* Pairs whose other end was closed after sending: the messages are still
 * there, then end of file. */
static void closed_peer(void)
{
	static const int fds[] = { 10, 12, 14 };
	static const struct msgspec st[] = { { 1000, 101 } };
	static const struct msgspec dg[] = { { 40, 102 }, { 400, 103 } };
	static const struct msgspec sq[] = { { 60, 104 }, { 600, 105 } };

	make_pair(SOCK_STREAM, 10, 11);
	make_pair(SOCK_DGRAM, 12, 13);
	make_pair(SOCK_SEQPACKET, 14, 15);
	send_all("stream, before the dump", 11, st, N(st));
	send_all("dgram, before the dump", 13, dg, N(dg));
	send_all("seqpacket, before the dump", 15, sq, N(sq));
	close(11);
	close(13);
	close(15);
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 3);
	read_stream("stream whose peer closed", 10, st, N(st));
	vl_expect_eof("stream whose peer closed", 10);
	recv_all("dgram whose peer closed", 12, dg, N(dg));
	expect_empty("dgram whose peer closed", 12);
	recv_all("seqpacket whose peer closed", 14, sq, N(sq));
	vl_expect_eof("seqpacket whose peer closed", 14);
}

/* --- dgram-many --- */

#define MANY_CLIENTS 3
#define MANY_EACH 2
#define MANY_LEN 100000

static void many_child(void *arg)
{
	static const int fds[] = { 31, 32, 33 };
	struct sockaddr_un a;
	socklen_t len = addr_of(vl_path("many.sock"), &a);

	close(30);
	for (int c = 0; c < MANY_CLIENTS; c++) {
		int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

		if (fd < 0 || connect(fd, (struct sockaddr *)&a, len) < 0) {
			vl_fail("child: connect to many.sock: %s", strerror(errno));
			return;
		}
		vl_move_fd(fd, 31 + c);
		for (int k = 0; k < MANY_EACH; k++) {
			struct msgspec m = { MANY_LEN + c * 10 + k, 200 + c * 10 + k };

			send_msg("child: before the dump", 31 + c, &m);
		}
	}
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, true, false);
	vl_expect_fds(fds, 3);
}

/* A named datagram socket holding more bytes, from several senders, than
 * one socket's send buffer. */
static void dgram_many(void)
{
	static const int fds[] = { 30 };
	struct sockaddr_un a;
	socklen_t len = addr_of(vl_path("many.sock"), &a);
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&a, len) < 0)
		vl_die("socket/bind many.sock");
	vl_move_fd(fd, 30);
	vl_ids_save(&ids);
	vl_fork("child", many_child, NULL);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 1);
	for (int c = 0; c < MANY_CLIENTS; c++)
		for (int k = 0; k < MANY_EACH; k++) {
			struct msgspec m = { MANY_LEN + c * 10 + k, 200 + c * 10 + k };
			char w[64];

			snprintf(w, sizeof(w), "root: message %d of client %d", k, c);
			if (!recv_msg(w, 30, &m, 0))
				return;
		}
	expect_empty("root: many.sock", 30);
}

/* --- big --- */

#define BIG_SNDBUF 2000000
#define BIG_STREAM 1500000
#define BIG_SEQ 200000

static void big(void)
{
	static const int fds[] = { 10, 11, 14, 15 };
	static const struct msgspec sq[] = { { BIG_SEQ, 302 }, { 10, 303 } };
	int v = BIG_SNDBUF, sndbuf;
	char *buf = malloc(BIG_STREAM);

	make_pair(SOCK_STREAM, 10, 11);
	make_pair(SOCK_SEQPACKET, 14, 15);
	if (setsockopt(10, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) < 0 ||
	    setsockopt(14, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) < 0)
		vl_fail("SO_SNDBUF %d: %s", v, strerror(errno));
	sndbuf = get_int(10, SO_SNDBUF);
	vl_fill(buf, BIG_STREAM, 301);
	for (size_t done = 0; done < BIG_STREAM;) {
		ssize_t n = send(10, buf + done, BIG_STREAM - done > 65536 ? 65536 : BIG_STREAM - done, MSG_DONTWAIT);

		if (n <= 0) {
			vl_fail("cannot queue %d bytes into a stream with SO_SNDBUF %d: %zu went (%s)", BIG_STREAM,
				sndbuf, done, strerror(errno));
			vl_exit();
		}
		done += n;
	}
	send_all("seqpacket, before the dump", 14, sq, N(sq));
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 4);
	if (get_int(10, SO_SNDBUF) != sndbuf)
		vl_fail("stream: SO_SNDBUF %d, expected %d", get_int(10, SO_SNDBUF), sndbuf);
	{
		char *got = malloc(BIG_STREAM);

		if (vl_read_exact("stream, 1500000 bytes queued at the dump", 11, got, BIG_STREAM))
			vl_expect_bytes("stream, 1500000 bytes queued at the dump", got, buf, BIG_STREAM);
		free(got);
	}
	expect_empty("stream", 11);
	recv_all("seqpacket, queued at the dump", 15, sq, N(sq));
	expect_empty("seqpacket", 15);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	vl_init(argc, argv);
	listen_mode = mode;
	if (!strcmp(mode, "pairs"))
		pairs();
	else if (!strcmp(mode, "listen-names-closed"))
		listen_closed(1);
	else if (!strcmp(mode, "listen-names-closed-two"))
		listen_closed(2);
	else if (!strncmp(mode, "listen", 6))
		listen_root(mode);
	else if (!strcmp(mode, "dgram"))
		dgram(0);
	else if (!strcmp(mode, "dgram-from"))
		dgram(1);
	else if (!strcmp(mode, "dgram-reply"))
		dgram(2);
	else if (!strcmp(mode, "dgram-empty"))
		dgram_empty(false, false);
	else if (!strcmp(mode, "dgram-empty-peeked"))
		dgram_empty(false, true);
	else if (!strcmp(mode, "dgram-empty-head"))
		dgram_empty(true, false);
	else if (!strcmp(mode, "dgram-empty-head-peeked"))
		dgram_empty(true, true);
	else if (!strcmp(mode, "dgram-relative"))
		dgram(3);
	else if (!strcmp(mode, "dgram-relative-here"))
		dgram(4);
	else if (!strcmp(mode, "dgram-pair-named"))
		dgram_pair_named();
	else if (!strcmp(mode, "dgram-many"))
		dgram_many();
	else if (!strcmp(mode, "closed-peer"))
		closed_peer();
	else if (!strcmp(mode, "big"))
		big();
	else if (!strcmp(mode, "peek-off"))
		peek_off();
	else
		vl_fail("unknown mode '%s'", mode);
	vl_exit();
}
