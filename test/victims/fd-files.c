/*
 * fd-files: regular files, directories and devices held open by a tree,
 * and open file descriptions shared by dup() and by fork(); after the
 * restore each fd has its number, its file, its offset, its flags, and the
 * fds that shared a description share it again.
 *
 *   fd-files files    one task:
 *     fd 7     append.dat, O_WRONLY|O_APPEND, 100 bytes, offset moved to 0:
 *              a write after the restore lands at the end;
 *     fd 100   offset.dat (64 KiB), O_RDONLY at offset 12345: the next read
 *              gives the bytes from 12345;
 *     fd 101   offset.dat again, its own description, O_RDWR|O_NONBLOCK at
 *              offset 70000, past the end;
 *     fd 9     the directory subdir/: fchdir() to it and open "marker";
 *     fd 20, 21  dup.dat, one description (dup3 with O_CLOEXEC for 21), at
 *              offset 500: a read through one moves the other;
 *     fd 12    /dev/null O_RDWR|O_CLOEXEC;  fd 13  /dev/null O_WRONLY;
 *     fd 14    /dev/urandom O_CLOEXEC;      fd 15  /dev/zero;
 *     fd 1000  /dev/null, far above the others.
 *   fd-files shared   root and child share the description of shared.dat
 *     (root fd 30; child fd 30 and its dup fd 40), O_RDWR at offset 1000.
 *     After the restore they take turns through a shared page: each read,
 *     write, lseek or F_SETFL of one is seen by the other.
 *   fd-files more     one task: an O_PATH fd of subdir/marker (fd 50); a memfd
 *     with 10000 bytes at offset 3000 (fd 51); a file unlinked while open,
 *     with 20000 bytes at offset 7000 (fd 52).
 *   fd-files nofile   one task that raised its soft RLIMIT_NOFILE to 4096
 *     and holds /dev/null at fd 4000.
 *   fd-files log      one task with log.dat (100 bytes) open O_APPEND at fd
 *     7: after the restore its write lands at the end, whatever the size.
 *   fd-files locks-img  one task with lock.dat (100 bytes) open three
 *     times: fd 7 O_RDWR with a shared flock; fd 8 O_RDWR with a POSIX
 *     write lock on bytes 0-9; fd 9 O_RDONLY with an OFD read lock on bytes
 *     20-29; and a pipe (read end fd 10, O_ASYNC, its SIGIO as SIGUSR2 to
 *     the task itself; write end fd 11). After the restore another process
 *     finds each lock taken, and a write to the pipe sends the task
 *     SIGUSR2. Its images are what 20-restore-failures damages.
 *   fd-files tty      one task holding a terminal at fd 60, the slave of a
 *     pseudo-terminal of the test (dumped and restored with --shell-job): it
 *     writes a line to it after the restore.
 *   fd-files locks    root and child:
 *     fd 80    lock1.dat, flock LOCK_EX, taken by the root before the fork:
 *              the child shares the description (and the lock);
 *     fd 81    lock2.dat (root): POSIX write lock on [10,30), read lock from
 *              100 to EOF;
 *     fd 82    lock3.dat (root): OFD write lock on [0,5);
 *     fd 83    lock4.dat (child): POSIX write lock on [0,10).
 *     After the restore each task's /proc/self/fdinfo lock lines show its
 *     locks (kind, type, range, a POSIX lock's owner), and a process the
 *     root forks then finds the conflicts: flock LOCK_EX|LOCK_NB of a new
 *     open of lock1.dat fails, F_GETLK sees the root's (and the child's)
 *     locks with their pids, F_OFD_GETLK the OFD lock, and nothing past
 *     their ranges. The child waits (shared page) until that process ended.
 *   fd-files async   root and child: the root holds two pipes, read ends
 *     O_ASYNC: fd 90 (write end 91) owned by the root (F_SETOWN_EX
 *     F_OWNER_PID) with F_SETSIG SIGUSR2; fd 92 (write end 93) owned by the
 *     child, with no F_SETSIG (SIGIO). After the restore F_GETFL, F_GETOWN_EX
 *     and F_GETSIG are as they were, no signal came by itself, and a byte
 *     written into each pipe delivers the signal to its owner within 2 s
 *     (SIGUSR2 naming fd 90 in its si_fd).
 *   fd-files opath   one task with O_PATH fds: fd 110 on the FIFO opath.fifo,
 *     fd 111 on the socket file opath.sock (its socket closed), fd 112 on
 *     /dev/null; fd 113 the same FIFO O_RDWR with "data" in it. After the
 *     restore (which must not block on the FIFO) each O_PATH fd is O_PATH,
 *     the same file as its path, and read() fails with EBADF; fd 113 gives
 *     "data" (the O_PATH fd restored first is not taken for a holder that
 *     kept the FIFO's buffer).
 *   fd-files tmpfile one task with fd 120 from open(dir, O_TMPFILE|O_RDWR):
 *     8192 bytes, offset 3000. After the restore the bytes, the offset, the
 *     access mode and no link are there, and linkat() of /proc/self/fd/120
 *     (AT_SYMLINK_FOLLOW) gives it a name that holds the bytes.
 *   fd-files stdin   one task whose fd 0 is a new read end of a pipe of the
 *     test (opened by the path in $CRL_TEST_DIR/stdin-pipe, /proc/PID/fd/N of
 *     its writer, outside the tree): it reads "before\n" before the dump.
 *     The restore runs with "after\n" on its own standard input (a pipe);
 *     after it fd 0 is a pipe and gives "after\n", then end of file.
 *   fd-files stdin unread  the same, but the test's writer also wrote
 *     "unread\n", which the task has not read at the dump: after the
 *     restore fd 0 gives "unread\n" (not the restore's input), then end of
 *     file.
 *   fd-files fifo-outside  one task with the FIFO outside.fifo, which a
 *     process of the test holds open O_RDWR, at fd 70, O_RDWR|O_NONBLOCK:
 *     it wrote "hello" into it. After the restore fd 70 gives exactly
 *     "hello", then EAGAIN: the bytes the FIFO kept are not written twice.
 *
 * Every task also checks its pid and parent and the exact set of its fds.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "victim.h"

static struct vl_ids ids; /* this task's, recorded before the dump */

/* This task's state is built: record its ids, report ready and sleep until
 * the test's signal; then check its pid (and its parent's, with
 * check_ppid: not the root's) and that its fds are exactly fds[0..n). */
static void ready_wait_check(const int *fds, int n, bool check_ppid)
{
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, check_ppid, false);
	vl_expect_fds(fds, n);
}

/* --- files --- */

/* A file of len bytes of the pattern of seed; returns its path. */
static const char *make_file(const char *name, size_t len, uint64_t seed)
{
	const char *path = vl_path(name);
	char *buf = malloc(len);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	vl_fill(buf, len, seed);
	if (fd < 0 || write(fd, buf, len) != (ssize_t)len) {
		vl_fail("cannot write %s: %s", path, strerror(errno));
		vl_exit();
	}
	close(fd);
	free(buf);
	return path;
}

static void open_at(const char *path, int flags, int target)
{
	int fd = open(path, flags, 0644);

	if (fd < 0) {
		vl_fail("open %s: %s", path, strerror(errno));
		vl_exit();
	}
	vl_move_fd(fd, target);
	if (flags & O_CLOEXEC)
		fcntl(target, F_SETFD, FD_CLOEXEC);
}

static void expect_pos(const char *what, int fd, off_t want)
{
	off_t pos = lseek(fd, 0, SEEK_CUR);

	if (pos != want)
		vl_fail("%s: fd %d: offset %lld, expected %lld", what, fd, (long long)pos, (long long)want);
}

/* fd is the file at path (same device and inode). */
static void expect_same_file(const char *what, int fd, const char *path)
{
	struct stat a, b;

	if (fstat(fd, &a) < 0 || stat(path, &b) < 0)
		vl_fail("%s: fd %d: stat: %s", what, fd, strerror(errno));
	else if (a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		vl_fail("%s: fd %d is inode %lu, %s is inode %lu", what, fd, (unsigned long)a.st_ino, path,
			(unsigned long)b.st_ino);
}

static void expect_dev(const char *what, int fd, unsigned maj, unsigned min)
{
	struct stat st;

	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != maj || minor(st.st_rdev) != min)
		vl_fail("%s: fd %d is not the character device %u:%u", what, fd, maj, min);
}

/* The pattern of seed over [off, off+len) of a file of that pattern. */
static void expect_pattern_at(const char *what, const void *buf, size_t len, size_t off, size_t file_len,
			      uint64_t seed)
{
	char *all = malloc(file_len);

	vl_fill(all, file_len, seed);
	vl_expect_bytes(what, buf, all + off, len);
	free(all);
}

#define OFF_LEN 65536

static void files(void)
{
	static const int fds[] = { 7, 9, 12, 13, 14, 15, 20, 21, 100, 101, 1000 };
	const char *append = make_file("append.dat", 100, 1);
	const char *offset = make_file("offset.dat", OFF_LEN, 2);
	const char *dup_path = make_file("dup.dat", 4096, 3);
	const char *sub = vl_path("subdir"), *marker = vl_path("subdir/marker");
	char buf[256], cwd[4200];
	int fd;

	if (mkdir(sub, 0755) < 0 || (fd = open(marker, O_WRONLY | O_CREAT, 0644)) < 0 ||
	    write(fd, "marker\n", 7) != 7) {
		vl_fail("cannot make %s: %s", marker, strerror(errno));
		vl_exit();
	}
	close(fd);
	open_at(append, O_WRONLY | O_APPEND, 7);
	lseek(7, 0, SEEK_SET);
	open_at(offset, O_RDONLY, 100);
	lseek(100, 12345, SEEK_SET);
	open_at(offset, O_RDWR | O_NONBLOCK, 101);
	lseek(101, 70000, SEEK_SET);
	open_at(sub, O_RDONLY | O_DIRECTORY, 9);
	open_at(dup_path, O_RDWR, 20);
	dup3(20, 21, O_CLOEXEC);
	lseek(21, 500, SEEK_SET);
	open_at("/dev/null", O_RDWR | O_CLOEXEC, 12);
	open_at("/dev/null", O_WRONLY, 13);
	open_at("/dev/urandom", O_RDONLY | O_CLOEXEC, 14);
	open_at("/dev/zero", O_RDONLY, 15);
	open_at("/dev/null", O_RDONLY, 1000);
	ready_wait_check(fds, sizeof(fds) / sizeof(fds[0]), false);

	/* O_APPEND: the write goes to the end, whatever the offset. */
	vl_expect_flags("append.dat", 7, O_WRONLY, O_APPEND, O_NONBLOCK, 0);
	expect_same_file("append.dat", 7, append);
	expect_pos("append.dat, before the write", 7, 0);
	if (write(7, "0123456789", 10) != 10)
		vl_fail("append.dat: write: %s", strerror(errno));
	expect_pos("append.dat, after the write", 7, 110);
	fd = open(append, O_RDONLY);
	if (fd < 0 || read(fd, buf, sizeof(buf)) != 110)
		vl_fail("append.dat does not hold 110 bytes after the write");
	else if (memcmp(buf + 100, "0123456789", 10))
		vl_fail("append.dat: the bytes written after the restore are not at its end");
	else
		expect_pattern_at("append.dat, the first 100 bytes", buf, 100, 0, 100, 1);
	close(fd);

	/* An offset: the next read gives the bytes from there. */
	vl_expect_flags("offset.dat, O_RDONLY", 100, O_RDONLY, 0, O_NONBLOCK | O_APPEND, 0);
	expect_same_file("offset.dat", 100, offset);
	expect_pos("offset.dat, O_RDONLY", 100, 12345);
	if (read(100, buf, 100) != 100)
		vl_fail("offset.dat: read at 12345: %s", strerror(errno));
	else
		expect_pattern_at("offset.dat, read at 12345", buf, 100, 12345, OFF_LEN, 2);
	vl_expect_flags("offset.dat, O_RDWR", 101, O_RDWR, O_NONBLOCK, O_APPEND, 0);
	expect_same_file("offset.dat, O_RDWR", 101, offset);
	expect_pos("offset.dat, O_RDWR (its own description)", 101, 70000);
	if (read(101, buf, 10) != 0)
		vl_fail("offset.dat: a read at 70000 does not give end of file");
	if (pread(101, buf, 10, 100) != 10)
		vl_fail("offset.dat: fd 101 cannot be read: %s", strerror(errno));
	expect_pos("offset.dat, O_RDONLY, after fd 101 was read", 100, 12445);

	/* The directory. */
	vl_expect_flags("subdir", 9, O_RDONLY, O_DIRECTORY, 0, 0);
	expect_same_file("subdir", 9, sub);
	fd = openat(9, "marker", O_RDONLY);
	if (fd < 0 || read(fd, buf, 7) != 7 || memcmp(buf, "marker\n", 7))
		vl_fail("subdir: openat(fd 9, \"marker\") and read: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
	if (fchdir(9) < 0)
		vl_fail("subdir: fchdir: %s", strerror(errno));
	else if (!getcwd(cwd, sizeof(cwd)) || strcmp(cwd, sub))
		vl_fail("subdir: after fchdir the working directory is %s", cwd);
	else if (access("marker", R_OK) < 0)
		vl_fail("subdir: after fchdir, marker: %s", strerror(errno));

	/* One description behind two fds. */
	vl_expect_flags("dup.dat, fd 20", 20, O_RDWR, 0, O_NONBLOCK, 0);
	vl_expect_flags("dup.dat, fd 21", 21, O_RDWR, 0, O_NONBLOCK, 1);
	expect_pos("dup.dat, fd 20", 20, 500);
	if (read(21, buf, 100) != 100)
		vl_fail("dup.dat: read: %s", strerror(errno));
	else
		expect_pattern_at("dup.dat, read at 500", buf, 100, 500, 4096, 3);
	expect_pos("dup.dat, fd 20 after a read through fd 21", 20, 600);
	lseek(20, 3000, SEEK_SET);
	expect_pos("dup.dat, fd 21 after lseek through fd 20", 21, 3000);

	/* Devices. */
	vl_expect_flags("/dev/null O_RDWR", 12, O_RDWR, 0, 0, 1);
	vl_expect_flags("/dev/null O_WRONLY", 13, O_WRONLY, 0, 0, 0);
	vl_expect_flags("/dev/urandom", 14, O_RDONLY, 0, 0, 1);
	vl_expect_flags("/dev/zero", 15, O_RDONLY, 0, 0, 0);
	vl_expect_flags("/dev/null at fd 1000", 1000, O_RDONLY, 0, 0, 0);
	expect_dev("/dev/null", 12, 1, 3);
	expect_dev("/dev/null", 13, 1, 3);
	expect_dev("/dev/urandom", 14, 1, 9);
	expect_dev("/dev/zero", 15, 1, 5);
	expect_dev("/dev/null", 1000, 1, 3);
	if (write(12, buf, 50) != 50 || write(13, buf, 50) != 50 || read(12, buf, 10) != 0)
		vl_fail("/dev/null does not behave as /dev/null");
	{
		unsigned char a[64], b[64], z[64];

		memset(z, 0, sizeof(z));
		if (read(14, a, 64) != 64 || read(14, b, 64) != 64 || !memcmp(a, b, 64) || !memcmp(a, z, 64))
			vl_fail("/dev/urandom does not give random bytes");
		memset(a, 0xff, sizeof(a));
		if (read(15, a, 64) != 64 || memcmp(a, z, 64))
			vl_fail("/dev/zero does not give zeroes");
	}
}

/* --- shared --- */

#define SH_LEN 8192

static volatile uint64_t *turn; /* in shared memory */

static void shared_child(void *arg)
{
	static const int fds[] = { 30, 40 };
	char buf[64];

	dup2(30, 40);
	ready_wait_check(fds, 2, true);
	if (!vl_wait_for(turn, 1, VL_TIMEOUT_MS)) {
		vl_fail("child: the root did not take its turn 1");
		return;
	}
	expect_pos("child: after the root read 10 bytes, fd 30", 30, 1010);
	expect_pos("child: after the root read 10 bytes, fd 40", 40, 1010);
	if (read(40, buf, 20) != 20)
		vl_fail("child: read: %s", strerror(errno));
	else
		expect_pattern_at("child: shared.dat at 1010", buf, 20, 1010, SH_LEN, 9);
	if (write(30, "XXXXX", 5) != 5)
		vl_fail("child: write: %s", strerror(errno));
	fcntl(40, F_SETFL, fcntl(40, F_GETFL) | O_NONBLOCK);
	*turn = 2;
	if (!vl_wait_for(turn, 3, VL_TIMEOUT_MS)) {
		vl_fail("child: the root did not take its turn 3");
		return;
	}
	expect_pos("child: after the root's lseek, fd 30", 30, 2000);
	expect_pos("child: after the root's lseek, fd 40", 40, 2000);
	vl_expect_flags("child: after the root's F_SETFL", 40, O_RDWR, O_APPEND, O_NONBLOCK, 0);
	*turn = 4;
}

static void shared(void)
{
	static const int fds[] = { 30 };
	const char *path = make_file("shared.dat", SH_LEN, 9);
	char buf[64];

	turn = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (turn == MAP_FAILED)
		vl_die("mmap");
	open_at(path, O_RDWR, 30);
	lseek(30, 1000, SEEK_SET);
	vl_fork("child", shared_child, NULL);
	ready_wait_check(fds, 1, false);
	vl_expect_flags("root: shared.dat", 30, O_RDWR, 0, O_NONBLOCK | O_APPEND, 0);
	expect_pos("root: shared.dat", 30, 1000);
	if (read(30, buf, 10) != 10)
		vl_fail("root: read: %s", strerror(errno));
	else
		expect_pattern_at("root: shared.dat at 1000", buf, 10, 1000, SH_LEN, 9);
	*turn = 1;
	if (!vl_wait_for(turn, 2, VL_TIMEOUT_MS)) {
		vl_fail("root: the child did not take its turn 2");
		return;
	}
	expect_pos("root: after the child read 20 bytes and wrote 5", 30, 1035);
	vl_expect_flags("root: after the child's F_SETFL", 30, O_RDWR, O_NONBLOCK, O_APPEND, 0);
	if (pread(30, buf, 5, 1030) != 5 || memcmp(buf, "XXXXX", 5))
		vl_fail("root: the child's write is not at 1030");
	lseek(30, 2000, SEEK_SET);
	fcntl(30, F_SETFL, (fcntl(30, F_GETFL) | O_APPEND) & ~O_NONBLOCK);
	*turn = 3;
	if (!vl_wait_for(turn, 4, VL_TIMEOUT_MS))
		vl_fail("root: the child did not take its turn 4");
}

/* --- more --- */

static void more(void)
{
	static const int fds[] = { 50, 51, 52 };
	const char *marker = vl_path("marker"), *unl = make_file("unlinked.dat", 20000, 12);
	char buf[128], link[4200];
	int fd = open(marker, O_WRONLY | O_CREAT, 0644);
	ssize_t n;

	if (fd < 0 || write(fd, "marker\n", 7) != 7) {
		vl_fail("cannot make %s", marker);
		vl_exit();
	}
	close(fd);
	open_at(marker, O_PATH, 50);
	fd = memfd_create("crl-fd-files", 0);
	if (fd < 0)
		vl_die("memfd_create");
	vl_move_fd(fd, 51);
	vl_fill(buf, sizeof(buf), 11);
	for (int i = 0; i < 10000; i += 100)
		(void)!write(51, buf, 100);
	lseek(51, 3000, SEEK_SET);
	open_at(unl, O_RDWR, 52);
	lseek(52, 7000, SEEK_SET);
	unlink(unl);
	ready_wait_check(fds, 3, false);

	vl_expect_flags("O_PATH marker", 50, O_RDONLY, O_PATH, 0, 0);
	expect_same_file("O_PATH marker", 50, marker);

	vl_expect_flags("memfd", 51, O_RDWR, 0, 0, 0);
	expect_pos("memfd", 51, 3000);
	n = readlink("/proc/self/fd/51", link, sizeof(link) - 1);
	link[n < 0 ? 0 : n] = '\0';
	if (strncmp(link, "/memfd:crl-fd-files", 19))
		vl_fail("memfd: fd 51 links to '%s'", link);
	if (lseek(51, 0, SEEK_END) != 10000)
		vl_fail("memfd: size %lld, expected 10000", (long long)lseek(51, 0, SEEK_END));
	if (pread(51, buf, 100, 3000) != 100)
		vl_fail("memfd: read at 3000: %s", strerror(errno));
	else
		expect_pattern_at("memfd at 3000", buf, 100, 0, 100, 11);

	vl_expect_flags("unlinked.dat", 52, O_RDWR, 0, 0, 0);
	expect_pos("unlinked.dat", 52, 7000);
	if (read(52, buf, 100) != 100)
		vl_fail("unlinked.dat: read at 7000: %s", strerror(errno));
	else
		expect_pattern_at("unlinked.dat at 7000", buf, 100, 7000, 20000, 12);
	if (access(unl, F_OK) == 0)
		vl_fail("unlinked.dat: the restore left %s in place", unl);
}

/* --- nofile --- */

/* A task that raised its soft RLIMIT_NOFILE to 4096 and holds fd 4000. */
static void nofile(void)
{
	static const int fds[] = { 4000 };
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_max < 4096) {
		vl_fail("RLIMIT_NOFILE hard limit %llu, below 4096", (unsigned long long)rl.rlim_max);
		vl_exit();
	}
	rl.rlim_cur = 4096;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		vl_die("setrlimit");
	open_at("/dev/null", O_RDONLY, 4000);
	ready_wait_check(fds, 1, false);
	expect_dev("/dev/null at fd 4000", 4000, 1, 3);
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur != 4096)
		vl_fail("RLIMIT_NOFILE soft limit %llu, expected 4096", (unsigned long long)rl.rlim_cur);
}

/* --- tty --- */

/* A terminal at fd 60: the slave of a pseudo-terminal whose master the test
 * holds (its path in $CRL_TEST_DIR/pts). A restore with --shell-job connects
 * fd 60 to its own terminal, where the task writes a line. */
static void tty(void)
{
	static const int fds[] = { 60 };
	static const char line[] = "hello from the restored tree\n";
	char *pts = vl_path("pts"), *path = vl_read_file(pts, NULL);

	if (!path || !*path) {
		vl_fail("no terminal path in %s", pts);
		vl_exit();
	}
	free(pts);
	path[strcspn(path, "\n")] = '\0';
	open_at(path, O_RDWR | O_NOCTTY, 60);
	ready_wait_check(fds, 1, false);
	vl_expect_flags("terminal", 60, O_RDWR, 0, O_NONBLOCK, 0);
	if (!isatty(60))
		vl_fail("fd 60 is not a terminal");
	else if (write(60, line, sizeof(line) - 1) != sizeof(line) - 1)
		vl_fail("fd 60: write: %s", strerror(errno));
}

/* --- locks-img --- */

static volatile sig_atomic_t got_img_usr2;

static void on_img_usr2(int sig)
{
	got_img_usr2 = 1;
}

/* What another process finds when it tries to take a lock of type on
 * [start, start + len) of path (F_GETLK in a child: it sees this task's
 * POSIX locks and every OFD lock; flock() for the flock kind). */
static bool taken_from_outside(const char *path, bool flock_kind, short type, off_t start, off_t len)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		int fd = open(path, O_RDWR);
		struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

		if (fd < 0)
			_exit(2);
		if (flock_kind)
			_exit(flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK ? 0 : 1);
		if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
			_exit(2);
		_exit(fl.l_type != F_UNLCK ? 0 : 1);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void locks_img(void)
{
	static const int fds[] = { 7, 8, 9, 10, 11 };
	const char *path = make_file("lock.dat", 100, 3);
	struct flock posix = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	struct flock ofd = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 20, .l_len = 10 };
	struct f_owner_ex owner = { .type = F_OWNER_PID, .pid = getpid() };
	int p[2];

	signal(SIGUSR2, on_img_usr2);
	open_at(path, O_RDWR, 7);
	open_at(path, O_RDWR, 8);
	open_at(path, O_RDONLY, 9);
	if (flock(7, LOCK_SH) < 0 || fcntl(8, F_SETLK, &posix) < 0 || fcntl(9, F_OFD_SETLK, &ofd) < 0)
		vl_die("taking the locks");
	if (pipe(p) < 0 || dup2(p[0], 10) < 0 || dup2(p[1], 11) < 0)
		vl_die("pipe");
	close(p[0]);
	close(p[1]);
	if (fcntl(10, F_SETOWN_EX, &owner) < 0 || fcntl(10, F_SETSIG, SIGUSR2) < 0 ||
	    fcntl(10, F_SETFL, O_ASYNC) < 0)
		vl_die("O_ASYNC on the pipe");
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 5);
	if (!taken_from_outside(path, true, 0, 0, 0))
		vl_fail("lock.dat: the flock of fd 7 is gone");
	if (!taken_from_outside(path, false, F_RDLCK, 0, 10))
		vl_fail("lock.dat: the POSIX write lock on bytes 0-9 is gone");
	if (!taken_from_outside(path, false, F_WRLCK, 20, 10))
		vl_fail("lock.dat: the OFD read lock on bytes 20-29 is gone");
	if (write(11, "x", 1) != 1)
		vl_fail("pipe: write: %s", strerror(errno));
	for (int i = 0; i < 200 && !got_img_usr2; i++)
		usleep(10000);
	if (!got_img_usr2)
		vl_fail("pipe at fd 10: no SIGUSR2 after a write (O_ASYNC owner or signal lost)");
}

/* --- log --- */

/* A log file held open O_WRONLY|O_APPEND (fd 7) with 100 bytes; others may
 * write to it while the tree is dumped. After the restore the task's write
 * lands at the end, whatever the size then, and the first 100 bytes are
 * untouched. */
static void log_mode(void)
{
	static const int fds[] = { 7 };
	const char *path = make_file("log.dat", 100, 1);
	struct stat st;
	char *all;
	size_t len;

	open_at(path, O_WRONLY | O_APPEND, 7);
	ready_wait_check(fds, 1, false);
	vl_expect_flags("log.dat", 7, O_WRONLY, O_APPEND, O_NONBLOCK, 0);
	expect_same_file("log.dat", 7, path);
	if (fstat(7, &st) < 0 || write(7, "0123456789", 10) != 10) {
		vl_fail("log.dat: fstat or write: %s", strerror(errno));
		return;
	}
	all = vl_read_file(path, &len);
	if (!all || len != (size_t)st.st_size + 10)
		vl_fail("log.dat holds %zu bytes after a write of 10 at its end (%lld)", len, (long long)st.st_size);
	else if (memcmp(all + len - 10, "0123456789", 10))
		vl_fail("log.dat: the bytes written after the restore are not at its end");
	else
		expect_pattern_at("log.dat, the first 100 bytes", all, 100, 0, 100, 1);
	free(all);
}

/* --- locks --- */

/* The locks /proc/self/fdinfo/FD shows, each as "KIND TYPE START END"
 * (END: the last byte, or EOF), a POSIX lock's owner added ("self" when it
 * is this task), sorted and joined by "; ", into out. */
static void fd_locks(int fd, char *out, size_t len)
{
	char path[64], text[4096], items[8][96];
	const char *p = text;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	out[0] = '\0';
	if (vl_read_into(path, text, sizeof(text)) < 0) {
		snprintf(out, len, "(cannot read %s)", path);
		return;
	}
	while ((p = strstr(p, "lock:\t")) && n < 8) {
		char kind[16], adv[16], type[16], end[32];
		long long start;
		int pid;

		p += 6;
		if (sscanf(p, "%*d: %15s %15s %15s %d %*s %lld %31s", kind, adv, type, &pid, &start, end) != 6) {
			snprintf(items[n++], sizeof(items[0]), "(unparsed: %.40s)", p);
			continue;
		}
		if (!strcmp(kind, "POSIX") && pid == getpid())
			snprintf(items[n++], sizeof(items[0]), "%s %s %lld %s self", kind, type, start, end);
		else if (!strcmp(kind, "POSIX"))
			snprintf(items[n++], sizeof(items[0]), "%s %s %lld %s pid %d", kind, type, start, end, pid);
		else
			snprintf(items[n++], sizeof(items[0]), "%s %s %lld %s", kind, type, start, end);
	}
	qsort(items, n, sizeof(items[0]), (int (*)(const void *, const void *))strcmp);
	for (int i = 0; i < n; i++)
		snprintf(out + strlen(out), len - strlen(out), "%s%s", i ? "; " : "", items[i]);
}

static void expect_locks(const char *what, int fd, const char *want)
{
	char have[1024];

	fd_locks(fd, have, sizeof(have));
	if (strcmp(have, want))
		vl_fail("%s: fd %d: fdinfo shows the locks '%s', expected '%s'", what, fd, have, want);
}

/* A lock of kind type on [start, start+len) through fd (cmd F_SETLK or
 * F_OFD_SETLK); vl_die if it cannot be taken. */
static void set_lock(int fd, int cmd, short type, off_t start, off_t len)
{
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len };

	if (fcntl(fd, cmd, &fl) < 0)
		vl_die("taking a lock");
}

/* F_GETLK (or F_OFD_GETLK) for a write lock on the byte at: the lock in the
 * way is of want_type (F_UNLCK: none) and held by want_pid. */
static void expect_getlk(const char *what, int fd, int cmd, off_t at, short want_type, pid_t want_pid)
{
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = at, .l_len = 1 };
	static const char *const types[] = { [F_RDLCK] = "F_RDLCK", [F_WRLCK] = "F_WRLCK", [F_UNLCK] = "F_UNLCK" };

	if (fcntl(fd, cmd, &fl) < 0)
		vl_fail("%s: F_GETLK at %lld: %s", what, (long long)at, strerror(errno));
	else if (fl.l_type != want_type)
		vl_fail("%s: F_GETLK at %lld gives %s, expected %s", what, (long long)at,
			fl.l_type <= F_UNLCK ? types[fl.l_type] : "?", types[want_type]);
	else if (want_type != F_UNLCK && fl.l_pid != want_pid)
		vl_fail("%s: F_GETLK at %lld: the lock is held by pid %d, expected %d", what, (long long)at,
			(int)fl.l_pid, (int)want_pid);
}

/* In a process of its own (not a task of the tree, so a lock owner of its
 * own): every lock of the tree stands in its way, and no more. */
static void lock_probe(pid_t root, pid_t child)
{
	int fd = open(vl_path("lock1.dat"), O_RDWR), r = fd < 0 ? -1 : flock(fd, LOCK_EX | LOCK_NB);

	if (fd < 0)
		vl_fail("lock1.dat: open: %s", strerror(errno));
	else if (r == 0)
		vl_fail("lock1.dat: flock(LOCK_EX|LOCK_NB) of a new open succeeded: nothing holds the flock");
	else if (errno != EWOULDBLOCK)
		vl_fail("lock1.dat: flock(LOCK_EX|LOCK_NB) of a new open: %s, expected EWOULDBLOCK", strerror(errno));
	if (fd >= 0)
		close(fd);
	fd = open(vl_path("lock2.dat"), O_RDWR);
	expect_getlk("lock2.dat", fd, F_GETLK, 15, F_WRLCK, root);
	expect_getlk("lock2.dat", fd, F_GETLK, 10, F_WRLCK, root);
	expect_getlk("lock2.dat", fd, F_GETLK, 29, F_WRLCK, root);
	expect_getlk("lock2.dat", fd, F_GETLK, 30, F_UNLCK, 0);
	expect_getlk("lock2.dat", fd, F_GETLK, 9, F_UNLCK, 0);
	expect_getlk("lock2.dat", fd, F_GETLK, 50, F_UNLCK, 0);
	expect_getlk("lock2.dat", fd, F_GETLK, 100, F_RDLCK, root);
	expect_getlk("lock2.dat", fd, F_GETLK, 200, F_RDLCK, root);
	expect_getlk("lock2.dat", fd, F_GETLK, 1 << 30, F_RDLCK, root);
	close(fd);
	fd = open(vl_path("lock3.dat"), O_RDWR);
	expect_getlk("lock3.dat", fd, F_OFD_GETLK, 2, F_WRLCK, -1);
	expect_getlk("lock3.dat", fd, F_OFD_GETLK, 5, F_UNLCK, 0);
	close(fd);
	fd = open(vl_path("lock4.dat"), O_RDWR);
	expect_getlk("lock4.dat", fd, F_GETLK, 0, F_WRLCK, child);
	expect_getlk("lock4.dat", fd, F_GETLK, 9, F_WRLCK, child);
	expect_getlk("lock4.dat", fd, F_GETLK, 10, F_UNLCK, 0);
	close(fd);
}

static void locks_child(void *arg)
{
	static const int fds[] = { 80, 83 };

	close(81);
	close(82);
	open_at(make_file("lock4.dat", 4096, 24), O_RDWR, 83);
	set_lock(83, F_SETLK, F_WRLCK, 0, 10);
	ready_wait_check(fds, 2, true);
	expect_locks("child: lock1.dat (flock, shared with the root)", 80, "FLOCK WRITE 0 EOF");
	expect_locks("child: lock4.dat (POSIX)", 83, "POSIX WRITE 0 9 self");
	/* Hold the lock until the root's process has looked. */
	if (!vl_wait_for(turn, 1, 2 * VL_TIMEOUT_MS))
		vl_fail("child: the root did not say that its lock probe ended");
}

static void locks(void)
{
	static const int fds[] = { 80, 81, 82 };
	pid_t child, probe;
	int status;

	turn = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (turn == MAP_FAILED)
		vl_die("mmap");
	open_at(make_file("lock1.dat", 4096, 21), O_RDWR, 80);
	if (flock(80, LOCK_EX | LOCK_NB) < 0)
		vl_die("flock");
	open_at(make_file("lock2.dat", 4096, 22), O_RDWR, 81);
	set_lock(81, F_SETLK, F_WRLCK, 10, 20);
	set_lock(81, F_SETLK, F_RDLCK, 100, 0);
	open_at(make_file("lock3.dat", 4096, 23), O_RDWR, 82);
	set_lock(82, F_OFD_SETLK, F_WRLCK, 0, 5);
	child = vl_fork("child", locks_child, NULL);
	ready_wait_check(fds, 3, false);
	expect_locks("root: lock1.dat (flock)", 80, "FLOCK WRITE 0 EOF");
	expect_locks("root: lock2.dat (POSIX)", 81, "POSIX READ 100 EOF self; POSIX WRITE 10 29 self");
	expect_locks("root: lock3.dat (OFD)", 82, "OFDLCK WRITE 0 4");
	probe = fork();
	if (probe == 0) {
		lock_probe(getppid(), child);
		_exit(vl_failed() ? 1 : 0);
	}
	if (probe < 0 || waitpid(probe, &status, 0) != probe || !WIFEXITED(status) || WEXITSTATUS(status))
		vl_fail("root: the process forked after the restore did not find every lock in its way");
	*turn = 1;
}

/* --- async --- */

static volatile uint64_t usr2_count, sigio_count;
static volatile int usr2_fd = -1; /* si_fd of the last SIGUSR2 */

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
	usr2_fd = si->si_fd;
	usr2_count++;
}
static void on_sigio(int sig) { sigio_count++; }

/* fd is O_ASYNC, its signals go to process pid, as signal sig (0: SIGIO). */
static void expect_owner(const char *what, int fd, pid_t pid, int sig)
{
	struct f_owner_ex owner = { 0 };
	int s = fcntl(fd, F_GETSIG);

	vl_expect_flags(what, fd, O_RDONLY, O_ASYNC | O_NONBLOCK, 0, 0);
	if (fcntl(fd, F_GETOWN_EX, &owner) < 0)
		vl_fail("%s: fd %d: F_GETOWN_EX: %s", what, fd, strerror(errno));
	else if (owner.type != F_OWNER_PID || owner.pid != pid)
		vl_fail("%s: fd %d: its signals go to %s %d, expected process %d", what, fd,
			owner.type == F_OWNER_PID ? "process" : owner.type == F_OWNER_TID ? "thread" : "group",
			owner.pid, pid);
	if (s != sig)
		vl_fail("%s: fd %d: F_GETSIG gives %d, expected %d", what, fd, s, sig);
}

static void set_owner(int fd, pid_t pid, int sig)
{
	struct f_owner_ex owner = { .type = F_OWNER_PID, .pid = pid };

	if (fcntl(fd, F_SETOWN_EX, &owner) < 0 || (sig && fcntl(fd, F_SETSIG, sig) < 0))
		vl_die("F_SETOWN_EX");
	vl_add_flags(fd, O_ASYNC | O_NONBLOCK);
}

static void async_child(void *arg)
{
	for (int fd = 90; fd <= 93; fd++)
		close(fd);
	ready_wait_check(NULL, 0, true);
	if (!vl_wait_for(&sigio_count, 1, 2000))
		vl_fail("child: no SIGIO within 2 s of the root's write into the pipe whose signals it owns");
}

static void async_mode(void)
{
	static const int fds[] = { 90, 91, 92, 93 };
	struct sigaction usr2 = { .sa_sigaction = on_usr2, .sa_flags = SA_SIGINFO }, io = { .sa_handler = on_sigio };
	int p[2], q[2];
	pid_t child;
	char c;

	sigaction(SIGUSR2, &usr2, NULL);
	sigaction(SIGIO, &io, NULL);
	if (pipe(p) < 0 || pipe(q) < 0)
		vl_die("pipe");
	vl_move_fd(p[0], 90);
	vl_move_fd(p[1], 91);
	vl_move_fd(q[0], 92);
	vl_move_fd(q[1], 93);
	set_owner(90, getpid(), SIGUSR2);
	child = vl_fork("child", async_child, NULL);
	set_owner(92, child, 0);
	ready_wait_check(fds, 4, false);
	expect_owner("root's pipe", 90, getpid(), SIGUSR2);
	expect_owner("child's pipe", 92, child, 0);
	if (usr2_count || sigio_count)
		vl_fail("root: %llu SIGUSR2 and %llu SIGIO came before anything was written",
			(unsigned long long)usr2_count, (unsigned long long)sigio_count);
	vl_write_all("child's pipe", 93, "b", 1);
	vl_write_all("root's pipe", 91, "a", 1);
	if (!vl_wait_for(&usr2_count, 1, 2000))
		vl_fail("root: no SIGUSR2 within 2 s of a write into its O_ASYNC pipe");
	else if (usr2_fd != 90)
		vl_fail("root: SIGUSR2 names fd %d (si_fd), expected 90", usr2_fd);
	if (sigio_count)
		vl_fail("root: got SIGIO, which goes to the child");
	if (!vl_read_exact("root's pipe", 90, &c, 1) || c != 'a')
		vl_fail("root's pipe: the byte written is not there");
}

/* --- opath --- */

static void expect_path_only(const char *what, int fd, const char *path, mode_t type)
{
	struct stat st;
	char c;

	vl_expect_flags(what, fd, O_RDONLY, O_PATH, 0, 0);
	expect_same_file(what, fd, path);
	if (fstat(fd, &st) < 0 || (st.st_mode & S_IFMT) != type)
		vl_fail("%s: fd %d: fstat gives mode %#o, expected type %#o", what, fd, st.st_mode, type);
	if (read(fd, &c, 1) != -1 || errno != EBADF)
		vl_fail("%s: fd %d: read() does not fail with EBADF (%s)", what, fd, strerror(errno));
}

static void opath(void)
{
	static const int fds[] = { 110, 111, 112, 113 };
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	const char *fifo = vl_path("opath.fifo"), *sock = vl_path("opath.sock");
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	char buf[16];
	ssize_t n;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	if (mkfifo(fifo, 0644) < 0 || fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		vl_die("mkfifo or bind");
	close(fd);
	open_at(fifo, O_PATH, 110);
	open_at(sock, O_PATH, 111);
	open_at("/dev/null", O_PATH, 112);
	/* The same FIFO open for reading and writing, with bytes in it: the
	 * O_PATH fd restored first does not keep its buffer alive. */
	open_at(fifo, O_RDWR | O_NONBLOCK, 113);
	if (write(113, "data", 4) != 4)
		vl_die("write into the FIFO");
	ready_wait_check(fds, 4, false);
	n = read(113, buf, sizeof(buf));
	if (n != 4 || memcmp(buf, "data", 4))
		vl_fail("FIFO at fd 113: read %zd bytes (%s), expected 'data'", n, n < 0 ? strerror(errno) : "");
	expect_path_only("O_PATH FIFO", 110, fifo, S_IFIFO);
	expect_path_only("O_PATH socket file", 111, sock, S_IFSOCK);
	expect_path_only("O_PATH /dev/null", 112, "/dev/null", S_IFCHR);
}

/* --- tmpfile --- */

#define TMP_LEN 8192

static void tmpfile_mode(void)
{
	static const int fds[] = { 120 };
	const char *linked = vl_path("tmpfile-linked");
	char buf[100], *all;
	struct stat st;
	size_t len;
	int fd = open(vl_dir(), O_TMPFILE | O_RDWR, 0600);

	if (fd < 0)
		vl_die("open O_TMPFILE");
	vl_move_fd(fd, 120);
	vl_write_fill("O_TMPFILE file", 120, TMP_LEN, 25);
	lseek(120, 3000, SEEK_SET);
	ready_wait_check(fds, 1, false);
	vl_expect_flags("O_TMPFILE file", 120, O_RDWR, 0, O_APPEND | O_NONBLOCK, 0);
	expect_pos("O_TMPFILE file", 120, 3000);
	if (fstat(120, &st) < 0 || st.st_size != TMP_LEN || st.st_nlink != 0)
		vl_fail("O_TMPFILE file: %lld bytes and %lu links, expected %d and none", (long long)st.st_size,
			(unsigned long)st.st_nlink, TMP_LEN);
	if (read(120, buf, sizeof(buf)) != sizeof(buf))
		vl_fail("O_TMPFILE file: read at 3000: %s", strerror(errno));
	else
		expect_pattern_at("O_TMPFILE file at 3000", buf, sizeof(buf), 3000, TMP_LEN, 25);
	/* A file made by O_TMPFILE (without O_EXCL) can be given a name. */
	if (linkat(AT_FDCWD, "/proc/self/fd/120", AT_FDCWD, linked, AT_SYMLINK_FOLLOW) < 0) {
		vl_fail("O_TMPFILE file: linkat of /proc/self/fd/120 to %s: %s", linked, strerror(errno));
		return;
	}
	expect_same_file("O_TMPFILE file, once linked", 120, linked);
	all = vl_read_file(linked, &len);
	if (!all || len != TMP_LEN)
		vl_fail("O_TMPFILE file, once linked: %s holds %zu bytes, expected %d", linked, len, TMP_LEN);
	else
		vl_expect_fill("O_TMPFILE file, once linked", all, len, 25);
	free(all);
}

/* --- stdin --- */

/* fd 0: a new read end of the test's pipe (vl_init points it at /dev/null). */
static void stdin_mode(bool unread)
{
	const char *want = unread ? "unread\n" : "after\n";
	char *where = vl_path("stdin-pipe"), *path = vl_read_file(where, NULL), line[8] = "";
	struct stat st;
	int fd;

	if (!path || !*path) {
		vl_fail("no pipe path in %s", where);
		vl_exit();
	}
	free(where);
	path[strcspn(path, "\n")] = '\0';
	fd = open(path, O_RDONLY);
	if (fd < 0)
		vl_die(path);
	vl_move_fd(fd, 0);
	if (!vl_read_exact("stdin, before the dump", 0, line, 7) || memcmp(line, "before\n", 7))
		vl_fail("stdin, before the dump: read '%.7s', expected 'before\\n'", line);
	ready_wait_check(NULL, 0, false);
	vl_expect_flags("stdin", 0, O_RDONLY, 0, O_NONBLOCK, 0);
	if (fstat(0, &st) < 0 || !S_ISFIFO(st.st_mode))
		vl_fail("stdin: fd 0 is not a pipe");
	memset(line, 0, sizeof(line));
	if (vl_read_exact("stdin, after the restore", 0, line, strlen(want)) && memcmp(line, want, strlen(want)))
		vl_fail("stdin, after the restore: read '%.7s', expected '%s'", line, want);
	vl_expect_eof("stdin, after its line", 0);
}

/* --- fifo-outside --- */

static void fifo_outside(void)
{
	static const int fds[] = { 70 };
	const char *path = vl_path("outside.fifo");
	char buf[64];
	ssize_t n;

	open_at(path, O_RDWR | O_NONBLOCK, 70);
	vl_write_all("outside.fifo", 70, "hello", 5);
	ready_wait_check(fds, 1, false);
	vl_expect_flags("outside.fifo", 70, O_RDWR, O_NONBLOCK, 0, 0);
	expect_same_file("outside.fifo", 70, path);
	n = read(70, buf, sizeof(buf));
	if (n != 5 || memcmp(buf, "hello", 5))
		vl_fail("outside.fifo: read %zd bytes '%.*s', expected 'hello'", n, n > 0 ? (int)n : 0, buf);
	n = read(70, buf, sizeof(buf));
	if (n != -1 || errno != EAGAIN)
		vl_fail("outside.fifo: after 'hello', read gives %zd (%s), expected EAGAIN", n,
			n < 0 ? strerror(errno) : "bytes");
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";

	vl_init(argc, argv);
	if (!strcmp(mode, "files"))
		files();
	else if (!strcmp(mode, "shared"))
		shared();
	else if (!strcmp(mode, "more"))
		more();
	else if (!strcmp(mode, "nofile"))
		nofile();
	else if (!strcmp(mode, "tty"))
		tty();
	else if (!strcmp(mode, "log"))
		log_mode();
	else if (!strcmp(mode, "locks"))
		locks();
	else if (!strcmp(mode, "async"))
		async_mode();
	else if (!strcmp(mode, "opath"))
		opath();
	else if (!strcmp(mode, "tmpfile"))
		tmpfile_mode();
	else if (!strcmp(mode, "stdin"))
		stdin_mode(argc > 2 && !strcmp(argv[2], "unread"));
	else if (!strcmp(mode, "fifo-outside"))
		fifo_outside();
	else if (!strcmp(mode, "locks-img"))
		locks_img();
	else
		vl_fail("unknown mode '%s'", mode);
	vl_exit();
}
