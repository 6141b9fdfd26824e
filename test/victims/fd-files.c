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
 *   fd-files locks    one task with lock.dat (100 bytes) open three times:
 *     fd 7 O_RDWR with a shared flock; fd 8 O_RDWR with a POSIX write lock
 *     on bytes 0-9; fd 9 O_RDONLY with an OFD read lock on bytes 20-29; and
 *     a pipe (read end fd 10, O_ASYNC, its SIGIO as SIGUSR2 to the task
 *     itself; write end fd 11). After the restore another process finds
 *     each lock taken, and a write to the pipe sends the task SIGUSR2.
 *   fd-files tty      one task holding a terminal at fd 60, the slave of a
 *     pseudo-terminal of the test (dumped and restored with --shell-job): it
 *     writes a line to it after the restore.
 *
 * Every task also checks its pid and parent and the exact set of its fds.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "victim.h"

static struct vl_ids ids; /* this task's, recorded before the dump */

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
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, sizeof(fds) / sizeof(fds[0]));

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
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, true, false);
	vl_expect_fds(fds, 2);
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
	vl_ids_save(&ids);
	vl_fork("child", shared_child, NULL);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 1);
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
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 3);

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
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 1);
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
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 1);
	vl_expect_flags("terminal", 60, O_RDWR, 0, O_NONBLOCK, 0);
	if (!isatty(60))
		vl_fail("fd 60 is not a terminal");
	else if (write(60, line, sizeof(line) - 1) != sizeof(line) - 1)
		vl_fail("fd 60: write: %s", strerror(errno));
}

/* --- locks --- */

static volatile sig_atomic_t got_usr2;

static void on_usr2(int sig)
{
	got_usr2 = 1;
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

static void locks(void)
{
	static const int fds[] = { 7, 8, 9, 10, 11 };
	const char *path = make_file("lock.dat", 100, 3);
	struct flock posix = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	struct flock ofd = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 20, .l_len = 10 };
	struct f_owner_ex owner = { .type = F_OWNER_PID, .pid = getpid() };
	int p[2];

	signal(SIGUSR2, on_usr2);
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
	for (int i = 0; i < 200 && !got_usr2; i++)
		usleep(10000);
	if (!got_usr2)
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
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	vl_ids_check(&ids, false, false);
	vl_expect_fds(fds, 1);
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
	else
		vl_fail("unknown mode '%s'", mode);
	vl_exit();
}
