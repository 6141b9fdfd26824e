/*
 * demo-counter: the victim of `make demo` (scripts/demo.sh).
 *
 *   demo-counter DIR
 *
 * Starts a small tree of 4 processes in a session of its own and returns
 * once the tree is ready, leaving it running:
 *
 *   root
 *   +-- child-1
 *   |   +-- grandchild
 *   +-- child-2
 *
 * Before forking, the root maps two regions every process inherits:
 *   - shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS), which the kernel
 *     backs with a shmem inode shown as "/dev/zero (deleted)";
 *   - a memfd named "demo-counter", mapped MAP_SHARED; its fd is closed
 *     right after the mmap, so the mapping is the only thing holding it.
 * Each region holds a counter and the number of the process that wrote it
 * last. The process numbers (0 root, 1 child-1, 2 child-2, 3 grandchild)
 * are fixed, so a report reads the same on every run.
 *
 * The processes do nothing until signalled:
 *   SIGUSR1  increment the counter in both regions (the process "writes");
 *   SIGUSR2  write a one-line report of what this process sees, into
 *            DIR/report.ROLE (written aside and renamed into place, so a
 *            reader never sees half a line).
 * Nothing goes to the terminal: stdin, stdout and stderr are /dev/null, and
 * events are appended to DIR/log, one write() per line.
 *
 * When the tree is ready the root writes DIR/pids ("pid role" lines, root
 * first) and the starting process exits 0; if the tree could not be built
 * it exits 1. The root's parent is then whoever adopts orphans (init, or a
 * subreaper), as it will be after a `criu-lite restore -d`.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "victim.h"

#define NR_PROCS 4
#define REGION_SIZE (4 * 4096UL)
#define MEMFD_NAME "demo-counter"

static const char *const roles[NR_PROCS] = { "root", "child-1", "child-2", "grandchild" };

/* The start of each shared region. */
struct counter {
	uint64_t value;
	uint64_t writer;        /* process number of the last writer + 1; 0: none */
};

/* The shared anonymous region also carries the set-up handshake. */
struct board {
	struct counter c;
	uint32_t pid[NR_PROCS];
	uint32_t ready;         /* processes that finished their set-up */
};

static const char *dir;
static int me;                  /* this process's number */
static struct board *board;     /* the shared anonymous region */
static struct counter *mcount;  /* the memfd region */
static volatile sig_atomic_t want_write, want_report;
static int ready_fd = -1;       /* the root's line to the starting process */

static void on_usr1(int sig) { want_write = 1; }
static void on_usr2(int sig) { want_report = 1; }

/* Append one line to DIR/log (a single write, so lines never interleave). */
static void logf_(const char *fmt, ...)
{
	char line[512], path[4200];
	va_list ap;
	int n, fd;

	n = snprintf(line, sizeof(line), "[%d %s] ", getpid(), roles[me]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	snprintf(path, sizeof(path), "%s/log", dir);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	(void)!write(fd, line, n);
	close(fd);
}

static const char *writer_name(uint64_t w)
{
	return w >= 1 && w <= NR_PROCS ? roles[w - 1] : "nobody";
}

/* SIGUSR1: this process writes the next value of the counter into both
 * regions. The script signals one process at a time and waits for the
 * reports, so there is no race between writers. */
static void do_write(void)
{
	uint64_t v = __atomic_load_n(&board->c.value, __ATOMIC_SEQ_CST) + 1;

	__atomic_store_n(&board->c.writer, me + 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&board->c.value, v, __ATOMIC_SEQ_CST);
	__atomic_store_n(&mcount->writer, me + 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&mcount->value, v, __ATOMIC_SEQ_CST);
	logf_("wrote counter = %llu into the shared anonymous memory and the memfd",
	      (unsigned long long)v);
}

/* SIGUSR2: report what this process sees, as one line. */
static void do_report(void)
{
	char line[512], name[64];
	uint64_t av = __atomic_load_n(&board->c.value, __ATOMIC_SEQ_CST);
	uint64_t aw = __atomic_load_n(&board->c.writer, __ATOMIC_SEQ_CST);
	uint64_t mv = __atomic_load_n(&mcount->value, __ATOMIC_SEQ_CST);
	uint64_t mw = __atomic_load_n(&mcount->writer, __ATOMIC_SEQ_CST);

	snprintf(line, sizeof(line),
		 "%-10s pid %-7d ppid %-7d reads  shared-anon counter = %llu (by %s)  "
		 "memfd counter = %llu (by %s)\n",
		 roles[me], getpid(), getppid(), (unsigned long long)av, writer_name(aw),
		 (unsigned long long)mv, writer_name(mw));
	snprintf(name, sizeof(name), "report.%s", roles[me]);
	if (vl_write_file(dir, name, line) < 0)
		logf_("cannot write %s: %s", name, strerror(errno));
	else
		logf_("reported");
}

/* Every process ends here: sleep until a signal, do what it asks, again. */
static void __attribute__((noreturn)) serve(void)
{
	sigset_t wait_mask;

	sigprocmask(SIG_SETMASK, NULL, &wait_mask);
	sigdelset(&wait_mask, SIGUSR1);
	sigdelset(&wait_mask, SIGUSR2);
	for (;;) {
		/* After a restore, a sigsuspend that was interrupted by the
		 * dump is restarted; either way the loop just goes on. */
		sigsuspend(&wait_mask);
		if (want_write) {
			want_write = 0;
			do_write();
		}
		if (want_report) {
			want_report = 0;
			do_report();
		}
	}
}

/* Record this process in the board and count it as ready. */
static void check_in(void)
{
	board->pid[me] = getpid();
	__atomic_add_fetch(&board->ready, 1, __ATOMIC_SEQ_CST);
	logf_("ready");
}

/* Fork process number n, which checks in and serves; returns its pid. */
static pid_t spawn(int n, void (*more)(void))
{
	pid_t pid = fork();

	if (pid < 0) {
		logf_("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		me = n;
		/* Only the root may hold the ready pipe: if it dies, the
		 * starting process must see the end of the pipe. */
		close(ready_fd);
		ready_fd = -1;
		if (more)
			more();
		check_in();
		serve();
	}
	return pid;
}

static void child1_forks(void)
{
	spawn(3, NULL);
}

/* The root: build the regions and the tree, publish the pids, tell the
 * starting process (through ready_fd) that all is set. */
static void __attribute__((noreturn)) root(void)
{
	char text[512];
	size_t n = 0;
	int fd, i;

	me = 0;
	setsid();
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}

	board = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (board == MAP_FAILED) {
		logf_("mmap of the shared anonymous memory: %s", strerror(errno));
		_exit(1);
	}
	fd = memfd_create(MEMFD_NAME, MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, REGION_SIZE) < 0) {
		logf_("memfd: %s", strerror(errno));
		_exit(1);
	}
	mcount = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (mcount == MAP_FAILED) {
		logf_("mmap of the memfd: %s", strerror(errno));
		_exit(1);
	}
	/* The mapping alone keeps the memfd alive from now on. */
	close(fd);

	if (spawn(1, child1_forks) < 0 || spawn(2, NULL) < 0)
		_exit(1);
	check_in();

	/* Wait (up to 10 s) for all four. */
	for (i = 0; i < 1000 && __atomic_load_n(&board->ready, __ATOMIC_SEQ_CST) < NR_PROCS; i++)
		nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
	if (board->ready < NR_PROCS) {
		logf_("only %u of %d processes became ready", board->ready, NR_PROCS);
		_exit(1);
	}
	for (i = 0; i < NR_PROCS; i++)
		n += snprintf(text + n, sizeof(text) - n, "%u %s\n", board->pid[i], roles[i]);
	if (vl_write_file(dir, "pids", text) < 0) {
		logf_("cannot write the pids file: %s", strerror(errno));
		_exit(1);
	}
	(void)!write(ready_fd, "R", 1);
	close(ready_fd);
	ready_fd = -1;
	serve();
}

int main(int argc, char **argv)
{
	struct sigaction sa = { 0 };
	sigset_t block;
	int pipefd[2];
	char c = 0;
	pid_t pid;

	if (argc != 2) {
		fprintf(stderr, "usage: %s DIR\n", argv[0]);
		return 2;
	}
	dir = argv[1];

	/* The signals stay blocked except inside sigsuspend(): one that comes
	 * early waits, pending, instead of being lost. Set before forking so
	 * every process inherits it. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigaddset(&block, SIGUSR2);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		perror("pipe");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid == 0) {
		close(pipefd[0]);
		ready_fd = pipefd[1];
		root();
	}
	/* The starting process: wait for the root's word, then leave the tree
	 * running, re-parented away from the caller. */
	close(pipefd[1]);
	while (read(pipefd[0], &c, 1) < 0 && errno == EINTR)
		;
	if (c != 'R') {
		fprintf(stderr, "%s: the tree did not start; see %s/log\n", argv[0], dir);
		return 1;
	}
	return 0;
}
