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
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "victim.h"

static struct vl_ids ids; /* this task's, recorded before the dump */

/* A pipe (pipe2() flags) with its read end at fd rd, its write end at wr. */
static void make_pipe(int rd, int wr, int flags)
{
	int p[2];

	if (pipe2(p, flags) < 0)
		vl_die("pipe");
	vl_move_fd(p[0], rd);
	vl_move_fd(p[1], wr);
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
	vl_ids_save(&ids);
	vl_write_fill("up pipe, before the dump", 11, UP_BEFORE, 1);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, true, false);
	vl_expect_fds(fds, 2);
	vl_expect_flags("up pipe write end", 11, O_WRONLY, 0, O_NONBLOCK, 0);
	vl_expect_flags("down pipe read end", 21, O_RDONLY, 0, O_NONBLOCK, 1);
	if (fcntl(21, F_GETPIPE_SZ) != DOWN_SIZE)
		vl_fail("down pipe: F_GETPIPE_SZ %d, expected %d", fcntl(21, F_GETPIPE_SZ), DOWN_SIZE);
	vl_write_fill("up pipe, after the restore", 11, UP_AFTER, 2);
	close(11);
	vl_read_fill("down pipe, bytes written before the dump", 21, DOWN_BEFORE, 3);
	vl_read_fill("down pipe, bytes written after the restore", 21, DOWN_AFTER, 4);
	vl_expect_eof("down pipe", 21);
}

static void pair(void)
{
	static const int fds[] = { 10, 20, 50, 51 };
	int o1[2], o2[2];

	make_pipe(10, 11, 0); /* up */
	make_pipe(21, 20, 0); /* down */
	fcntl(21, F_SETFD, FD_CLOEXEC);
	vl_add_flags(10, O_NONBLOCK);
	if (fcntl(20, F_SETPIPE_SZ, DOWN_SIZE) != DOWN_SIZE)
		vl_fail("F_SETPIPE_SZ %d: %s", DOWN_SIZE, strerror(errno));
	vl_ids_save(&ids);
	vl_fork("child", pair_child, NULL);
	close(11);
	close(21);
	vl_write_fill("down pipe, before the dump", 20, DOWN_BEFORE, 3);
	/* Pipes with one end left: bytes and then end of file for a reader
	 * whose writer is gone; EPIPE for a writer whose reader is gone. */
	if (pipe(o1) < 0 || pipe(o2) < 0)
		vl_die("pipe");
	vl_move_fd(o1[0], 50);
	vl_write_fill("orphaned reader, before the dump", o1[1], ORPHAN_BYTES, 7);
	close(o1[1]);
	vl_move_fd(o2[1], 51);
	close(o2[0]);
	signal(SIGPIPE, SIG_IGN);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 4);
	vl_expect_flags("up pipe read end", 10, O_RDONLY, O_NONBLOCK, 0, 0);
	vl_expect_flags("down pipe write end", 20, O_WRONLY, 0, O_NONBLOCK, 0);
	vl_expect_flags("orphaned reader", 50, O_RDONLY, 0, O_NONBLOCK, 0);
	vl_expect_flags("orphaned writer", 51, O_WRONLY, 0, O_NONBLOCK, 0);
	vl_write_fill("down pipe, after the restore", 20, DOWN_AFTER, 4);
	close(20);
	vl_read_fill("up pipe, bytes written before the dump", 10, UP_BEFORE, 1);
	vl_read_fill("up pipe, bytes written after the restore", 10, UP_AFTER, 2);
	vl_expect_eof("up pipe", 10);
	vl_read_fill("orphaned reader, bytes written before the dump", 50, ORPHAN_BYTES, 7);
	vl_expect_eof("orphaned reader", 50);
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
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, true, false);
	vl_expect_fds(fds, 1);
	vl_expect_flags("C: pipe 2 read end", 40, O_RDONLY, 0, O_NONBLOCK, 0);
	stream(in);
	for (size_t i = 0; i < P_TOTAL; i++)
		want[i] = transform(in[i], i);
	if (vl_read_exact("C: pipe 2", 40, got, P_TOTAL))
		vl_expect_bytes("C: pipe 2 (transformed stream)", got, want, P_TOTAL);
	vl_expect_eof("C: pipe 2", 40);
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
		vl_write_all("B: pipe 2", 41, buf, k);
		*pos += k;
		n -= k;
	}
	return true;
}

static void stage_b(void *arg)
{
	static const int fds[] = { 30, 41 };
	size_t pos = 0;

	close(31);
	make_pipe(40, 41, 0);
	vl_fork("C", stage_c, NULL);
	close(40);
	vl_ids_save(&ids);
	stage_b_copy(&pos, P_FIRST);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, true, false);
	vl_expect_fds(fds, 2);
	vl_expect_flags("B: pipe 1 read end", 30, O_RDONLY, 0, O_NONBLOCK, 0);
	vl_expect_flags("B: pipe 2 write end", 41, O_WRONLY, 0, O_NONBLOCK, 0);
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

	make_pipe(30, 31, 0);
	vl_fork("B", stage_b, NULL);
	close(30);
	vl_ids_save(&ids);
	stream(s);
	vl_write_all("A: pipe 1, before the dump", 31, s, P_BEFORE);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 1);
	vl_expect_flags("A: pipe 1 write end", 31, O_WRONLY, 0, O_NONBLOCK, 0);
	vl_write_all("A: pipe 1, after the restore", 31, s + P_BEFORE, P_AFTER);
	close(31);
	free(s);
}

/* --- fifo --- */

#define F_BEFORE 777
#define F_AFTER 300

static void fifo_check_identity(int fd)
{
	struct stat a, b;
	char link[4200], path[64], *fifo = vl_path("fifo");
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, link, sizeof(link) - 1);
	link[n < 0 ? 0 : n] = '\0';
	if (strcmp(link, fifo))
		vl_fail("fifo: fd %d links to '%s', expected '%s'", fd, link, fifo);
	if (fstat(fd, &a) < 0 || stat(fifo, &b) < 0 || !S_ISFIFO(a.st_mode) || a.st_dev != b.st_dev ||
	    a.st_ino != b.st_ino)
		vl_fail("fifo: fd %d is not the FIFO %s", fd, fifo);
	free(fifo);
}

static void fifo_child(void *arg)
{
	static const int fds[] = { 31 };
	char *fifo = vl_path("fifo");
	int fd = open(fifo, O_WRONLY);

	free(fifo);
	close(30);
	if (fd < 0) {
		vl_fail("open fifo for writing: %s", strerror(errno));
		return;
	}
	vl_move_fd(fd, 31);
	vl_ids_save(&ids);
	vl_write_fill("fifo, before the dump", 31, F_BEFORE, 5);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, true, false);
	vl_expect_fds(fds, 1);
	vl_expect_flags("fifo write end", 31, O_WRONLY, 0, O_NONBLOCK, 0);
	fifo_check_identity(31);
	vl_write_fill("fifo, after the restore", 31, F_AFTER, 6);
	close(31);
}

static void fifo(void)
{
	static const int fds[] = { 30 };
	char *fifo = vl_path("fifo");
	int fd;

	if (mkfifo(fifo, 0600) < 0)
		vl_die("mkfifo");
	fd = open(fifo, O_RDONLY | O_NONBLOCK);
	free(fifo);
	if (fd < 0)
		vl_die("open fifo for reading");
	vl_move_fd(fd, 30);
	vl_ids_save(&ids);
	vl_fork("child", fifo_child, NULL);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 1);
	vl_expect_flags("fifo read end", 30, O_RDONLY, O_NONBLOCK, 0, 0);
	fifo_check_identity(30);
	vl_read_fill("fifo, bytes written before the dump", 30, F_BEFORE, 5);
	vl_read_fill("fifo, bytes written after the restore", 30, F_AFTER, 6);
	vl_expect_eof("fifo", 30);
}

/* --- full, packet --- */

#define FULL_SIZE (1024 * 1024)

/* A pipe enlarged to 1 MiB and full: the root holds both ends. */
static void full(void)
{
	static const int fds[] = { 10, 11 };

	make_pipe(10, 11, 0);
	if (fcntl(11, F_SETPIPE_SZ, FULL_SIZE) != FULL_SIZE)
		vl_fail("F_SETPIPE_SZ %d: %s", FULL_SIZE, strerror(errno));
	vl_add_flags(11, O_NONBLOCK);
	vl_write_fill("full pipe, before the dump", 11, FULL_SIZE, 8);
	if (write(11, "x", 1) != -1 || errno != EAGAIN)
		vl_fail("the pipe is not full before the dump");
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 2);
	vl_expect_flags("full pipe, read end", 10, O_RDONLY, 0, O_NONBLOCK, 0);
	vl_expect_flags("full pipe, write end", 11, O_WRONLY, O_NONBLOCK, 0, 0);
	if (fcntl(10, F_GETPIPE_SZ) != FULL_SIZE)
		vl_fail("full pipe: F_GETPIPE_SZ %d, expected %d", fcntl(10, F_GETPIPE_SZ), FULL_SIZE);
	if (write(11, "x", 1) != -1 || errno != EAGAIN)
		vl_fail("full pipe: a write does not fail with EAGAIN after the restore (%s)", strerror(errno));
	vl_read_fill("full pipe, bytes written before the dump", 10, FULL_SIZE, 8);
	close(11);
	vl_expect_eof("full pipe", 10);
}

/* A pipe in packet mode (O_DIRECT): each write is one packet, each read
 * gives at most one. orphan: the write end is closed before the dump (the
 * packets stay, for the read end, which has no O_DIRECT of its own). */
static void packet(bool orphan)
{
	static const int both[] = { 10, 11 }, reader[] = { 10 };
	static const size_t lens[] = { 10, 200, 3000, 1 };
	char buf[8192], want[4096];
	int n_packets = orphan ? 4 : 5;

	make_pipe(10, 11, O_DIRECT);
	for (int i = 0; i < 4; i++) {
		vl_fill(buf, lens[i], 20 + i);
		vl_write_all("packet pipe, before the dump", 11, buf, lens[i]);
	}
	if (orphan)
		close(11);
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(orphan ? reader : both, orphan ? 1 : 2);
	vl_expect_flags("packet pipe, read end", 10, O_RDONLY, 0, O_NONBLOCK | O_DIRECT, 0);
	if (!orphan) {
		vl_expect_flags("packet pipe, write end", 11, O_WRONLY, O_DIRECT, O_NONBLOCK, 0);
		vl_fill(buf, 5, 30);
		vl_write_all("packet pipe, after the restore", 11, buf, 5);
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
		vl_expect_bytes(w, buf, want, len);
	}
	vl_expect_eof("packet pipe", 10);
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

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
