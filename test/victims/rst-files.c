/*
 * rst-files MODE: a root and a child that map one object, after a restore.
 *
 *   shared    a file shared.dat (16 pages) mapped MAP_SHARED read-write by
 *             the root before forking; the child adds a read-only window on
 *             pages 8-11. Root and child each wrote a page through the
 *             mapping before the dump. After: the identity of each VMA is
 *             stat() of the file, the contents are right, writes by either
 *             after the restore reach the other (also through the window)
 *             and the file.
 *   private   a file private.dat (16 pages) mapped MAP_PRIVATE read-write:
 *             the root dirtied pages 1-2 before forking (the child inherits
 *             them), the child page 3, the root page 4 after forking; every
 *             other page was read. After: dirty bytes restored, clean pages
 *             equal the file, the file unchanged; then the root rewrites
 *             page 10 of the file with pwrite() and both see it through the
 *             mapping: the clean pages are still the file's pages, not
 *             copies.
 *   memfd     a memfd "crl-rst-memfd" of 32 pages mapped MAP_SHARED whole
 *             and through a read-only window at page 16, its fd closed
 *             before forking. After: the name in maps is the same, both
 *             VMAs and both tasks have one inode, its size is 32 pages,
 *             writes are shared.
 *   unlinked  a file unlinked.dat (16 pages, page 5 never written: a hole)
 *             mapped MAP_SHARED, then unlinked and closed. After: the maps
 *             name is the same "... (deleted)", one inode in both tasks,
 *             with no link, the path is still gone, the contents and the
 *             sharing intact.
 *
 * In every mode each task also checks that it has only the descriptors it
 * had (0, 1 and 2): whatever the restore used to map the object is closed.
 * The root writes page slot 0 of page 0, the child slot 1 (shared modes).
 */
#include <dirent.h>
#include <stdint.h>
#include <sys/mman.h>

#include "rst-victim.h"

#define PAGES 16
#define MEMFD_PAGES 32
#define WIN_PAGE 8
#define WIN_PAGES 4
#define MEMFD_WIN 16
#define MEMFD_WIN_PAGES 8
#define HOLE_PAGE 5
#define SEED_FILE 0xf11e0000ULL
#define SEED_ROOT 0x4007000ULL
#define SEED_CHILD 0xc41d000ULL
#define SEED_AFTER 0xaf7e4000ULL

enum mode { SHARED, PRIVATE, MEMFD, UNLINKED };

static enum mode mode;
static char *path;
static char *m, *win;
static size_t m_pages;
static struct vl_ids ids;
static char fds_before[4096], link_before[2][4200];

static uint64_t tok(int idx, int round) { return 0x5107000000ULL + round * 0x100 + idx; }

/* The names in /proc/self/fd, as one string. */
static void fd_list(char *out, size_t len)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	size_t n = 0;
	int self = d ? dirfd(d) : -1;

	out[0] = '\0';
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.' && atoi(de->d_name) != self && n < len - 16)
			n += snprintf(out + n, len - n, "%s ", de->d_name);
	if (d)
		closedir(d);
}

/* The text of the maps line of the VMA starting at addr (its name only). */
static void maps_name(const char *maps, const void *addr, char *out, size_t len)
{
	const char *p = maps;
	struct rv_vma v;

	out[0] = '\0';
	while (rv_maps_next(&p, &v))
		if (v.start == (unsigned long)addr) {
			snprintf(out, len, "%.*s", v.name_len, v.name);
			return;
		}
}

static void make_file(const char *name, bool hole)
{
	char *buf = malloc(PAGES * PG);
	int fd;

	path = vl_path(name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || !buf)
		vl_die(path);
	vl_fill(buf, PAGES * PG, SEED_FILE);
	for (int i = 0; i < PAGES; i++)
		if (!(hole && i == HOLE_PAGE) && pwrite(fd, buf + i * PG, PG, i * PG) != (ssize_t)PG)
			vl_die("write the file");
	if (ftruncate(fd, PAGES * PG) < 0)
		vl_die("ftruncate");
	m_pages = PAGES;
	m = mmap(NULL, PAGES * PG, PROT_READ | PROT_WRITE, mode == PRIVATE ? MAP_PRIVATE : MAP_SHARED, fd, 0);
	if (m == MAP_FAILED)
		vl_die("mmap the file");
	close(fd);
	free(buf);
}

static void build_root(void)
{
	int fd;

	switch (mode) {
	case SHARED:
		make_file("shared.dat", false);
		break;
	case PRIVATE:
		make_file("private.dat", false);
		/* Read every page: clean pages present, then dirty 1-2. */
		for (size_t i = 0; i < PAGES; i++)
			(void)*(volatile char *)(m + i * PG);
		vl_fill(m + 1 * PG, 2 * PG, SEED_ROOT + 1 * PG);
		break;
	case MEMFD:
		fd = memfd_create("crl-rst-memfd", MFD_CLOEXEC);
		if (fd < 0 || ftruncate(fd, MEMFD_PAGES * PG) < 0)
			vl_die("memfd");
		m_pages = MEMFD_PAGES;
		m = mmap(NULL, MEMFD_PAGES * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		win = mmap(NULL, MEMFD_WIN_PAGES * PG, PROT_READ, MAP_SHARED, fd, MEMFD_WIN * PG);
		if (m == MAP_FAILED || win == MAP_FAILED)
			vl_die("mmap the memfd");
		close(fd);
		vl_fill(m + PG, (MEMFD_PAGES - 1) * PG, SEED_FILE + PG);
		break;
	case UNLINKED:
		make_file("unlinked.dat", true);
		if (unlink(path) < 0)
			vl_die("unlink");
		break;
	}
	if (mode != PRIVATE)
		memset(m, 0, 64);
}

static void record(int idx)
{
	static char maps[1 << 18];

	vl_ids_save(&ids);
	vl_read_into("/proc/self/maps", maps, sizeof(maps));
	maps_name(maps, m, link_before[0], sizeof(link_before[0]));
	if (win)
		maps_name(maps, win, link_before[1], sizeof(link_before[1]));
}

/* Every page of the object as this task must see it now. */
static void check_contents(int idx)
{
	volatile uint64_t *slot = (uint64_t *)m;
	char what[64];

	if (mode == PRIVATE) {
		for (int i = 0; i < PAGES; i++) {
			uint64_t seed = SEED_FILE + i * PG;

			if (i == 1 || i == 2)
				seed = SEED_ROOT + i * PG;
			else if (i == 3 && idx == 1)
				seed = SEED_CHILD + i * PG;
			else if (i == 4 && idx == 0)
				seed = SEED_ROOT + i * PG;
			snprintf(what, sizeof(what), "page %d (%s)", i,
				 seed == SEED_FILE + i * PG ? "clean: as the file" : "dirty");
			vl_expect_fill(what, m + i * PG, PG, seed);
		}
		return;
	}
	for (int t = 0; t < 2; t++)
		if (slot[t] != tok(t, 0))
			vl_fail("slot %d written before the dump holds %#lx, expected %#lx", t,
				(unsigned long)slot[t], (unsigned long)tok(t, 0));
	for (size_t i = 1; i < m_pages; i++) {
		snprintf(what, sizeof(what), "page %zu", i);
		if (mode == UNLINKED && i == HOLE_PAGE)
			vl_expect_zero("page 5 (a hole)", m + i * PG, PG);
		else if (mode == SHARED && (i == 2 || i == 3))
			vl_expect_fill(what, m + i * PG, PG, (i == 2 ? SEED_ROOT : SEED_CHILD) + i * PG);
		else
			vl_expect_fill(what, m + i * PG, PG, SEED_FILE + i * PG);
	}
}

/* The file's own bytes, read with pread(): want[i] is the seed of page i
 * (pages from `first` on). */
static void check_file(const char *what, const uint64_t *want, int first)
{
	static char buf[PAGES * PG];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char w[128];

	if (fd < 0 || pread(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf)) {
		vl_fail("%s: cannot read %s: %m", what, path);
		if (fd >= 0)
			close(fd);
		return;
	}
	close(fd);
	for (int i = first; i < PAGES; i++) {
		snprintf(w, sizeof(w), "%s, page %d of the file", what, i);
		vl_expect_fill(w, buf + i * PG, PG, want[i] + i * PG);
	}
}

static void check(int idx)
{
	static char maps[1 << 18];
	struct vl_entry all[2];
	char text[256], fds[4096], name[4200];
	struct stat sm, sw, sp;
	volatile uint64_t *slot = (uint64_t *)m;
	uint64_t want[PAGES];

	vl_ids_check(&ids, idx != 0, false);
	fd_list(fds, sizeof(fds));
	if (strcmp(fds, fds_before))
		vl_fail("descriptors are '%s', were '%s' before the dump", fds, fds_before);

	/* The VMAs: where, what, and which object. */
	vl_read_into("/proc/self/maps", maps, sizeof(maps));
	maps_name(maps, m, name, sizeof(name));
	if (strcmp(name, link_before[0]))
		vl_fail("the maps name of the mapping is '%s', was '%s'", name, link_before[0]);
	vl_expect_vma(maps, "the mapping", m, m_pages * PG, mode == PRIVATE ? "rw-p" : "rw-s", 0, NULL);
	if (win) {
		maps_name(maps, win, name, sizeof(name));
		if (strcmp(name, link_before[1]))
			vl_fail("the maps name of the window is '%s', was '%s'", name, link_before[1]);
		vl_expect_vma(maps, "the window", win, (mode == MEMFD ? MEMFD_WIN_PAGES : WIN_PAGES) * PG, "r--s",
			      (mode == MEMFD ? MEMFD_WIN : WIN_PAGE) * PG, NULL);
	}
	if (!vl_map_stat(m, &sm)) {
		vl_fail("cannot stat the map_files link of the mapping: %m");
		return;
	}
	if (win && (!vl_map_stat(win, &sw) || sw.st_dev != sm.st_dev || sw.st_ino != sm.st_ino))
		vl_fail("the window is not the object of the mapping (%lu vs %lu)", (unsigned long)sw.st_ino,
			(unsigned long)sm.st_ino);
	if (mode == SHARED || mode == PRIVATE) {
		if (stat(path, &sp) < 0)
			vl_fail("stat %s: %m", path);
		else if (sp.st_dev != sm.st_dev || sp.st_ino != sm.st_ino)
			vl_fail("the mapping is inode %lu:%lu, the file %lu:%lu", (unsigned long)sm.st_dev,
				(unsigned long)sm.st_ino, (unsigned long)sp.st_dev, (unsigned long)sp.st_ino);
	}
	if (mode == UNLINKED) {
		if (sm.st_nlink != 0)
			vl_fail("the unlinked file has %lu links now", (unsigned long)sm.st_nlink);
		if (access(path, F_OK) == 0)
			vl_fail("%s exists again after the restore", path);
	}
	if ((mode == MEMFD || mode == UNLINKED) && (size_t)sm.st_size != m_pages * PG)
		vl_fail("the object is %lu bytes, was %lu", (unsigned long)sm.st_size, m_pages * PG);

	check_contents(idx);

	if (mode == PRIVATE) {
		/* The file is unchanged: no dirty byte of either task in it. */
		for (int i = 0; i < PAGES; i++)
			want[i] = SEED_FILE;
		check_file("before any write", want, 0);
		vl_gather("private-checked", "", 2, all);
		/* A clean page is the file's page: a change to the file shows. */
		if (idx == 0) {
			int fd = open(path, O_WRONLY | O_CLOEXEC);

			if (fd < 0)
				vl_fail("open %s: %m", path);
			else {
				static char page[PG];

				vl_fill(page, PG, SEED_AFTER + 10 * PG);
				if (pwrite(fd, page, PG, 10 * PG) != (ssize_t)PG)
					vl_fail("pwrite page 10: %m");
				close(fd);
			}
		}
		vl_gather("private-file-written", "", 2, all);
		vl_expect_fill("clean page 10 after pwrite() to the file (is it still the file's page?)",
			       m + 10 * PG, PG, SEED_AFTER + 10 * PG);
		vl_expect_fill("dirty page 1 after pwrite() to page 10 of the file", m + PG, PG,
			       SEED_ROOT + PG);
		/* The other task must read before this one exits. */
		vl_gather("private-done", "", 2, all);
		return;
	}

	/* Shared: one object in both tasks, writes go both ways (once both
	 * checked what was there). */
	vl_gather("shared-checked", "", 2, all);
	snprintf(text, sizeof(text), "%lu %lu", (unsigned long)sm.st_dev, (unsigned long)sm.st_ino);
	slot[2 + idx] = tok(idx, 1);
	if (idx == 0)
		vl_fill(m + 6 * PG, PG, SEED_AFTER + 6 * PG);
	else
		vl_fill(m + 7 * PG, PG, SEED_AFTER + 7 * PG);
	if (mode == SHARED && idx == 0)
		vl_fill(m + 9 * PG, PG, SEED_AFTER + 9 * PG); /* the child's window shows it */
	if (mode == MEMFD && idx == 1)
		vl_fill(m + (MEMFD_WIN + 1) * PG, PG, SEED_AFTER); /* both windows show it */
	if (vl_gather("shared-written", text, 2, all) < 2)
		return;
	if (strcmp(all[0].text, all[1].text))
		vl_fail("the tasks map different objects: %d has '%s', %d has '%s'", all[0].pid, all[0].text,
			all[1].pid, all[1].text);
	for (int t = 0; t < 2; t++)
		if (slot[2 + t] != tok(t, 1))
			vl_fail("slot %d written after the restore holds %#lx here: the other's write is not seen",
				2 + t, (unsigned long)slot[2 + t]);
	vl_expect_fill("page 6, written by the root after the restore", m + 6 * PG, PG, SEED_AFTER + 6 * PG);
	vl_expect_fill("page 7, written by the child after the restore", m + 7 * PG, PG, SEED_AFTER + 7 * PG);
	if (mode == SHARED && idx == 1)
		vl_expect_fill("the window's page 9, written by the root after the restore",
			       win + (9 - WIN_PAGE) * PG, PG, SEED_AFTER + 9 * PG);
	if (mode == MEMFD)
		vl_expect_fill("the window's page 17, written by the child after the restore", win + PG, PG,
			       SEED_AFTER);
	if (mode == SHARED) {
		/* and the file has every write. */
		for (int i = 0; i < PAGES; i++)
			want[i] = i == 2 ? SEED_ROOT : i == 3 ? SEED_CHILD : i == 6 || i == 7 || i == 9 ? SEED_AFTER
												  : SEED_FILE;
		check_file("after the writes", want, 1);
		{
			/* page 0 holds the slots */
			static char buf[PG];
			int fd = open(path, O_RDONLY | O_CLOEXEC);

			if (fd < 0 || pread(fd, buf, PG, 0) != (ssize_t)PG)
				vl_fail("cannot read page 0 of %s", path);
			else if (memcmp(buf, m, 64))
				vl_fail("page 0 of %s differs from the mapping's", path);
			if (fd >= 0)
				close(fd);
		}
	}
	vl_gather("shared-done", "", 2, all);
}

static void child(void *arg)
{
	if (mode == SHARED) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			vl_die(path);
		win = mmap(NULL, WIN_PAGES * PG, PROT_READ, MAP_SHARED, fd, WIN_PAGE * PG);
		if (win == MAP_FAILED)
			vl_die("mmap the window");
		close(fd);
		vl_fill(m + 3 * PG, PG, SEED_CHILD + 3 * PG);
	}
	if (mode == PRIVATE)
		vl_fill(m + 3 * PG, PG, SEED_CHILD + 3 * PG);
	if (mode != PRIVATE)
		((uint64_t *)m)[1] = tok(1, 0);
	record(1);
	vl_ready();
	/* After vl_ready(), which closes the descriptors of the protocol. */
	fd_list(fds_before, sizeof(fds_before));
	vl_wait();
	check(1);
}

int main(int argc, char **argv)
{
	vl_init(argc, argv);
	if (argc < 2)
		mode = -1;
	else if (!strcmp(argv[1], "shared"))
		mode = SHARED;
	else if (!strcmp(argv[1], "private"))
		mode = PRIVATE;
	else if (!strcmp(argv[1], "memfd"))
		mode = MEMFD;
	else if (!strcmp(argv[1], "unlinked"))
		mode = UNLINKED;
	else
		mode = -1;
	if ((int)mode < 0) {
		vl_fail("usage: rst-files shared|private|memfd|unlinked");
		vl_exit();
	}
	build_root();
	if (mode == SHARED)
		vl_fill(m + 2 * PG, PG, SEED_ROOT + 2 * PG);
	vl_fork("child", child, NULL);
	if (mode == PRIVATE)
		vl_fill(m + 4 * PG, PG, SEED_ROOT + 4 * PG);
	if (mode != PRIVATE)
		((uint64_t *)m)[0] = tok(0, 0);
	record(0);
	vl_ready();
	fd_list(fds_before, sizeof(fds_before));
	vl_wait();
	check(0);
	vl_exit();
}
