/*
 * mem-tree: a 3-level tree (the root, 2 children, 2 grandchildren each: 7
 * tasks) that maps every kind of memory a dump and a restore must keep.
 *
 * Before forking, the root creates what every task inherits:
 *   - shared anonymous memory (MAP_SHARED|MAP_ANONYMOUS, 2 MiB), its last
 *     256 KiB made read-only, so it is two VMAs of one shmem inode, the
 *     second at a non-zero offset; page 0 is the control page of the
 *     sharing round, a few pages are never touched (a hole);
 *   - a memfd (1 MiB, the last quarter never touched) mapped MAP_SHARED
 *     twice: whole, and a read-only window at offset 128 KiB; the fd is
 *     closed;
 *   - a regular file shared.dat mapped MAP_SHARED, whole and through a
 *     read-only window at offset 64 KiB;
 *   - a file private.dat mapped MAP_PRIVATE: the root writes pages 0-1
 *     (dirty copy-on-write pages its children inherit), every task then
 *     writes page 4+index, the other pages are only read;
 *   - a file unlinked.dat mapped MAP_SHARED, filled (with a hole), then
 *     unlinked, its fd closed;
 *   - private anonymous memory filled by the root, of which every task
 *     then rewrites one page (inherited copy-on-write pages).
 * After forking, each task builds its own private anonymous memory, between
 * PROT_NONE guard pages: 2 MiB read-write (its last quarter never touched),
 * 1 MiB read-only after filling, 1 MiB split by mprotect into rw-/r--/rw-;
 * and a buffer on the heap.
 *
 * After vl_wait(), each task checks every byte it knows, the
 * /proc/self/maps line of every region, the map_files identity of each
 * mapped object, and then a sharing round: it writes its slot in page 0 of
 * the shared anonymous memory, the memfd, shared.dat and unlinked.dat,
 * publishes its identities in the control page, and waits to see every
 * other task's slots and identities. Sharing is so proven in both
 * directions, between all 7 tasks.
 *
 * Roles: root, child-1, child-2, gchild-1-1, gchild-1-2, gchild-2-1,
 * gchild-2-2 (task indexes 0 to 6, in that order).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "victim.h"

#define PG 4096UL
#define NR_TASKS 7

/* Shared anonymous memory: page 0 control, pattern, hole, pattern; the
 * tail is read-only. */
#define SHANON_PAGES 512
#define SHANON_HOLE 300
#define SHANON_HOLE_PAGES 20
#define SHANON_RO 448
/* memfd: page 0 slots, pattern up to MEMFD_DATA, then never touched. */
#define MEMFD_PAGES 256
#define MEMFD_DATA 192
#define MEMFD_WIN 32
#define MEMFD_WIN_PAGES 32
#define MEMFD_NAME "crl-mem-tree"
/* shared.dat: page 0 slots, pattern. */
#define FILE_PAGES 64
#define FILE_WIN 16
#define FILE_WIN_PAGES 16
/* unlinked.dat: page 0 slots, pattern, hole, pattern. */
#define UNL_PAGES 128
#define UNL_HOLE 64
#define UNL_HOLE_PAGES 32
/* private.dat, mapped privately */
#define PRIV_PAGES 16
#define PRIV_OWN 4  /* task i writes page PRIV_OWN + i */
/* private anonymous memory inherited from the root */
#define INH_PAGES 64
/* each task's own private anonymous memory */
#define A_PAGES 512
#define A_FILLED 384
#define B_PAGES 256
#define C_PAGES 256
#define C_RO 64       /* pages C_RO .. C_RO+C_RO_PAGES-1 become read-only */
#define C_RO_PAGES 64
#define HEAP_BYTES (96 * 1024)

/* Seeds of the vl_fill patterns: stable across a restore, different for
 * every region and task. Shared objects use task number SHARED. */
#define SHARED 0x7f
#define SEED(task, region) (((uint64_t)(task) + 1) << 48 | (uint64_t)(region) << 40)
enum region { R_SHANON = 1, R_MEMFD, R_FILE, R_UNL, R_PRIV, R_PRIV_ROOT, R_PRIV_OWN, R_INH, R_INH_OWN,
	      R_A, R_B, R_C, R_HEAP };

/* The objects whose map_files identity the tasks compare. */
enum obj { O_SHANON, O_SHANON_RO, O_MEMFD, O_MEMFD_WIN, O_FILE, O_FILE_WIN, O_UNL, O_PRIV, NR_OBJ };
static const char *const obj_name[NR_OBJ] = { "shared anon", "shared anon (read-only part)", "memfd",
					      "memfd window", "shared.dat", "shared.dat window",
					      "unlinked.dat", "private.dat" };

#define WOKE(i) (0x574f4b4500000000ULL | ((uint64_t)(i) + 1))

struct slots {
	uint64_t woke[NR_TASKS];
};

/* Page 0 of the shared anonymous memory. */
struct ctl {
	struct slots s;
	uint64_t pid[NR_TASKS];
	uint64_t ident[NR_TASKS][NR_OBJ][2];
	uint64_t ident_ready[NR_TASKS];
};

static const char *const roles[NR_TASKS] = { "root", "child-1", "child-2", "gchild-1-1", "gchild-1-2",
					     "gchild-2-1", "gchild-2-2" };

/* Inherited by every task. */
static char *shanon, *memfd_map, *memfd_win, *file_map, *file_win, *unl_map, *priv_map, *inh_map;
static char *file_path, *priv_path, *unl_path;

/* This task's own. */
static char *res, *area_a, *area_b, *area_c, *heap_buf;
#define RES_PAGES (1 + A_PAGES + 1 + B_PAGES + 1 + C_PAGES + 1)

static char *map(size_t len, int prot, int flags, int fd, off_t off, const char *what)
{
	char *p = mmap(NULL, len, prot, flags, fd, off);

	if (p == MAP_FAILED)
		vl_die(what);
	return p;
}

static int make_file(const char *path, size_t pages, uint64_t seed, size_t from)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	char *buf = malloc(pages * PG);

	if (fd < 0 || !buf)
		vl_die(path);
	memset(buf, 0, pages * PG);
	if (seed)
		vl_fill(buf + from * PG, (pages - from) * PG, seed + from * PG);
	if (pwrite(fd, buf, pages * PG, 0) != (ssize_t)(pages * PG))
		vl_die(path);
	free(buf);
	return fd;
}

static void build_shared(void)
{
	int fd;

	/* shared anonymous memory */
	shanon = map(SHANON_PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0,
		     "shared anon");
	memset(shanon, 0, sizeof(struct ctl));
	vl_fill(shanon + PG, (SHANON_HOLE - 1) * PG, SEED(SHARED, R_SHANON) + PG);
	vl_fill(shanon + (SHANON_HOLE + SHANON_HOLE_PAGES) * PG,
		(SHANON_PAGES - SHANON_HOLE - SHANON_HOLE_PAGES) * PG,
		SEED(SHARED, R_SHANON) + (SHANON_HOLE + SHANON_HOLE_PAGES) * PG);
	if (mprotect(shanon + SHANON_RO * PG, (SHANON_PAGES - SHANON_RO) * PG, PROT_READ) < 0)
		vl_die("mprotect shared anon");

	/* memfd */
	fd = memfd_create(MEMFD_NAME, MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, MEMFD_PAGES * PG) < 0)
		vl_die("memfd");
	memfd_map = map(MEMFD_PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, "memfd");
	vl_fill(memfd_map + PG, (MEMFD_DATA - 1) * PG, SEED(SHARED, R_MEMFD) + PG);
	memfd_win = map(MEMFD_WIN_PAGES * PG, PROT_READ, MAP_SHARED, fd, MEMFD_WIN * PG, "memfd window");
	close(fd);

	/* shared.dat */
	file_path = vl_path("shared.dat");
	fd = make_file(file_path, FILE_PAGES, SEED(SHARED, R_FILE), 1);
	file_map = map(FILE_PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, "shared.dat");
	file_win = map(FILE_WIN_PAGES * PG, PROT_READ, MAP_SHARED, fd, FILE_WIN * PG, "shared.dat window");
	close(fd);

	/* private.dat: the root's dirty pages are inherited copy-on-write */
	priv_path = vl_path("private.dat");
	fd = make_file(priv_path, PRIV_PAGES, SEED(SHARED, R_PRIV), 0);
	priv_map = map(PRIV_PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0, "private.dat");
	close(fd);
	vl_fill(priv_map, 2 * PG, SEED(0, R_PRIV_ROOT));

	/* unlinked.dat: filled through the mapping, then unlinked */
	unl_path = vl_path("unlinked.dat");
	fd = open(unl_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, UNL_PAGES * PG) < 0)
		vl_die(unl_path);
	unl_map = map(UNL_PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0, "unlinked.dat");
	close(fd);
	vl_fill(unl_map + PG, (UNL_HOLE - 1) * PG, SEED(SHARED, R_UNL) + PG);
	vl_fill(unl_map + (UNL_HOLE + UNL_HOLE_PAGES) * PG, (UNL_PAGES - UNL_HOLE - UNL_HOLE_PAGES) * PG,
		SEED(SHARED, R_UNL) + (UNL_HOLE + UNL_HOLE_PAGES) * PG);
	if (unlink(unl_path) < 0)
		vl_die("unlink unlinked.dat");

	/* private anonymous memory the children inherit */
	inh_map = vl_map_guarded(INH_PAGES, PROT_READ | PROT_WRITE, "inherited anon");
	vl_fill(inh_map, INH_PAGES * PG, SEED(0, R_INH));
}

/* The task's own memory, and its writes into what it inherited. */
static void build_private(int idx)
{
	volatile char sum = 0;

	res = map(RES_PAGES * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, "private anon");
	area_a = res + PG;
	area_b = area_a + (A_PAGES + 1) * PG;
	area_c = area_b + (B_PAGES + 1) * PG;
	if (mprotect(area_a, A_PAGES * PG, PROT_READ | PROT_WRITE) < 0 ||
	    mprotect(area_b, B_PAGES * PG, PROT_READ | PROT_WRITE) < 0 ||
	    mprotect(area_c, C_PAGES * PG, PROT_READ | PROT_WRITE) < 0)
		vl_die("mprotect private anon");
	vl_fill(area_a, A_FILLED * PG, SEED(idx, R_A));
	vl_fill(area_b, B_PAGES * PG, SEED(idx, R_B));
	vl_fill(area_c, C_PAGES * PG, SEED(idx, R_C));
	if (mprotect(area_b, B_PAGES * PG, PROT_READ) < 0 ||
	    mprotect(area_c + C_RO * PG, C_RO_PAGES * PG, PROT_READ) < 0)
		vl_die("mprotect private anon");

	heap_buf = malloc(HEAP_BYTES);
	if (!heap_buf)
		vl_die("malloc");
	vl_fill(heap_buf, HEAP_BYTES, SEED(idx, R_HEAP));

	/* Copy-on-write: one page of each private mapping becomes this
	 * task's own; every other page of private.dat is read. */
	vl_fill(priv_map + (PRIV_OWN + idx) * PG, PG, SEED(idx, R_PRIV_OWN));
	for (int i = 0; i < PRIV_PAGES; i++)
		sum += priv_map[i * PG];
	vl_fill(inh_map + idx * PG, PG, SEED(idx, R_INH_OWN));

	((struct ctl *)shanon)->pid[idx] = getpid();
}

static void check_contents(int idx)
{
	char what[64];

	vl_expect_fill("shared anon", shanon + PG, (SHANON_HOLE - 1) * PG, SEED(SHARED, R_SHANON) + PG);
	vl_expect_zero("shared anon hole", shanon + SHANON_HOLE * PG, SHANON_HOLE_PAGES * PG);
	vl_expect_fill("shared anon (after the hole)", shanon + (SHANON_HOLE + SHANON_HOLE_PAGES) * PG,
		       (SHANON_PAGES - SHANON_HOLE - SHANON_HOLE_PAGES) * PG,
		       SEED(SHARED, R_SHANON) + (SHANON_HOLE + SHANON_HOLE_PAGES) * PG);

	vl_expect_fill("memfd", memfd_map + PG, (MEMFD_DATA - 1) * PG, SEED(SHARED, R_MEMFD) + PG);
	vl_expect_zero("memfd tail", memfd_map + MEMFD_DATA * PG, (MEMFD_PAGES - MEMFD_DATA) * PG);
	vl_expect_fill("memfd window", memfd_win, MEMFD_WIN_PAGES * PG, SEED(SHARED, R_MEMFD) + MEMFD_WIN * PG);

	vl_expect_fill("shared.dat", file_map + PG, (FILE_PAGES - 1) * PG, SEED(SHARED, R_FILE) + PG);
	vl_expect_fill("shared.dat window", file_win, FILE_WIN_PAGES * PG, SEED(SHARED, R_FILE) + FILE_WIN * PG);

	vl_expect_fill("unlinked.dat", unl_map + PG, (UNL_HOLE - 1) * PG, SEED(SHARED, R_UNL) + PG);
	vl_expect_zero("unlinked.dat hole", unl_map + UNL_HOLE * PG, UNL_HOLE_PAGES * PG);
	vl_expect_fill("unlinked.dat (after the hole)", unl_map + (UNL_HOLE + UNL_HOLE_PAGES) * PG,
		       (UNL_PAGES - UNL_HOLE - UNL_HOLE_PAGES) * PG,
		       SEED(SHARED, R_UNL) + (UNL_HOLE + UNL_HOLE_PAGES) * PG);

	for (int i = 0; i < PRIV_PAGES; i++) {
		snprintf(what, sizeof(what), "private.dat page %d", i);
		if (i < 2)
			vl_expect_fill(what, priv_map + i * PG, PG, SEED(0, R_PRIV_ROOT) + i * PG);
		else if (i == PRIV_OWN + idx)
			vl_expect_fill(what, priv_map + i * PG, PG, SEED(idx, R_PRIV_OWN));
		else
			vl_expect_fill(what, priv_map + i * PG, PG, SEED(SHARED, R_PRIV) + i * PG);
	}
	for (int i = 0; i < INH_PAGES; i++) {
		snprintf(what, sizeof(what), "inherited anon page %d", i);
		if (i == idx)
			vl_expect_fill(what, inh_map + i * PG, PG, SEED(idx, R_INH_OWN));
		else
			vl_expect_fill(what, inh_map + i * PG, PG, SEED(0, R_INH) + i * PG);
	}

	vl_expect_fill("private anon A", area_a, A_FILLED * PG, SEED(idx, R_A));
	vl_expect_zero("private anon A (never touched)", area_a + A_FILLED * PG, (A_PAGES - A_FILLED) * PG);
	vl_expect_fill("private anon B", area_b, B_PAGES * PG, SEED(idx, R_B));
	vl_expect_fill("private anon C", area_c, C_PAGES * PG, SEED(idx, R_C));
	vl_expect_fill("heap buffer", heap_buf, HEAP_BYTES, SEED(idx, R_HEAP));

	/* The private writes must not have reached the file. */
	{
		size_t len;
		char *text = vl_read_file(priv_path, &len);

		if (!text || len != PRIV_PAGES * PG)
			vl_fail("private.dat: cannot read it back whole");
		else
			vl_expect_fill("private.dat on disk", text, len, SEED(SHARED, R_PRIV));
		free(text);
	}
}

static void check_maps(void)
{
	char *maps = vl_read_file("/proc/self/maps", NULL);
	char name[4300];

	if (!maps) {
		vl_fail("cannot read /proc/self/maps");
		return;
	}
	vl_expect_vma(maps, "shared anon", shanon, SHANON_RO * PG, "rw-s", 0, "/dev/zero (deleted)");
	vl_expect_vma(maps, "shared anon (read-only part)", shanon + SHANON_RO * PG,
		      (SHANON_PAGES - SHANON_RO) * PG, "r--s", SHANON_RO * PG, "/dev/zero (deleted)");
	vl_expect_vma(maps, "memfd", memfd_map, MEMFD_PAGES * PG, "rw-s", 0, "/memfd:" MEMFD_NAME " (deleted)");
	vl_expect_vma(maps, "memfd window", memfd_win, MEMFD_WIN_PAGES * PG, "r--s", MEMFD_WIN * PG,
		      "/memfd:" MEMFD_NAME " (deleted)");
	vl_expect_vma(maps, "shared.dat", file_map, FILE_PAGES * PG, "rw-s", 0, file_path);
	vl_expect_vma(maps, "shared.dat window", file_win, FILE_WIN_PAGES * PG, "r--s", FILE_WIN * PG, file_path);
	vl_expect_vma(maps, "private.dat", priv_map, PRIV_PAGES * PG, "rw-p", 0, priv_path);
	snprintf(name, sizeof(name), "%s (deleted)", unl_path);
	vl_expect_vma(maps, "unlinked.dat", unl_map, UNL_PAGES * PG, "rw-s", 0, name);
	vl_expect_vma(maps, "inherited anon", inh_map, INH_PAGES * PG, "rw-p", 0, "");
	vl_expect_perms(maps, "guard below inherited anon", inh_map - PG, "---p");
	vl_expect_perms(maps, "guard above inherited anon", inh_map + INH_PAGES * PG, "---p");

	vl_expect_perms(maps, "guard below A", res, "---p");
	vl_expect_vma(maps, "private anon A", area_a, A_PAGES * PG, "rw-p", 0, "");
	vl_expect_vma(maps, "guard A-B", area_a + A_PAGES * PG, PG, "---p", 0, "");
	vl_expect_vma(maps, "private anon B", area_b, B_PAGES * PG, "r--p", 0, "");
	vl_expect_vma(maps, "guard B-C", area_b + B_PAGES * PG, PG, "---p", 0, "");
	vl_expect_vma(maps, "private anon C (first part)", area_c, C_RO * PG, "rw-p", 0, "");
	vl_expect_vma(maps, "private anon C (read-only part)", area_c + C_RO * PG, C_RO_PAGES * PG, "r--p", 0, "");
	vl_expect_vma(maps, "private anon C (last part)", area_c + (C_RO + C_RO_PAGES) * PG,
		      (C_PAGES - C_RO - C_RO_PAGES) * PG, "rw-p", 0, "");
	vl_expect_perms(maps, "guard above C", area_c + C_PAGES * PG, "---p");
	vl_expect_perms(maps, "heap buffer", heap_buf, "rw-p");
	free(maps);
}

/* The map_files identity of every object; returns false if one is missing. */
static bool read_idents(uint64_t id[NR_OBJ][2])
{
	const void *addr[NR_OBJ] = { shanon, shanon + SHANON_RO * PG, memfd_map, memfd_win,
				     file_map, file_win, unl_map, priv_map };
	struct stat st;
	bool ok = true;

	for (int o = 0; o < NR_OBJ; o++) {
		if (vl_map_stat(addr[o], &st)) {
			id[o][0] = st.st_dev;
			id[o][1] = st.st_ino;
			continue;
		}
		vl_fail("%s: no map_files identity at %p", obj_name[o], addr[o]);
		id[o][0] = id[o][1] = 0;
		ok = false;
	}
	return ok;
}

static void expect_same(const char *what, const uint64_t a[2], const uint64_t b[2])
{
	if (a[0] != b[0] || a[1] != b[1])
		vl_fail("%s: identity dev %#llx ino %llu, expected dev %#llx ino %llu", what,
			(unsigned long long)a[0], (unsigned long long)a[1], (unsigned long long)b[0],
			(unsigned long long)b[1]);
}

static void expect_link(const char *what, const void *addr, const char *want)
{
	char link[4300];

	if (vl_map_link(addr, link, sizeof(link)) < 0)
		vl_fail("%s: cannot read its map_files link: %m", what);
	else if (strcmp(link, want))
		vl_fail("%s: map_files link is '%s', expected '%s'", what, link, want);
}

static void check_idents(uint64_t id[NR_OBJ][2])
{
	struct stat st;
	char want[4300];

	/* The two VMAs of each object are one object. */
	expect_same("shared anon (read-only part) vs the rest", id[O_SHANON_RO], id[O_SHANON]);
	expect_same("memfd window vs memfd", id[O_MEMFD_WIN], id[O_MEMFD]);
	expect_same("shared.dat window vs shared.dat", id[O_FILE_WIN], id[O_FILE]);
	/* Files that exist are the files. */
	if (stat(file_path, &st) < 0)
		vl_fail("stat %s: %m", file_path);
	else
		expect_same("shared.dat vs stat", id[O_FILE], (uint64_t[2]){ st.st_dev, st.st_ino });
	if (stat(priv_path, &st) < 0)
		vl_fail("stat %s: %m", priv_path);
	else
		expect_same("private.dat vs stat", id[O_PRIV], (uint64_t[2]){ st.st_dev, st.st_ino });
	/* The kind of each object, as the kernel names it. */
	expect_link("shared anon", shanon, "/dev/zero (deleted)");
	expect_link("memfd", memfd_map, "/memfd:" MEMFD_NAME " (deleted)");
	snprintf(want, sizeof(want), "%s (deleted)", unl_path);
	expect_link("unlinked.dat", unl_map, want);
	expect_link("shared.dat", file_map, file_path);
	if (id[O_UNL][0] == id[O_FILE][0] && id[O_UNL][1] == id[O_FILE][1])
		vl_fail("unlinked.dat and shared.dat are one object");
}

/* The sharing round: write this task's slot and identities, then see every
 * other task's, within one deadline. */
static void sharing_round(int idx, uint64_t id[NR_OBJ][2])
{
	struct ctl *ctl = (struct ctl *)shanon;
	struct slots *slots[] = { &ctl->s, (struct slots *)memfd_map, (struct slots *)file_map,
				  (struct slots *)unl_map };
	const char *names[] = { "shared anon", "memfd", "shared.dat", "unlinked.dat" };
	struct timespec t0, t;

	for (size_t k = 0; k < 4; k++)
		__atomic_store_n(&slots[k]->woke[idx], WOKE(idx), __ATOMIC_RELEASE);
	memcpy(ctl->ident[idx], id, sizeof(ctl->ident[idx]));
	__atomic_store_n(&ctl->ident_ready[idx], 1, __ATOMIC_RELEASE);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int j = 0; j < NR_TASKS; j++) {
		for (size_t k = 0; k <= 4; k++) {
			volatile uint64_t *p = k < 4 ? &slots[k]->woke[j] : &ctl->ident_ready[j];
			uint64_t want = k < 4 ? WOKE(j) : 1;
			long left;

			clock_gettime(CLOCK_MONOTONIC, &t);
			left = 10000 - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
			if (!vl_wait_for(p, want, left > 1 ? left : 1)) {
				if (k < 4)
					vl_fail("%s: the slot of %s (task %d) never showed its write: %#llx",
						names[k], roles[j], j, (unsigned long long)*p);
				else
					vl_fail("%s (task %d) never published its identities", roles[j], j);
				continue;
			}
			if (k == 4) {
				__atomic_thread_fence(__ATOMIC_ACQUIRE);
				for (int o = 0; o < NR_OBJ; o++) {
					char what[128];

					snprintf(what, sizeof(what), "%s in %s vs here", obj_name[o], roles[j]);
					expect_same(what, ctl->ident[j][o], id[o]);
				}
			}
		}
	}
	/* The slots of shared.dat reached the file itself. */
	if (idx == 0) {
		size_t len;
		char *text = vl_read_file(file_path, &len);

		if (!text || len != FILE_PAGES * PG) {
			vl_fail("shared.dat: cannot read it back whole");
		} else {
			const struct slots *s = (const struct slots *)text;

			for (int j = 0; j < NR_TASKS; j++)
				if (s->woke[j] != WOKE(j))
					vl_fail("shared.dat on disk: slot %d is %#llx", j,
						(unsigned long long)s->woke[j]);
		}
		free(text);
	}
}

static void check_all(int idx)
{
	uint64_t id[NR_OBJ][2];

	vl_log("%s: checking", roles[idx]);
	check_contents(idx);
	check_maps();
	read_idents(id);
	check_idents(id);
	sharing_round(idx, id);
	vl_log("%s: checks done%s", roles[idx], vl_failed() ? " (failed)" : "");
}

static void task(void *arg)
{
	int idx = (int)(intptr_t)arg;

	/* Fork first: what a task writes into inherited private memory is its
	 * own, not its children's. */
	if (idx == 1 || idx == 2) {
		int first = 3 + 2 * (idx - 1);

		vl_fork(roles[first], task, (void *)(intptr_t)first);
		vl_fork(roles[first + 1], task, (void *)(intptr_t)(first + 1));
	}
	build_private(idx);
	vl_ready();
	vl_wait();
	check_all(idx);
}

int main(int argc, char **argv)
{
	vl_init(argc, argv);
	build_shared();
	vl_fork(roles[1], task, (void *)(intptr_t)1);
	vl_fork(roles[2], task, (void *)(intptr_t)2);
	task((void *)(intptr_t)0);
	vl_exit();
}
