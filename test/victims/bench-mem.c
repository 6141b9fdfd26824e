/*
 * bench-mem: the victim and the baseline of `make bench` (scripts/bench.sh).
 *
 *   bench-mem memcpy MIB REPS
 *   bench-mem memcpy-fresh MIB REPS   the same into freshly mapped memory
 *       Copy MIB MiB from one buffer to another REPS times (after one
 *       warm-up copy; both buffers faulted in first) and print the copy
 *       rate in GB/s (10^9 bytes per second), a bare number.
 *
 *   bench-mem tree DIR NPROC MIB SHARED_MIB
 *       Start a tree of NPROC processes and return once all of them have
 *       filled their memory, leaving the tree running in a session of its
 *       own. Process i's parent is process (i-1)/2 (a binary tree). If
 *       SHARED_MIB > 0, the root first maps SHARED_MIB MiB of
 *       MAP_SHARED|MAP_ANONYMOUS memory, fills it, and every process
 *       inherits it. Then each process maps MIB MiB of private anonymous
 *       memory after the fork and fills it with its own data, so no page is
 *       shared copy-on-write. NPROC 1 is a single process.
 *
 * Every byte of the filled memory is written (a pattern that is never an
 * all-zero page), so it is all resident before DIR/pids (one pid a line,
 * the root first) appears and the starting process exits 0.
 *
 * On SIGUSR1 a process checks its memory against the pattern and writes
 * DIR/verify.PID: "OK ..." or "BAD ..." naming the first differing page,
 * and the inode of its shared region as /proc/self/map_files shows it.
 * Nothing goes to the terminal: stdin, stdout and stderr are /dev/null and
 * errors go to DIR/log.
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

#define MIB (1024UL * 1024)
#define PAGE 4096UL
#define MAX_PROCS 64
#define SHARED_SEED 0x5eedULL

/* A small shared page for the set-up handshake, apart from the measured
 * memory. */
struct control {
	uint32_t ready;
	uint32_t pid[MAX_PROCS];
};

static const char *dir;
static int me, nproc;
static size_t priv_len, shared_len;
static unsigned char *priv, *shared;
static struct control *ctl;
static int ready_fd = -1;
static volatile sig_atomic_t want_verify;

static void on_usr1(int sig) { want_verify = 1; }

static void logf_(const char *fmt, ...)
{
	char line[512], path[4200];
	va_list ap;
	int n, fd;

	n = snprintf(line, sizeof(line), "[%d task %d] ", getpid(), me);
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

static void __attribute__((noreturn)) die(const char *what)
{
	logf_("%s: %s", what, strerror(errno));
	_exit(1);
}

/*
 * The pattern: word w of page p holds mix(seed, p) + w * odd constant. One
 * multiply-xorshift per page and an add per word keep the fill fast, and
 * the words of a page are all different and non-zero in practice, so a page
 * that was lost (read back as zeroes) or taken from elsewhere shows.
 */
static uint64_t page_key(uint64_t seed, uint64_t page)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + page + 1;

	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 29;
	return x | 1;
}

#define STEP 0x9e3779b97f4a7c15ULL

static void fill(unsigned char *buf, size_t len, uint64_t seed)
{
	for (size_t p = 0; p < len / PAGE; p++) {
		uint64_t *w = (uint64_t *)(buf + p * PAGE), k = page_key(seed, p);

		for (size_t i = 0; i < PAGE / 8; i++)
			w[i] = k + i * STEP;
	}
}

/* The number of pages that differ from the pattern; the first in *first. */
static size_t check(const unsigned char *buf, size_t len, uint64_t seed, size_t *first)
{
	size_t bad = 0;

	for (size_t p = 0; p < len / PAGE; p++) {
		const uint64_t *w = (const uint64_t *)(buf + p * PAGE);
		uint64_t k = page_key(seed, p), diff = 0;

		for (size_t i = 0; i < PAGE / 8; i++)
			diff |= w[i] ^ (k + i * STEP);
		if (diff && !bad++)
			*first = p;
	}
	return bad;
}

/* The inode of the object mapped at addr, by /proc/self/map_files. */
static unsigned long map_ino(const void *addr)
{
	struct stat st;

	return vl_map_stat(addr, &st) ? st.st_ino : 0;
}

/* SIGUSR1: check this process's memory and say what was found. */
static void verify(void)
{
	char text[512], name[64];
	size_t first_p = 0, first_s = 0, bad_p, bad_s = 0;
	int n;

	bad_p = check(priv, priv_len, me + 1, &first_p);
	if (shared)
		bad_s = check(shared, shared_len, SHARED_SEED, &first_s);
	n = snprintf(text, sizeof(text), "%s", bad_p || bad_s ? "BAD" : "OK");
	if (bad_p)
		n += snprintf(text + n, sizeof(text) - n, " private: %zu of %zu pages differ, the first at +%#zx;",
			      bad_p, priv_len / PAGE, first_p * PAGE);
	if (bad_s)
		n += snprintf(text + n, sizeof(text) - n, " shared: %zu of %zu pages differ, the first at +%#zx;",
			      bad_s, shared_len / PAGE, first_s * PAGE);
	snprintf(text + n, sizeof(text) - n, " shared_ino=%lu\n", shared ? map_ino(shared) : 0UL);
	snprintf(name, sizeof(name), "verify.%d", getpid());
	if (vl_write_file(dir, name, text) < 0)
		logf_("cannot write %s: %s", name, strerror(errno));
}

static void __attribute__((noreturn)) serve(void)
{
	sigset_t wait_mask;

	sigprocmask(SIG_SETMASK, NULL, &wait_mask);
	sigdelset(&wait_mask, SIGUSR1);
	for (;;) {
		sigsuspend(&wait_mask);
		if (want_verify) {
			want_verify = 0;
			verify();
		}
	}
}

/* Process number i: fork its children, then build its own memory. */
static void __attribute__((noreturn)) task(int i)
{
	me = i;
	for (int c = 2 * i + 1; c <= 2 * i + 2 && c < nproc; c++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			/* Only the root may hold the ready pipe. */
			close(ready_fd);
			ready_fd = -1;
			task(c);
		}
	}
	/* Mapped and filled after the fork: nothing is shared copy-on-write. */
	priv = mmap(NULL, priv_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (priv == MAP_FAILED)
		die("mmap of the private memory");
	fill(priv, priv_len, me + 1);
	ctl->pid[me] = getpid();
	__atomic_add_fetch(&ctl->ready, 1, __ATOMIC_SEQ_CST);

	if (me == 0) {
		char text[MAX_PROCS * 16];
		size_t n = 0;
		int t;

		/* Filling takes a while: wait up to 120 s for every process. */
		for (t = 0; t < 12000 && __atomic_load_n(&ctl->ready, __ATOMIC_SEQ_CST) < (uint32_t)nproc; t++)
			nanosleep(&(struct timespec){ 0, 10000000 }, NULL);
		if (ctl->ready < (uint32_t)nproc) {
			logf_("only %u of %d processes became ready", ctl->ready, nproc);
			_exit(1);
		}
		for (t = 0; t < nproc; t++)
			n += snprintf(text + n, sizeof(text) - n, "%u\n", ctl->pid[t]);
		if (vl_write_file(dir, "pids", text) < 0)
			die("writing the pids file");
		(void)!write(ready_fd, "R", 1);
		close(ready_fd);
		ready_fd = -1;
	}
	serve();
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmd_memcpy(size_t mib, int reps)
{
	size_t len = mib * MIB;
	unsigned char *src = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned char *dst = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t;

	if (src == MAP_FAILED || dst == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	fill(src, len, 1);
	memset(dst, 1, len);
	memcpy(dst, src, len);  /* warm-up */
	t = now();
	for (int i = 0; i < reps; i++) {
		memcpy(dst, src, len);
		/* Keep the compiler from dropping copies whose result is
		 * never read. */
		__asm__ __volatile__("" : : "r"(dst) : "memory");
	}
	t = now() - t;
	printf("%.2f\n", (double)len * reps / t / 1e9);
	return 0;
}

/* The same copy into memory mapped afresh each time: the kernel must find,
 * zero and map every destination page, as it must for a restored task's
 * memory. On a virtual machine that first touch can cost more than the
 * copy. */
static int cmd_memcpy_fresh(size_t mib, int reps)
{
	size_t len = mib * MIB;
	unsigned char *src = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	double t, total = 0;

	if (src == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	fill(src, len, 1);
	for (int i = 0; i < reps; i++) {
		unsigned char *dst = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (dst == MAP_FAILED) {
			perror("mmap");
			return 1;
		}
		t = now();
		memcpy(dst, src, len);
		__asm__ __volatile__("" : : "r"(dst) : "memory");
		total += now() - t;
		munmap(dst, len);
	}
	printf("%.2f\n", (double)len * reps / total / 1e9);
	return 0;
}

static int cmd_tree(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	int pipefd[2], fd;
	sigset_t block;
	char c = 0;
	pid_t pid;

	/* SIGUSR1 stays blocked outside sigsuspend(): an early one waits. */
	sigemptyset(&block);
	sigaddset(&block, SIGUSR1);
	sigprocmask(SIG_BLOCK, &block, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		perror("pipe");
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		perror("fork");
		return 1;
	}
	if (pid > 0) {
		/* The starting process: wait for the root's word. */
		close(pipefd[1]);
		while (read(pipefd[0], &c, 1) < 0 && errno == EINTR)
			;
		if (c != 'R') {
			fprintf(stderr, "bench-mem: the tree did not start; see %s/log\n", dir);
			return 1;
		}
		return 0;
	}

	close(pipefd[0]);
	ready_fd = pipefd[1];
	setsid();
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	ctl = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ctl == MAP_FAILED)
		die("mmap of the control page");
	if (shared_len) {
		shared = mmap(NULL, shared_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (shared == MAP_FAILED)
			die("mmap of the shared memory");
		fill(shared, shared_len, SHARED_SEED);
	}
	task(0);
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s memcpy|memcpy-fresh MIB REPS\n       %s tree DIR NPROC MIB SHARED_MIB\n",
		argv0, argv0);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "memcpy-fresh"))
		return cmd_memcpy_fresh(strtoul(argv[2], NULL, 10), atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "memcpy")) {
		long mib = atol(argv[2]), reps = atol(argv[3]);

		if (mib <= 0 || reps <= 0)
			return usage(argv[0]);
		return cmd_memcpy(mib, reps);
	}
	if (argc == 6 && !strcmp(argv[1], "tree")) {
		long n = atol(argv[3]), m = atol(argv[4]), s = atol(argv[5]);

		if (n < 1 || n > MAX_PROCS || m < 1 || s < 0)
			return usage(argv[0]);
		dir = argv[2];
		nproc = n;
		priv_len = m * MIB;
		shared_len = s * MIB;
		return cmd_tree();
	}
	return usage(argv[0]);
}
