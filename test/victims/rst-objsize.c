/*
 * rst-objsize: shared objects larger than what is mapped of them, and
 * objects reached both through a mapping and a descriptor, after a restore.
 *
 * The root creates, before forking a child that inherits everything:
 *   M  a memfd of 32 pages, all written with pwrite(), of which only pages
 *      0-7 are mapped (MAP_SHARED); its fd is kept as fd 10;
 *   U  an unlinked file of 32 pages, likewise, kept as fd 11;
 *   S  shared anonymous memory of 16 pages, all written, of which pages
 *      8-15 are then unmapped: the shmem inode keeps its 16 pages;
 *   N  a memfd of 16 pages, all mapped and written, then pages 8-15
 *      unmapped and the fd closed.
 * After vl_wait() each task checks, for M and U: the fd and the mapping are
 * one inode, the size is 32 pages, pread() of page 20 gives what was
 * written, a pwrite() to page 1 shows in the mapping (and in the other
 * task's); for S and N: the object (opened through map_files) is still 16
 * pages, and growing the mapping back with mremap() shows pages 8-15 as
 * they were written.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <sys/mman.h>

#include "rst-victim.h"

#define BIG 32
#define MAPPED 8
#define SMALL 16

static char *m_map, *u_map, *s_map, *n_map;
static int idx;
static struct vl_ids ids;

static uint64_t seed(char obj) { return 0x0b7000000ULL + (uint64_t)obj * 0x100000ULL; }

/* A file of BIG pages written with pwrite(), mapped 0-7, kept at fd `at`. */
static char *fd_object(int fd, int at)
{
	static char buf[BIG * PG];
	char *p;

	vl_fill(buf, sizeof(buf), seed(at));
	if (ftruncate(fd, sizeof(buf)) < 0 || pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		vl_die("fill");
	p = mmap(NULL, MAPPED * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED || dup2(fd, at) != at)
		vl_die("mmap or dup2");
	close(fd);
	return p;
}

/* A mapping of SMALL pages, written, then its second half unmapped. */
static char *shrunk(int fd, char obj)
{
	char *p = mmap(NULL, SMALL * PG, PROT_READ | PROT_WRITE, fd < 0 ? MAP_SHARED | MAP_ANONYMOUS : MAP_SHARED,
		       fd, 0);

	if (p == MAP_FAILED)
		vl_die("mmap");
	vl_fill(p, SMALL * PG, seed(obj));
	if (munmap(p + MAPPED * PG, (SMALL - MAPPED) * PG) < 0)
		vl_die("munmap");
	if (fd >= 0)
		close(fd);
	return p;
}

static void build(void)
{
	char *path;
	int fd;

	fd = memfd_create("crl-objsize", MFD_CLOEXEC);
	if (fd < 0)
		vl_die("memfd_create");
	m_map = fd_object(fd, 10);
	path = vl_path("objsize-unlinked.dat");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		vl_die(path);
	u_map = fd_object(fd, 11);
	unlink(path);
	free(path);
	s_map = shrunk(-1, 'S');
	fd = memfd_create("crl-objsize-n", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, SMALL * PG) < 0)
		vl_die("memfd N");
	n_map = shrunk(fd, 'N');
}

static void check_fd_object(const char *what, char *map, int fd, struct vl_entry *all)
{
	static char page[PG];
	struct stat sf, sm;
	char round[64];

	if (fstat(fd, &sf) < 0) {
		vl_fail("%s: fd %d: %m", what, fd);
		return;
	}
	if (!vl_map_stat(map, &sm))
		vl_fail("%s: cannot stat its map_files link", what);
	else if (sf.st_dev != sm.st_dev || sf.st_ino != sm.st_ino)
		vl_fail("%s: fd %d is inode %lu, the mapping inode %lu: two objects now", what, fd,
			(unsigned long)sf.st_ino, (unsigned long)sm.st_ino);
	if (sf.st_size != BIG * PG)
		vl_fail("%s: its size is %ld, was %lu", what, (long)sf.st_size, BIG * PG);
	if (pread(fd, page, PG, 20 * PG) != (ssize_t)PG)
		vl_fail("%s: pread of page 20: %m", what);
	else
		vl_expect_fill(what, page, PG, seed(fd) + 20 * PG);
	vl_expect_fill(what, map + 2 * PG, (MAPPED - 2) * PG, seed(fd) + 2 * PG);
	/* Each task writes its page through the fd; both see both. */
	vl_fill(page, PG, seed(fd) + 0x777 + idx);
	if (pwrite(fd, page, PG, idx * PG) != (ssize_t)PG)
		vl_fail("%s: pwrite: %m", what);
	snprintf(round, sizeof(round), "objsize-%d", fd);
	vl_gather(round, "", 2, all);
	for (int t = 0; t < 2; t++) {
		char w[128];

		snprintf(w, sizeof(w), "%s: page %d of the mapping, written through the fd by task %d", what, t, t);
		vl_expect_fill(w, map + t * PG, PG, seed(fd) + 0x777 + t);
	}
}

static void check_shrunk(const char *what, char *map, char obj)
{
	char path[96], w[128];
	struct stat st;
	char *grown;
	int fd;

	if (!vl_map_stat(map, &st))
		vl_fail("%s: cannot stat its map_files link", what);
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)map,
		 (unsigned long)map + MAPPED * PG);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		vl_fail("%s: open %s: %m", what, path);
	else if (st.st_size != SMALL * PG)
		vl_fail("%s: the object is %ld bytes, was %lu (only %lu of it mapped)", what, (long)st.st_size,
			SMALL * PG, MAPPED * PG);
	if (fd >= 0)
		close(fd);
	vl_expect_fill(what, map, MAPPED * PG, seed(obj));
	grown = mremap(map, MAPPED * PG, SMALL * PG, MREMAP_MAYMOVE);
	if (grown == MAP_FAILED) {
		vl_fail("%s: mremap to %lu pages: %m", what, (unsigned long)SMALL);
		return;
	}
	/* Reading past the end of a shrunk object would be SIGBUS: check the
	 * size first. */
	if (st.st_size == SMALL * PG) {
		snprintf(w, sizeof(w), "%s: pages 8-15, unmapped at the dump, mapped again", what);
		vl_expect_fill(w, grown + MAPPED * PG, (SMALL - MAPPED) * PG, seed(obj) + MAPPED * PG);
	}
	if (mremap(grown, SMALL * PG, MAPPED * PG, 0) == MAP_FAILED)
		vl_fail("%s: mremap back: %m", what);
}

static void check(void)
{
	struct vl_entry all[2];

	vl_ids_check(&ids, idx != 0, false);
	check_fd_object("memfd M (fd 10)", m_map, 10, all);
	check_fd_object("unlinked file U (fd 11)", u_map, 11, all);
	check_shrunk("shared anon S", s_map, 'S');
	check_shrunk("memfd N", n_map, 'N');
	vl_gather("objsize-done", "", 2, all);
}

static void child(void *arg)
{
	idx = 1;
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	check();
}

int main(int argc, char **argv)
{
	vl_init(argc, argv);
	build();
	vl_fork("child", child, NULL);
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	check();
	vl_exit();
}
