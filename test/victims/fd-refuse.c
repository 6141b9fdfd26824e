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

static struct vl_ids ids; /* this task's, recorded before the dump */

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
		vl_move_fd(p[0], 43);
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
		close(open(vl_path("inotify-event"), O_WRONLY | O_CREAT, 0644));
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
		fd = unix_stream_to(vl_path("outside.sock"));
	} else if (!strcmp(kind, "dgram-outside")) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", vl_path("outside.sock"));
		fd = socket(AF_UNIX, SOCK_DGRAM, 0);
		need(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "connect to outside.sock");
	} else if (!strcmp(kind, "pts") || !strcmp(kind, "ptmx")) {
		int m = posix_openpt(O_RDWR | O_NOCTTY);

		need(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0, "posix_openpt");
		if (!strcmp(kind, "ptmx")) {
			fd = m;
		} else {
			fd = open(ptsname(m), O_RDWR | O_NOCTTY);
			vl_move_fd(m, 43);
		}
	} else {
		vl_fail("unknown kind '%s'", kind);
		vl_exit();
	}
	need(fd >= 0, kind);
	vl_move_fd(fd, 42);
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

		if (epoll_wait(42, &ev, 1, VL_TIMEOUT_MS) != 1 || ev.data.u64 != 77 || !(ev.events & EPOLLIN))
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
		vl_write_all("outside socket", 42, "outside\n", 8);
	} else if (!strcmp(kind, "pts")) {
		char c = 0;

		vl_write_all("pts slave", 42, "t\n", 2);
		if (!vl_read_exact("pts master", 43, &c, 1) || c != 't')
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
		vl_move_fd(unix_stream_to(vl_path("backlog.sock")), 43);
		vl_write_all("backlog: to the root", 43, "early\n", 6);
		want[1] = 43;
	}
	if (!strcmp(kind, "epoll") || !strcmp(kind, "pts"))
		want[n++] = 43;
	vl_ids_save(&ids);
	vl_write_fill("pipe, before the dump", 11, PIPE_BYTES, 1);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, true, false);
	vl_expect_fds(want, n);
	check_kind();
	close(11);
}

int main(int argc, char **argv)
{
	int p[2], want[2] = { 10 }, n = 1;

	vl_init(argc, argv);
	kind = argc > 1 ? argv[1] : "";
	if (pipe(p) < 0)
		vl_die("pipe");
	vl_move_fd(p[0], 10);
	vl_move_fd(p[1], 11);
	if (!strcmp(kind, "backlog")) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		snprintf(a.sun_path, sizeof(a.sun_path), "%s", vl_path("backlog.sock"));
		need(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(fd, 4) == 0, "listen");
		vl_move_fd(fd, 42);
		want[n++] = 42;
	}
	vl_ids_save(&ids);
	vl_fork("child", child, NULL);
	close(11);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(want, n);
	vl_read_fill("pipe, bytes written before the dump", 10, PIPE_BYTES, 1);
	if (!strcmp(kind, "backlog")) {
		char line[8] = "";
		int fd = accept(42, NULL, NULL);

		if (fd < 0 || !vl_read_exact("backlog: the child's connection", fd, line, 6) || memcmp(line, "early\n", 6))
			vl_fail("backlog: the child's connection is not there (%s)", strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	vl_expect_eof("pipe", 10);
	vl_exit();
}
