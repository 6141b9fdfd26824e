/*
 * fd-pipes: pipes and FIFOs between the tasks of a tree, holding unread
 * bytes at the dump; after the restore each task reads what was left in
 * them, in order, then new bytes flow and every reader sees end of file
 * once the writers close (so no stray writer was left open anywhere).
 *
 *   fd-pipes pair       root and child, two pipes:
 *                         "up" (child writes fd 11, root reads fd 10,
 *                         O_NONBLOCK), 1000 unread bytes;
 *                         "down" (root writes fd 20, child reads fd 21),
 *                         enlarged to 256 KiB and holding 200000 bytes;
 *                         in the root, the read end of a pipe whose writer
 *                         closed after writing 300 bytes (fd 50), and the
 *                         write end of a pipe whose reader closed (fd 51).
 *   fd-pipes pipeline   A | B | C: the root (A) writes 5000 bytes into
 *                         pipe 1; its child B reads 2000 of them, transforms
 *                         them and writes them into pipe 2, to its child C.
 *                         At the dump, 3000 bytes wait in pipe 1 and 2000 in
 *                         pipe 2. Afterwards A writes 4000 more and closes;
 *                         B transforms until end of file; C checks the
 *                         9000 bytes it gets, then end of file.
 *   fd-pipes fifo       a FIFO $CRL_TEST_DIR/fifo: the root reads it (fd 30,
 *                         O_NONBLOCK), its child writes it (fd 31); 777
 *                         unread bytes, then 300 more, then end of file.
 *   fd-pipes full       one task holds both ends (10, 11) of a pipe enlarged
 *                         to 1 MiB and full.
 *   fd-pipes packet     one task holds both ends (10, 11) of a pipe in
 *                         packet mode (O_DIRECT) holding 4 packets: each
 *                         read gives one.
 *   fd-pipes packet-orphan  the same, the write end closed before the dump.
 *
 * Every task also checks its pid and parent, the exact set of its open fds,
 * each fd's access mode, status flags and close-on-exec flag.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

static void set_fl(int fd, int add)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | add);
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

/* fd's access mode is acc, the status flags in on are set, those in off
 * clear, and close-on-exec is cloexec. */
static void expect_flags(const char *what, int fd, int acc, int on, int off, int cloexec)
{
	int fl = fcntl(fd, F_GETFL), fdfl = fcntl(fd, F_GETFD);

	if (fl < 0 || fdfl < 0) {
		vl_fail("%s: fd %d: fcntl: %s", what, fd, strerror(errno));
		return;
	}
	if ((fl & O_ACCMODE) != acc)
		vl_fail("%s: fd %d: access mode %#o, expected %#o", what, fd, fl & O_ACCMODE, acc);
	if ((fl & on) != on || (fl & off))
		vl_fail("%s: fd %d: status flags %#o, expected %#o set and %#o clear", what, fd, fl, on, off);
	if (!!(fdfl & FD_CLOEXEC) != cloexec)
		vl_fail("%s: fd %d: close-on-exec is %s", what, fd, cloexec ? "clear" : "set");
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

/* --- pair --- */

#define UP_BEFORE 1000
#define UP_AFTER 500
#define DOWN_SIZE (256 * 1024)
#define DOWN_BEFORE 200000
#define DOWN_AFTER 100
#define ORPHAN_BYTES 300

static void pair_child(void *arg)
{
	static const int fds[] = { 11, 21 };

	close(10);
	close(20);
	ids_save(false);
	write_pattern("up pipe, before the dump", 11, UP_BEFORE, 1);
	vl_ready();
	vl_wait();
	ids_check();
	expect_fds(fds, 2);
	expect_flags("up pipe write end", 11, O_WRONLY, 0, O_NONBLOCK, 0);
	expect_flags("down pipe read end", 21, O_RDONLY, 0, O_NONBLOCK, 1);
	if (fcntl(21, F_GETPIPE_SZ) != DOWN_SIZE)
		vl_fail("down pipe: F_GETPIPE_SZ %d, expected %d", fcntl(21, F_GETPIPE_SZ), DOWN_SIZE);
	write_pattern("up pipe, after the restore", 11, UP_AFTER, 2);
	close(11);
	read_pattern("down pipe, bytes written before the dump", 21, DOWN_BEFORE, 3);
	read_pattern("down pipe, bytes written after the restore", 21, DOWN_AFTER, 4);
	expect_eof("down pipe", 21);
}

static void pair(void)
{
	static const int fds[] = { 10, 20, 50, 51 };
	int up[2], down[2], o1[2], o2[2];

	if (pipe(up) < 0 || pipe(down) < 0) {
		vl_fail("pipe: %s", strerror(errno));
		vl_exit();
	}
	move_fd(up[0], 10);
	move_fd(up[1], 11);
	move_fd(down[1], 20);
	move_fd(down[0], 21);
	fcntl(21, F_SETFD, FD_CLOEXEC);
	set_fl(10, O_NONBLOCK);
	if (fcntl(20, F_SETPIPE_SZ, DOWN_SIZE) != DOWN_SIZE)
		vl_fail("F_SETPIPE_SZ %d: %s", DOWN_SIZE, strerror(errno));
	ids_save(true);
	vl_fork("child", pair_child, NULL);
	close(11);
	close(21);
	write_pattern("down pipe, before the dump", 20, DOWN_BEFORE, 3);
	/* Pipes with one end left: bytes and then end of file for a reader
	 * whose writer is gone; EPIPE for a writer whose reader is gone. */
	if (pipe(o1) < 0 || pipe(o2) < 0) {
		vl_fail("pipe: %s", strerror(errno));
		vl_exit();
	}
	move_fd(o1[0], 50);
	write_pattern("orphaned reader, before the dump", o1[1], ORPHAN_BYTES, 7);
	close(o1[1]);
	move_fd(o2[1], 51);
	close(o2[0]);
	signal(SIGPIPE, SIG_IGN);
	vl_ready();
	vl_wait();
	ids_check();
	expect_fds(fds, 4);
	expect_flags("up pipe read end", 10, O_RDONLY, O_NONBLOCK, 0, 0);
	expect_flags("down pipe write end", 20, O_WRONLY, 0, O_NONBLOCK, 0);
	expect_flags("orphaned reader", 50, O_RDONLY, 0, O_NONBLOCK, 0);
	expect_flags("orphaned writer", 51, O_WRONLY, 0, O_NONBLOCK, 0);
	write_pattern("down pipe, after the restore", 20, DOWN_AFTER, 4);
	close(20);
	read_pattern("up pipe, bytes written before the dump", 10, UP_BEFORE, 1);
	read_pattern("up pipe, bytes written after the restore", 10, UP_AFTER, 2);
	expect_eof("up pipe", 10);
	read_pattern("orphaned reader, bytes written before the dump", 50, ORPHAN_BYTES, 7);
	expect_eof("orphaned reader", 50);
	if (write(51, "x", 1) != -1 || errno != EPIPE)
		vl_fail("orphaned writer: a write does not fail with EPIPE (%s)", strerror(errno));
}

/* --- pipeline --- */

#define P_FIRST 2000  /* moved by B into pipe 2 before the dump */
#define P_BEFORE 5000 /* written by A before the dump */
#define P_AFTER 4000  /* written by A after the restore */
#define P_TOTAL (P_BEFORE + P_AFTER)

static unsigned char transform(unsigned char c, size_t i)
{
	return (c ^ 0xa5) + (unsigned char)(i * 7);
}

/* The whole stream A writes: one pattern, cut in two. */
static void stream(unsigned char *buf)
{
	vl_fill(buf, P_TOTAL, 42);
}

static void stage_c(void *arg)
{
	static const int fds[] = { 40 };
	unsigned char *in = malloc(P_TOTAL), *want = malloc(P_TOTAL), *got = malloc(P_TOTAL);

	close(30);
	close(41);
	ids_save(false);
	vl_ready();
	vl_wait();
	ids_check();
	expect_fds(fds, 1);
	expect_flags("C: pipe 2 read end", 40, O_RDONLY, 0, O_NONBLOCK, 0);
	stream(in);
	for (size_t i = 0; i < P_TOTAL; i++)
		want[i] = transform(in[i], i);
	if (read_exact("C: pipe 2", 40, got, P_TOTAL))
		expect_bytes("C: pipe 2 (transformed stream)", got, want, P_TOTAL);
	expect_eof("C: pipe 2", 40);
}

/* B: copy n bytes from pipe 1 to pipe 2, transformed; *pos counts the
 * bytes of the stream. Returns false at end of file. */
static bool stage_b_copy(size_t *pos, size_t n)
{
	unsigned char buf[4096];
	ssize_t k;

	while (n) {
		k = read(30, buf, n < sizeof(buf) ? n : sizeof(buf));
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			vl_fail("B: read pipe 1: %s", strerror(errno));
		if (k <= 0)
			return false;
		for (ssize_t i = 0; i < k; i++)
			buf[i] = transform(buf[i], *pos + i);
		write_all("B: pipe 2", 41, buf, k);
		*pos += k;
		n -= k;
	}
	return true;
}

static void stage_b(void *arg)
{
	static const int fds[] = { 30, 41 };
	size_t pos = 0;
	int p2[2];

	close(31);
	if (pipe(p2) < 0) {
		vl_fail("pipe: %s", strerror(errno));
		return;
	}
	move_fd(p2[0], 40);
	move_fd(p2[1], 41);
	vl_fork("C", stage_c, NULL);
	close(40);
	ids_save(false);
	stage_b_copy(&pos, P_FIRST);
	vl_ready();
	vl_wait();
	ids_check();
	expect_fds(fds, 2);
	expect_flags("B: pipe 1 read end", 30, O_RDONLY, 0, O_NONBLOCK, 0);
	expect_flags("B: pipe 2 write end", 41, O_WRONLY, 0, O_NONBLOCK, 0);
	while (stage_b_copy(&pos, ~(size_t)0))
		;
	if (pos != P_TOTAL)
		vl_fail("B: pipe 1 carried %zu bytes, expected %d", pos, P_TOTAL);
	close(41);
}

static void pipeline(void)
{
	static const int fds[] = { 31 };
	unsigned char *s = malloc(P_TOTAL);
	int p1[2];

	if (pipe(p1) < 0) {
		vl_fail("pipe: %s", strerror(errno));
		vl_exit();
	}
	move_fd(p1[0], 30);
	move_fd(p1[1], 31);
	vl_fork("B", stage_b, NULL);
	close(30);
	ids_save(true);
	stream(s);
	write_all("A: pipe 1, before the dump", 31, s, P_BEFORE);
	vl_ready();
	vl_wait();
	ids_check();
	expect_fds(fds, 1);
	expect_flags("A: pipe 1 write end", 31, O_WRONLY, 0, O_NONBLOCK, 0);
	write_all("A: pipe 1, after the restore", 31, s + P_BEFORE, P_AFTER);
	close(31);
	free(s);
}

/* --- fifo --- */

#define F_BEFORE 777
#define F_AFTER 300

static void fifo_check_identity(int fd)
{
	struct stat a, b;
	char link[4200], path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	link[n < 0 ? 0 : n] = '\0';
	if (strcmp(link, path_of("fifo")))
		vl_fail("fifo: fd %d links to '%s', expected '%s'", fd, link, path_of("fifo"));
	if (fstat(fd, &a) < 0 || stat(path_of("fifo"), &b) < 0 || !S_ISFIFO(a.st_mode) ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		vl_fail("fifo: fd %d is not the FIFO %s", fd, path_of("fifo"));
}

static void fifo_child(void *arg)
{
	static const int fds[] = { 31 };
	int fd = open(path_of("fifo"), O_WRONLY);

	close(30);
	if (fd < 0) {
		vl_fail("open fifo for writing: %s", strerror(errno));
		return;
	}
	move_fd(fd, 31);
	ids_save(false);
	write_pattern("fifo, before the dump", 31, F_BEFORE, 5);
	vl_ready();
	vl_wait();
	ids_check();
	expect_fds(fds, 1);
	expect_flags("fifo write end", 31, O_WRONLY, 0, O_NONBLOCK, 0);
	fifo_check_identity(31);
	write_pattern("fifo, after the restore", 31, F_AFTER, 6);
	close(31);
}

static void fifo(void)
{
	static const int fds[] = { 30 };
	int fd;

	if (mkfifo(path_of("fifo"), 0600) < 0) {
		vl_fail("mkfifo: %s", strerror(errno));
		vl_exit();
	}
	fd = open(path_of("fifo"), O_RDONLY | O_NONBLOCK);
	if (fd < 0) {
		vl_fail("open fifo for reading: %s", strerror(errno));
		vl_exit();
	}
	move_fd(fd, 30);
	ids_save(true);
	vl_fork("child", fifo_child, NULL);
	vl_ready();
	vl_wait();
	ids_check();
	expect_fds(fds, 1);
	expect_flags("fifo read end", 30, O_RDONLY, O_NONBLOCK, 0, 0);
	fifo_check_identity(30);
	read_pattern("fifo, bytes written before the dump", 30, F_BEFORE, 5);
	read_pattern("fifo, bytes written after the restore", 30, F_AFTER, 6);
	expect_eof("fifo", 30);
}

/* --- full, packet --- */

#define FULL_SIZE (1024 * 1024)

/* A pipe enlarged to 1 MiB and full: the root holds both ends. */
static void full(void)
{
	static const int fds[] = { 10, 11 };
	int p[2];

	if (pipe(p) < 0) {
		vl_fail("pipe: %s", strerror(errno));
		vl_exit();
	}
	move_fd(p[0], 10);
	move_fd(p[1], 11);
	if (fcntl(11, F_SETPIPE_SZ, FULL_SIZE) != FULL_SIZE)
		vl_fail("F_SETPIPE_SZ %d: %s", FULL_SIZE, strerror(errno));
	set_fl(11, O_NONBLOCK);
	write_pattern("full pipe, before the dump", 11, FULL_SIZE, 8);
	if (write(11, "x", 1) != -1 || errno != EAGAIN)
		vl_fail("the pipe is not full before the dump");
	ids_save(true);
	vl_ready();
	vl_wait();
	ids_check();
	expect_fds(fds, 2);
	expect_flags("full pipe, read end", 10, O_RDONLY, 0, O_NONBLOCK, 0);
	expect_flags("full pipe, write end", 11, O_WRONLY, O_NONBLOCK, 0, 0);
	if (fcntl(10, F_GETPIPE_SZ) != FULL_SIZE)
		vl_fail("full pipe: F_GETPIPE_SZ %d, expected %d", fcntl(10, F_GETPIPE_SZ), FULL_SIZE);
	if (write(11, "x", 1) != -1 || errno != EAGAIN)
		vl_fail("full pipe: a write does not fail with EAGAIN after the restore (%s)", strerror(errno));
	read_pattern("full pipe, bytes written before the dump", 10, FULL_SIZE, 8);
	close(11);
	expect_eof("full pipe", 10);
}

/* A pipe in packet mode (O_DIRECT): each write is one packet, each read
 * gives at most one. orphan: the write end is closed before the dump (the
 * packets stay, for the read end, which has no O_DIRECT of its own). */
static void packet(bool orphan)
{
	static const int both[] = { 10, 11 }, reader[] = { 10 };
	static const size_t lens[] = { 10, 200, 3000, 1 };
	char buf[8192], want[4096];
	int p[2], n_packets = orphan ? 4 : 5;

	if (pipe2(p, O_DIRECT) < 0) {
		vl_fail("pipe2 O_DIRECT: %s", strerror(errno));
		vl_exit();
	}
	move_fd(p[0], 10);
	move_fd(p[1], 11);
	for (int i = 0; i < 4; i++) {
		vl_fill(buf, lens[i], 20 + i);
		write_all("packet pipe, before the dump", 11, buf, lens[i]);
	}
	if (orphan)
		close(11);
	ids_save(true);
	vl_ready();
	vl_wait();
	ids_check();
	expect_fds(orphan ? reader : both, orphan ? 1 : 2);
	expect_flags("packet pipe, read end", 10, O_RDONLY, 0, O_NONBLOCK | O_DIRECT, 0);
	if (!orphan) {
		expect_flags("packet pipe, write end", 11, O_WRONLY, O_DIRECT, O_NONBLOCK, 0);
		vl_fill(buf, 5, 30);
		write_all("packet pipe, after the restore", 11, buf, 5);
		close(11);
	}
	for (int i = 0; i < n_packets; i++) {
		size_t len = i < 4 ? lens[i] : 5;
		char w[64];
		ssize_t n;

		snprintf(w, sizeof(w), "packet pipe, packet %d", i);
		vl_fill(want, len, i < 4 ? 20 + i : 30);
		n = read(10, buf, sizeof(buf));
		if (n != (ssize_t)len) {
			vl_fail("%s: a read gives %zd bytes, expected a packet of %zu", w, n, len);
			return;
		}
		expect_bytes(w, buf, want, len);
	}
	expect_eof("packet pipe", 10);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	close_inherited();
	vl_init(argc, argv);
	if (!strcmp(mode, "pair"))
		pair();
	else if (!strcmp(mode, "pipeline"))
		pipeline();
	else if (!strcmp(mode, "fifo"))
		fifo();
	else if (!strcmp(mode, "full"))
		full();
	else if (!strcmp(mode, "packet"))
		packet(false);
	else if (!strcmp(mode, "packet-orphan"))
		packet(true);
	else
		vl_fail("unknown mode '%s'", mode);
	vl_exit();
}
