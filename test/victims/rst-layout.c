/*
 * rst-layout: an address space of 600+ VMAs, and its /proc/self/maps and
 * VmFlags line for line after a restore.
 *
 * The root builds, before forking (the child inherits it):
 *   - mix: 600 pages between two guards, in groups of one or two pages
 *     whose protections cycle rw-, r--, ---, r-x, -w-, rwx (each group
 *     written before its mprotect): 400 VMAs;
 *   - 40 regions of 4 read-write pages, each between PROT_NONE guards;
 *   - 10 pairs of adjacent read-write VMAs that the kernel keeps apart
 *     (each was written before mremap() made them neighbours: different
 *     anon_vmas), the trap of VMA merging at restore;
 *   - 30 windows on a file layout.dat, one or two pages at scattered
 *     offsets, separated by guards: MAP_SHARED r--, MAP_PRIVATE r--,
 *     MAP_PRIVATE rw- with a dirty page, MAP_SHARED rw-;
 *   - shared anonymous memory of 16 pages whose middle is read-only: three
 *     VMAs of one object; a memfd mapped whole and through a read-only
 *     window; an unlinked file mapped shared;
 *   - 8 anonymous VMAs named by PR_SET_VMA_ANON_NAME;
 *   - 7 regions with madvise() flags: DONTFORK (so the child lacks it),
 *     DONTDUMP, WIPEONFORK, HUGEPAGE, NOHUGEPAGE, RANDOM, SEQUENTIAL; one
 *     mlock()ed, one mlock2(MLOCK_ONFAULT)ed, one MAP_NORESERVE, one
 *     MADV_MERGEABLE;
 *   - a MAP_GROWSDOWN region of 8 pages with 2 MiB free below it, and two
 *     more with a VMA right below them and one page below them;
 * The child then changes its copy: mprotect()s 30 mix pages, unmaps 20,
 * maps 10 regions of its own and writes into inherited pages.
 *
 * Each task records /proc/self/maps and /proc/self/smaps just before
 * vl_ready() and compares them after vl_wait() (rst-victim.h): every line
 * equal, but the inodes of shared memory objects, which must map old to new
 * one-to-one, the same way in both tasks. Then it checks the contents of
 * the mix pages (through /proc/self/mem, which reads PROT_NONE pages too)
 * and that the growsdown region still grows.
 */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "rst-victim.h"

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

#define MIX_PAGES 600
#define NR_GUARDED 40
#define NR_TWINS 10
#define FILE_PAGES 64
#define NR_WINDOWS 30
#define NR_NAMED 8
#define GD_PAGES 8
#define GD_ROOM (2UL << 20)
#define SEED_MIX 0x31c0000ULL

static const struct {
	int prot;
} cycle[] = { { PROT_READ | PROT_WRITE }, { PROT_READ }, { PROT_NONE },
	      { PROT_READ | PROT_EXEC }, { PROT_WRITE }, { PROT_READ | PROT_WRITE | PROT_EXEC } };

static char *mix, *gd, *shanon, *guarded[NR_GUARDED];
static int idx;
static struct vl_ids ids;
static bool mix_gone[MIX_PAGES];
static char maps_before[1 << 20], maps_after[1 << 20];
static char smaps_before[4 << 20], smaps_after[4 << 20];
static struct rv_inomap inomap;

static void *map(void *at, size_t len, int prot, int flags, int fd, off_t off)
{
	void *p = mmap(at, len, prot, flags | (at ? MAP_FIXED : 0), fd, off);

	if (p == MAP_FAILED)
		vl_die("mmap");
	return p;
}

/* A PROT_NONE reservation of pages + 2 guards; returns the first inner page. */
static char *reserve(size_t pages)
{
	return vl_map_guarded(pages, PROT_NONE, "reserve");
}

static void build_mix(void)
{
	mix = reserve(MIX_PAGES);
	if (mprotect(mix, MIX_PAGES * PG, PROT_READ | PROT_WRITE) < 0)
		vl_die("mprotect mix");
	vl_fill(mix, MIX_PAGES * PG, SEED_MIX);
	for (int p = 0, g = 0; p < MIX_PAGES; g++) {
		int n = g % 2 + 1;

		if (p + n > MIX_PAGES)
			n = MIX_PAGES - p;
		if (mprotect(mix + p * PG, n * PG, cycle[g % 6].prot) < 0)
			vl_die("mprotect mix group");
		p += n;
	}
}

static void build_anon(void)
{
	for (int i = 0; i < NR_GUARDED; i++) {
		char *r = guarded[i] = reserve(4);

		if (mprotect(r, 4 * PG, PROT_READ | PROT_WRITE) < 0)
			vl_die("mprotect guarded");
		vl_fill(r, 4 * PG, 0x6a00 + i);
	}
	for (int i = 0; i < NR_TWINS; i++) {
		char *res = reserve(2), *b;

		map(res, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		res[0] = 1;
		b = map(NULL, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		b[0] = 2;
		if (mremap(b, PG, PG, MREMAP_MAYMOVE | MREMAP_FIXED, res + PG) == MAP_FAILED)
			vl_die("mremap twin");
	}
}

static void build_files(void)
{
	static char buf[FILE_PAGES * PG];
	char *path, *r;
	int fd;

	path = vl_path("layout.dat");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	vl_fill(buf, sizeof(buf), 0xf11e);
	if (fd < 0 || pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		vl_die("layout.dat");
	/* Windows two pages apart, a guard between each. */
	r = reserve(NR_WINDOWS * 3);
	for (int i = 0; i < NR_WINDOWS; i++) {
		int kind = i % 4, pages = i % 3 == 0 ? 2 : 1;
		off_t off = (off_t)((i * 7) % (FILE_PAGES - 2)) * PG;
		char *w = r + i * 3 * PG;

		if (kind == 0)
			map(w, pages * PG, PROT_READ, MAP_SHARED, fd, off);
		else if (kind == 1)
			map(w, pages * PG, PROT_READ, MAP_PRIVATE, fd, off);
		else if (kind == 2) {
			map(w, pages * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, off);
			w[0] = 'd';
		} else
			map(w, pages * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, off);
	}
	close(fd);
	free(path);

	/* Shared anonymous memory, three VMAs of one object. */
	shanon = map(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	vl_fill(shanon, 16 * PG, 0x5a);
	if (mprotect(shanon + 6 * PG, 4 * PG, PROT_READ) < 0)
		vl_die("mprotect shanon");

	/* A memfd, twice. */
	fd = memfd_create("crl-layout", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, 8 * PG) < 0)
		vl_die("memfd");
	vl_fill(map(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), 8 * PG, 0x3fd);
	map(NULL, 4 * PG, PROT_READ, MAP_SHARED, fd, 4 * PG);
	close(fd);

	/* An unlinked file. */
	path = vl_path("layout-unlinked.dat");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || pwrite(fd, buf, 4 * PG, 0) != (ssize_t)(4 * PG))
		vl_die("layout-unlinked.dat");
	map(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	unlink(path);
	free(path);
}

static void build_misc(void)
{
	static const int advice[] = { MADV_DONTFORK, MADV_DONTDUMP, MADV_WIPEONFORK, MADV_HUGEPAGE,
				      MADV_NOHUGEPAGE, MADV_RANDOM, MADV_SEQUENTIAL };
	char *r = reserve(NR_NAMED);
	char *low;

	if (mprotect(r, NR_NAMED * PG, PROT_READ | PROT_WRITE) < 0)
		vl_die("mprotect named");
	for (int i = 0; i < NR_NAMED; i++) {
		r[i * PG] = 1;
		if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)(r + i * PG), PG,
			  (unsigned long)(i % 2 ? "crl-odd" : "crl-even")) < 0 && i == 0)
			vl_log("PR_SET_VMA_ANON_NAME: %m: the kernel lacks anonymous VMA names");
	}
	for (size_t i = 0; i < sizeof(advice) / sizeof(advice[0]); i++) {
		char *a = reserve(4);

		if (mprotect(a, 4 * PG, PROT_READ | PROT_WRITE) < 0 || madvise(a, 4 * PG, advice[i]) < 0)
			vl_die("madvise");
		a[0] = 1;
	}

	/* Locked memory, locked on fault, not reserved, and mergeable (KSM,
	 * if the kernel has it). */
	{
		char *l = reserve(4), *f = reserve(4), *n, *k = reserve(4);

		if (mprotect(l, 4 * PG, PROT_READ | PROT_WRITE) < 0 || mlock(l, 4 * PG) < 0)
			vl_die("mlock");
		l[0] = 1;
		if (mprotect(f, 4 * PG, PROT_READ | PROT_WRITE) < 0 || mlock2(f, 4 * PG, MLOCK_ONFAULT) < 0)
			vl_die("mlock2");
		f[0] = 1;
		n = map(reserve(4), 4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		n[0] = 1;
		if (mprotect(k, 4 * PG, PROT_READ | PROT_WRITE) < 0)
			vl_die("mprotect mergeable");
		if (madvise(k, 4 * PG, MADV_MERGEABLE) < 0)
			vl_log("MADV_MERGEABLE: %m: no KSM here");
		k[0] = 1;
	}

	/* Growsdown, with room below it to grow. */
	low = map(NULL, GD_ROOM + GD_PAGES * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (munmap(low, GD_ROOM) < 0)
		vl_die("munmap below growsdown");
	gd = map(low + GD_ROOM, GD_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN,
		 -1, 0);
	vl_fill(gd, GD_PAGES * PG, 0x9d);

	/* Two more growsdown regions: one with a VMA right below it, one
	 * with a single free page below it (both inside the stack guard gap
	 * the kernel keeps for new mappings, so made with MAP_FIXED). */
	{
		char *r = map(NULL, 16 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		((char *)map(r, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0))[0] = 1;
		((char *)map(r + PG, 4 * PG, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0))[0] = 2;
		if (munmap(r + 5 * PG, PG) < 0)
			vl_die("munmap gap");
		map(r + 6 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (munmap(r + 7 * PG, PG) < 0)
			vl_die("munmap gap 2");
		((char *)map(r + 8 * PG, 4 * PG, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, -1, 0))[PG] = 3;
	}
}

/* The child's own changes to the layout it inherited. */
static void change_child(void)
{
	for (int i = 0; i < 30; i++) {
		int p = 5 + i * 19;

		if (mprotect(mix + p * PG, PG, i % 2 ? PROT_READ : PROT_NONE) < 0)
			vl_die("child mprotect");
	}
	for (int i = 0; i < 20; i++) {
		int p = 13 + i * 29;

		if (munmap(mix + p * PG, PG) < 0)
			vl_die("child munmap");
		mix_gone[p] = true;
	}
	for (int i = 0; i < 10; i++) {
		char *r = reserve(2);

		if (mprotect(r, 2 * PG, PROT_READ | PROT_WRITE) < 0)
			vl_die("child mprotect own");
		vl_fill(r, 2 * PG, 0xc0 + i);
	}
	/* Its own copies of inherited pages, with the same bytes. */
	for (int i = 0; i < NR_GUARDED; i += 2)
		vl_fill(guarded[i], 4 * PG, 0x6a00 + i);
}

static void snapshot(char *maps, size_t mlen, char *smaps, size_t slen)
{
	if (vl_read_into("/proc/self/maps", maps, mlen) < 0 || vl_read_into("/proc/self/smaps", smaps, slen) < 0)
		vl_fail("cannot read /proc/self/maps or smaps (too big?)");
}

static void check_mix(void)
{
	static char page[PG];
	int fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	int bad = 0;

	if (fd < 0) {
		vl_fail("open /proc/self/mem: %m");
		return;
	}
	for (int p = 0; p < MIX_PAGES; p++) {
		if (mix_gone[p])
			continue;
		if (pread(fd, page, PG, (off_t)(uintptr_t)(mix + p * PG)) != (ssize_t)PG) {
			if (bad++ < 5)
				vl_fail("mix page %d: cannot read it: %m", p);
		} else if (!vl_check(page, PG, SEED_MIX + p * PG)) {
			if (bad++ < 5)
				vl_fail("mix page %d (%p) differs", p, mix + p * PG);
		}
	}
	close(fd);
	if (bad)
		vl_fail("%d of the mix pages are wrong", bad);
}

static void check(void)
{
	struct vl_entry all[2];
	char text[256];
	size_t n = 0;

	snapshot(maps_after, sizeof(maps_after), smaps_after, sizeof(smaps_after));
	rv_maps_compare("/proc/self/maps", maps_before, maps_after, &inomap);
	rv_vmflags_compare("VmFlags of /proc/self/smaps", smaps_before, smaps_after);
	vl_ids_check(&ids, idx != 0, false);
	check_mix();
	vl_expect_fill("shared anon", shanon, 16 * PG, 0x5a);
	for (int i = 0; i < NR_GUARDED; i++)
		if (!vl_check(guarded[i], 4 * PG, 0x6a00 + i))
			vl_fail("guarded region %d at %p differs", i, guarded[i]);
	vl_expect_fill("growsdown region", gd, GD_PAGES * PG, 0x9d);
	if (vl_vma_has_flag(gd, "gd") != 1)
		vl_fail("the growsdown region at %p has lost its gd flag", gd);
	/* It still grows: touch the page below. */
	*(volatile char *)(gd - PG) = 1;
	vl_expect_perms(NULL, "the page below the growsdown region, after touching it", gd - PG, "rw-p");

	/* Both tasks saw each shared object become the same new one. */
	for (int i = 0; i < inomap.n && n < sizeof(text) - 48; i++)
		n += snprintf(text + n, sizeof(text) - n, "%lu>%lu ", inomap.old_ino[i], inomap.new_ino[i]);
	if (vl_gather("layout-shm", text, 2, all) == 2) {
		for (int t = 0; t < 2; t++) {
			const char *p = all[t].text;
			unsigned long o, nw;
			int k;
			char why[256];

			while (sscanf(p, "%lu>%lu %n", &o, &nw, &k) == 2) {
				if (!rv_inomap_add(&inomap, o, nw, why, sizeof(why)))
					vl_fail("task %d and this task: %s", all[t].pid, why);
				p += k;
			}
		}
	}
}

static void child(void *arg)
{
	idx = 1;
	change_child();
	vl_ids_save(&ids);
	rv_touch_stack();
	snapshot(maps_before, sizeof(maps_before), smaps_before, sizeof(smaps_before));
	vl_ready();
	vl_wait();
	check();
}

int main(int argc, char **argv)
{
	vl_init(argc, argv);
	build_mix();
	build_anon();
	build_files();
	build_misc();
	vl_fork("child", child, NULL);
	vl_ids_save(&ids);
	rv_touch_stack();
	snapshot(maps_before, sizeof(maps_before), smaps_before, sizeof(smaps_before));
	{
		int n = 0;

		for (const char *p = maps_before; (p = strchr(p, '\n')); p++)
			n++;
		vl_log("%d VMAs", n);
		if (n < 500)
			vl_fail("only %d VMAs: the layout is not what this test means to check", n);
	}
	vl_ready();
	vl_wait();
	check();
	vl_exit();
}
