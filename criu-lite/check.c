/*
 * criu-lite check: does this kernel give what criu-lite needs?
 *
 * One line per feature, "  NAME  ok" or "  NAME  MISSING (reason)". Every
 * feature is probed for real, the way dump and restore use it, on
 * short-lived children this command forks and reaps itself: no other
 * process is ever touched. A missing required feature makes the command
 * fail; a missing optional one only says what criu-lite does without it.
 *
 * Each probe is a static function returning 0 or a negative errno, with the
 * reason (or, on success, an optional detail) written into a buffer.
 */
#include <fcntl.h>
#include <linux/kcmp.h>
#include <linux/userfaultfd.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "crl/log.h"
#include "crl/nl.h"
#include "crl/pages.h"
#include "crl/proc.h"
#include "crl/ptrace.h"
#include "crl/rsys.h"
#include "crl/util.h"
#include "tool.h"

/* clone3() arguments up to set_tid (CLONE_ARGS_SIZE_VER1); declared here
 * because glibc's headers do not, and <linux/sched.h> clashes with them. */
struct clone3_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls;
	uint64_t set_tid, set_tid_size;
};


/* Write the reason of a failed probe (%m is strerror(-err)) and return err. */
static int fail(char *why, size_t len, int err, const char *fmt, ...) _printf_(4, 5);
static int fail(char *why, size_t len, int err, const char *fmt, ...)
{
	va_list ap;

	errno = -err;
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return err;
}

/* --- children to probe on ------------------------------------------------- */

/*
 * A child of ours: it runs a setup function, reports its result and one
 * value through a pipe, then waits to be killed. The write end of that pipe
 * stays open in the child under the same fd number, which gives the pidfd
 * probe a descriptor whose identity the parent knows.
 */
struct child {
	pid_t pid;
	uint64_t value;   /* what setup reported */
	int report_fd;    /* the child's write end of the report pipe */
	int pipe_rd;      /* our read end of it */
};
#define CHILD_NONE { .pid = -1, .report_fd = -1, .pipe_rd = -1 }

struct report {
	int32_t err;
	uint64_t value;
};

/* Wait for our child pid to be gone, whatever stops come first. */
static void reap(pid_t pid)
{
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, __WALL);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status))
			return;
	}
}

static void child_stop(struct child *c)
{
	if (c->pid > 0) {
		/* SIGKILL also ends a traced, stopped child. */
		kill(c->pid, SIGKILL);
		reap(c->pid);
		c->pid = -1;
	}
	closep(&c->pipe_rd);
}

/* Fork a child that runs setup (may be NULL) and then pauses. Returns 0,
 * the error setup reported, or -errno. */
static int child_start(int (*setup)(uint64_t *value), struct child *c)
{
	struct report rep = { 0 };
	pid_t parent = getpid();
	int p[2], r;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return negative_errno();
	fflush(stdout);
	c->pid = fork();
	if (c->pid < 0) {
		r = negative_errno();
		close(p[0]);
		close(p[1]);
		return r;
	}
	if (c->pid == 0) {
		close(p[0]);
		/* Never outlive check, even if it is killed mid-probe. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		rep.err = setup ? setup(&rep.value) : 0;
		if (write(p[1], &rep, sizeof(rep)) != sizeof(rep))
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	c->report_fd = p[1];
	c->pipe_rd = p[0];
	/* One small write on a pipe arrives whole; 0 bytes: the child died. */
	do
		n = read(c->pipe_rd, &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
	if (n != sizeof(rep))
		return n < 0 ? negative_errno() : -ECHILD;
	c->value = rep.value;
	return rep.err;
}

/* Start a child and seize it as dump does. */
static int child_start_seized(struct child *c, char *why, size_t len)
{
	struct crl_stop_info info;
	int r;

	r = child_start(NULL, c);
	if (r < 0)
		return fail(why, len, r, "cannot fork a child: %m");
	r = crl_ptrace_seize(c->pid, PTRACE_O_TRACESYSGOOD, &info, 5000);
	if (r < 0)
		return fail(why, len, r, "PTRACE_SEIZE + PTRACE_INTERRUPT of child %d: %m", c->pid);
	return 0;
}

/* --- the probes --------------------------------------------------------------- */

static int probe_ptrace(char *why, size_t len)
{
	_cleanup_(child_stop) struct child c = CHILD_NONE;

	return child_start_seized(&c, why, len);
}

static int probe_rsys(char *why, size_t len)
{
	_cleanup_(child_stop) struct child c = CHILD_NONE;
	_cleanup_(crl_vma_list_free) struct crl_vma_list vmas = { 0 };
	struct crl_rsys rs;
	uint64_t ip;
	long ret;
	int r;

	r = child_start_seized(&c, why, len);
	if (r < 0)
		return r;
	r = crl_vmas_read(c.pid, &vmas);
	if (r < 0)
		return fail(why, len, r, "cannot read the VMAs of child %d: %m", c.pid);
	r = crl_rsys_find_syscall(c.pid, &vmas, &ip);
	if (r < 0)
		return fail(why, len, r, "no syscall instruction found in child %d: %m", c.pid);
	r = crl_rsys_init(&rs, c.pid, ip);
	if (r < 0)
		return fail(why, len, r, "cannot read the registers of child %d: %m", c.pid);
	r = crl_rsys_call(&rs, &ret, SYS_getpid);
	if (r < 0)
		return fail(why, len, r, "remote getpid() in child %d: %m", c.pid);
	r = crl_rsys_fini(&rs);
	if (r < 0)
		return fail(why, len, r, "cannot restore the registers of child %d: %m", c.pid);
	if (ret != c.pid)
		return fail(why, len, -EIO, "remote getpid() returned %ld, not %d", ret, c.pid);
	return 0;
}

/* Child side: a shared anonymous page holding a known text. */
static const char map_files_text[] = "criu-lite check: map_files";

static int setup_shared_anon(uint64_t *value)
{
	void *p = mmap(NULL, CRL_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return negative_errno();
	memcpy(p, map_files_text, sizeof(map_files_text));
	*value = (uintptr_t)p;
	return 0;
}

static int probe_map_files(char *why, size_t len)
{
	_cleanup_(child_stop) struct child c = CHILD_NONE;
	_cleanup_close_ int fd = -1, memfd = -1;
	char path[96], buf[sizeof(map_files_text)];
	struct stat st, fst, mst;
	int r;

	r = child_start(setup_shared_anon, &c);
	if (r < 0)
		return fail(why, len, r, "cannot start a child with a shared mapping: %m");
	/* The kernel names the entry "%lx-%lx", no leading zeroes. */
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", c.pid,
		 (unsigned long long)c.value, (unsigned long long)c.value + CRL_PAGE_SIZE);
	if (stat(path, &st) < 0)
		return fail(why, len, negative_errno(), "stat %s: %m", path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(why, len, negative_errno(), "open %s: %m", path);
	if (fstat(fd, &fst) < 0)
		return fail(why, len, negative_errno(), "fstat %s: %m", path);
	if (fst.st_dev != st.st_dev || fst.st_ino != st.st_ino)
		return fail(why, len, -EIO, "open and stat of %s disagree on the object", path);
	/* The object itself: what the child wrote is there. */
	r = crl_pread_all(fd, buf, sizeof(buf), 0);
	if (r < 0)
		return fail(why, len, r, "read %s: %m", path);
	if (memcmp(buf, map_files_text, sizeof(buf)))
		return fail(why, len, -EIO, "%s does not read what the child wrote", path);
	/* A shmem inode lives on the kernel's internal shm mount, like a memfd. */
	memfd = memfd_create("criu-lite-check", MFD_CLOEXEC);
	if (memfd >= 0 && fstat(memfd, &mst) == 0 && mst.st_dev != st.st_dev)
		return fail(why, len, -EIO, "%s is on device %u:%u, memfds on %u:%u: not a shmem inode",
			    path, major(st.st_dev), minor(st.st_dev), major(mst.st_dev),
			    minor(mst.st_dev));
	snprintf(why, len, "shmem inode %u:%u %llu", major(st.st_dev), minor(st.st_dev),
		 (unsigned long long)st.st_ino);
	return 0;
}

static int probe_procmap_query(char *why, size_t len)
{
	_cleanup_(crl_vma_list_free) struct crl_vma_list vmas = { 0 };
	int r;

	r = crl_vmas_read(getpid(), &vmas);
	if (r < 0)
		return fail(why, len, r, "cannot read our own VMAs: %m");
	if (!crl_procmap_query_works())
		return fail(why, len, -ENOTTY, "the ioctl is not there (Linux < 6.11)");
	return 0;
}

static int probe_pagemap(char *why, size_t len)
{
	struct crl_zero_pfns z;
	int r;

	r = crl_zero_pfns_detect(&z);
	if (r == -ENOTSUP)
		return fail(why, len, r, "/proc/PID/pagemap hides PFNs (needs CAP_SYS_ADMIN)");
	if (r < 0)
		return fail(why, len, r, "/proc/self/pagemap: %m");
	if (z.huge_pfn)
		snprintf(why, len, "zero page pfn %#llx, huge zero page pfn %#llx",
			 (unsigned long long)z.pfn, (unsigned long long)z.huge_pfn);
	else
		snprintf(why, len, "zero page pfn %#llx", (unsigned long long)z.pfn);
	return 0;
}

/* Child side: a private page filled with a pattern. */
static int setup_pattern(uint64_t *value)
{
	unsigned char *p = mmap(NULL, CRL_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
				-1, 0);

	if (p == MAP_FAILED)
		return negative_errno();
	for (size_t i = 0; i < CRL_PAGE_SIZE; i++)
		p[i] = i * 7;
	*value = (uintptr_t)p;
	return 0;
}

static int probe_vm_rw(char *why, size_t len)
{
	_cleanup_(child_stop) struct child c = CHILD_NONE;
	unsigned char buf[CRL_PAGE_SIZE], back[CRL_PAGE_SIZE];
	int r;

	r = child_start(setup_pattern, &c);
	if (r < 0)
		return fail(why, len, r, "cannot start a child: %m");
	r = crl_mem_read(c.pid, c.value, buf, sizeof(buf));
	if (r < 0)
		return fail(why, len, r, "process_vm_readv of child %d: %m", c.pid);
	for (size_t i = 0; i < sizeof(buf); i++)
		if (buf[i] != (unsigned char)(i * 7))
			return fail(why, len, -EIO, "process_vm_readv read wrong data at byte %zu", i);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = ~buf[i];
	r = crl_mem_write(c.pid, c.value, buf, sizeof(buf));
	if (r < 0)
		return fail(why, len, r, "process_vm_writev of child %d: %m", c.pid);
	r = crl_mem_read(c.pid, c.value, back, sizeof(back));
	if (r < 0)
		return fail(why, len, r, "process_vm_readv of child %d: %m", c.pid);
	if (memcmp(buf, back, sizeof(buf)))
		return fail(why, len, -EIO, "process_vm_writev did not change the child's page");
	return 0;
}

/*
 * clone3 with set_tid: fork a child that exits at once, reap it, and ask
 * for its pid back. Another process may take the pid in between (EEXIST):
 * try again with a fresh one a few times.
 */
static int probe_clone3(char *why, size_t len)
{
	int r = 0;

	for (int attempt = 0; attempt < 5; attempt++) {
		struct clone3_args args = { .exit_signal = SIGCHLD, .set_tid_size = 1 };
		pid_t want, got;

		fflush(stdout);
		want = fork();
		if (want < 0)
			return fail(why, len, negative_errno(), "fork: %m");
		if (want == 0)
			_exit(0);
		reap(want);

		args.set_tid = (uintptr_t)&want;
		got = syscall(SYS_clone3, &args, sizeof(args));
		if (got == 0)
			/* The new child: glibc knows nothing of it; leave at once. */
			syscall(SYS_exit_group, 0);
		if (got < 0) {
			r = negative_errno();
			if (r == -EEXIST)
				continue;
			return fail(why, len, r, "clone3 with set_tid %d: %m", want);
		}
		reap(got);
		if (got != want)
			return fail(why, len, -EIO, "clone3 with set_tid %d made pid %d", want, got);
		return 0;
	}
	return fail(why, len, r, "clone3 with set_tid: the pid was taken every time (%m)");
}

static int probe_pidfd(char *why, size_t len)
{
	_cleanup_(child_stop) struct child c = CHILD_NONE;
	_cleanup_close_ int pidfd = -1, fd = -1;
	struct stat ours, theirs;
	int r;

	r = child_start(NULL, &c);
	if (r < 0)
		return fail(why, len, r, "cannot start a child: %m");
	pidfd = syscall(SYS_pidfd_open, c.pid, 0);
	if (pidfd < 0)
		return fail(why, len, negative_errno(), "pidfd_open of child %d: %m", c.pid);
	fd = syscall(SYS_pidfd_getfd, pidfd, c.report_fd, 0);
	if (fd < 0)
		return fail(why, len, negative_errno(), "pidfd_getfd of fd %d of child %d: %m",
			    c.report_fd, c.pid);
	/* It is the child's end of the pipe we read from. */
	if (fstat(fd, &theirs) < 0 || fstat(c.pipe_rd, &ours) < 0)
		return fail(why, len, negative_errno(), "fstat: %m");
	if (!S_ISFIFO(theirs.st_mode) || theirs.st_ino != ours.st_ino || theirs.st_dev != ours.st_dev)
		return fail(why, len, -EIO, "pidfd_getfd returned another file than the child's");
	return 0;
}

/* Child side of PR_SET_MM_MAP: set the mm fields to what they are now.
 * Returns 0 or -errno. */
static int set_own_mm_map(unsigned size)
{
	_cleanup_free_ uint64_t *auxv = NULL;
	struct crl_proc_stat st;
	struct prctl_mm_map map;
	size_t nr;
	int r;

	r = crl_proc_stat_read(getpid(), &st);
	if (r < 0)
		return r;
	r = crl_proc_auxv(getpid(), &auxv, &nr);
	if (r < 0)
		return r;
	map = (struct prctl_mm_map){
		.start_code = st.start_code,
		.end_code = st.end_code,
		.start_data = st.start_data,
		.end_data = st.end_data,
		.start_brk = st.start_brk,
		.brk = (uintptr_t)sbrk(0),
		.start_stack = st.start_stack,
		.arg_start = st.arg_start,
		.arg_end = st.arg_end,
		.env_start = st.env_start,
		.env_end = st.env_end,
		.auxv = (__u64 *)auxv,
		.auxv_size = nr * sizeof(*auxv),
		.exe_fd = (__u32)-1,  /* leave /proc/PID/exe alone */
	};
	if (prctl(PR_SET_MM, PR_SET_MM_MAP, &map, size, 0) < 0)
		return negative_errno();
	return 0;
}

static int probe_set_mm_map(char *why, size_t len)
{
	unsigned size = 0;
	int status;
	pid_t pid;

	if (prctl(PR_SET_MM, PR_SET_MM_MAP_SIZE, &size, 0, 0) < 0)
		return fail(why, len, negative_errno(), "PR_SET_MM_MAP_SIZE: %m");
	if (size != sizeof(struct prctl_mm_map))
		return fail(why, len, -EPROTO, "the kernel's struct prctl_mm_map has %u bytes, ours %zu",
			    size, sizeof(struct prctl_mm_map));
	/* In a child: PR_SET_MM_MAP changes the calling process. */
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return fail(why, len, negative_errno(), "fork: %m");
	if (pid == 0)
		_exit(-set_own_mm_map(size) & 0xff);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return fail(why, len, negative_errno(), "waitpid: %m");
	if (!WIFEXITED(status))
		return fail(why, len, -EIO, "the probing child died of signal %d", WTERMSIG(status));
	if (WEXITSTATUS(status))
		return fail(why, len, -WEXITSTATUS(status), "PR_SET_MM_MAP: %m");
	return 0;
}

static int probe_rseq(char *why, size_t len)
{
	_cleanup_(child_stop) struct child c = CHILD_NONE;
	struct crl_rseq_conf conf;
	int r;

	r = child_start_seized(&c, why, len);
	if (r < 0)
		return r;
	r = crl_ptrace_get_rseq(c.pid, &conf);
	if (r < 0)
		return fail(why, len, r, "PTRACE_GET_RSEQ_CONFIGURATION: %m");
	if (conf.ptr)
		snprintf(why, len, "the child has %u bytes registered", conf.size);
	else
		snprintf(why, len, "the child has none registered");
	return 0;
}

static int probe_vdso(char *why, size_t len)
{
	static const char *const names[] = { "[vvar]", "[vvar_vclock]", "[vdso]" };
	_cleanup_(crl_vma_list_free) struct crl_vma_list vmas = { 0 };
	size_t used = 0;
	bool vdso = false;
	int r;

	r = crl_vmas_read(getpid(), &vmas);
	if (r < 0)
		return fail(why, len, r, "cannot read our own VMAs: %m");
	why[0] = '\0';
	for (size_t i = 0; i < vmas.nr; i++) {
		const struct crl_vma *v = &vmas.v[i];

		for (size_t n = 0; n < ARRAY_SIZE(names); n++) {
			if (!v->name || strcmp(v->name, names[n]))
				continue;
			if (n == 2)
				vdso = true;
			if (used < len)
				used += snprintf(why + used, len - used, "%s%s %llu KiB", used ? ", " : "",
						 names[n], (unsigned long long)(v->end - v->start) >> 10);
		}
	}
	if (!vdso)
		return fail(why, len, -ENOENT, "no [vdso] in our own address space");
	return 0;
}

static int probe_memfd(char *why, size_t len)
{
	_cleanup_close_ int fd = memfd_create("criu-lite-check", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	char buf[8] = "memfd";
	int seals;

	if (fd < 0)
		return fail(why, len, negative_errno(), "memfd_create: %m");
	if (crl_write_all(fd, buf, sizeof(buf)) < 0 || crl_pread_all(fd, buf, sizeof(buf), 0) < 0 ||
	    strcmp(buf, "memfd"))
		return fail(why, len, -EIO, "a memfd does not read back what was written");
	/* Restore puts the dumped seals back. */
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0)
		return fail(why, len, negative_errno(), "F_GET_SEALS: %m");
	return 0;
}

/* Dump skips the holes of shared memory objects with SEEK_DATA/SEEK_HOLE. */
static int probe_seek_data(char *why, size_t len)
{
	_cleanup_close_ int fd = memfd_create("criu-lite-check", MFD_CLOEXEC);
	char byte = 1;
	off_t data, hole;

	if (fd < 0)
		return fail(why, len, negative_errno(), "memfd_create: %m");
	if (ftruncate(fd, 3 * CRL_PAGE_SIZE) < 0)
		return fail(why, len, negative_errno(), "ftruncate: %m");
	if (crl_pwrite_all(fd, &byte, 1, CRL_PAGE_SIZE) < 0)
		return fail(why, len, -EIO, "cannot write into a memfd");
	data = lseek(fd, 0, SEEK_DATA);
	if (data < 0)
		return fail(why, len, negative_errno(), "SEEK_DATA: %m");
	hole = lseek(fd, data, SEEK_HOLE);
	if (hole < 0)
		return fail(why, len, negative_errno(), "SEEK_HOLE: %m");
	if (data != (off_t)CRL_PAGE_SIZE || hole != (off_t)(2 * CRL_PAGE_SIZE))
		return fail(why, len, -EIO, "data found at %lld-%lld, written at %lu-%lu", (long long)data,
			    (long long)hole, CRL_PAGE_SIZE, 2 * CRL_PAGE_SIZE);
	return 0;
}

static int probe_kcmp(char *why, size_t len)
{
	_cleanup_close_ int a = open("/dev/null", O_RDONLY | O_CLOEXEC), b = -1, other = -1;
	pid_t me = getpid();
	long same, diff;

	if (a < 0)
		return fail(why, len, negative_errno(), "open /dev/null: %m");
	b = fcntl(a, F_DUPFD_CLOEXEC, 0);
	other = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (b < 0 || other < 0)
		return fail(why, len, negative_errno(), "cannot open files to compare: %m");
	same = syscall(SYS_kcmp, me, me, KCMP_FILE, a, b);
	if (same < 0)
		return fail(why, len, negative_errno(), "kcmp: %m");
	diff = syscall(SYS_kcmp, me, me, KCMP_FILE, a, other);
	if (diff < 0)
		return fail(why, len, negative_errno(), "kcmp: %m");
	if (same != 0 || diff == 0)
		return fail(why, len, -EIO, "kcmp answers %ld for one file and %ld for two", same, diff);
	return 0;
}

static int probe_userfaultfd(char *why, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	_cleanup_close_ int fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return fail(why, len, negative_errno(), "userfaultfd: %m");
	if (ioctl(fd, UFFDIO_API, &api) < 0)
		return fail(why, len, negative_errno(), "UFFDIO_API: %m");
	return 0;
}

struct scan_seen {
	uint64_t start[4];
	int nr;
};

static int scan_note(void *arg, uint64_t start, uint64_t nr)
{
	struct scan_seen *seen = arg;

	(void)nr;
	if (seen->nr < (int)ARRAY_SIZE(seen->start))
		seen->start[seen->nr] = start;
	seen->nr++;
	return 0;
}

/* Dump finds the pages to save with PAGEMAP_SCAN (crl_pagemap_scan). */
static int probe_pagemap_scan(char *why, size_t len)
{
	_cleanup_close_ int fd = crl_pagemap_open(getpid());
	struct scan_seen seen = { 0 };
	bool guard;
	char *p;
	int r;

	if (fd < 0)
		return fail(why, len, fd, "/proc/self/pagemap: %s", strerror(-fd));
	p = mmap(NULL, 4 * CRL_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return fail(why, len, negative_errno(), "mmap: %m");
	/* Two present pages with a hole between them: two runs. */
	p[0] = 1;
	p[2 * CRL_PAGE_SIZE] = 1;
	r = crl_pagemap_scan(fd, (uintptr_t)p, (uintptr_t)p + 4 * CRL_PAGE_SIZE, false, scan_note, &seen, &guard);
	munmap(p, 4 * CRL_PAGE_SIZE);
	if (r < 0)
		return fail(why, len, r, "PAGEMAP_SCAN: %s (dump reads pagemap instead)", strerror(-r));
	if (seen.nr != 2 || seen.start[0] != (uintptr_t)p || seen.start[1] != (uintptr_t)p + 2 * CRL_PAGE_SIZE)
		return fail(why, len, -EIO, "PAGEMAP_SCAN found %d runs of present pages, not the 2 made", seen.nr);
	return 0;
}

/* Dump finds the children of a task in /proc/PID/task/TID/children. */
static int probe_children(char *why, size_t len)
{
	_cleanup_(child_stop) struct child c = CHILD_NONE;
	_cleanup_free_ pid_t *kids = NULL;
	size_t nr;
	int r;

	r = child_start(NULL, &c);
	if (r < 0)
		return fail(why, len, r, "cannot start a child: %m");
	/* check is single-threaded: the main thread is the parent. */
	r = crl_proc_children(getpid(), getpid(), &kids, &nr);
	if (r < 0)
		return fail(why, len, r, "/proc/self/task/%d/children: %m", getpid());
	for (size_t i = 0; i < nr; i++)
		if (kids[i] == c.pid)
			return 0;
	return fail(why, len, -EIO, "child %d is not listed", c.pid);
}

struct probe {
	const char *name;
	int (*run)(char *why, size_t len);
	/* NULL: required. Otherwise what criu-lite does without it. */
	const char *without;
};

/* unix_diag through libnl must see both ends of a socketpair of ours, each
 * naming the other as its peer: that is how a dump pairs sockets. */
static int probe_unix_diag(char *why, size_t len)
{
	struct crl_unix_table t = { 0 };
	const struct crl_unix_sk *a, *b;
	struct stat sa, sb;
	int sv[2], r;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return fail(why, len, negative_errno(), "socketpair: %m");
	if (fstat(sv[0], &sa) < 0 || fstat(sv[1], &sb) < 0) {
		r = fail(why, len, negative_errno(), "fstat: %m");
		goto out;
	}
	r = crl_unix_diag_all(&t);
	if (r < 0) {
		r = fail(why, len, r, "NETLINK_SOCK_DIAG: %m");
		goto out;
	}
	a = crl_unix_find(&t, sa.st_ino);
	b = crl_unix_find(&t, sb.st_ino);
	if (!a || !b || a->peer_ino != sb.st_ino || b->peer_ino != sa.st_ino)
		r = fail(why, len, -EIO, "a socketpair is not reported with its peers");
	else
		snprintf(why, len, "%zu unix sockets listed", t.nr);
	crl_unix_table_free(&t);
out:
	close(sv[0]);
	close(sv[1]);
	return r;
}

static const struct probe probes[] = {
	{ "ptrace seize/interrupt", probe_ptrace, NULL },
	{ "remote syscall", probe_rsys, NULL },
	{ "/proc/PID/task/TID/children", probe_children, NULL },
	{ "/proc/PID/map_files", probe_map_files, NULL },
	{ "PROCMAP_QUERY", probe_procmap_query, "VMAs are parsed from smaps" },
	{ "pagemap PFNs", probe_pagemap, NULL },
	{ "process_vm_readv/writev", probe_vm_rw, NULL },
	{ "clone3 set_tid", probe_clone3, NULL },
	{ "pidfd_open/pidfd_getfd", probe_pidfd, NULL },
	{ "PR_SET_MM_MAP", probe_set_mm_map, NULL },
	{ "rseq configuration", probe_rseq, "rseq registrations are not dumped nor restored" },
	{ "vDSO layout", probe_vdso, NULL },
	{ "memfd_create", probe_memfd, NULL },
	{ "SEEK_DATA on shmem", probe_seek_data, NULL },
	{ "kcmp KCMP_FILE", probe_kcmp, NULL },
	{ "sock_diag unix_diag (libnl)", probe_unix_diag, NULL },
	{ "userfaultfd", probe_userfaultfd, "not used yet (lazy restore)" },
	{ "PAGEMAP_SCAN", probe_pagemap_scan, "dump reads the whole pagemap instead (slower for sparse memory)" },
};

/**
 * cmd_check() - probe the kernel for every feature criu-lite uses.
 * @o: the options; check takes none of its own.
 *
 * Prints one line per feature on standard output and a verdict.
 *
 * Return: 0 when every required feature works, -EOPNOTSUPP (after logging
 * which are missing) otherwise.
 */
int cmd_check(const struct crl_opts *o)
{
	char missing[512] = "";
	size_t used = 0;
	struct utsname u;
	int width = 0;

	if (o->nr_args)
		log_warn("check takes no operands; ignoring them");
	if (uname(&u) == 0)
		printf("Linux %s %s\n", u.release, u.machine);
	/* map_files, PFNs and set_tid need privileges: say so before the
	 * MISSING lines that would otherwise blame the kernel. */
	if (geteuid() != 0)
		printf("(not running as root: features that need privileges show as missing)\n");
	for (size_t i = 0; i < ARRAY_SIZE(probes); i++)
		width = MAX(width, (int)strlen(probes[i].name));

	for (size_t i = 0; i < ARRAY_SIZE(probes); i++) {
		const struct probe *p = &probes[i];
		char why[512] = "";
		int r = p->run(why, sizeof(why));

		printf("  %-*s  ", width, p->name);
		if (r >= 0 && why[0])
			printf("ok (%s)\n", why);
		else if (r >= 0)
			printf("ok\n");
		else if (p->without)
			printf("MISSING (%s; optional: %s)\n", why, p->without);
		else
			printf("MISSING (%s)\n", why);
		fflush(stdout);
		if (r < 0 && !p->without && used < sizeof(missing))
			used += snprintf(missing + used, sizeof(missing) - used, "%s%s", used ? ", " : "",
					 p->name);
	}
	if (missing[0])
		return log_error_errno(-EOPNOTSUPP,
				       "criu-lite cannot checkpoint and restore on this kernel: missing %s",
				       missing);
	printf("criu-lite can checkpoint and restore on this kernel\n");
	return 0;
}
