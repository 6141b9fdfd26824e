/*
 * rst-memedge MODE: edge cases of shared memory objects, checked from inside
 * after a restore.
 *
 *   seals     root ── child
 *             Three memfds with seals other than F_SEAL_SEAL, their fds
 *             closed but for the last:
 *               "crl-seal-grow"   4 pages, F_SEAL_GROW|F_SEAL_SHRINK, mapped
 *                                 MAP_SHARED read-write by the root before
 *                                 forking (the child inherits it);
 *               "crl-seal-futw"   2 pages, mapped MAP_SHARED read-write,
 *                                 then F_SEAL_FUTURE_WRITE|F_SEAL_SEAL;
 *               "crl-seal-write"  held by the root at fd 10, never mapped,
 *                                 F_SEAL_WRITE|F_SEAL_GROW|F_SEAL_SHRINK.
 *             After: F_GET_SEALS of each is what it was; the contents are
 *             intact; growing the first fails (EPERM), and a write by the
 *             child through its mapping is seen by the root; the mapping of
 *             the second is still writable, but write() to it fails; the
 *             third cannot be written.
 *
 * Every task also checks that it holds no fd but 0-2 and the ones named above
 * (the child inherits the root's).
 */
#include <stdint.h>
#include <sys/mman.h>

#include "rst-victim.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define SEED_GROW 0x6700000ULL
#define SEED_FUTW 0xf7700000ULL
#define SEED_WRITE 0x77100000ULL
#define SEED_AFTER 0xaf7e5000ULL
#define HELD_FD 10
#define WRITE_LEN 1000

enum mode { SEALS };

static enum mode mode;
static char *grow, *futw;
static int held[1], nr_held; /* the fds a task holds, beyond 0-2 */

/* An fd of the object mapped at addr, through map_files. */
static int map_fd(const void *addr, size_t len, int flags)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)addr,
		 (unsigned long)addr + len);
	return open(path, flags | O_CLOEXEC);
}

/* A memfd of pages pages, filled with seed, mapped MAP_SHARED with prot. */
static char *memfd_map(const char *name, size_t pages, uint64_t seed, int prot, int *ret_fd)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	char *p;

	if (fd < 0 || ftruncate(fd, pages * PG) < 0)
		vl_die(name);
	p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		vl_die(name);
	vl_fill(p, pages * PG, seed);
	if (!(prot & PROT_WRITE) && mprotect(p, pages * PG, prot) < 0)
		vl_die("mprotect");
	*ret_fd = fd;
	return p;
}

static void expect_seals(const char *what, int fd, int want)
{
	int seals = fd >= 0 ? fcntl(fd, F_GET_SEALS) : -1;

	if (seals != want)
		vl_fail("%s: F_GET_SEALS gives %#x (%m), was %#x before the dump", what, seals, want);
}

static void build_seals(void)
{
	int fd;

	grow = memfd_map("crl-seal-grow", 4, SEED_GROW, PROT_READ | PROT_WRITE, &fd);
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK) < 0)
		vl_die("seal crl-seal-grow");
	close(fd);
	futw = memfd_map("crl-seal-futw", 2, SEED_FUTW, PROT_READ | PROT_WRITE, &fd);
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0)
		vl_die("seal crl-seal-futw");
	close(fd);
	{
		static char buf[WRITE_LEN];

		fd = memfd_create("crl-seal-write", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		vl_fill(buf, sizeof(buf), SEED_WRITE);
		if (fd < 0 || write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			vl_die("crl-seal-write");
		if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK) < 0)
			vl_die("seal crl-seal-write");
		vl_move_fd(fd, HELD_FD);
		held[nr_held++] = HELD_FD;
	}
}

static void check_seals(int idx)
{
	struct vl_entry all[2];
	int fd;

	fd = map_fd(grow, 4 * PG, O_RDWR);
	expect_seals("crl-seal-grow", fd, F_SEAL_GROW | F_SEAL_SHRINK);
	vl_expect_fill("crl-seal-grow", grow, 4 * PG, SEED_GROW);
	if (fd >= 0 && ftruncate(fd, 8 * PG) == 0)
		vl_fail("crl-seal-grow could grow after the restore");
	if (fd >= 0)
		close(fd);

	if (idx == 0) {
		char buf[WRITE_LEN], want[WRITE_LEN];

		fd = map_fd(futw, 2 * PG, O_RDWR);
		expect_seals("crl-seal-futw", fd, F_SEAL_FUTURE_WRITE | F_SEAL_SEAL);
		vl_expect_fill("crl-seal-futw", futw, 2 * PG, SEED_FUTW);
		if (fd >= 0 && pwrite(fd, "x", 1, 0) == 1)
			vl_fail("crl-seal-futw: write() works after the restore");
		if (fd >= 0)
			close(fd);
		/* Its mapping predates the seal: it stays writable. */
		futw[1] = 'y';

		expect_seals("crl-seal-write (fd 10)", HELD_FD, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK);
		vl_fill(want, sizeof(want), SEED_WRITE);
		if (pread(HELD_FD, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
			vl_fail("crl-seal-write: pread: %m");
		else
			vl_expect_bytes("crl-seal-write", buf, want, sizeof(buf));
		if (pwrite(HELD_FD, "x", 1, 0) == 1)
			vl_fail("crl-seal-write: pwrite() works after the restore");
	}

	/* The child writes into the grow-sealed memfd; the root sees it. */
	vl_gather("seals-checked", "", 2, all);
	if (idx == 1)
		vl_fill(grow + 2 * PG, PG, SEED_AFTER);
	vl_gather("seals-written", "", 2, all);
	vl_expect_fill("crl-seal-grow page 2, written by the child after the restore", grow + 2 * PG, PG,
		       SEED_AFTER);
	vl_gather("seals-done", "", 2, all);
}

static void check(int idx)
{
	vl_expect_fds(held, nr_held);
	switch (mode) {
	case SEALS:
		check_seals(idx);
		break;
	}
}

static void child(void *arg)
{
	vl_ready();
	vl_wait();
	check(1);
}

int main(int argc, char **argv)
{
	bool with_child = true;

	vl_init(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "seals")) {
		mode = SEALS;
	} else {
		vl_fail("usage: rst-memedge seals");
		vl_exit();
	}
	switch (mode) {
	case SEALS:
		build_seals();
		break;
	}
	if (with_child)
		vl_fork("child", child, NULL);
	vl_ready();
	vl_wait();
	check(0);
	vl_exit();
}
