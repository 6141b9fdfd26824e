/*
 * big-tree [MIB [WHERE]]: a tree one of whose tasks holds MIB MiB (default
 * 64) of private memory filled with a pattern, so that dumping it takes a
 * while. WHERE says which task: "root" (the default) or "hog", a last
 * leaf that exists only then.
 *
 *   root (MIB MiB, or 1 MiB with a hog)
 *   +-- worker (1 MiB)
 *   |   +-- worker-child (1 MiB)
 *   +-- expendable (1 MiB; a leaf whose death the root tolerates)
 *   +-- hog (MIB MiB; only with WHERE = hog)
 *
 * Tests kill "expendable" while a dump runs, before or after the dump has
 * been through it; every other task must come out of the failed dump
 * untouched, and still passes its checks when signalled. The big memory is
 * filled after forking, so it belongs to one task alone (no copy-on-write
 * sharing).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "victim.h"

#define MIB (1024UL * 1024)
#define SEED(task) (((uint64_t)(task) + 1) << 48 | 0xb16ULL << 32)

static char *own_memory(size_t len, int task)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		vl_fail("mmap %zu bytes: %m", len);
		vl_exit();
	}
	vl_fill(p, len, SEED(task));
	return p;
}

struct leaf_arg {
	int task;
	size_t len;
};

static void leaf(void *arg)
{
	const struct leaf_arg *a = arg;
	char *p = own_memory(a->len, a->task);

	vl_ready();
	vl_wait();
	vl_expect_fill("own memory", p, a->len, SEED(a->task));
}

static void worker(void *arg)
{
	static const struct leaf_arg child = { 2, MIB };
	char *p;

	vl_fork("worker-child", leaf, (void *)&child);
	p = own_memory(MIB, 1);
	vl_ready();
	vl_wait();
	vl_expect_fill("own memory", p, MIB, SEED(1));
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	bool hog = argc > 2 && !strcmp(argv[2], "hog");
	struct leaf_arg expendable_arg = { 3, MIB }, hog_arg = { 4, mib * MIB };
	size_t root_len = hog ? MIB : mib * MIB;
	pid_t expendable;
	char *mem;

	vl_init(argc, argv);
	if (!mib || (argc > 2 && !hog && strcmp(argv[2], "root"))) {
		vl_fail("usage: big-tree [MIB [root|hog]]");
		vl_exit();
	}
	vl_fork("worker", worker, NULL);
	expendable = vl_fork("expendable", leaf, &expendable_arg);
	vl_expendable(expendable);
	if (hog)
		vl_fork("hog", leaf, &hog_arg);
	mem = own_memory(root_len, 0);
	vl_log("%s holds %zu MiB", hog ? "hog" : "root", mib);
	vl_ready();
	vl_wait();
	vl_expect_fill("own memory", mem, root_len, SEED(0));
	vl_exit();
}
