/*
 * fd-socks-edge: unix sockets in the corners of their states, dumped and
 * restored; each task checks from inside, after the restore, that the
 * sockets behave as they did.
 *
 * NAME below is $CRL_TEST_DIR/edge.sock with "path", or the abstract name
 * "\0crl-edge-ROOTPID" with "abstract".
 *
 *   fd-socks-edge accepted-closed path|abstract
 *                         the root listens on NAME (fd 20) and has accepted
 *                         a connection (fd 21) whose client sent "bye" and
 *                         was closed. After the restore fd 21 reads "bye",
 *                         then end of file, and still bears NAME; the
 *                         listener accepts a new connection from the child
 *                         (which holds no fd), which sends "child\n" and
 *                         gets "ok child\n" back.
 *   fd-socks-edge gone-two path|abstract
 *                         the root accepted two connections (fds 21, 22)
 *                         from the child (fds 31, 32) and one (fd 23) whose
 *                         client sent "bye" and was closed, then closed its
 *                         listener. Each end keeps its address (fds 21-23
 *                         NAME, 31 and 32 NAME as their peer), and its
 *                         bytes; with "abstract" NAME is free again (a new
 *                         socket binds to it), with "path" its socket file
 *                         is still there (a bind fails with EADDRINUSE).
 *   fd-socks-edge unconnected
 *                         the root holds sockets never connected: a stream
 *                         socket bound to $CRL_TEST_DIR/plain.sock (fd 40),
 *                         an unbound seqpacket socket (fd 41), a stream
 *                         socket bound to the abstract name
 *                         "\0crl-edge-plain-ROOTPID" (fd 42). After the
 *                         restore each has its type and its name; 40 and
 *                         42 listen and accept a new connection, 41
 *                         connects to a new listener.
 *   fd-socks-edge reset FILE
 *                         stream pairs whose other end was closed with
 *                         bytes left unread in its own queue, so that the
 *                         kernel left ECONNRESET pending on the root's end:
 *                         fd 50 with "last-words" queued to it, fd 51 with
 *                         nothing. After the signal, three non-blocking
 *                         reads of each are written to FILE ("[n error]"
 *                         each): the test compares a run without dump with
 *                         a restored one.
 *   fd-socks-edge reset-seqpacket
 *                         the same with a seqpacket pair (fd 52): the dump
 *                         is refused; the first read of the tree that runs
 *                         on still fails with ECONNRESET, then reads the
 *                         message, then end of file.
 *   fd-socks-edge oob [inline]
 *                         a stream pair (fds 60, 61) with "abc" sent with
 *                         MSG_OOB ('c' is the out-of-band byte), then
 *                         "def"; with "inline", fd 61 has SO_OOBINLINE.
 *                         The dump is refused; the tree that runs on still
 *                         reads "ab", the byte 'c' with MSG_OOB, then
 *                         "def" (inline: "ab", then "cdef" at the mark).
 *   fd-socks-edge creds
 *                         stream, datagram and seqpacket pairs (the root
 *                         receives on fds 71, 73, 75, with SO_PASSCRED)
 *                         that hold "hello" from the child (fds 70, 72,
 *                         74), "ghost" from a process (uid and gid 4321)
 *                         that exited since, and "world" from the root.
 *                         After the restore the root reads them in order;
 *                         the credentials name the child, then uid and gid
 *                         4321 (any pid), then the root. And a datagram
 *                         pair (76 to 77) with "early", sent before 77 had
 *                         SO_PASSCRED (no credentials: pid 0, uid and gid
 *                         65534), and "late!" after: they come back so.
 *   fd-socks-edge sockopts
 *                         a stream pair (fds 80, 81) and a datagram pair
 *                         (82, 83) with options set on 80: SO_RCVTIMEO and
 *                         SO_SNDTIMEO 0.3 s, SO_PASSPIDFD, SO_TIMESTAMP,
 *                         SO_RCVLOWAT 5, SO_PASSSEC, SO_OOBINLINE,
 *                         SO_PASSRIGHTS off; on 82 SO_TIMESTAMPNS and
 *                         SO_RCVTIMEO 1.5 s. After the restore getsockopt
 *                         reads each again, and a read of 80 fails with
 *                         EAGAIN after about 0.3 s.
 *   fd-socks-edge detached
 *                         the root listens on $CRL_TEST_DIR/det.sock (fd
 *                         90) with an accepted connection (91, client 92)
 *                         holding bytes both ways, and holds a datagram
 *                         socket bound to ddet.sock (93) with a message
 *                         from its connected client (94); then both socket
 *                         files are removed. After the restore they are
 *                         still gone (a connection by name fails), the
 *                         sockets keep their names, bytes and peers.
 *   fd-socks-edge rebind  the root listens on rb.sock (fd 95), removes the
 *                         file, and listens on rb.sock again (96). After
 *                         the restore a connection by name reaches 96.
 *   fd-socks-edge dir-removed
 *                         a listener bound in $CRL_TEST_DIR/sd/, which was
 *                         removed (fd 97): the dump is refused; the tree
 *                         that runs on still listens.
 *   fd-socks-edge occupied
 *                         a listener (fd 97) whose path occ.sock was
 *                         removed and is now a regular file: refused.
 *   fd-socks-edge user-owner
 *                         the child, uid and gid 65534, listens on
 *                         $CRL_TEST_DIR/u/user.sock (fd 98, mode 0755 by
 *                         its umask 022). After the restore the file is
 *                         still the child's, and the child can connect to
 *                         its own listener.
 *
 * Every task also checks its pid and parent and the exact set of its fds.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "victim.h"

static struct vl_ids ids; /* this task's, recorded before the dump */
static bool abstract;     /* NAME is an abstract name */
static struct sockaddr_un name_addr;
static socklen_t name_len;

/* NAME of the tree whose root is root. */
static void set_name(const char *kind, pid_t root)
{
	abstract = !strcmp(kind, "abstract");
	memset(&name_addr, 0, sizeof(name_addr));
	name_addr.sun_family = AF_UNIX;
	if (abstract) {
		snprintf(name_addr.sun_path + 1, sizeof(name_addr.sun_path) - 1, "crl-edge-%d", root);
		name_len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name_addr.sun_path + 1);
	} else {
		char *p = vl_path("edge.sock");

		snprintf(name_addr.sun_path, sizeof(name_addr.sun_path), "%s", p);
		free(p);
		name_len = offsetof(struct sockaddr_un, sun_path) + strlen(name_addr.sun_path) + 1;
	}
}

static int new_sock(int type, int target)
{
	int fd = socket(AF_UNIX, type, 0);

	if (fd < 0)
		vl_die("socket");
	if (target >= 0)
		vl_move_fd(fd, target);
	return target >= 0 ? target : fd;
}

static int listen_on_name(int target)
{
	int fd = new_sock(SOCK_STREAM, target);

	if (!abstract)
		unlink(name_addr.sun_path);
	if (bind(fd, (struct sockaddr *)&name_addr, name_len) < 0 || listen(fd, 8) < 0)
		vl_die("bind and listen on NAME");
	return fd;
}

static int connect_name(const char *what, int target)
{
	int fd = new_sock(SOCK_STREAM, target);

	if (connect(fd, (struct sockaddr *)&name_addr, name_len) < 0) {
		vl_fail("%s: connect to NAME: %s", what, strerror(errno));
		return -1;
	}
	return fd;
}

static int accept_to(int lfd, int target)
{
	int fd = accept(lfd, NULL, NULL);

	if (fd < 0)
		vl_die("accept");
	vl_move_fd(fd, target);
	return target;
}

/* The address (getsockname, or getpeername with peer) of fd is NAME. */
static void expect_name(const char *what, int fd, bool peer)
{
	struct sockaddr_un a;
	socklen_t len = sizeof(a);
	int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len) : getsockname(fd, (struct sockaddr *)&a, &len);

	if (r < 0)
		vl_fail("%s: fd %d: %s: %s", what, fd, peer ? "getpeername" : "getsockname", strerror(errno));
	else if (len != name_len || memcmp(&a, &name_addr, len))
		vl_fail("%s: fd %d: %s gives '%s%.*s' (%u bytes), expected '%s%s' (%u)", what, fd,
			peer ? "getpeername" : "getsockname", a.sun_path[0] ? "" : "@",
			(int)(len > 3 ? len - 3 : 0), a.sun_path + !a.sun_path[0], len,
			abstract ? "@" : "", name_addr.sun_path + abstract, name_len);
}

/* The next bytes of fd are want (a string). */
static void expect_text(const char *what, int fd, const char *want)
{
	char buf[256];
	size_t n = strlen(want);

	if (vl_read_exact(what, fd, buf, n))
		vl_expect_bytes(what, buf, want, n);
}

/* Accept one connection on lfd, read its line, answer "ok LINE". */
static void answer_one(const char *what, int lfd)
{
	char line[64];
	size_t n = 0;
	int fd;

	if (vl_wait_fd(lfd, POLLIN) <= 0) {
		vl_fail("%s: no new connection within %d ms", what, VL_TIMEOUT_MS);
		return;
	}
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		vl_fail("%s: accept: %s", what, strerror(errno));
		return;
	}
	strcpy(line, "ok ");
	n = 3;
	while (n + 1 < sizeof(line) && vl_read_exact(what, fd, line + n, 1))
		if (line[n++] == '\n')
			break;
	vl_write_all(what, fd, line, n);
	close(fd);
}

/* A new connection to NAME says line and gets "ok LINE" back. */
static void call_name(const char *what, const char *line)
{
	char want[64], got[64];
	int fd = connect_name(what, -1);

	if (fd < 0)
		return;
	snprintf(want, sizeof(want), "ok %s", line);
	vl_write_all(what, fd, line, strlen(line));
	if (vl_read_exact(what, fd, got, strlen(want)))
		vl_expect_bytes(what, got, want, strlen(want));
	close(fd);
}

/* --- accepted-closed --- */

static void accepted_closed_child(void *arg)
{
	close(20);
	close(21);
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, true, false);
	vl_expect_fds(NULL, 0);
	call_name("child: a new connection after the restore", "child\n");
}

static void accepted_closed(void)
{
	static const int fds[] = { 20, 21 };
	int c;

	listen_on_name(20);
	c = connect_name("root: the client that closes", -1);
	accept_to(20, 21);
	vl_write_all("root: the client's last words", c, "bye", 3);
	close(c);
	vl_fork("child", accepted_closed_child, NULL);
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 2);
	expect_name("root: the accepted socket", 21, false);
	expect_text("root: the accepted socket, queued at the dump", 21, "bye");
	vl_expect_eof("root: the accepted socket whose client closed", 21);
	answer_one("root: the listener after the restore", 20);
}

/* --- gone-two --- */

static void gone_two_child(void *arg)
{
	static const int fds[] = { 31, 32 };

	for (int fd = 21; fd <= 23; fd++)
		close(fd);
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, true, false);
	vl_expect_fds(fds, 2);
	for (int i = 0; i < 2; i++) {
		char what[64];

		snprintf(what, sizeof(what), "child: client %d", 31 + i);
		expect_name(what, 31 + i, true);
		expect_text(what, 31 + i, i ? "to-32" : "to-31");
		vl_write_all(what, 31 + i, i ? "after-32" : "after-31", 8);
	}
}

static void gone_two(void)
{
	static const int fds[] = { 21, 22, 23 };
	pid_t child;
	int c, fd;

	listen_on_name(20);
	connect_name("root: client 31", 31);
	accept_to(20, 21);
	connect_name("root: client 32", 32);
	accept_to(20, 22);
	c = connect_name("root: the client that closes", -1);
	accept_to(20, 23);
	vl_write_all("root: the client's last words", c, "bye", 3);
	close(c);
	vl_write_all("root: client 31", 31, "from-31", 7);
	vl_write_all("root: client 32", 32, "from-32", 7);
	vl_write_all("root: to 31", 21, "to-31", 5);
	vl_write_all("root: to 32", 22, "to-32", 5);
	close(20);
	child = vl_fork("child", gone_two_child, NULL);
	(void)child;
	close(31);
	close(32);
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 3);
	for (int i = 0; i < 3; i++)
		expect_name("root: an accepted socket of the closed listener", 21 + i, false);
	expect_text("root: from client 31", 21, "from-31");
	expect_text("root: from client 32", 22, "from-32");
	expect_text("root: from client 31, after the restore", 21, "after-31");
	expect_text("root: from client 32, after the restore", 22, "after-32");
	expect_text("root: the closed client", 23, "bye");
	vl_expect_eof("root: the accepted socket whose client closed", 23);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(fd, (struct sockaddr *)&name_addr, name_len) == 0) {
		if (!abstract)
			vl_fail("root: NAME's socket file is gone: a new socket binds to it");
	} else if (abstract || errno != EADDRINUSE) {
		vl_fail("root: a new socket cannot bind to NAME: %s", strerror(errno));
	}
	close(fd);
}

/* --- unconnected --- */

/* fd listens, a new socket connects to it (addr), and the two exchange a
 * byte. */
static void listen_and_call(const char *what, int fd, int type, const struct sockaddr_un *a, socklen_t alen)
{
	int c = socket(AF_UNIX, type, 0), n;
	char b = 0;

	if (listen(fd, 4) < 0) {
		vl_fail("%s: listen: %s", what, strerror(errno));
		return;
	}
	if (c < 0 || connect(c, (const struct sockaddr *)a, alen) < 0) {
		vl_fail("%s: connect: %s", what, strerror(errno));
		return;
	}
	n = accept(fd, NULL, NULL);
	if (n < 0 || write(c, "x", 1) != 1 || read(n, &b, 1) != 1 || b != 'x')
		vl_fail("%s: accept and a byte through: %s", what, strerror(errno));
	close(c);
	if (n >= 0)
		close(n);
}

static void expect_sockname(const char *what, int fd, const struct sockaddr_un *a, socklen_t alen)
{
	struct sockaddr_un g;
	socklen_t glen = sizeof(g);

	if (getsockname(fd, (struct sockaddr *)&g, &glen) < 0)
		vl_fail("%s: getsockname: %s", what, strerror(errno));
	else if (glen != alen || memcmp(&g, a, alen))
		vl_fail("%s: getsockname gives %u bytes '%s', expected %u bytes '%s'", what, glen,
			g.sun_path[0] ? g.sun_path : g.sun_path + 1, alen, a->sun_path[0] ? a->sun_path : a->sun_path + 1);
}

static void expect_sotype(const char *what, int fd, int type)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len) < 0 || v != type)
		vl_fail("%s: fd %d: SO_TYPE %d, expected %d", what, fd, v, type);
}

static void unconnected(void)
{
	static const int fds[] = { 40, 41, 42 };
	struct sockaddr_un p = { AF_UNIX }, ab = { AF_UNIX }, sl = { AF_UNIX };
	socklen_t plen, ablen, sllen;
	char *path = vl_path("plain.sock");
	int l;

	snprintf(p.sun_path, sizeof(p.sun_path), "%s", path);
	plen = offsetof(struct sockaddr_un, sun_path) + strlen(p.sun_path) + 1;
	snprintf(ab.sun_path + 1, sizeof(ab.sun_path) - 1, "crl-edge-plain-%d", getpid());
	ablen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(ab.sun_path + 1);
	new_sock(SOCK_STREAM, 40);
	new_sock(SOCK_SEQPACKET, 41);
	new_sock(SOCK_STREAM, 42);
	if (bind(40, (struct sockaddr *)&p, plen) < 0 || bind(42, (struct sockaddr *)&ab, ablen) < 0)
		vl_die("bind");
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 3);
	expect_sotype("root: bound stream socket", 40, SOCK_STREAM);
	expect_sotype("root: seqpacket socket", 41, SOCK_SEQPACKET);
	expect_sotype("root: stream socket of an abstract name", 42, SOCK_STREAM);
	expect_sockname("root: bound stream socket", 40, &p, plen);
	expect_sockname("root: stream socket of an abstract name", 42, &ab, ablen);
	{
		struct sockaddr_un none;
		socklen_t nlen = sizeof(none);

		if (getsockname(41, (struct sockaddr *)&none, &nlen) < 0 || nlen != sizeof(sa_family_t))
			vl_fail("root: seqpacket socket: getsockname gives %u bytes, expected unbound", nlen);
	}
	listen_and_call("root: bound stream socket", 40, SOCK_STREAM, &p, plen);
	listen_and_call("root: stream socket of an abstract name", 42, SOCK_STREAM, &ab, ablen);
	/* 41 connects to a new seqpacket listener. */
	snprintf(sl.sun_path, sizeof(sl.sun_path), "%s", path);
	strcat(sl.sun_path, "-seq");
	sllen = offsetof(struct sockaddr_un, sun_path) + strlen(sl.sun_path) + 1;
	l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&sl, sllen) < 0 || listen(l, 1) < 0)
		vl_fail("root: a new seqpacket listener: %s", strerror(errno));
	else if (connect(41, (struct sockaddr *)&sl, sllen) < 0)
		vl_fail("root: seqpacket socket: connect: %s", strerror(errno));
	free(path);
}

/* --- reset --- */

/* A pair of type whose end at target gets "last-words" (with words) and
 * whose other end is closed with "unread" queued to it. */
static void reset_pair(int type, int target, bool words)
{
	int sv[2];

	if (socketpair(AF_UNIX, type, 0, sv) < 0)
		vl_die("socketpair");
	vl_move_fd(sv[0], target);
	if (words && send(sv[1], "last-words", 10, 0) != 10)
		vl_die("send last-words");
	if (send(target, "unread", 6, 0) != 6)
		vl_die("send unread");
	close(sv[1]);
}

/* Three non-blocking reads of fd, appended to out. */
static void read_three(int fd, char *out, size_t len)
{
	for (int k = 0; k < 3; k++) {
		char b[64];
		ssize_t n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
		size_t at = strlen(out);

		snprintf(out + at, len - at, "fd %d: [%zd %s]\n", fd, n, n < 0 ? strerror(errno) : "");
	}
}

static void reset(const char *file)
{
	static const int fds[] = { 50, 51 };
	char seq[1024] = "";
	int fd;

	reset_pair(SOCK_STREAM, 50, true);
	reset_pair(SOCK_STREAM, 51, false);
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 2);
	read_three(50, seq, sizeof(seq));
	read_three(51, seq, sizeof(seq));
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, seq, strlen(seq)) != (ssize_t)strlen(seq))
		vl_fail("cannot write %s: %s", file, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void reset_seqpacket(void)
{
	char b[64];
	ssize_t n;

	reset_pair(SOCK_SEQPACKET, 52, true);
	vl_ready();
	vl_wait();
	n = recv(52, b, sizeof(b), MSG_DONTWAIT);
	if (n >= 0 || errno != ECONNRESET)
		vl_fail("seqpacket: the first read gives %zd (%s), expected ECONNRESET", n, n < 0 ? strerror(errno) : "");
	n = recv(52, b, sizeof(b), MSG_DONTWAIT);
	if (n != 10 || memcmp(b, "last-words", 10))
		vl_fail("seqpacket: the second read gives %zd, expected last-words", n);
	n = recv(52, b, sizeof(b), MSG_DONTWAIT);
	if (n != 0)
		vl_fail("seqpacket: the third read gives %zd (%s), expected end of file", n, n < 0 ? strerror(errno) : "");
}

/* --- oob --- */

static void expect_recv(const char *what, int fd, int flags, const char *want)
{
	char b[64];
	ssize_t n = recv(fd, b, sizeof(b), flags | MSG_DONTWAIT);

	if (n != (ssize_t)strlen(want) || memcmp(b, want, n))
		vl_fail("%s: recv gives %zd '%.*s' (%s), expected '%s'", what, n, (int)(n > 0 ? n : 0), b,
			n < 0 ? strerror(errno) : "", want);
}

static void oob(bool inl)
{
	int sv[2], one = 1, v = 0, at = -1;
	socklen_t len = sizeof(v);

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		vl_die("socketpair");
	vl_move_fd(sv[0], 60);
	vl_move_fd(sv[1], 61);
	if (inl && setsockopt(61, SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one)) < 0)
		vl_die("SO_OOBINLINE");
	if (send(60, "abc", 3, MSG_OOB) != 3 || send(60, "def", 3, 0) != 3)
		vl_die("send");
	vl_ready();
	vl_wait();
	if (getsockopt(61, SOL_SOCKET, SO_OOBINLINE, &v, &len) < 0 || v != inl)
		vl_fail("SO_OOBINLINE is %d, expected %d", v, inl);
	expect_recv("before the mark", 61, 0, "ab");
	if (ioctl(61, SIOCATMARK, &at) < 0 || at != 1)
		vl_fail("SIOCATMARK gives %d, expected 1", at);
	if (inl) {
		expect_recv("from the mark, inline", 61, 0, "cdef");
	} else {
		expect_recv("the out-of-band byte", 61, MSG_OOB, "c");
		expect_recv("after the mark", 61, 0, "def");
	}
}

/* --- creds --- */

static void creds_child(void *arg)
{
	for (int i = 0; i < 3; i++) {
		close(71 + 2 * i);
		if (send(70 + 2 * i, "hello", 5, 0) != 5)
			vl_fail("child: send hello: %s", strerror(errno));
	}
	vl_ready();
	vl_wait();
}

#define GHOST_ID 4321

static void creds(void)
{
	static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET };
	static const int fds[] = { 70, 71, 72, 73, 74, 75, 76, 77 };
	pid_t child, ghost;
	int status, late[2], one = 1;

	for (int i = 0; i < 3; i++) {
		int sv[2], one = 1;

		if (socketpair(AF_UNIX, types[i], 0, sv) < 0)
			vl_die("socketpair");
		vl_move_fd(sv[0], 70 + 2 * i);
		vl_move_fd(sv[1], 71 + 2 * i);
		if (setsockopt(71 + 2 * i, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0)
			vl_die("SO_PASSCRED");
	}
	/* A datagram pair whose receiver (77) turned SO_PASSCRED on between
	 * "early" (no credentials: pid 0 and the overflow ids) and "late". */
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, late) < 0)
		vl_die("socketpair");
	vl_move_fd(late[0], 76);
	vl_move_fd(late[1], 77);
	if (send(76, "early", 5, 0) != 5 || setsockopt(77, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
	    send(76, "late!", 5, 0) != 5)
		vl_die("the early and late datagrams");
	child = vl_fork("child", creds_child, NULL);
	/* The child's messages first. */
	for (int i = 0; i < 3; i++) {
		char b[8];

		if (recv(71 + 2 * i, b, 5, MSG_PEEK) != 5)
			vl_die("waiting for the child's message");
	}
	ghost = fork();
	if (ghost == 0) {
		if (setresgid(GHOST_ID, GHOST_ID, GHOST_ID) < 0 || setresuid(GHOST_ID, GHOST_ID, GHOST_ID) < 0)
			_exit(1);
		for (int i = 0; i < 3; i++)
			if (send(70 + 2 * i, "ghost", 5, 0) != 5)
				_exit(1);
		_exit(0);
	}
	if (ghost < 0 || waitpid(ghost, &status, 0) != ghost || !WIFEXITED(status) || WEXITSTATUS(status))
		vl_die("the ghost sender");
	for (int i = 0; i < 3; i++)
		if (send(70 + 2 * i, "world", 5, 0) != 5)
			vl_die("send world");
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 8);
	for (int k = 0; k < 2; k++) {
		char b[8], cb[CMSG_SPACE(sizeof(struct ucred))];
		struct iovec iov = { b, 5 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb, .msg_controllen = sizeof(cb) };
		struct cmsghdr *c;
		struct ucred u = { -1, 0, 0 }, want = k ? (struct ucred){ getpid(), getuid(), getgid() }
						   : (struct ucred){ 0, 65534, 65534 };
		ssize_t n = recvmsg(77, &mh, MSG_DONTWAIT);

		c = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL;
		if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
			memcpy(&u, CMSG_DATA(c), sizeof(u));
		if (n != 5 || memcmp(b, k ? "late!" : "early", 5))
			vl_fail("fd 77, message %d: %zd bytes '%.*s'", k, n, (int)(n > 0 ? n : 0), b);
		if (u.pid != want.pid || u.uid != want.uid || u.gid != want.gid)
			vl_fail("fd 77, message %d: credentials pid %d uid %d gid %d, expected pid %d uid %d gid %d", k,
				u.pid, u.uid, u.gid, want.pid, want.uid, want.gid);
	}
	for (int i = 0; i < 3; i++)
		for (int k = 0; k < 3; k++) {
			static const char *const words[] = { "hello", "ghost", "world" };
			char b[16], cb[CMSG_SPACE(sizeof(struct ucred))];
			struct iovec iov = { b, 5 };
			struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb,
					     .msg_controllen = sizeof(cb) };
			struct cmsghdr *c;
			struct ucred u = { 0 };
			ssize_t n = recvmsg(71 + 2 * i, &mh, MSG_DONTWAIT);
			pid_t want = k == 0 ? child : getpid();

			c = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL;
			if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
				memcpy(&u, CMSG_DATA(c), sizeof(u));
			else
				vl_fail("type %d, message %d: no SCM_CREDENTIALS", types[i], k);
			if (n != 5 || memcmp(b, words[k], 5))
				vl_fail("type %d, message %d: %zd bytes '%.*s', expected '%s'", types[i], k, n,
					(int)(n > 0 ? n : 0), b, words[k]);
			if (k != 1 && (u.pid != want || u.uid != getuid() || u.gid != getgid()))
				vl_fail("type %d, message %d ('%s'): credentials pid %d uid %d gid %d, expected pid %d "
					"uid %d gid %d",
					types[i], k, words[k], u.pid, u.uid, u.gid, want, getuid(), getgid());
			if (k == 1 && (u.uid != GHOST_ID || u.gid != GHOST_ID))
				vl_fail("type %d, message 1 ('ghost'): credentials uid %d gid %d, expected %d and %d "
					"(the sender's, though it is gone)",
					types[i], u.uid, u.gid, GHOST_ID, GHOST_ID);
		}
}

/* --- sockopts --- */

#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif
#ifndef SO_PASSRIGHTS
#define SO_PASSRIGHTS 83
#endif

static void expect_opt(int fd, int opt, const char *name, int want)
{
	int v = -1;
	socklen_t len = sizeof(v);

	if (getsockopt(fd, SOL_SOCKET, opt, &v, &len) < 0)
		vl_fail("fd %d: %s: %s", fd, name, strerror(errno));
	else if (v != want)
		vl_fail("fd %d: %s is %d, expected %d", fd, name, v, want);
}

static void expect_timeo(int fd, int opt, const char *name, long usec)
{
	struct timeval tv = { -1, -1 };
	socklen_t len = sizeof(tv);

	if (getsockopt(fd, SOL_SOCKET, opt, &tv, &len) < 0 || tv.tv_sec * 1000000 + tv.tv_usec != usec)
		vl_fail("fd %d: %s is %ld.%06ld s, expected %ld us", fd, name, (long)tv.tv_sec, (long)tv.tv_usec, usec);
}

static void sockopts(void)
{
	static const int fds[] = { 80, 81, 82, 83 };
	struct timeval tv = { 0, 300000 }, tv2 = { 1, 500000 };
	int sv[2], one = 1, zero = 0, lowat = 5;
	uint64_t t0;
	char b[8];
	ssize_t n;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		vl_die("socketpair");
	vl_move_fd(sv[0], 80);
	vl_move_fd(sv[1], 81);
	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv) < 0)
		vl_die("socketpair");
	vl_move_fd(sv[0], 82);
	vl_move_fd(sv[1], 83);
	if (setsockopt(80, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(80, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(80, SOL_SOCKET, SO_PASSPIDFD, &one, sizeof(one)) < 0 ||
	    setsockopt(80, SOL_SOCKET, SO_TIMESTAMP, &one, sizeof(one)) < 0 ||
	    setsockopt(80, SOL_SOCKET, SO_RCVLOWAT, &lowat, sizeof(lowat)) < 0 ||
	    setsockopt(80, SOL_SOCKET, SO_PASSSEC, &one, sizeof(one)) < 0 ||
	    setsockopt(80, SOL_SOCKET, SO_OOBINLINE, &one, sizeof(one)) < 0 ||
	    setsockopt(80, SOL_SOCKET, SO_PASSRIGHTS, &zero, sizeof(zero)) < 0 ||
	    setsockopt(82, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) < 0 ||
	    setsockopt(82, SOL_SOCKET, SO_RCVTIMEO, &tv2, sizeof(tv2)) < 0)
		vl_die("setsockopt");
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 4);
	expect_timeo(80, SO_RCVTIMEO, "SO_RCVTIMEO", 300000);
	expect_timeo(80, SO_SNDTIMEO, "SO_SNDTIMEO", 300000);
	expect_opt(80, SO_PASSPIDFD, "SO_PASSPIDFD", 1);
	expect_opt(80, SO_TIMESTAMP, "SO_TIMESTAMP", 1);
	expect_opt(80, SO_TIMESTAMPNS, "SO_TIMESTAMPNS", 0);
	expect_opt(80, SO_RCVLOWAT, "SO_RCVLOWAT", 5);
	expect_opt(80, SO_PASSSEC, "SO_PASSSEC", 1);
	expect_opt(80, SO_OOBINLINE, "SO_OOBINLINE", 1);
	expect_opt(80, SO_PASSRIGHTS, "SO_PASSRIGHTS", 0);
	expect_opt(80, SO_PASSCRED, "SO_PASSCRED", 0);
	expect_timeo(81, SO_RCVTIMEO, "SO_RCVTIMEO", 0);
	expect_opt(81, SO_TIMESTAMP, "SO_TIMESTAMP", 0);
	expect_opt(81, SO_RCVLOWAT, "SO_RCVLOWAT", 1);
	expect_opt(81, SO_PASSRIGHTS, "SO_PASSRIGHTS", 1);
	expect_opt(82, SO_TIMESTAMPNS, "SO_TIMESTAMPNS", 1);
	expect_opt(82, SO_TIMESTAMP, "SO_TIMESTAMP", 0);
	expect_timeo(82, SO_RCVTIMEO, "SO_RCVTIMEO", 1500000);
	t0 = vl_now_ms();
	n = recv(80, b, sizeof(b), 0);
	if (n >= 0 || errno != EAGAIN)
		vl_fail("a read of fd 80 with its timeout: %zd (%s), expected EAGAIN", n, n < 0 ? strerror(errno) : "");
	else if (vl_now_ms() - t0 < 250 || vl_now_ms() - t0 > 3000)
		vl_fail("a read of fd 80 with its 0.3 s timeout took %llu ms", (unsigned long long)(vl_now_ms() - t0));
}

/* --- detached, rebind, dir-removed, occupied, user-owner --- */

static socklen_t path_addr(const char *name, struct sockaddr_un *a)
{
	char *p = vl_path(name);

	memset(a, 0, sizeof(*a));
	a->sun_family = AF_UNIX;
	snprintf(a->sun_path, sizeof(a->sun_path), "%s", p);
	free(p);
	return offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1;
}

static void bind_to(int fd, const struct sockaddr_un *a, socklen_t alen)
{
	if (bind(fd, (const struct sockaddr *)a, alen) < 0)
		vl_die("bind");
}

static void expect_no_file(const char *what, const struct sockaddr_un *a)
{
	struct stat st;

	if (lstat(a->sun_path, &st) == 0)
		vl_fail("%s: %s exists after the restore (mode %o)", what, a->sun_path, st.st_mode);
}

static void detached(void)
{
	static const int fds[] = { 90, 91, 92, 93, 94 };
	struct sockaddr_un a, d;
	socklen_t alen = path_addr("det.sock", &a), dlen = path_addr("ddet.sock", &d);
	int c;

	new_sock(SOCK_STREAM, 90);
	bind_to(90, &a, alen);
	if (listen(90, 4) < 0)
		vl_die("listen");
	new_sock(SOCK_STREAM, 92);
	if (connect(92, (struct sockaddr *)&a, alen) < 0)
		vl_die("connect");
	accept_to(90, 91);
	vl_write_all("to the accepted end", 92, "up", 2);
	vl_write_all("to the client", 91, "down", 4);
	new_sock(SOCK_DGRAM, 93);
	bind_to(93, &d, dlen);
	new_sock(SOCK_DGRAM, 94);
	if (connect(94, (struct sockaddr *)&d, dlen) < 0 || send(94, "dgram", 5, 0) != 5)
		vl_die("datagram client");
	if (unlink(a.sun_path) < 0 || unlink(d.sun_path) < 0)
		vl_die("unlink");
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 5);
	expect_no_file("listener", &a);
	expect_no_file("datagram socket", &d);
	expect_sockname("listener", 90, &a, alen);
	expect_sockname("datagram socket", 93, &d, dlen);
	expect_text("accepted end", 91, "up");
	expect_text("client", 92, "down");
	expect_recv("datagram socket, queued at the dump", 93, 0, "dgram");
	if (send(94, "again", 5, 0) != 5)
		vl_fail("datagram client: send after the restore: %s", strerror(errno));
	expect_recv("datagram socket, sent after the restore", 93, 0, "again");
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&a, alen) == 0 || errno != ENOENT)
		vl_fail("a connection to the removed name: %s, expected ENOENT", strerror(errno));
	close(c);
}

static void rebind(void)
{
	static const int fds[] = { 95, 96 };
	struct sockaddr_un a;
	socklen_t alen = path_addr("rb.sock", &a);
	struct pollfd p = { .fd = 95, .events = POLLIN };

	new_sock(SOCK_STREAM, 95);
	bind_to(95, &a, alen);
	if (listen(95, 4) < 0 || unlink(a.sun_path) < 0)
		vl_die("listen and unlink");
	new_sock(SOCK_STREAM, 96);
	bind_to(96, &a, alen);
	if (listen(96, 4) < 0)
		vl_die("listen");
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 2);
	expect_sockname("the first listener", 95, &a, alen);
	expect_sockname("the second listener", 96, &a, alen);
	name_addr = a;
	name_len = alen;
	if (fork() == 0) {
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		_exit(connect(fd, (struct sockaddr *)&a, alen) < 0 || write(fd, "hi\n", 3) != 3);
	}
	answer_one("the second listener", 96);
	if (poll(&p, 1, 0) != 0)
		vl_fail("the first listener has a connection");
	wait(NULL);
}

static void refused_listener(bool dir)
{
	struct sockaddr_un a;
	socklen_t alen;
	char *sd = vl_path("sd");

	if (dir && mkdir(sd, 0755) < 0)
		vl_die("mkdir");
	alen = path_addr(dir ? "sd/s.sock" : "occ.sock", &a);
	new_sock(SOCK_STREAM, 97);
	bind_to(97, &a, alen);
	if (listen(97, 4) < 0 || unlink(a.sun_path) < 0)
		vl_die("listen and unlink");
	if (dir ? rmdir(sd) < 0 : vl_write_file(vl_dir(), "occ.sock", "a file\n") < 0)
		vl_die("rmdir or the file");
	free(sd);
	vl_ready();
	vl_wait();
	if (listen(97, 8) < 0)
		vl_fail("listen: %s", strerror(errno));
	expect_sockname("the listener", 97, &a, alen);
}

static void user_child(void *arg)
{
	static const int fds[] = { 98 };
	struct sockaddr_un a;
	socklen_t alen = path_addr("u/user.sock", &a);
	struct stat st;
	int c;

	if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
		vl_die("setuid 65534");
	umask(022);
	new_sock(SOCK_STREAM, 98);
	bind_to(98, &a, alen);
	if (listen(98, 4) < 0)
		vl_die("listen");
	vl_ready();
	vl_wait();
	vl_expect_fds(fds, 1);
	if (lstat(a.sun_path, &st) < 0)
		vl_fail("%s: %s", a.sun_path, strerror(errno));
	else if (st.st_uid != 65534 || st.st_gid != 65534 || (st.st_mode & 07777) != 0755)
		vl_fail("%s: owner %u:%u mode %o, expected 65534:65534 755", a.sun_path, st.st_uid, st.st_gid,
			st.st_mode & 07777);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(c, (struct sockaddr *)&a, alen) < 0)
		vl_fail("uid 65534: connect to its own listener: %s", strerror(errno));
	close(c);
}

static void user_owner(void)
{
	char *u = vl_path("u");

	/* The test directory is 0700: let uid 65534 through. */
	if (chmod(vl_dir(), 0711) < 0 || mkdir(u, 0777) < 0 || chmod(u, 0777) < 0)
		vl_die("the directory u");
	free(u);
	vl_fork("child", user_child, NULL);
	vl_ready();
	vl_wait();
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	vl_init(argc, argv);
	set_name(argc > 2 && !strcmp(argv[2], "abstract") ? "abstract" : "path", getpid());
	if (!strcmp(mode, "accepted-closed"))
		accepted_closed();
	else if (!strcmp(mode, "gone-two"))
		gone_two();
	else if (!strcmp(mode, "unconnected"))
		unconnected();
	else if (!strcmp(mode, "reset"))
		reset(argc > 2 ? argv[2] : "/dev/null");
	else if (!strcmp(mode, "sockopts"))
		sockopts();
	else if (!strcmp(mode, "detached"))
		detached();
	else if (!strcmp(mode, "rebind"))
		rebind();
	else if (!strcmp(mode, "dir-removed"))
		refused_listener(true);
	else if (!strcmp(mode, "occupied"))
		refused_listener(false);
	else if (!strcmp(mode, "user-owner"))
		user_owner();
	else if (!strcmp(mode, "creds"))
		creds();
	else if (!strcmp(mode, "oob"))
		oob(argc > 2 && !strcmp(argv[2], "inline"));
	else if (!strcmp(mode, "reset-seqpacket"))
		reset_seqpacket();
	else
		vl_fail("unknown mode '%s'", mode);
	vl_exit();
}
