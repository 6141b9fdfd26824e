/*
 * rst-shanon: shared anonymous memory in a 3-level tree, after a restore.
 *
 * Tree (index: role): 0 root, 1 child-1, 2 child-2, 3 gchild-1 (of
 * child-1), 4 gchild-2 (of child-2).
 *
 * Object A, created by the root before forking, 64 pages MAP_SHARED|
 * MAP_ANONYMOUS, seen by all five: page 0 holds one slot per task written
 * before the dump, page 1 one slot per task written after the restore,
 * pages 2-19 and 24-63 a pattern, pages 20-23 are never touched (a hole);
 * pages 48-63 are made read-only, so A is two VMAs (rw-s at offset 0,
 * r--s at offset 48 pages) of one shmem inode.
 * Object B, created by child-2 after it forked (so not by the root), 16
 * pages, seen by child-2 and gchild-2 only.
 *
 * After vl_wait() each task checks the contents of what it maps, that its
 * VMAs are where and what they were, that both VMAs of A are one inode
 * (stat of their map_files links), that every task has the same inode for
 * A (and for B, its two users), and then that a write by any task is seen
 * by all: each writes its slot of page 1 (of B: page 1 too), meets the
 * others (through files, vl_gather), and reads every slot.
 */
#include <stdint.h>
#include <sys/mman.h>

#include "rst-victim.h"

#define A_PAGES 64
#define A_RO 48
#define HOLE 20
#define HOLE_PAGES 4
#define B_PAGES 16
#define NR_TASKS 5
#define SEED_A 0xaaaa0000ULL
#define SEED_B 0xbbbb0000ULL

static char *a, *b;
static struct vl_ids ids;

static uint64_t token(int idx, int round) { return 0x70c0000000ULL + round * 0x1000 + idx; }

static void check_a(int idx)
{
	static char maps[1 << 18];
	struct vl_entry all[NR_TASKS];
	struct stat rw, ro;
	char text[128];
	volatile uint64_t *before = (uint64_t *)a, *after = (uint64_t *)(a + PG);

	vl_read_into("/proc/self/maps", maps, sizeof(maps));
	vl_expect_vma(maps, "object A, read-write part", a, A_RO * PG, "rw-s", 0, NULL);
	vl_expect_vma(maps, "object A, read-only part", a + A_RO * PG, (A_PAGES - A_RO) * PG, "r--s", A_RO * PG,
		      NULL);
	for (int t = 0; t < NR_TASKS; t++)
		if (before[t] != token(t, 0))
			vl_fail("object A: slot %d written before the dump holds %#lx, expected %#lx", t,
				(unsigned long)before[t], (unsigned long)token(t, 0));
	vl_expect_fill("object A, pages 2-19", a + 2 * PG, (HOLE - 2) * PG, SEED_A + 2 * PG);
	vl_expect_zero("object A, the hole (pages 20-23)", a + HOLE * PG, HOLE_PAGES * PG);
	vl_expect_fill("object A, pages 24-63", a + (HOLE + HOLE_PAGES) * PG, (A_PAGES - HOLE - HOLE_PAGES) * PG,
		       SEED_A + (HOLE + HOLE_PAGES) * PG);

	if (!vl_map_stat(a, &rw) || !vl_map_stat(a + A_RO * PG, &ro)) {
		vl_fail("object A: cannot stat its map_files links: %m");
		return;
	}
	if (rw.st_dev != ro.st_dev || rw.st_ino != ro.st_ino)
		vl_fail("object A: its two VMAs are two objects now: %lu:%lu and %lu:%lu", (unsigned long)rw.st_dev,
			(unsigned long)rw.st_ino, (unsigned long)ro.st_dev, (unsigned long)ro.st_ino);

	/* The same object in every task, and a write by any seen by all. */
	after[idx] = token(idx, 1);
	snprintf(text, sizeof(text), "%lu %lu", (unsigned long)rw.st_dev, (unsigned long)rw.st_ino);
	if (vl_gather("a-written", text, NR_TASKS, all) < NR_TASKS)
		return;
	for (int t = 0; t < NR_TASKS; t++)
		if (strcmp(all[t].text, text))
			vl_fail("object A: task %d maps inode '%s', this task '%s'", all[t].pid, all[t].text, text);
	for (int t = 0; t < NR_TASKS; t++)
		if (after[t] != token(t, 1))
			vl_fail("object A: slot %d written after the restore holds %#lx here, expected %#lx: "
				"the write of task %d is not seen",
				t, (unsigned long)after[t], (unsigned long)token(t, 1), t);
}

/* Object B, between child-2 (idx 2) and gchild-2 (idx 4). */
static void check_b(int idx)
{
	struct vl_entry all[2];
	struct stat st;
	char text[128];
	volatile uint64_t *before = (uint64_t *)b, *after = (uint64_t *)(b + PG);
	int me = idx == 2 ? 0 : 1;

	vl_expect_vma(NULL, "object B", b, B_PAGES * PG, "rw-s", 0, NULL);
	for (int t = 0; t < 2; t++)
		if (before[t] != token(t, 2))
			vl_fail("object B: slot %d written before the dump holds %#lx", t, (unsigned long)before[t]);
	vl_expect_fill("object B, pages 2-15", b + 2 * PG, (B_PAGES - 2) * PG, SEED_B + 2 * PG);
	if (!vl_map_stat(b, &st)) {
		vl_fail("object B: cannot stat its map_files link: %m");
		return;
	}
	after[me] = token(me, 3);
	snprintf(text, sizeof(text), "%lu %lu", (unsigned long)st.st_dev, (unsigned long)st.st_ino);
	if (vl_gather("b-written", text, 2, all) < 2)
		return;
	if (strcmp(all[0].text, all[1].text))
		vl_fail("object B: tasks %d and %d map different inodes: '%s' and '%s'", all[0].pid, all[1].pid,
			all[0].text, all[1].text);
	for (int t = 0; t < 2; t++)
		if (after[t] != token(t, 3))
			vl_fail("object B: slot %d written after the restore holds %#lx here", t,
				(unsigned long)after[t]);
}

static void check(int idx)
{
	vl_ids_check(&ids, idx != 0, false);
	check_a(idx);
	if (b)
		check_b(idx);
}

static void task(void *arg)
{
	int idx = (int)(intptr_t)arg;

	if (idx == 2) {
		b = mmap(NULL, B_PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (b == MAP_FAILED)
			vl_die("mmap B");
		vl_fill(b, B_PAGES * PG, SEED_B);
		((uint64_t *)b)[0] = token(0, 2);
	}
	if (idx == 1)
		vl_fork("gchild-1", task, (void *)(intptr_t)3);
	if (idx == 2)
		vl_fork("gchild-2", task, (void *)(intptr_t)4);
	if (idx == 4)
		((uint64_t *)b)[1] = token(1, 2);
	((uint64_t *)a)[idx] = token(idx, 0);
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	check(idx);
}

int main(int argc, char **argv)
{
	vl_init(argc, argv);
	a = mmap(NULL, A_PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED)
		vl_die("mmap A");
	memset(a, 0, 2 * PG);
	vl_fill(a + 2 * PG, (HOLE - 2) * PG, SEED_A + 2 * PG);
	vl_fill(a + (HOLE + HOLE_PAGES) * PG, (A_PAGES - HOLE - HOLE_PAGES) * PG, SEED_A + (HOLE + HOLE_PAGES) * PG);
	if (mprotect(a + A_RO * PG, (A_PAGES - A_RO) * PG, PROT_READ) < 0)
		vl_die("mprotect A");
	vl_fork("child-1", task, (void *)(intptr_t)1);
	vl_fork("child-2", task, (void *)(intptr_t)2);
	task((void *)(intptr_t)0);
	vl_exit();
}
