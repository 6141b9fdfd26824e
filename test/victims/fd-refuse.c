/*
 * fd-refuse: a tree holding an fd that criu-lite cannot dump. The dump must
 * refuse it, naming the task, the fd and what it is, and leave the tree
 * running untouched; signalled afterwards (with no restore), the tree checks
 * that it still works.
 *
 * The root and its child share a pipe: the child wrote 1000 bytes into it
 * before the dump, the root reads them afterwards. The child holds, at fd 42,
 * the fd of the kind given as argument, and checks it afterwards:
 *
 *   eventfd     an eventfd holding the count 5
 *   epoll       an epoll instance watching the read end of a pipe that holds
 *               a byte: epoll_wait reports it
 *   signalfd    a signalfd for SIGUSR2, which is pending: reading gives it
 *   timerfd     a timerfd armed for an hour: it is still armed
 *   inotify     an inotify instance watching the test directory, with an
 *               event queued
 *   pidfd       a pidfd of the root: the root is alive
 *   tcp         a TCP socket listening on 127.0.0.1: it accepts a connection
 *   udp6        a UDP socket on ::1 with a datagram queued to itself
 *   netlink     a NETLINK_ROUTE socket
 *   outside     a unix stream socket connected to $CRL_TEST_DIR/outside.sock,
 *               a listening socket of the test (outside the tree): it sends
 *               "outside\n" afterwards
 *   dgram-outside  a unix datagram socket connected to
 *               $CRL_TEST_DIR/outside.sock, a datagram socket of the test (as
 *               a program's syslog socket is to /dev/log): it sends
 *               "outside\n" afterwards
 *   backlog     (in the root, fd 42) a unix socket listening on
 *               $CRL_TEST_DIR/backlog.sock, to which the child connected
 *               (fd 43 in the child) without being accepted: the root
 *               accepts it afterwards and reads the child's bytes
 *   pts         the slave of a pseudo-terminal (the child also holds the
 *               master at fd 43): the dump has no --shell-job
 *   ptmx        the master of a pseudo-terminal
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <unistd.h>

#include "victim.h"

#define TIMEOUT_MS 5000

/* --- helpers (each fd victim has its own copy: victims link only
 * victim-lib.c) --- */

static pid_t saved_pid, saved_ppid;

/* Before vl_init(): nothing inherited from the test beyond 0, 1, 2. */
static void close_inherited(void)
{
	syscall(SYS_close_range, 3, ~0U, 0);
}

/* The pid and parent to find after the restore. The root's parent is
 * whoever restored it: only its pid is checked. */
static void ids_save(bool root)
{
	saved_pid = getpid();
	saved_ppid = root ? 0 : getppid();
}

static void ids_check(void)
{
	if (getpid() != saved_pid || (saved_ppid && getppid() != saved_ppid))
		vl_fail("pid/ppid %d/%d, expected %d/%d", getpid(), getppid(), saved_pid, saved_ppid);
}

/* A path in the test directory, in memory of its own (vl_path() reuses
 * its buffers). */
static const char *path_of(const char *name)
{
	return strdup(vl_path(name));
}

/* Move fd to target (which must be free or equal). */
static void move_fd(int fd, int target)
{
	if (fd == target)
		return;
	if (dup2(fd, target) != target) {
		vl_fail("dup2(%d, %d): %s", fd, target, strerror(errno));
		exit(2);
	}
	close(fd);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The open fds of this task are exactly want[0..n) (plus 0, 1, 2). */
static void expect_fds(const int *want, int n)
{
	int have[256], nr = 0, all[256], nall = 0;
	char hs[1024] = "", ws[1024] = "";
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");

	if (!d) {
		vl_fail("opendir /proc/self/fd: %s", strerror(errno));
		return;
	}
	while ((de = readdir(d)) && nr < 256)
		if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d))
			have[nr++] = atoi(de->d_name);
	closedir(d);
	all[nall++] = 0;
	all[nall++] = 1;
	all[nall++] = 2;
	for (int i = 0; i < n; i++)
		all[nall++] = want[i];
	qsort(have, nr, sizeof(int), cmp_int);
	qsort(all, nall, sizeof(int), cmp_int);
	if (nr == nall && !memcmp(have, all, nr * sizeof(int)))
		return;
	for (int i = 0; i < nr; i++)
		snprintf(hs + strlen(hs), sizeof(hs) - strlen(hs), " %d", have[i]);
	for (int i = 0; i < nall; i++)
		snprintf(ws + strlen(ws), sizeof(ws) - strlen(ws), " %d", all[i]);
	vl_fail("open fds:%s; expected:%s", hs, ws);
}

static int wait_fd(int fd, short ev)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int r;

	do
		r = poll(&p, 1, TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	return r;
}

/* Read exactly len bytes (waiting at most TIMEOUT_MS for each chunk). */
static bool read_exact(const char *what, int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n;

		if (wait_fd(fd, POLLIN) <= 0) {
			vl_fail("%s: %zu of %zu bytes came, then nothing for %d ms", what, got, len, TIMEOUT_MS);
			return false;
		}
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			vl_fail("%s: %zu of %zu bytes came, then %s", what, got, len,
				n ? strerror(errno) : "end of file");
			return false;
		}
		got += n;
	}
	return true;
}

/* The next read gives end of file. */
static void expect_eof(const char *what, int fd)
{
	char c;
	ssize_t n;

	for (;;) {
		if (wait_fd(fd, POLLIN) <= 0) {
			vl_fail("%s: no end of file within %d ms (a writer is left open)", what, TIMEOUT_MS);
			return;
		}
		n = read(fd, &c, 1);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n != 0)
			vl_fail("%s: expected end of file, got %s", what, n > 0 ? "a byte more" : strerror(errno));
		return;
	}
}

static void write_all(const char *what, int fd, const void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			wait_fd(fd, POLLOUT);
			continue;
		}
		if (n <= 0) {
			vl_fail("%s: write: %s", what, strerror(errno));
			return;
		}
		done += n;
	}
}

/* buf equals want; else name the first byte that differs. */
static bool expect_bytes(const char *what, const void *buf, const void *want, size_t len)
{
	const unsigned char *a = buf, *b = want;

	for (size_t i = 0; i < len; i++)
		if (a[i] != b[i]) {
			vl_fail("%s: byte %zu of %zu is %#x, expected %#x", what, i, len, a[i], b[i]);
			return false;
		}
	return true;
}

/* Read len bytes and compare them with the pattern of seed. */
static void read_pattern(const char *what, int fd, size_t len, uint64_t seed)
{
	char *buf = malloc(len), *want = malloc(len);

	vl_fill(want, len, seed);
	if (read_exact(what, fd, buf, len))
		expect_bytes(what, buf, want, len);
	free(buf);
	free(want);
}

static void write_pattern(const char *what, int fd, size_t len, uint64_t seed)
{
	char *buf = malloc(len);

	vl_fill(buf, len, seed);
	write_all(what, fd, buf, len);
	free(buf);
}

/* --- the unsupported fd --- */

static const char *kind;
static uint16_t tcp_port;

static void need(bool ok, const char *what)
{
	if (!ok) {
		vl_fail("%s: %s", what, strerror(errno));
		vl_exit();
	}
}

static int unix_stream_to(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		vl_fail("connect to %s: %s", path, strerror(errno));
		vl_exit();
	}
	return fd;
}

/* Make the fd of this kind at fd 42 (and, for some, a helper at 43). */
static void make_kind(void)
{
	int fd = -1;

	if (!strcmp(kind, "eventfd")) {
		fd = eventfd(5, 0);
	} else if (!strcmp(kind, "epoll")) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 77 };
		int p[2];

		need(pipe(p) == 0, "pipe");
		move_fd(p[0], 43);
		need(write(p[1], "x", 1) == 1, "write");
		close(p[1]);
		fd = epoll_create1(0);
		need(fd >= 0 && epoll_ctl(fd, EPOLL_CTL_ADD, 43, &ev) == 0, "epoll");
	} else if (!strcmp(kind, "signalfd")) {
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, SIGUSR2);
		sigprocmask(SIG_BLOCK, &set, NULL);
		fd = signalfd(-1, &set, 0);
		kill(getpid(), SIGUSR2);
	} else if (!strcmp(kind, "timerfd")) {
		struct itimerspec its = { .it_value = { 3600, 0 } };

		fd = timerfd_create(CLOCK_MONOTONIC, 0);
		need(fd >= 0 && timerfd_settime(fd, 0, &its, NULL) == 0, "timerfd");
	} else if (!strcmp(kind, "inotify")) {
		fd = inotify_init1(0);
		need(fd >= 0 && inotify_add_watch(fd, vl_dir(), IN_CREATE) >= 0, "inotify");
		close(open(path_of("inotify-event"), O_WRONLY | O_CREAT, 0644));
	} else if (!strcmp(kind, "pidfd")) {
		fd = syscall(SYS_pidfd_open, getppid(), 0);
	} else if (!strcmp(kind, "tcp")) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(a);

		fd = socket(AF_INET, SOCK_STREAM, 0);
		need(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 4) == 0 &&
			     getsockname(fd, (struct sockaddr *)&a, &len) == 0,
		     "tcp socket");
		tcp_port = a.sin_port;
	} else if (!strcmp(kind, "udp6")) {
		struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
		socklen_t len = sizeof(a);

		fd = socket(AF_INET6, SOCK_DGRAM, 0);
		need(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
			     getsockname(fd, (struct sockaddr *)&a, &len) == 0 &&
			     sendto(fd, "udp6", 4, 0, (struct sockaddr *)&a, len) == 4,
		     "udp6 socket");
	} else if (!strcmp(kind, "netlink")) {
		fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE);
	} else if (!strcmp(kind, "outside")) {
		fd = unix_stream_to(path_of("outside.sock"));
	} else if (!strcmp(kind, "dgram-outside")) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", path_of("outside.sock"));
		fd = socket(AF_UNIX, SOCK_DGRAM, 0);
		need(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect to outside.sock");
	} else if (!strcmp(kind, "pts") || !strcmp(kind, "ptmx")) {
		int m = posix_openpt(O_RDWR | O_NOCTTY);

		need(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0, "posix_openpt");
		if (!strcmp(kind, "ptmx")) {
			fd = m;
		} else {
			fd = open(ptsname(m), O_RDWR | O_NOCTTY);
			move_fd(m, 43);
		}
	} else {
		vl_fail("unknown kind '%s'", kind);
		vl_exit();
	}
	need(fd >= 0, kind);
	move_fd(fd, 42);
}

/* The fd of this kind still works as it did. */
static void check_kind(void)
{
	if (!strcmp(kind, "eventfd")) {
		uint64_t v = 0;

		if (read(42, &v, 8) != 8 || v != 5)
			vl_fail("eventfd: count %llu, expected 5", (unsigned long long)v);
	} else if (!strcmp(kind, "epoll")) {
		struct epoll_event ev = { 0 };

		if (epoll_wait(42, &ev, 1, TIMEOUT_MS) != 1 || ev.data.u64 != 77 || !(ev.events & EPOLLIN))
			vl_fail("epoll: the readable pipe is not reported");
	} else if (!strcmp(kind, "signalfd")) {
		struct signalfd_siginfo si = { 0 };

		if (read(42, &si, sizeof(si)) != sizeof(si) || si.ssi_signo != SIGUSR2)
			vl_fail("signalfd: no SIGUSR2 (%u)", si.ssi_signo);
	} else if (!strcmp(kind, "timerfd")) {
		struct itimerspec its = { 0 };

		if (timerfd_gettime(42, &its) < 0 || its.it_value.tv_sec < 3000)
			vl_fail("timerfd: %ld s left, expected about 3600", (long)its.it_value.tv_sec);
	} else if (!strcmp(kind, "inotify")) {
		char buf[512];
		struct inotify_event *ev = (struct inotify_event *)buf;

		if (read(42, buf, sizeof(buf)) < (ssize_t)sizeof(*ev) || !(ev->mask & IN_CREATE) ||
		    strcmp(ev->name, "inotify-event"))
			vl_fail("inotify: the queued event is not there");
	} else if (!strcmp(kind, "pidfd")) {
		struct pollfd p = { .fd = 42, .events = POLLIN };

		if (poll(&p, 1, 0) != 0)
			vl_fail("pidfd: the root looks dead");
	} else if (!strcmp(kind, "tcp")) {
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = tcp_port,
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		int c = socket(AF_INET, SOCK_STREAM, 0), s;

		if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof(a)) < 0 || (s = accept(42, NULL, NULL)) < 0)
			vl_fail("tcp: no connection accepted: %s", strerror(errno));
		else
			close(s);
		if (c >= 0)
			close(c);
	} else if (!strcmp(kind, "udp6")) {
		char buf[16];

		if (recv(42, buf, sizeof(buf), MSG_DONTWAIT) != 4 || memcmp(buf, "udp6", 4))
			vl_fail("udp6: the queued datagram is not there");
	} else if (!strcmp(kind, "netlink")) {
		int v = 0;
		socklen_t len = sizeof(v);

		if (getsockopt(42, SOL_SOCKET, SO_PROTOCOL, &v, &len) < 0 || v != NETLINK_ROUTE)
			vl_fail("netlink: SO_PROTOCOL %d", v);
	} else if (!strcmp(kind, "outside") || !strcmp(kind, "dgram-outside")) {
		write_all("outside socket", 42, "outside\n", 8);
	} else if (!strcmp(kind, "pts")) {
		char c = 0;

		write_all("pts slave", 42, "t\n", 2);
		if (!read_exact("pts master", 43, &c, 1) || c != 't')
			vl_fail("pts: the master did not get the byte written to the slave");
	}
}

#define PIPE_BYTES 1000

static void child(void *arg)
{
	int want[3] = { 11, 42 }, n = 2;

	close(10);
	if (strcmp(kind, "backlog")) {
		make_kind();
	} else {
		close(42);
		move_fd(unix_stream_to(path_of("backlog.sock")), 43);
		write_all("backlog: to the root", 43, "early\n", 6);
		want[1] = 43;
	}
	if (!strcmp(kind, "epoll") || !strcmp(kind, "pts"))
		want[n++] = 43;
	ids_save(false);
	write_pattern("pipe, before the dump", 11, PIPE_BYTES, 1);
	vl_ready();
	vl_wait();
	ids_check();
	expect_fds(want, n);
	check_kind();
	close(11);
}

int main(int argc, char **argv)
{
	int p[2], want[2] = { 10 }, n = 1;

	close_inherited();
	vl_init(argc, argv);
	kind = argc > 1 ? argv[1] : "";
	if (pipe(p) < 0) {
		vl_fail("pipe: %s", strerror(errno));
		vl_exit();
	}
	move_fd(p[0], 10);
	move_fd(p[1], 11);
	if (!strcmp(kind, "backlog")) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", path_of("backlog.sock"));
		need(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 4) == 0, "listen");
		move_fd(fd, 42);
		want[n++] = 42;
	}
	ids_save(true);
	vl_fork("child", child, NULL);
	close(11);
	vl_ready();
	vl_wait();
	ids_check();
	expect_fds(want, n);
	read_pattern("pipe, bytes written before the dump", 10, PIPE_BYTES, 1);
	if (!strcmp(kind, "backlog")) {
		char line[8] = "";
		int fd = accept(42, NULL, NULL);

		if (fd < 0 || !read_exact("backlog: the child's connection", fd, line, 6) || memcmp(line, "early\n", 6))
			vl_fail("backlog: the child's connection is not there (%s)", strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	expect_eof("pipe", 10);
	vl_exit();
}
