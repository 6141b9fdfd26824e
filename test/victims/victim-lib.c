/* The victim side of the test protocol; see victim.h. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
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

/* Room for a path in the scratch directory. */
#define PATH_BUF (sizeof(dir) + 256)

const char *vl_dir(void) { return dir; }

/* The path of name in the scratch directory, into buf (of PATH_BUF bytes):
 * the protocol's own files, written with no malloc. */
static char *path_in(char *buf, const char *name)
{
	snprintf(buf, PATH_BUF, "%s/%s", dir, name);
	return buf;
}

char *vl_path(const char *name)
{
	char *p = malloc(PATH_BUF);

	if (!p) {
		vl_log("no memory for a path");
		_exit(2);
	}
	return path_in(p, name);
}

static void append_file(const char *name, const char *text)
{
	char path[PATH_BUF];
	int fd = open(path_in(path, name), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

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

void vl_die(const char *what)
{
	vl_fail("%s: %s", what, strerror(errno));
	vl_exit();
}

bool vl_failed(void) { return failed; }

static void on_usr1(int sig) { got_usr1 = 1; }

void vl_init(int argc, char **argv)
{
	const char *d = getenv("CRL_TEST_DIR");
	struct sigaction sa = { .sa_handler = on_usr1 };
	char path[PATH_BUF];
	sigset_t set;
	int fd;

	if (!d || !*d) {
		fprintf(stderr, "%s: CRL_TEST_DIR must name a scratch directory\n", argv[0]);
		exit(2);
	}
	snprintf(dir, sizeof(dir), "%s", d);

	/* Nothing inherited from the test beyond 0, 1, 2 (bats holds its own
	 * files at 3 and up): first, before the protocol opens its pipe. */
	syscall(SYS_close_range, 3, ~0U, 0);

	fd = open("/dev/null", O_RDONLY);
	if (fd >= 0 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
	fd = open(path_in(path, "victim.log"), O_WRONLY | O_APPEND | O_CREAT, 0644);
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
	char line[256], tmp[PATH_BUF], path[PATH_BUF];
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

	fd = open(path_in(tmp, "pids.tmp"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, pids_text, pids_len) != (ssize_t)pids_len) {
		vl_fail("cannot write the pids file");
		exit(2);
	}
	close(fd);
	rename(tmp, path_in(path, "pids"));
	fd = open(path_in(path, "ready"), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
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

/* The end of every task: wait for the children, and the root writes the
 * verdict. */
static void finish(void)
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
		char tmp[PATH_BUF], path[PATH_BUF];
		char *why = vl_read_file(path_in(path, "failures"), NULL);
		int fd = open(path_in(tmp, "verdict.tmp"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd >= 0) {
			const char *v = failed ? "FAIL\n" : "PASS\n";

			(void)!write(fd, v, strlen(v));
			if (why)
				(void)!write(fd, why, strlen(why));
			close(fd);
			rename(tmp, path_in(path, "verdict"));
		}
		free(why);
		vl_log("verdict: %s", failed ? "FAIL" : "PASS");
	}
}

void vl_exit(void)
{
	finish();
	_exit(failed ? 1 : 0);
}

void vl_exit_status(int code)
{
	finish();
	if (failed)
		_exit(1);
	vl_log("exiting with status %d", code);
	_exit(code);
}

void vl_exit_signal(int sig)
{
	finish();
	if (failed)
		_exit(1);
	vl_log("killing myself with signal %d", sig);
	signal(sig, SIG_DFL);
	kill(getpid(), sig);
	vl_sleep_ms(5000);
	_exit(1);
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

ssize_t vl_read_into(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n - 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
		if (n + 1 == cap) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	buf[n] = '\0';
	return n;
}

int vl_write_file(const char *where, const char *name, const char *text)
{
	char path[PATH_BUF], tmp[PATH_BUF + 32];
	size_t len = strlen(text);
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", where, name);
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	ok = write(fd, text, len) == (ssize_t)len;
	close(fd);
	if (!ok || rename(tmp, path) < 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

uint64_t vl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

void vl_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

bool vl_map_stat(const void *addr, struct stat *st)
{
	/* /proc/self/maps a chunk at a time, on the stack: no malloc. */
	char buf[8192];
	unsigned long a = (unsigned long)addr;
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	size_t have = 0;

	if (fd < 0)
		return false;
	for (;;) {
		ssize_t r = read(fd, buf + have, sizeof(buf) - 1 - have);
		char *line = buf, *nl;

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		have += r;
		while ((nl = memchr(line, '\n', buf + have - line))) {
			unsigned long s, e;

			*nl = '\0';
			if (sscanf(line, "%lx-%lx", &s, &e) == 2 && a >= s && a < e) {
				char path[96];

				snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", s, e);
				close(fd);
				return stat(path, st) == 0;
			}
			line = nl + 1;
		}
		/* Keep the start of a line that the next read completes; a line
		 * longer than buf (it cannot be: a path is at most 4096) is
		 * dropped. */
		have -= line - buf;
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1)
			have = 0;
	}
	close(fd);
	return false;
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

bool vl_expect_bytes(const char *what, const void *buf, const void *want, size_t len)
{
	const unsigned char *a = buf, *b = want;

	for (size_t i = 0; i < len; i++)
		if (a[i] != b[i]) {
			vl_fail("%s: byte %zu of %zu is %#x, expected %#x", what, i, len, a[i], b[i]);
			return false;
		}
	return true;
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

char *vl_map_guarded(size_t pages, int prot, const char *what)
{
	char *p = mmap(NULL, (pages + 2) * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + 4096, pages * 4096, prot) < 0)
		vl_die(what);
	return p + 4096;
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

/* --- identity and signals of the task ----------------------------------- */

void vl_ids_save(struct vl_ids *ids)
{
	ids->pid = getpid();
	ids->ppid = getppid();
	ids->pgid = getpgid(0);
	ids->sid = getsid(0);
}

bool vl_ids_check(const struct vl_ids *ids, bool check_ppid, bool check_groups)
{
	struct vl_ids now;
	bool ok = true;

	vl_ids_save(&now);
	if (now.pid != ids->pid)
		ok = false, vl_fail("getpid() is %d, was %d before the dump", now.pid, ids->pid);
	if (check_ppid && now.ppid != ids->ppid)
		ok = false, vl_fail("getppid() is %d, was %d before the dump", now.ppid, ids->ppid);
	if (check_groups && now.pgid != ids->pgid)
		ok = false, vl_fail("getpgid() is %d, was %d before the dump", now.pgid, ids->pgid);
	if (check_groups && now.sid != ids->sid)
		ok = false, vl_fail("getsid() is %d, was %d before the dump", now.sid, ids->sid);
	return ok;
}

bool vl_expect_sigmask(const char *what, const sigset_t *want)
{
	sigset_t now;
	char diff[512] = "";
	size_t n = 0;

	sigprocmask(SIG_SETMASK, NULL, &now);
	for (int sig = 1; sig < 65 && n < sizeof(diff) - 40; sig++)
		if (sigismember(&now, sig) != sigismember(want, sig))
			n += snprintf(diff + n, sizeof(diff) - n, " %d(%s)", sig,
				      sigismember(&now, sig) ? "blocked, was not" : "not blocked, was");
	if (!n)
		return true;
	vl_fail("%s: the blocked-signal mask differs:%s", what, diff);
	return false;
}

/* --- meeting of the tasks, through files --------------------------------- */

int vl_gather(const char *name, const char *text, int n, struct vl_entry *out)
{
	char file[256], prefix[256];
	uint64_t deadline = vl_now_ms() + 20000;
	int found = 0;

	snprintf(file, sizeof(file), "gather-%s-%d", name, getpid());
	snprintf(prefix, sizeof(prefix), "gather-%s-", name);
	if (vl_write_file(dir, file, text) < 0) {
		vl_fail("round %s: cannot write %s", name, file);
		return 0;
	}
	for (;;) {
		DIR *d = opendir(dir);
		struct dirent *de;

		found = 0;
		while (d && (de = readdir(d))) {
			char path[PATH_BUF];

			if (strncmp(de->d_name, prefix, strlen(prefix)) || strstr(de->d_name, ".tmp"))
				continue;
			if (found < n) {
				out[found].pid = atoi(de->d_name + strlen(prefix));
				if (vl_read_into(path_in(path, de->d_name), out[found].text, sizeof(out[found].text)) < 0)
					out[found].text[0] = '\0';
			}
			found++;
		}
		if (d)
			closedir(d);
		if (found >= n)
			return n;
		if (vl_now_ms() > deadline) {
			vl_fail("round %s: only %d of %d tasks came within 20 s", name, found, n);
			return found;
		}
		vl_sleep_ms(5);
	}
}

/* --- file descriptors ------------------------------------------------------ */

void vl_move_fd(int fd, int target)
{
	if (fd == target)
		return;
	if (dup2(fd, target) != target) {
		vl_fail("dup2(%d, %d): %s", fd, target, strerror(errno));
		exit(2);
	}
	close(fd);
}

void vl_add_flags(int fd, int flags)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | flags);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

void vl_expect_fds(const int *want, int n)
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
	for (int i = 0; i < n && nall < 256; i++)
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

void vl_expect_flags(const char *what, int fd, int acc, int on, int off, bool cloexec)
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

int vl_wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };
	int r;

	do
		r = poll(&p, 1, VL_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	return r;
}

bool vl_read_exact(const char *what, int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n;

		if (vl_wait_fd(fd, POLLIN) <= 0) {
			vl_fail("%s: %zu of %zu bytes came, then nothing for %d ms", what, got, len, VL_TIMEOUT_MS);
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

void vl_read_fill(const char *what, int fd, size_t len, uint64_t seed)
{
	char *buf = malloc(len), *want = malloc(len);

	vl_fill(want, len, seed);
	if (vl_read_exact(what, fd, buf, len))
		vl_expect_bytes(what, buf, want, len);
	free(buf);
	free(want);
}

void vl_expect_eof(const char *what, int fd)
{
	char c;
	ssize_t n;

	for (;;) {
		if (vl_wait_fd(fd, POLLIN) <= 0) {
			vl_fail("%s: no end of file within %d ms (a writer is left open)", what, VL_TIMEOUT_MS);
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

void vl_write_all(const char *what, int fd, const void *buf, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = write(fd, (const char *)buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			vl_wait_fd(fd, POLLOUT);
			continue;
		}
		if (n <= 0) {
			vl_fail("%s: write: %s", what, strerror(errno));
			return;
		}
		done += n;
	}
}

void vl_write_fill(const char *what, int fd, size_t len, uint64_t seed)
{
	char *buf = malloc(len);

	vl_fill(buf, len, seed);
	vl_write_all(what, fd, buf, len);
	free(buf);
}
