/*
 * rst-cow: copy-on-write isolation across a restore.
 *
 * The root fills 64 pages of private anonymous memory with the pattern of
 * seed S, forks child-1 and child-2, and child-1 forks gchild: all four see
 * the same pages, shared copy-on-write. Then each task i (root 0, child-1
 * 1, child-2 2, gchild 3) overwrites its own 8 pages (8i .. 8i+7) with its
 * own seed; pages 32-63 stay shared and unwritten, as the heap and stack
 * copies do.
 *
 * After vl_wait() each task checks that its 8 pages hold its seed and every
 * other page still holds S: the writes of the others before the dump are
 * not seen. Then each writes its seed into page 40 (until now shared by
 * all), meets the others through files (vl_gather), and checks that
 * page 40 still holds its own seed and page 41 still S: a write after the
 * restore in one task is not seen by the others.
 */
#include <stdint.h>
#include <sys/mman.h>

#include "rst-victim.h"

#define PAGES 64
#define OWN 8
#define NR_TASKS 4
#define SEED_S 0xc0c0c0c0ULL

static char *mem;
static struct vl_ids ids;

static uint64_t seed_of(int idx) { return 0xa11ce000ULL + 0x10000ULL * idx; }

static void check(int idx)
{
	char text[64], what[96];
	struct vl_entry all[NR_TASKS];

	vl_ids_check(&ids, idx != 0, false);
	for (int t = 0; t < NR_TASKS; t++) {
		uint64_t want = t == idx ? seed_of(t) : SEED_S;

		snprintf(what, sizeof(what), "pages %d-%d (%s)", OWN * t, OWN * t + OWN - 1,
			 t == idx ? "written by this task" : "written by another task");
		vl_expect_fill(what, mem + OWN * t * PG, OWN * PG, want + OWN * t * PG);
	}
	vl_expect_fill("pages 32-63 (shared, never written)", mem + 32 * PG, 32 * PG, SEED_S + 32 * PG);

	/* A write after the restore stays in its task. */
	vl_fill(mem + 40 * PG, PG, seed_of(idx) + 40 * PG);
	snprintf(text, sizeof(text), "%d", idx);
	vl_gather("cow-written", text, NR_TASKS, all);
	vl_expect_fill("page 40, written by every task after the restore", mem + 40 * PG, PG,
		       seed_of(idx) + 40 * PG);
	vl_expect_fill("page 41 (never written)", mem + 41 * PG, PG, SEED_S + 41 * PG);
	/* The others check too before anybody exits. */
	vl_gather("cow-checked", text, NR_TASKS, all);
}

static void task(void *arg)
{
	int idx = (int)(intptr_t)arg;

	if (idx == 1)
		vl_fork("gchild", task, (void *)(intptr_t)3);
	vl_fill(mem + OWN * idx * PG, OWN * PG, seed_of(idx) + OWN * idx * PG);
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	check(idx);
}

int main(int argc, char **argv)
{
	vl_init(argc, argv);
	mem = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		vl_die("mmap");
	vl_fill(mem, PAGES * PG, SEED_S);
	vl_fork("child-1", task, (void *)(intptr_t)1);
	vl_fork("child-2", task, (void *)(intptr_t)2);
	vl_fill(mem, OWN * PG, seed_of(0));
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	check(0);
	vl_exit();
}
