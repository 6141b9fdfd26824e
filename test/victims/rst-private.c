/*
 * rst-private: the private memory of a 3-level tree (root, child,
 * grandchild) and the mm fields around it, checked after a restore.
 *
 * Each task builds its own, after forking:
 *   - private anonymous memory, 64 pages: pages 0-39 filled, 40-47 never
 *     touched (zeroes, never dumped), 48-63 filled and then made read-only
 *     (a second VMA, r--p);
 *   - a heap: 300 small malloc() blocks and one of 512 KiB (which malloc
 *     maps on its own), all filled;
 *   - 16 pages got with sbrk(), filled;
 *   - the grandchild renames itself (PR_SET_NAME) and rewrites its argv[1]
 *     in place, so its cmdline differs from the others'.
 * The root leads a session of its own, the child a group of its own, the
 * grandchild is in the root's group.
 *
 * Recorded before vl_ready(): pid, ppid, pgid, sid, the blocked mask, the
 * personality (ADDR_NO_RANDOMIZE under setarch -R),
 * sbrk(0) and the kernel's brk, /proc/self/maps, cmdline, environ, auxv,
 * comm, the exe link and the mm fields of /proc/self/stat.
 *
 * After vl_wait() every task checks that all of it is unchanged (maps
 * compared line by line: rst-victim.h), every byte of its memory, that the
 * read-only part is still read-only, and that brk still grows and shrinks
 * from where it was.
 *
 * Options: --exit N: the root, once its checks passed and its children
 * exited 0, exits with status N (after writing the verdict: vl_exit_status);
 * --signal SIG: it kills itself with SIG instead (vl_exit_signal). Other arguments are ignored (the
 * test passes some to fill the cmdline).
 */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#include "rst-victim.h"

#define ANON_PAGES 64
#define ANON_FILLED 40
#define ANON_RO 48
#define NR_SMALL 300
#define BIG_SIZE (512 * 1024)
#define BRK_PAGES 16

static struct {
	int idx;
	uint64_t seed;
	char *anon;
	char *small[NR_SMALL];
	char *big;
	char *brk_area;
	void *sbrk0;
	long kbrk;
	struct vl_ids ids;
	sigset_t mask;
	int persona;
} st;

/* Before and after, in .bss: no allocation between the two snapshots. */
static char maps_before[1 << 18], maps_after[1 << 18];
static char cmdline[2][8192], environ_[2][65536], auxv[2][1024], comm[2][64], exe[2][4096], stat_[2][2048];
static ssize_t cmdline_len[2], environ_len[2], auxv_len[2];
static struct rv_inomap inomap;
static char **g_argv;

/* The mm fields of /proc/self/stat: startcode, endcode, startstack (26-28)
 * and start_data .. env_end (45-51), as text. */
static void mm_fields(char *out, size_t len)
{
	char buf[2048], *p;
	int field = 2;
	size_t n = 0;

	out[0] = '\0';
	if (vl_read_into("/proc/self/stat", buf, sizeof(buf)) < 0 || !(p = strrchr(buf, ')')))
		return;
	for (p++; *p && n < len - 32; field++) {
		char *end;
		unsigned long long v;

		while (*p == ' ')
			p++;
		v = strtoull(p, &end, 10);
		if (end == p)
			end = p + strcspn(p, " ");
		if ((field >= 26 && field <= 28) || (field >= 45 && field <= 51))
			n += snprintf(out + n, len - n, "%d=%llx ", field, v);
		p = end;
	}
}

static void snapshot(int i)
{
	ssize_t n;

	cmdline_len[i] = vl_read_into("/proc/self/cmdline", cmdline[i], sizeof(cmdline[i]));
	environ_len[i] = vl_read_into("/proc/self/environ", environ_[i], sizeof(environ_[i]));
	auxv_len[i] = vl_read_into("/proc/self/auxv", auxv[i], sizeof(auxv[i]));
	vl_read_into("/proc/self/comm", comm[i], sizeof(comm[i]));
	n = readlink("/proc/self/exe", exe[i], sizeof(exe[i]) - 1);
	exe[i][n < 0 ? 0 : n] = '\0';
	mm_fields(stat_[i], sizeof(stat_[i]));
}

static void build(int idx)
{
	st.idx = idx;
	st.seed = 0x5eed0000ULL * (idx + 1);

	/* Between two PROT_NONE guard pages: no neighbour merges with it. */
	st.anon = vl_map_guarded(ANON_PAGES, PROT_READ | PROT_WRITE, "anon");
	vl_fill(st.anon, ANON_FILLED * PG, st.seed);
	vl_fill(st.anon + ANON_RO * PG, (ANON_PAGES - ANON_RO) * PG, st.seed + 1);
	if (mprotect(st.anon + ANON_RO * PG, (ANON_PAGES - ANON_RO) * PG, PROT_READ) < 0)
		vl_die("mprotect anon");

	for (int i = 0; i < NR_SMALL; i++) {
		size_t len = 16 + (i * 37) % 500;

		st.small[i] = malloc(len);
		if (!st.small[i])
			vl_die("malloc");
		vl_fill(st.small[i], len, st.seed + 100 + i);
	}
	st.big = malloc(BIG_SIZE);
	if (!st.big)
		vl_die("malloc big");
	vl_fill(st.big, BIG_SIZE, st.seed + 2);

	st.brk_area = sbrk(BRK_PAGES * PG);
	if (st.brk_area == (void *)-1)
		vl_die("sbrk");
	vl_fill(st.brk_area, BRK_PAGES * PG, st.seed + 3);
	st.sbrk0 = sbrk(0);
	st.kbrk = syscall(SYS_brk, 0);

	if (idx == 2) {
		/* The grandchild: its own name and cmdline. */
		if (prctl(PR_SET_NAME, "crl-gchild") < 0)
			vl_die("PR_SET_NAME");
		if (g_argv[1])
			for (char *p = g_argv[1]; *p; p++)
				*p = 'A' + (p - g_argv[1]) % 26;
	}

	vl_ids_save(&st.ids);
	sigprocmask(SIG_SETMASK, NULL, &st.mask);
	st.persona = personality(0xffffffff);
	snapshot(0);
	rv_touch_stack();
	vl_read_into("/proc/self/maps", maps_before, sizeof(maps_before));
}

static void expect_same(const char *what, const char *a, ssize_t la, const char *b, ssize_t lb)
{
	if (la < 0 || lb < 0)
		vl_fail("%s: cannot be read (%zd bytes before, %zd after)", what, la, lb);
	else if (la != lb || memcmp(a, b, la)) {
		ssize_t i = 0;

		while (i < la && i < lb && a[i] == b[i])
			i++;
		vl_fail("%s differs: %zd bytes before, %zd after, first difference at byte %zd", what, la, lb, i);
	}
}

static void check(void)
{
	void *sbrk0;
	long kbrk;
	char *p;

	/* First, before anything can change them: the maps and the brk. */
	if (vl_read_into("/proc/self/maps", maps_after, sizeof(maps_after)) < 0)
		vl_fail("cannot read /proc/self/maps");
	else
		rv_maps_compare("/proc/self/maps", maps_before, maps_after, &inomap);
	sbrk0 = sbrk(0);
	kbrk = syscall(SYS_brk, 0);
	if (sbrk0 != st.sbrk0)
		vl_fail("sbrk(0) is %p, was %p", sbrk0, st.sbrk0);
	if (kbrk != st.kbrk)
		vl_fail("the kernel's brk is %#lx, was %#lx", kbrk, st.kbrk);
	/* brk still moves from where it was (before any malloc() of the
	 * checks can move it). */
	p = sbrk(4 * PG);
	if (p != st.sbrk0) {
		vl_fail("sbrk(4 pages) after the restore returned %p, expected %p (%m)", p, st.sbrk0);
	} else {
		if (syscall(SYS_brk, 0) != st.kbrk + (long)(4 * PG))
			vl_fail("the kernel's brk did not grow by 4 pages: %#lx", syscall(SYS_brk, 0));
		vl_expect_zero("memory sbrk() gave after the restore", p, 4 * PG);
		memset(p, 0x5a, 4 * PG);
		if (sbrk(-4 * (long)PG) == (void *)-1 || sbrk(0) != st.sbrk0)
			vl_fail("sbrk could not shrink back to %p", st.sbrk0);
	}

	vl_ids_check(&st.ids, st.idx != 0, true);
	vl_expect_sigmask("after the restore", &st.mask);
	if (personality(0xffffffff) != st.persona)
		vl_fail("personality is %#x, was %#x", personality(0xffffffff), st.persona);

	snapshot(1);
	expect_same("/proc/self/cmdline", cmdline[0], cmdline_len[0], cmdline[1], cmdline_len[1]);
	expect_same("/proc/self/environ", environ_[0], environ_len[0], environ_[1], environ_len[1]);
	expect_same("/proc/self/auxv", auxv[0], auxv_len[0], auxv[1], auxv_len[1]);
	if (strcmp(comm[0], comm[1]))
		vl_fail("/proc/self/comm is '%s', was '%s'", comm[1], comm[0]);
	if (strcmp(exe[0], exe[1]))
		vl_fail("/proc/self/exe is '%s', was '%s'", exe[1], exe[0]);
	if (strcmp(stat_[0], stat_[1]))
		vl_fail("mm fields of /proc/self/stat are '%s', were '%s'", stat_[1], stat_[0]);
	if (st.idx == 2 && g_argv[1] && g_argv[1][0] != 'A')
		vl_fail("the grandchild's rewritten argv[1] is '%s'", g_argv[1]);

	/* Memory. */
	vl_expect_fill("private anon, filled part", st.anon, ANON_FILLED * PG, st.seed);
	vl_expect_zero("private anon, never-touched part", st.anon + ANON_FILLED * PG,
		       (ANON_RO - ANON_FILLED) * PG);
	vl_expect_fill("private anon, read-only part", st.anon + ANON_RO * PG, (ANON_PAGES - ANON_RO) * PG,
		       st.seed + 1);
	vl_expect_vma(maps_after, "private anon, read-write part", st.anon, ANON_RO * PG, "rw-p", 0, "");
	vl_expect_vma(maps_after, "private anon, read-only part", st.anon + ANON_RO * PG, (ANON_PAGES - ANON_RO) * PG,
		      "r--p", 0, "");
	for (int i = 0; i < NR_SMALL; i++) {
		size_t len = 16 + (i * 37) % 500;

		if (!vl_check(st.small[i], len, st.seed + 100 + i)) {
			vl_fail("heap block %d (%p, %zu bytes) differs", i, st.small[i], len);
			break;
		}
	}
	vl_expect_fill("large malloc block", st.big, BIG_SIZE, st.seed + 2);
	vl_expect_fill("sbrk area", st.brk_area, BRK_PAGES * PG, st.seed + 3);

	/* and malloc works */
	p = malloc(100000);
	if (!p)
		vl_fail("malloc after the restore failed");
	else
		memset(p, 1, 100000);
	free(p);
}

static pid_t root_pid;

static void task(void *arg)
{
	int idx = (int)(intptr_t)arg;

	/* The child leads its own group; the grandchild, forked into it,
	 * moves to the root's group. */
	if (idx == 1 && setpgid(0, 0) < 0)
		vl_die("setpgid child");
	if (idx == 2 && setpgid(0, root_pid) < 0)
		vl_die("setpgid gchild");
	if (idx == 1)
		vl_fork("gchild", task, (void *)(intptr_t)2);
	build(idx);
	vl_ready();
	vl_wait();
	check();
}

int main(int argc, char **argv)
{
	int code = -1, sig = 0;

	/* The tree has its own session, led by the root: sessions and groups
	 * are then inside the tree and must come back as they were. */
	if (getsid(0) != getpid() && setsid() < 0) {
		perror("setsid");
		return 2;
	}
	root_pid = getpid();
	vl_init(argc, argv);
	g_argv = argv;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--exit") && i + 1 < argc)
			code = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--signal") && i + 1 < argc)
			sig = atoi(argv[++i]);
	}
	vl_fork("child", task, (void *)(intptr_t)1);
	build(0);
	vl_ready();
	vl_wait();
	check();
	if (sig)
		vl_exit_signal(sig);
	if (code >= 0)
		vl_exit_status(code);
	vl_exit();
}
