/*
 * many-vmas: two tasks (root and child) with close to 800 VMAs each.
 *
 * Before forking, the root builds (and the child inherits):
 *   - 600 one-page VMAs of private anonymous memory whose protections
 *     cycle rw-, r--, ---, r-x, every page filled before its mprotect (so
 *     the PROT_NONE pages hold data too);
 *   - 16 one-page read-write VMAs named by prctl(PR_SET_VMA_ANON_NAME),
 *     alternately "[anon:crl-even]" and "[anon:crl-odd]" (skipped when the
 *     kernel lacks anonymous VMA names);
 *   - 128 one-page windows on the file windows.dat, at scattered offsets:
 *     MAP_SHARED read-only, MAP_PRIVATE read-only, and MAP_PRIVATE
 *     read-write with a copy-on-write page written by the root;
 *   - a 16-page MAP_GROWSDOWN region with 4 MiB free below it.
 * After forking, the child rewrites every 40th page of the 600 (its own
 * copy-on-write pages).
 *
 * After vl_wait(), each task checks every VMA's /proc/self/maps line, every
 * page's contents (through /proc/self/mem, which reads PROT_NONE pages
 * too), that the growsdown region still has the "gd" flag and still grows
 * when the page below it is touched.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "victim.h"

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

#define PG 4096UL
#define MIX_PAGES 600
#define CHILD_EVERY 40 /* the child rewrites pages 0, 40, 80, ... (all rw-) */
#define NAMED_PAGES 16
#define WIN_PAGES 128
#define WIN_STRIDE 37 /* window j maps file page (j * 37) % 128 */
#define GD_PAGES 16
#define GD_HOLE_PAGES 1024

#define SEED(task, region) (((uint64_t)(task) + 1) << 48 | (uint64_t)(region) << 40)
enum { R_MIX = 1, R_MIX_CHILD, R_NAMED, R_WIN, R_WIN_COW, R_GD };

static const struct {
	int prot;
	const char *perms;
} cycle[4] = {
	{ PROT_READ | PROT_WRITE, "rw-p" },
	{ PROT_READ, "r--p" },
	{ PROT_NONE, "---p" },
	{ PROT_READ | PROT_EXEC, "r-xp" },
};

static char *mix, *named, *win, *gd;
static bool have_names;
static char *win_path;
static int mem_fd = -1;

static int win_kind(int j) { return j % 3; } /* 0 shared r, 1 private r, 2 private rw + COW */
static unsigned long win_pgoff(int j) { return (unsigned long)j * WIN_STRIDE % WIN_PAGES; }

static void build(void)
{
	char *p, *buf;
	int fd;

	/* 600 pages between two guards, filled, then given their protection */
	mix = vl_map_guarded(MIX_PAGES, PROT_READ | PROT_WRITE, "mix");
	vl_fill(mix, MIX_PAGES * PG, SEED(0, R_MIX));
	for (int i = 0; i < MIX_PAGES; i++)
		if (mprotect(mix + i * PG, PG, cycle[i % 4].prot) < 0)
			vl_die("mprotect mix page");

	/* named anonymous pages */
	named = vl_map_guarded(NAMED_PAGES, PROT_READ | PROT_WRITE, "named");
	vl_fill(named, NAMED_PAGES * PG, SEED(0, R_NAMED));
	have_names = true;
	for (int i = 0; i < NAMED_PAGES && have_names; i++)
		if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)(named + i * PG), PG,
			  (unsigned long)(i % 2 ? "crl-odd" : "crl-even")) < 0) {
			vl_log("no anonymous VMA names here (%m): not checked");
			have_names = false;
		}

	/* windows on a file */
	win_path = vl_path("windows.dat");
	buf = malloc(WIN_PAGES * PG);
	fd = open(win_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (!buf || fd < 0)
		vl_die("windows.dat");
	vl_fill(buf, WIN_PAGES * PG, SEED(0, R_WIN));
	if (pwrite(fd, buf, WIN_PAGES * PG, 0) != (ssize_t)(WIN_PAGES * PG))
		vl_die("write windows.dat");
	free(buf);
	win = vl_map_guarded(WIN_PAGES, PROT_NONE, "windows");
	for (int j = 0; j < WIN_PAGES; j++) {
		int k = win_kind(j);
		char *w = mmap(win + j * PG, PG, k == 2 ? PROT_READ | PROT_WRITE : PROT_READ,
			       (k == 0 ? MAP_SHARED : MAP_PRIVATE) | MAP_FIXED, fd, win_pgoff(j) * PG);

		if (w == MAP_FAILED)
			vl_die("mmap window");
		if (k == 2)
			vl_fill(w, PG, SEED(0, R_WIN_COW) + j * PG);
	}
	close(fd);

	/* growsdown, with room below to grow: the kernel keeps new mappings
	 * a stack guard gap away from it */
	p = mmap(NULL, GD_HOLE_PAGES * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || munmap(p, GD_HOLE_PAGES * PG) < 0)
		vl_die("mmap growsdown hole");
	gd = mmap(p + (GD_HOLE_PAGES - GD_PAGES) * PG, GD_PAGES * PG, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_FIXED_NOREPLACE, -1, 0);
	if (gd == MAP_FAILED)
		vl_die("mmap growsdown");
	vl_fill(gd, GD_PAGES * PG, SEED(0, R_GD));
}

/* Compare a page with the pattern, reading it through /proc/self/mem so
 * PROT_NONE pages can be read without changing the layout. */
static void expect_page(const char *what, const char *addr, uint64_t seed)
{
	static char buf[PG];

	if (pread(mem_fd, buf, PG, (off_t)(uintptr_t)addr) != (ssize_t)PG)
		vl_fail("%s: cannot read %p through /proc/self/mem: %m", what, addr);
	else if (!vl_check(buf, PG, seed))
		vl_fail("%s: the page at %p differs from the pattern", what, addr);
}

static sigjmp_buf probe_env;

static void on_segv(int sig)
{
	siglongjmp(probe_env, 1);
}

/* Touch the page below the growsdown region: it must grow, not fault. */
static void check_growth(void)
{
	struct sigaction sa = { .sa_handler = on_segv }, old_segv, old_bus;
	volatile char *below = gd - PG;

	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	if (sigsetjmp(probe_env, 1) == 0) {
		*below = 1;
		vl_expect_vma(NULL, "growsdown region after growing", gd - PG, (GD_PAGES + 1) * PG, "rw-p", 0,
			      "");
	} else {
		vl_fail("growsdown region: touching the page below it at %p faulted", (void *)below);
	}
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
}

static void check(int task)
{
	char *maps = vl_read_file("/proc/self/maps", NULL);
	char what[96];
	int n;

	mem_fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	if (!maps || mem_fd < 0) {
		vl_fail("cannot read /proc/self/maps or /proc/self/mem");
		return;
	}
	n = 0;
	for (char *p = maps; (p = strchr(p, '\n')); p++)
		n++;
	vl_log("%d VMAs", n);

	for (int i = 0; i < MIX_PAGES; i++) {
		snprintf(what, sizeof(what), "mixed page %d", i);
		vl_expect_vma(maps, what, mix + i * PG, PG, cycle[i % 4].perms, 0, "");
		if (task == 1 && i % CHILD_EVERY == 0)
			expect_page(what, mix + i * PG, SEED(1, R_MIX_CHILD) + i * PG);
		else
			expect_page(what, mix + i * PG, SEED(0, R_MIX) + i * PG);
	}
	vl_expect_perms(maps, "guard below the mixed pages", mix - PG, "---p");
	vl_expect_perms(maps, "guard above the mixed pages", mix + MIX_PAGES * PG, "---p");

	for (int i = 0; i < NAMED_PAGES; i++) {
		snprintf(what, sizeof(what), "named page %d", i);
		vl_expect_vma(maps, what, named + i * PG, have_names ? PG : NAMED_PAGES * PG, "rw-p", 0,
			      have_names ? (i % 2 ? "[anon:crl-odd]" : "[anon:crl-even]") : "");
		expect_page(what, named + i * PG, SEED(0, R_NAMED) + i * PG);
		if (!have_names)
			break;
	}
	if (!have_names)
		vl_expect_fill("named pages", named, NAMED_PAGES * PG, SEED(0, R_NAMED));

	for (int j = 0; j < WIN_PAGES; j++) {
		static const char *const perms[3] = { "r--s", "r--p", "rw-p" };

		snprintf(what, sizeof(what), "window %d (file page %lu)", j, win_pgoff(j));
		vl_expect_vma(maps, what, win + j * PG, PG, perms[win_kind(j)], win_pgoff(j) * PG, win_path);
		if (win_kind(j) == 2)
			expect_page(what, win + j * PG, SEED(0, R_WIN_COW) + j * PG);
		else
			expect_page(what, win + j * PG, SEED(0, R_WIN) + win_pgoff(j) * PG);
	}

	vl_expect_vma(maps, "growsdown region", gd, GD_PAGES * PG, "rw-p", 0, "");
	vl_expect_fill("growsdown region", gd, GD_PAGES * PG, SEED(0, R_GD));
	switch (vl_vma_has_flag(gd, "gd")) {
	case 1:
		check_growth();
		break;
	case 0:
		vl_fail("growsdown region at %p: no 'gd' in its VmFlags", gd);
		break;
	default:
		vl_fail("growsdown region at %p: not found in /proc/self/smaps", gd);
	}
	free(maps);
	close(mem_fd);
}

static void child(void *arg)
{
	for (int i = 0; i < MIX_PAGES; i += CHILD_EVERY)
		vl_fill(mix + i * PG, PG, SEED(1, R_MIX_CHILD) + i * PG);
	vl_ready();
	vl_wait();
	check(1);
}

int main(int argc, char **argv)
{
	vl_init(argc, argv);
	build();
	vl_fork("child", child, NULL);
	vl_ready();
	vl_wait();
	check(0);
	vl_exit();
}
