/*
 * rst-cycles N: a tree that is dumped and restored N times in a row, and
 * changes between the cycles.
 *
 * Root, child, gchild (index 0, 1, 2). Each has 16 pages of private
 * anonymous memory; all share a page of shared anonymous memory with one
 * counter per task. In round c (0 before the first dump) each task fills
 * its private pages with the pattern of (index, c) and sets its counter to
 * c, records /proc/self/maps and goes to sleep in vl_wait().
 *
 * After wake-up c (1..N), each task checks: pid, ppid; maps as recorded;
 * its private pages hold round c-1; every counter is c-1 (so every task's
 * write of the last round, made after the last restore, was dumped and is
 * shared). Once all three checked, it does round c. Before waking up again it writes the file
 * cycle-C-PID, for the test to know the round is done; after the last
 * wake-up it ends with vl_exit().
 */
#include <stdint.h>
#include <sys/mman.h>

#include "rst-victim.h"

#define PAGES 16
#define NR_TASKS 3

static int idx, cycles;
static char *priv;
static volatile uint64_t *counters;
static struct vl_ids ids;
static char maps_before[1 << 18], maps_after[1 << 18];

static uint64_t seed(int round) { return 0xc7c1e000000ULL + idx * 0x1000000ULL + round * 0x10000ULL; }

static void round_(int c)
{
	vl_fill(priv, PAGES * PG, seed(c));
	counters[idx] = c;
}

static void run(void)
{
	struct rv_inomap inomap = { 0 };
	char name[64], what[64];
	struct vl_entry all[NR_TASKS];

	vl_ids_save(&ids);
	round_(0);
	rv_touch_stack();
	vl_read_into("/proc/self/maps", maps_before, sizeof(maps_before));
	vl_ready();
	for (int c = 1; c <= cycles; c++) {
		vl_wait();
		vl_read_into("/proc/self/maps", maps_after, sizeof(maps_after));
		snprintf(what, sizeof(what), "maps after restore %d", c);
		rv_maps_compare(what, maps_before, maps_after, &inomap);
		vl_ids_check(&ids, idx != 0, false);
		snprintf(what, sizeof(what), "private memory after restore %d", c);
		vl_expect_fill(what, priv, PAGES * PG, seed(c - 1));
		for (int t = 0; t < NR_TASKS; t++)
			if (counters[t] != (uint64_t)c - 1)
				vl_fail("after restore %d the counter of task %d is %lu, expected %d", c, t,
					(unsigned long)counters[t], c - 1);
		/* Nobody starts the next round before all checked this one. */
		snprintf(name, sizeof(name), "checked-%d", c);
		vl_gather(name, "", NR_TASKS, all);
		if (c == cycles)
			break;
		round_(c);
		snprintf(name, sizeof(name), "cycle-%d-%d", c, getpid());
		vl_write_file(vl_dir(), name, vl_failed() ? "FAIL" : "ok");
		vl_read_into("/proc/self/maps", maps_before, sizeof(maps_before));
	}
}

static void task(void *arg)
{
	idx = (int)(intptr_t)arg;
	if (idx == 1)
		vl_fork("gchild", task, (void *)(intptr_t)2);
	run();
}

int main(int argc, char **argv)
{
	vl_init(argc, argv);
	cycles = argc > 1 ? atoi(argv[1]) : 3;
	priv = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	counters = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (priv == MAP_FAILED || (void *)counters == MAP_FAILED)
		vl_die("mmap");
	vl_fork("child", task, (void *)(intptr_t)1);
	idx = 0;
	run();
	vl_exit();
}
