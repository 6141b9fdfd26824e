/* The victim side of the test protocol; see victim.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "victim.h"

#define MAX_CHILDREN 64

static char dir[4096];
static bool failed;
static volatile sig_atomic_t got_usr1;
static pid_t children[MAX_CHILDREN];
static bool expendable[MAX_CHILDREN];
static int nr_children;
static bool is_root = true;
static int ready_pipe[2] = { -1, -1 };
static char pids_text[16384];
static size_t pids_len;

const char *vl_dir(void) { return dir; }

const char *vl_path(const char *name)
{
	static char buf[8][4200];
	static int i;
	char *p = buf[i++ % 8];

	snprintf(p, sizeof(buf[0]), "%s/%s", dir, name);
	return p;
}

static void append_file(const char *name, const char *text)
{
	int fd = open(vl_path(name), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return;
	(void)!write(fd, text, strlen(text));
	close(fd);
}

static void vlog(const char *prefix, const char *fmt, va_list ap)
{
	char line[2048];
	int n = snprintf(line, sizeof(line), "[%d] %s", getpid(), prefix);

	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	strcat(line, "\n");
	append_file("victim.log", line);
}

void vl_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("", fmt, ap);
	va_end(ap);
}

void vl_fail(const char *fmt, ...)
{
	va_list ap;
	char line[2048];
	int n;

	failed = true;
	va_start(ap, fmt);
	vlog("FAIL: ", fmt, ap);
	va_end(ap);
	va_start(ap, fmt);
	n = snprintf(line, sizeof(line), "FAIL [%d]: ", getpid());
	vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	append_file("failures", line);
}

bool vl_failed(void) { return failed; }

static void on_usr1(int sig) { got_usr1 = 1; }

void vl_init(int argc, char **argv)
{
	const char *d = getenv("CRL_TEST_DIR");
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigset_t set;
	int fd;

	if (!d || !*d) {
		fprintf(stderr, "%s: CRL_TEST_DIR must name a scratch directory\n", argv[0]);
		exit(2);
	}
	snprintf(dir, sizeof(dir), "%s", d);

	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
	fd = open(vl_path("victim.log"), O_WRONLY | O_APPEND | O_CREAT, 0644);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	setvbuf(stdout, NULL, _IONBF, 0);

	/* SIGUSR1 stays blocked except inside vl_wait(): a signal that comes
	 * early is kept pending, not lost. */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	sigaction(SIGUSR1, &sa, NULL);

	if (pipe2(ready_pipe, O_CLOEXEC) < 0) {
		perror("pipe");
		exit(2);
	}
	pids_len = snprintf(pids_text, sizeof(pids_text), "%d %d root\n", getpid(), getppid());
	vl_log("victim %s started", argv[0]);
}

pid_t vl_fork(const char *role, void (*fn)(void *arg), void *arg)
{
	pid_t pid;

	if (nr_children == MAX_CHILDREN) {
		vl_fail("too many children");
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		vl_fail("fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		char line[128];

		is_root = false;
		nr_children = 0;
		memset(expendable, 0, sizeof(expendable));
		/* Children report their role through the ready pipe; the root
		 * collects the lines into the pids file. */
		snprintf(line, sizeof(line), "R%d %d %s\n", getpid(), getppid(), role);
		(void)!write(ready_pipe[1], line, strlen(line));
		fn(arg);
		vl_exit();
	}
	children[nr_children++] = pid;
	return pid;
}

/* Read one '\n'-terminated line from the ready pipe. */
static int read_line(int fd, char *buf, size_t len)
{
	size_t n = 0;

	while (n + 1 < len) {
		ssize_t r = read(fd, buf + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		if (buf[n++] == '\n')
			break;
	}
	buf[n] = '\0';
	return 0;
}

void vl_ready(void)
{
	char line[256];
	int expected = 0, readies = 0, fd;

	if (!is_root) {
		/* "D" = this task's state is built */
		snprintf(line, sizeof(line), "D%d\n", getpid());
		(void)!write(ready_pipe[1], line, strlen(line));
		close(ready_pipe[0]);
		close(ready_pipe[1]);
		ready_pipe[0] = ready_pipe[1] = -1;
		return;
	}
	close(ready_pipe[1]);
	ready_pipe[1] = -1;
	/* Every child writes one R line when forked and one D line when
	 * ready; read until every R has its D and all writers are gone. */
	while (read_line(ready_pipe[0], line, sizeof(line)) == 0) {
		if (line[0] == 'R') {
			expected++;
			if (pids_len < sizeof(pids_text) - 128)
				pids_len += snprintf(pids_text + pids_len, sizeof(pids_text) - pids_len,
						     "%s", line + 1);
		} else if (line[0] == 'D') {
			readies++;
		}
	}
	close(ready_pipe[0]);
	ready_pipe[0] = -1;
	if (readies != expected)
		vl_fail("only %d of %d tasks reported ready", readies, expected);

	fd = open(vl_path("pids.tmp"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, pids_text, pids_len) != (ssize_t)pids_len) {
		vl_fail("cannot write the pids file");
		exit(2);
	}
	close(fd);
	rename(vl_path("pids.tmp"), vl_path("pids"));
	fd = open(vl_path("ready"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	close(fd);
	vl_log("tree ready");
}

void vl_wait(void)
{
	sigset_t wait_mask;

	sigprocmask(SIG_SETMASK, NULL, &wait_mask);
	sigdelset(&wait_mask, SIGUSR1);
	while (!got_usr1)
		sigsuspend(&wait_mask);
	got_usr1 = 0;
	for (int i = 0; i < nr_children; i++)
		if (kill(children[i], SIGUSR1) < 0)
			vl_fail("cannot signal child %d: %s", children[i], strerror(errno));
	vl_log("woken up");
}

void vl_exit(void)
{
	for (int i = 0; i < nr_children; i++) {
		int status;
		pid_t r;

		do
			r = waitpid(children[i], &status, 0);
		while (r < 0 && errno == EINTR);
		if (r < 0)
			vl_fail("waitpid(%d): %s", children[i], strerror(errno));
		else if (expendable[i])
			vl_log("expendable child %d ended (status %#x)", children[i], status);
		else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			vl_fail("child %d %s %d", children[i], WIFEXITED(status) ? "exited with" : "killed by",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	}
	if (is_root) {
		char *why = vl_read_file(vl_path("failures"), NULL);
		int fd = open(vl_path("verdict.tmp"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd >= 0) {
			const char *v = failed ? "FAIL\n" : "PASS\n";

			(void)!write(fd, v, strlen(v));
			if (why)
				(void)!write(fd, why, strlen(why));
			close(fd);
			rename(vl_path("verdict.tmp"), vl_path("verdict"));
		}
		free(why);
		vl_log("verdict: %s", failed ? "FAIL" : "PASS");
	}
	_exit(failed ? 1 : 0);
}

bool vl_wait_for(volatile uint64_t *p, uint64_t want, int timeout_ms)
{
	struct timespec ts = { 0, 1000000 };

	for (int i = 0; i < timeout_ms; i++) {
		if (*p == want)
			return true;
		nanosleep(&ts, NULL);
	}
	return *p == want;
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

void vl_fill(void *buf, size_t len, uint64_t seed)
{
	unsigned char *p = buf;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = mix(seed + i);

		memcpy(p + i, &v, len - i < 8 ? len - i : 8);
	}
}

bool vl_check(const void *buf, size_t len, uint64_t seed)
{
	const unsigned char *p = buf;

	for (size_t i = 0; i < len; i += 8) {
		uint64_t v = mix(seed + i);

		if (memcmp(p + i, &v, len - i < 8 ? len - i : 8))
			return false;
	}
	return true;
}

char *vl_read_file(const char *path, size_t *len)
{
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || !buf) {
		if (fd >= 0)
			close(fd);
		free(buf);
		return NULL;
	}
	for (;;) {
		ssize_t r;

		if (n + 1 == cap) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

int vl_map_ident(const void *addr, uint64_t *dev, uint64_t *ino)
{
	char *maps = vl_read_file("/proc/self/maps", NULL), *line;
	unsigned long a = (unsigned long)addr;
	int r = -1;

	for (line = maps; line && *line;) {
		unsigned long s, e;
		char *nl = strchr(line, '\n');

		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && a >= s && a < e) {
			char path[128];
			struct stat st;

			snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", s, e);
			if (stat(path, &st) == 0) {
				*dev = st.st_dev;
				*ino = st.st_ino;
				r = 0;
			}
			break;
		}
		line = nl ? nl + 1 : NULL;
	}
	free(maps);
	return r;
}

void vl_expendable(pid_t child)
{
	for (int i = 0; i < nr_children; i++)
		if (children[i] == child)
			expendable[i] = true;
}

/* The first page (of at most page size) that differs; -1 if none. */
static long first_bad_page(const unsigned char *p, size_t len, const unsigned char *want_zero,
			   uint64_t seed, size_t *nr_bad)
{
	long first = -1;

	*nr_bad = 0;
	for (size_t off = 0; off < len; off += 4096) {
		size_t n = len - off < 4096 ? len - off : 4096;
		bool ok;

		if (want_zero) {
			ok = true;
			for (size_t i = 0; i < n && ok; i++)
				ok = p[off + i] == 0;
		} else {
			ok = vl_check(p + off, n, seed + off);
		}
		if (!ok) {
			if (first < 0)
				first = off;
			(*nr_bad)++;
		}
	}
	return first;
}

bool vl_expect_fill(const char *what, const void *buf, size_t len, uint64_t seed)
{
	size_t bad;
	long first = first_bad_page(buf, len, NULL, seed, &bad);

	if (first < 0)
		return true;
	vl_fail("%s: %zu of %zu pages differ from the pattern, the first at %p (offset %#lx)", what, bad,
		(len + 4095) / 4096, (const char *)buf + first, first);
	return false;
}

bool vl_expect_zero(const char *what, const void *buf, size_t len)
{
	static const unsigned char zero;
	size_t bad;
	long first = first_bad_page(buf, len, &zero, 0, &bad);

	if (first < 0)
		return true;
	vl_fail("%s: %zu of %zu pages should hold zeroes, the first at %p (offset %#lx)", what, bad,
		(len + 4095) / 4096, (const char *)buf + first, first);
	return false;
}

struct maps_line {
	unsigned long start, end, offset;
	char perms[8];
	char name[1024];
};

/* Find the line of maps whose VMA holds addr. */
static bool maps_find(const char *maps, unsigned long addr, struct maps_line *ret)
{
	for (const char *line = maps; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		char buf[1200];
		int name_at = 0;

		if (n >= sizeof(buf))
			n = sizeof(buf) - 1;
		memcpy(buf, line, n);
		buf[n] = '\0';
		line = nl ? nl + 1 : NULL;
		if (sscanf(buf, "%lx-%lx %7s %lx %*x:%*x %*u%n", &ret->start, &ret->end, ret->perms,
			   &ret->offset, &name_at) < 4 || !name_at)
			continue;
		if (addr < ret->start || addr >= ret->end)
			continue;
		while (buf[name_at] == ' ')
			name_at++;
		snprintf(ret->name, sizeof(ret->name), "%s", buf + name_at);
		return true;
	}
	return false;
}

bool vl_expect_vma(const char *maps, const char *what, const void *start, size_t len,
		   const char *perms, uint64_t offset, const char *name)
{
	char *own = maps ? NULL : vl_read_file("/proc/self/maps", NULL);
	unsigned long s = (unsigned long)start;
	struct maps_line l;
	bool ok = false;

	if (!maps)
		maps = own;
	if (!maps)
		vl_fail("%s: cannot read /proc/self/maps", what);
	else if (!maps_find(maps, s, &l))
		vl_fail("%s: no VMA at %#lx in /proc/self/maps", what, s);
	else if (l.start != s || l.end != s + len || strcmp(l.perms, perms) || l.offset != offset ||
		 (name && strcmp(l.name, name)))
		vl_fail("%s: /proc/self/maps has %lx-%lx %s %08lx '%s', expected %lx-%lx %s %08lx '%s'", what,
			l.start, l.end, l.perms, l.offset, l.name, s, s + len, perms,
			(unsigned long)offset, name ? name : "(any)");
	else
		ok = true;
	free(own);
	return ok;
}

bool vl_expect_perms(const char *maps, const char *what, const void *addr, const char *perms)
{
	char *own = maps ? NULL : vl_read_file("/proc/self/maps", NULL);
	struct maps_line l;
	bool ok = false;

	if (!maps)
		maps = own;
	if (!maps || !maps_find(maps, (unsigned long)addr, &l))
		vl_fail("%s: no VMA at %p in /proc/self/maps", what, addr);
	else if (strcmp(l.perms, perms))
		vl_fail("%s: the VMA %lx-%lx at %p is %s, expected %s", what, l.start, l.end, addr, l.perms,
			perms);
	else
		ok = true;
	free(own);
	return ok;
}

int vl_vma_has_flag(const void *start, const char *flag)
{
	char *smaps = vl_read_file("/proc/self/smaps", NULL);
	char head[32];
	const char *p;
	int r = -1;

	if (!smaps)
		return -1;
	/* Find the VMA's header line, then its VmFlags line. */
	snprintf(head, sizeof(head), "\n%lx-", (unsigned long)start);
	p = strncmp(smaps, head + 1, strlen(head + 1)) ? strstr(smaps, head) : smaps;
	if (p)
		p = strstr(p + 1, "\nVmFlags:");
	if (p) {
		p += strlen("\nVmFlags:");
		r = 0;
		while (*p && *p != '\n') {
			size_t n;

			while (*p == ' ')
				p++;
			n = strcspn(p, " \n");
			if (n && n == strlen(flag) && !strncmp(p, flag, n))
				r = 1;
			p += n;
		}
	}
	free(smaps);
	return r;
}

int vl_map_link(const void *addr, char *buf, size_t len)
{
	char *maps = vl_read_file("/proc/self/maps", NULL);
	struct maps_line l;
	char path[128];
	ssize_t n = -1;

	buf[0] = '\0';
	if (maps && maps_find(maps, (unsigned long)addr, &l)) {
		snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", l.start, l.end);
		n = readlink(path, buf, len - 1);
		if (n >= 0)
			buf[n] = '\0';
	}
	free(maps);
	return n < 0 ? -1 : 0;
}
