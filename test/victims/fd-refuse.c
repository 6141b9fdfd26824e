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
 *   procfile    /proc/self/status: it still shows the child's pid
 *   fifo-unlinked  the FIFO unlinked.fifo opened O_RDWR, "fifo" written
 *               into it, then unlinked: the bytes are still there
 *   pipe-outside   (not refused: dumped with a warning and restored) the
 *               read end of a pipe whose only write end a process outside
 *               the tree holds: the child forked a process that forked
 *               again and exited, so the grandchild went to another parent.
 *               It wrote its pid (which the child reads and writes into
 *               $CRL_TEST_DIR/outside.pid, for the test to kill it) and
 *               "outside\n", which the child reads after the restore, and
 *               then end of file: that writer is not connected again
 *   hifd        (at fd 4095, not 42) /dev/null under a RLIMIT_NOFILE the
 *               child lowered to 4096, soft and hard: both are unchanged
 *   unlinked-dir   the file gone/file opened O_RDWR with "unlinked" in it,
 *               unlinked, and the directory gone/ removed: the bytes are
 *               still there
 *   lease       lease.dat opened O_RDONLY with a read lease
 *               (F_SETLEASE F_RDLCK): F_GETLEASE still gives it
 *   async-outside  the read end of a pipe (no write end is left, so no
 *               signal can come) with O_ASYNC, F_SETOWN to the root's parent,
 *               a process of the test, and F_SETSIG SIGURG (ignored by
 *               default, should one come): all three are unchanged
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
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "victim.h"

static struct vl_ids ids; /* this task's, recorded before the dump */

/* --- the unsupported fd --- */

static const char *kind;
static int kind_fd = 42;   /* where the fd of this kind is */
static pid_t root_parent;  /* a process of the test, outside the tree */
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

/* The read end of a pipe whose write end only a process outside the tree
 * holds: a grandchild that went to another parent when its parent exited.
 * It writes its pid (recorded in outside.pid) and "outside\n". */
static int pipe_from_outside(void)
{
	char line[16] = "";
	int p[2], status;
	pid_t mid;

	need(pipe(p) == 0, "pipe");
	mid = fork();
	need(mid >= 0, "fork");
	if (mid == 0) {
		if (fork() == 0) {
			/* Nothing of the tree's but the write end (and the log). */
			syscall(SYS_close_range, 3, p[1] - 1, 0);
			syscall(SYS_close_range, p[1] + 1, ~0U, 0);
			alarm(600); /* should the test not kill it */
			snprintf(line, sizeof(line), "%10d\n", getpid());
			(void)!write(p[1], line, 11);
			(void)!write(p[1], "outside\n", 8);
			for (;;)
				pause();
		}
		_exit(0);
	}
	close(p[1]);
	need(waitpid(mid, &status, 0) == mid, "waitpid");
	if (!vl_read_exact("pipe-outside: the grandchild's pid", p[0], line, 11))
		vl_exit();
	snprintf(line, sizeof(line), "%d\n", atoi(line));
	need(vl_write_file(vl_dir(), "outside.pid", line) == 0, "outside.pid");
	return p[0];
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
	} else if (!strcmp(kind, "procfile")) {
		fd = open("/proc/self/status", O_RDONLY);
	} else if (!strcmp(kind, "fifo-unlinked")) {
		const char *path = vl_path("unlinked.fifo");

		need(mkfifo(path, 0644) == 0, "mkfifo");
		fd = open(path, O_RDWR | O_NONBLOCK);
		need(fd >= 0 && write(fd, "fifo", 4) == 4 && unlink(path) == 0, "unlinked.fifo");
	} else if (!strcmp(kind, "pipe-outside")) {
		fd = pipe_from_outside();
	} else if (!strcmp(kind, "hifd")) {
		struct rlimit rl = { 4096, 4096 };

		need(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit");
		fd = open("/dev/null", O_RDONLY);
		kind_fd = 4095;
	} else if (!strcmp(kind, "unlinked-dir")) {
		const char *dir = vl_path("gone"), *path = vl_path("gone/file");

		need(mkdir(dir, 0755) == 0, "mkdir gone");
		fd = open(path, O_RDWR | O_CREAT, 0644);
		need(fd >= 0 && write(fd, "unlinked", 8) == 8 && unlink(path) == 0 && rmdir(dir) == 0,
		     "gone/file");
	} else if (!strcmp(kind, "lease")) {
		const char *path = vl_path("lease.dat");
		int w = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		need(w >= 0 && write(w, "lease", 5) == 5 && close(w) == 0, "lease.dat");
		fd = open(path, O_RDONLY);
	} else if (!strcmp(kind, "async-outside")) {
		int p[2];

		need(pipe(p) == 0, "pipe");
		close(p[1]);
		fd = p[0];
		need(fcntl(fd, F_SETSIG, SIGURG) == 0 && fcntl(fd, F_SETOWN, root_parent) == 0, "F_SETOWN");
		vl_add_flags(fd, O_ASYNC);
	} else {
		vl_fail("unknown kind '%s'", kind);
		vl_exit();
	}
	need(fd >= 0, kind);
	vl_move_fd(fd, kind_fd);
	/* A lease belongs to the description: taken once it has its place. */
	if (!strcmp(kind, "lease"))
		need(fcntl(kind_fd, F_SETLEASE, F_RDLCK) == 0, "F_SETLEASE");
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
	} else if (!strcmp(kind, "procfile")) {
		char buf[4096], want[32];
		ssize_t n = pread(42, buf, sizeof(buf) - 1, 0);

		buf[n < 0 ? 0 : n] = '\0';
		snprintf(want, sizeof(want), "\nPid:\t%d\n", getpid());
		if (!strstr(buf, want))
			vl_fail("procfile: fd 42 does not show this task's status");
	} else if (!strcmp(kind, "fifo-unlinked") || !strcmp(kind, "pipe-outside")) {
		const char *want = !strcmp(kind, "fifo-unlinked") ? "fifo" : "outside\n";
		char buf[16] = "";

		if (vl_read_exact(kind, 42, buf, strlen(want)) && memcmp(buf, want, strlen(want)))
			vl_fail("%s: read '%s', expected '%s'", kind, buf, want);
		if (!strcmp(kind, "pipe-outside")) {
			ssize_t n;

			vl_add_flags(42, O_NONBLOCK);
			n = read(42, buf, sizeof(buf));
			if (n != 0)
				vl_fail("pipe-outside: after the bytes, read gives %zd (%s), expected end of file", n,
					n < 0 ? strerror(errno) : "bytes");
		}
	} else if (!strcmp(kind, "hifd")) {
		struct rlimit rl = { 0 };
		struct stat st;

		if (fstat(4095, &st) < 0 || !S_ISCHR(st.st_mode))
			vl_fail("hifd: fd 4095 is not /dev/null");
		if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur != 4096 || rl.rlim_max != 4096)
			vl_fail("hifd: RLIMIT_NOFILE is %llu/%llu, expected 4096/4096", (unsigned long long)rl.rlim_cur,
				(unsigned long long)rl.rlim_max);
	} else if (!strcmp(kind, "unlinked-dir")) {
		char buf[8];
		struct stat st;

		if (pread(42, buf, 8, 0) != 8 || memcmp(buf, "unlinked", 8))
			vl_fail("unlinked-dir: the file's bytes are not there");
		if (fstat(42, &st) < 0 || st.st_nlink)
			vl_fail("unlinked-dir: the file has %lu links", (unsigned long)st.st_nlink);
	} else if (!strcmp(kind, "lease")) {
		char buf[8];

		if (fcntl(42, F_GETLEASE) != F_RDLCK)
			vl_fail("lease: F_GETLEASE gives %d, expected F_RDLCK", fcntl(42, F_GETLEASE));
		if (pread(42, buf, 5, 0) != 5 || memcmp(buf, "lease", 5))
			vl_fail("lease: the file's bytes are not there");
	} else if (!strcmp(kind, "async-outside")) {
		if (!(fcntl(42, F_GETFL) & O_ASYNC))
			vl_fail("async-outside: O_ASYNC is gone");
		if (fcntl(42, F_GETOWN) != root_parent || fcntl(42, F_GETSIG) != SIGURG)
			vl_fail("async-outside: the signals go to %d as %d, expected %d as %d", fcntl(42, F_GETOWN),
				fcntl(42, F_GETSIG), root_parent, SIGURG);
	}
}

#define PIPE_BYTES 1000

static void child(void *arg)
{
	int want[3] = { 11, 42 }, n = 2;

	close(10);
	if (strcmp(kind, "backlog")) {
		make_kind();
		want[1] = kind_fd;
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
	root_parent = getppid();
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
