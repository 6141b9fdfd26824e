/*
 * Unit tests of lib/pages.c: which pagemap entries are worth dumping, and
 * the page writer / page loader round trip through a pagemap image and a
 * raw pages image. The only task involved is this test itself (its own
 * memory, through process_vm_readv/writev and /proc/self/mem).
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <unistd.h>
#include <cmocka.h>

#include "pagemap.pb-c.h"

#include "crl/image.h"
#include "crl/pages.h"
#include "crl/rsys.h"
#include "crl/util.h"

#define PG CRL_PAGE_SIZE

static char tmpdir[] = "/tmp/crl-unit-pages-XXXXXX";
static int dfd = -1;

static int group_setup(void **state)
{
	if (!mkdtemp(tmpdir))
		return -1;
	dfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return dfd < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	DIR *d = fdopendir(dup(dfd));
	struct dirent *de;

	if (d) {
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				unlinkat(dfd, de->d_name, 0);
		closedir(d);
	}
	close(dfd);
	return rmdir(tmpdir);
}

/* Fill n pages with a pattern that differs per page and per byte. */
static void fill_pages(uint8_t *p, unsigned n, unsigned seed)
{
	for (size_t i = 0; i < n * PG; i++)
		p[i] = (uint8_t)(i * 7 + (i / PG) * 31 + seed);
}

static void *map_pages(unsigned n)
{
	void *p = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

/* Read every record of a pagemap image (kind PAGEMAP, id) into out[]. */
static unsigned read_pagemap(uint32_t id, PagemapEntry *out, unsigned max)
{
	struct crl_img *img = NULL;
	ProtobufCMessage *m;
	unsigned n = 0;
	int r;

	assert_int_equal(crl_img_open(dfd, CRL_IMG_PAGEMAP, id, CRL_IMG_READ, &img), 0);
	while ((r = crl_img_read(img, &m)) == 1) {
		assert_true(n < max);
		out[n++] = *(PagemapEntry *)m;
		protobuf_c_message_free_unpacked(m, NULL);
	}
	if (r < 0)
		fail_msg("pagemap-%u.img: %s", id, crl_img_error(img));
	crl_img_close(img);
	return n;
}

static void assert_run(const PagemapEntry *e, uint64_t vaddr, uint32_t nr, uint64_t offset)
{
	if (e->vaddr != vaddr || e->nr_pages != nr || e->offset != offset)
		fail_msg("run %#llx+%u @%llu, expected %#llx+%u @%llu", (unsigned long long)e->vaddr,
			 e->nr_pages, (unsigned long long)e->offset, (unsigned long long)vaddr, nr,
			 (unsigned long long)offset);
}

/* --- which pages ----------------------------------------------------------- */

/* The truth table of crl_pme_wanted for anonymous and private file VMAs:
 * absent pages no, swapped pages yes, the zero page (and the 512 pfns of
 * the huge zero page) no, page-cache pages of a file mapping no, its
 * copied-on-write pages yes. */
static void test_pme_wanted(void **state)
{
	const struct crl_zero_pfns z = { .pfn = 0x1234, .huge_pfn = 0x40000 };
	static const struct {
		uint64_t pme;
		bool file, wanted;
	} t[] = {
		{ 0, false, false },
		{ 0, true, false },
		{ PM_FILE, true, false },                              /* not present */
		{ PM_SWAP | 0x77, false, true },                       /* swap entry, not a pfn */
		{ PM_SWAP | 0x77, true, true },
		{ PM_PRESENT | 0x999, false, true },
		{ PM_PRESENT | PM_EXCLUSIVE | 0x999, false, true },
		{ PM_PRESENT | 0x999, true, true },                    /* COW copy */
		{ PM_PRESENT | PM_FILE | 0x999, true, false },         /* page cache */
		{ PM_PRESENT | PM_FILE | 0x999, false, true },         /* shared anon */
		{ PM_PRESENT | 0x1234, false, false },                 /* zero page */
		{ PM_PRESENT | 0x1234, true, false },
		{ PM_PRESENT | 0x1233, false, true },
		{ PM_PRESENT | 0x1235, false, true },
		{ PM_PRESENT | 0x40000, false, false },                /* huge zero page */
		{ PM_PRESENT | (0x40000 + 511), false, false },
		{ PM_PRESENT | (0x40000 + 512), false, true },
		{ PM_PRESENT | (0x40000 - 1), false, true },
	};

	for (size_t i = 0; i < ARRAY_SIZE(t); i++)
		if (crl_pme_wanted(t[i].pme, t[i].file, &z) != t[i].wanted)
			fail_msg("entry %zu (pme %#llx, %s): expected %s", i, (unsigned long long)t[i].pme,
				 t[i].file ? "file" : "anon", t[i].wanted ? "wanted" : "skipped");
}

/* crl_pfn_is_zero: only present entries; the huge range only when the huge
 * zero pfn is known; with nothing known (pfns hidden, detection failed) no
 * page is taken for the zero page, so none is lost from a dump. */
static void test_pfn_is_zero(void **state)
{
	const struct crl_zero_pfns z = { .pfn = 0x1234, .huge_pfn = 0x40000 };
	const struct crl_zero_pfns no_huge = { .pfn = 0x1234 };
	const struct crl_zero_pfns unknown = { 0 };

	assert_true(crl_pfn_is_zero(&z, PM_PRESENT | 0x1234));
	assert_false(crl_pfn_is_zero(&z, 0x1234));                 /* not present */
	assert_false(crl_pfn_is_zero(&z, PM_SWAP | 0x1234));
	assert_true(crl_pfn_is_zero(&z, PM_PRESENT | PM_FILE | 0x1234));
	assert_true(crl_pfn_is_zero(&z, PM_PRESENT | 0x40100));
	assert_false(crl_pfn_is_zero(&z, PM_PRESENT | 0x40200));

	assert_true(crl_pfn_is_zero(&no_huge, PM_PRESENT | 0x1234));
	assert_false(crl_pfn_is_zero(&no_huge, PM_PRESENT | 0));
	assert_false(crl_pfn_is_zero(&no_huge, PM_PRESENT | 0x1ff));

	assert_false(crl_pfn_is_zero(&unknown, PM_PRESENT | 0));
	assert_false(crl_pfn_is_zero(&unknown, PM_PRESENT | 0x10));
	assert_true(crl_pme_wanted(PM_PRESENT, false, &unknown));
}

/* --- writer and loader ------------------------------------------------------ */

/* Local runs: adjacent ones (address and data) merge into one record,
 * others start a new record; the records say where each run's data is in
 * the pages image, and the data is there. */
static void test_writer_local_runs(void **state)
{
	uint8_t *data = map_pages(9), *back = map_pages(9);
	struct crl_page_writer *w = NULL;
	struct crl_page_writer_stats stats;
	struct crl_img *pm = NULL;
	PagemapEntry recs[8];
	uint64_t size = 0;
	char err[200];
	int fd = -1;

	fill_pages(data, 9, 1);
	assert_int_equal(crl_img_open(dfd, CRL_IMG_PAGEMAP, 1, CRL_IMG_WRITE, &pm), 0);
	assert_int_equal(crl_img_raw_create(dfd, CRL_IMG_PAGES, 1, &fd), 0);
	assert_int_equal(crl_page_writer_new(pm, fd, getpid(), -1, &w), 0);
	assert_int_equal(crl_page_writer_add_local(w, 0x10000, data, 2), 0);
	assert_int_equal(crl_page_writer_add_local(w, 0x12000, data + 2 * PG, 1), 0);
	assert_int_equal(crl_page_writer_add_local(w, 0x20000, data + 3 * PG, 3), 0);
	assert_int_equal(crl_page_writer_add_local(w, 0x23000, data + 6 * PG, 2), 0);
	assert_int_equal(crl_page_writer_add_local(w, 0x26000, data + 8 * PG, 1), 0);
	assert_int_equal(crl_page_writer_finish(w, &stats), 0);
	assert_int_equal(stats.nr_pages, 9);
	assert_int_equal(stats.nr_records, 3);
	assert_int_equal(crl_img_close(pm), 0);
	close(fd);

	assert_int_equal(read_pagemap(1, recs, ARRAY_SIZE(recs)), 3);
	assert_run(&recs[0], 0x10000, 3, PG);
	assert_run(&recs[1], 0x20000, 5, 4 * PG);
	assert_run(&recs[2], 0x26000, 1, 9 * PG);

	assert_int_equal(crl_img_raw_open(dfd, CRL_IMG_PAGES, 1, &fd, &size, err, sizeof(err)), 0);
	assert_int_equal(size, 10 * PG);
	for (unsigned i = 0, page = 0; i < 3; page += recs[i].nr_pages, i++) {
		assert_int_equal(crl_pread_all(fd, back, recs[i].nr_pages * PG, recs[i].offset), 0);
		assert_memory_equal(back, data + page * PG, recs[i].nr_pages * PG);
	}
	close(fd);
	munmap(data, 9 * PG);
	munmap(back, 9 * PG);
}

/* Pages of this very task through process_vm_readv, and PROT_NONE pages
 * through /proc/self/mem (force): contiguous runs still make one record
 * even when the read method changes between them; a hole makes two. */
static void test_writer_task_pages(void **state)
{
	uint8_t *area = map_pages(8), *copy = map_pages(8), *back = map_pages(8);
	struct crl_page_writer *w = NULL;
	struct crl_page_writer_stats stats;
	struct crl_img *pm = NULL;
	PagemapEntry recs[8];
	uint64_t base = (uint64_t)(uintptr_t)area, size = 0;
	char err[200];
	int fd = -1, memfd = crl_mem_open(getpid(), O_RDONLY);

	assert_true(memfd >= 0);
	fill_pages(area, 8, 2);
	memcpy(copy, area, 8 * PG);
	assert_int_equal(mprotect(area + 4 * PG, 2 * PG, PROT_NONE), 0);

	assert_int_equal(crl_img_open(dfd, CRL_IMG_PAGEMAP, 2, CRL_IMG_WRITE, &pm), 0);
	assert_int_equal(crl_img_raw_create(dfd, CRL_IMG_PAGES, 2, &fd), 0);
	assert_int_equal(crl_page_writer_new(pm, fd, getpid(), memfd, &w), 0);
	assert_int_equal(crl_page_writer_add(w, base, 2, false), 0);
	assert_int_equal(crl_page_writer_add(w, base + 2 * PG, 2, false), 0);
	assert_int_equal(crl_page_writer_add(w, base + 4 * PG, 2, true), 0);
	assert_int_equal(crl_page_writer_add(w, base + 7 * PG, 1, false), 0);
	assert_int_equal(crl_page_writer_finish(w, &stats), 0);
	assert_int_equal(stats.nr_pages, 7);
	assert_int_equal(stats.nr_records, 2);
	assert_int_equal(crl_img_close(pm), 0);
	close(fd);

	assert_int_equal(read_pagemap(2, recs, ARRAY_SIZE(recs)), 2);
	assert_run(&recs[0], base, 6, PG);
	assert_run(&recs[1], base + 7 * PG, 1, 7 * PG);
	assert_int_equal(crl_img_raw_open(dfd, CRL_IMG_PAGES, 2, &fd, &size, err, sizeof(err)), 0);
	assert_int_equal(size, 8 * PG);
	assert_int_equal(crl_pread_all(fd, back, 7 * PG, PG), 0);
	assert_memory_equal(back, copy, 6 * PG);
	assert_memory_equal(back + 6 * PG, copy + 7 * PG, PG);
	close(fd);
	close(memfd);
	munmap(area, 8 * PG);
	munmap(copy, 8 * PG);
	munmap(back, 8 * PG);
}

/* Write runs, then load them back into this task's memory from a file page
 * source: through process_vm_writev into a writable area, and through
 * /proc/self/mem (force) into a read-only one, in an order that jumps back
 * and forth in the pages file. What lands is what was written. */
static void test_writer_loader_roundtrip(void **state)
{
	uint8_t *data = map_pages(7), *dst = map_pages(7), *ro = map_pages(7);
	struct crl_page_writer *w = NULL;
	struct crl_page_loader *l = NULL;
	struct crl_page_source *src = NULL;
	struct crl_img *pm = NULL;
	PagemapEntry recs[4];
	uint64_t size = 0;
	char err[200];
	int fd = -1, memfd;

	fill_pages(data, 7, 3);
	assert_int_equal(crl_img_open(dfd, CRL_IMG_PAGEMAP, 3, CRL_IMG_WRITE, &pm), 0);
	assert_int_equal(crl_img_raw_create(dfd, CRL_IMG_PAGES, 3, &fd), 0);
	assert_int_equal(crl_page_writer_new(pm, fd, getpid(), -1, &w), 0);
	assert_int_equal(crl_page_writer_add_local(w, 0x400000, data, 3), 0);
	assert_int_equal(crl_page_writer_add_local(w, 0x500000, data + 3 * PG, 1), 0);
	assert_int_equal(crl_page_writer_add_local(w, 0x600000, data + 4 * PG, 3), 0);
	assert_int_equal(crl_page_writer_finish(w, NULL), 0);
	assert_int_equal(crl_img_close(pm), 0);
	close(fd);
	assert_int_equal(read_pagemap(3, recs, ARRAY_SIZE(recs)), 3);

	assert_int_equal(crl_img_raw_open(dfd, CRL_IMG_PAGES, 3, &fd, &size, err, sizeof(err)), 0);
	assert_int_equal(crl_page_source_file(fd, size, &src), 0);
	assert_int_equal(src->size, 8 * PG);

	/* Record i lands at the same page index as its data in data[]. */
	assert_int_equal(crl_page_loader_new(src, getpid(), -1, &l), 0);
	assert_int_equal(crl_page_loader_add(l, (uintptr_t)dst + 4 * PG, 3, recs[2].offset, false), 0);
	assert_int_equal(crl_page_loader_add(l, (uintptr_t)dst, 3, recs[0].offset, false), 0);
	assert_int_equal(crl_page_loader_add(l, (uintptr_t)dst + 3 * PG, 1, recs[1].offset, false), 0);
	assert_int_equal(crl_page_loader_finish(l), 0);
	assert_memory_equal(dst, data, 7 * PG);

	memfd = crl_mem_open(getpid(), O_RDWR);
	assert_true(memfd >= 0);
	assert_int_equal(mprotect(ro, 7 * PG, PROT_READ), 0);
	assert_int_equal(crl_page_loader_new(src, getpid(), memfd, &l), 0);
	for (unsigned i = 0, page = 0; i < 3; page += recs[i].nr_pages, i++)
		assert_int_equal(crl_page_loader_add(l, (uintptr_t)ro + page * PG, recs[i].nr_pages,
						     recs[i].offset, true), 0);
	assert_int_equal(crl_page_loader_finish(l), 0);
	assert_memory_equal(ro, data, 7 * PG);

	close(memfd);
	crl_page_source_free(src);
	munmap(data, 7 * PG);
	munmap(dst, 7 * PG);
	munmap(ro, 7 * PG);
}

/* The file source serves reads inside its size and refuses any read that
 * ends past it (-EBADMSG), including ones whose end overflows; a loader fed
 * a run past the end fails instead of writing garbage. Reads are whole
 * pages into page-aligned memory, as the interface asks (O_DIRECT). */
static void test_file_source_bounds(void **state)
{
	uint8_t page[PG], *dst = map_pages(2), *buf = map_pages(2);
	struct crl_page_source *src = NULL;
	struct crl_page_loader *l = NULL;
	int fd = -1;

	memset(page, 0x5a, sizeof(page));
	assert_int_equal(crl_img_raw_create(dfd, CRL_IMG_SHMEM_PAGES, 4, &fd), 0);
	assert_int_equal(crl_write_all(fd, page, sizeof(page)), 0);
	assert_int_equal(crl_page_source_file(fd, 2 * PG, &src), 0);

	assert_int_equal(src->read(src, PG, buf, PG), 0);
	assert_memory_equal(buf, page, PG);
	assert_int_equal(src->read(src, 0, buf, 2 * PG), 0);
	assert_int_equal(src->read(src, 2 * PG, buf, 0), 0);
	assert_int_equal(src->read(src, PG, buf, 2 * PG), -EBADMSG);
	assert_int_equal(src->read(src, 2 * PG, buf, PG), -EBADMSG);
	assert_int_equal(src->read(src, 3 * PG, buf, PG), -EBADMSG);
	assert_int_equal(src->read(src, UINT64_MAX & ~(PG - 1), buf, PG), -EBADMSG);
	assert_int_equal(src->read(src, PG, buf, SIZE_MAX & ~(PG - 1)), -EBADMSG);

	memset(dst, 0, 2 * PG);
	assert_int_equal(crl_page_loader_new(src, getpid(), -1, &l), 0);
	assert_int_equal(crl_page_loader_add(l, (uintptr_t)dst, 2, PG, false), 0);
	assert_int_equal(crl_page_loader_finish(l), -EBADMSG);
	assert_int_equal(dst[0], 0);

	crl_page_source_free(src);
	munmap(dst, 2 * PG);
	munmap(buf, 2 * PG);
}

/* A pages fd that is not at a page-aligned position is refused. */
static void test_writer_unaligned_fd(void **state)
{
	struct crl_page_writer *w = NULL;
	struct crl_img *pm = NULL;
	int fd = -1;

	assert_int_equal(crl_img_open(dfd, CRL_IMG_PAGEMAP, 5, CRL_IMG_WRITE, &pm), 0);
	assert_int_equal(crl_img_raw_create(dfd, CRL_IMG_PAGES, 5, &fd), 0);
	assert_int_equal(crl_write_all(fd, "x", 1), 0);
	assert_int_equal(crl_page_writer_new(pm, fd, getpid(), -1, &w), -EINVAL);
	assert_null(w);
	crl_img_close(pm);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pme_wanted),
		cmocka_unit_test(test_pfn_is_zero),
		cmocka_unit_test(test_writer_local_runs),
		cmocka_unit_test(test_writer_task_pages),
		cmocka_unit_test(test_writer_loader_roundtrip),
		cmocka_unit_test(test_file_source_bounds),
		cmocka_unit_test(test_writer_unaligned_fd),
	};

	return cmocka_run_group_tests_name("pages", tests, group_setup, group_teardown);
}
