/*
 * Pages: which pages of a VMA hold data worth dumping (pagemap), and moving
 * them between a task and the images in batches of runs (one
 * process_vm_readv/writev per batch, never a syscall per page), through a
 * bounded buffer so criu-lite's own memory stays small.
 */
#ifndef CRL_PAGES_H
#define CRL_PAGES_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "crl/image.h"
#include "crl/util.h"

/* /proc/PID/pagemap entry bits */
#define PM_PRESENT (1ULL << 63)
#define PM_SWAP (1ULL << 62)
#define PM_FILE (1ULL << 61)      /* file page or shared anonymous */
#define PM_EXCLUSIVE (1ULL << 56) /* mapped only here */
#define PM_GUARD (1ULL << 58)     /* a guard region marker (6.14+) */
#define PM_PFN_MASK ((1ULL << 55) - 1)

/* PFNs of the kernel's zero pages: a present page with one of these is
 * zeroes the kernel shares, not data. */
struct crl_zero_pfns {
	uint64_t pfn;
	uint64_t huge_pfn;   /* first pfn of the huge zero page, 0 if unknown */
};
/* Find them by faulting zero pages in criu-lite itself. */
int crl_zero_pfns_detect(struct crl_zero_pfns *ret);
bool crl_pfn_is_zero(const struct crl_zero_pfns *z, uint64_t pme);

/*
 * Whether a page with pagemap entry pme must be dumped for a private VMA.
 * file_backed: the VMA maps a file privately, so only pages copied on write
 * (present without PM_FILE) or swapped hold data of the task's own.
 */
bool crl_pme_wanted(uint64_t pme, bool file_backed, const struct crl_zero_pfns *z);

/*
 * The runs of pages of [start, end) that crl_pme_wanted() would take, found
 * by the PAGEMAP_SCAN ioctl (Linux 6.7): the kernel walks the page tables
 * and answers with ranges, so the cost follows the data, not the size of
 * the range. fn(arg, start, nr) gets each run in order; *ret_guard tells
 * whether the range holds guard regions. Returns 0, -ENOTTY or -EINVAL when
 * the kernel lacks the ioctl (read pagemap instead), or fn's error.
 */
int crl_pagemap_scan(int pagemap_fd, uint64_t start, uint64_t end, bool file_backed,
		     int (*fn)(void *arg, uint64_t start, uint64_t nr), void *arg, bool *ret_guard);

/* Open /proc/PID/pagemap. */
int crl_pagemap_open(pid_t pid);
/* Read nr entries for the pages from addr. */
int crl_pagemap_read(int fd, uint64_t addr, uint64_t *buf, size_t nr);

/*
 * The dump side: runs of task pages (or bytes of a local buffer) go to a
 * pages image, each run described by a PagemapEntry in a pagemap image.
 * Runs must be added in increasing address order; adjacent runs are merged
 * into one record.
 */
struct crl_page_writer;
struct crl_page_writer_stats {
	uint64_t nr_pages;
	uint64_t nr_records;
};
/* pagemap: an open record image (owned by the caller); pages_fd: a raw image
 * from crl_img_raw_create() (owned by the caller). pid/memfd: the task to
 * read from (memfd may be -1 when no forced read is needed). */
int crl_page_writer_new(struct crl_img *pagemap, int pages_fd, pid_t pid, int memfd,
			struct crl_page_writer **ret);
/* Queue nr pages of the task from vaddr. force: read through /proc/PID/mem
 * (for pages the task cannot read, PROT_NONE). */
int crl_page_writer_add(struct crl_page_writer *w, uint64_t vaddr, uint64_t nr, bool force);
/* Write nr pages from local memory at data, recorded at vaddr (for shared
 * objects: the offset in the object). */
int crl_page_writer_add_local(struct crl_page_writer *w, uint64_t vaddr, const void *data,
			      uint64_t nr);
/* End the current record: the next run starts a new one even if adjacent
 * (a run must not span two VMAs). */
int crl_page_writer_cut(struct crl_page_writer *w);
/* Flush what is queued and the last record; fill stats. Always frees w. */
int crl_page_writer_finish(struct crl_page_writer *w, struct crl_page_writer_stats *stats);
void crl_page_writer_abort(struct crl_page_writer *w);

/*
 * Where restore reads page contents from: one small interface so the file
 * of today can become a socket or a lazy-pages server.
 */
struct crl_page_source {
	/* Read len bytes at offset into buf; 0 or -errno. offset and len are
	 * multiples of the page size and buf is page aligned. */
	int (*read)(struct crl_page_source *s, uint64_t offset, void *buf, size_t len);
	/* Optional: start the same read in slot 0 or 1, and wait for it; buf
	 * must stay until read_wait() returns. A source that cannot read ahead
	 * may do the whole read in read_start(). */
	int (*read_start)(struct crl_page_source *s, unsigned slot, uint64_t offset, void *buf, size_t len);
	int (*read_wait)(struct crl_page_source *s, unsigned slot);
	void (*free)(struct crl_page_source *s);
	uint64_t size;
};
/* A source over a raw pages image (fd owned by the source). */
int crl_page_source_file(int fd, uint64_t size, struct crl_page_source **ret);
static inline void crl_page_source_free(struct crl_page_source *s)
{
	if (s)
		s->free(s);
}

/*
 * The restore side: runs read from a source land in a task, batched. A
 * forced run goes through /proc/PID/mem (the task's mapping is not
 * writable); the others through process_vm_writev.
 */
struct crl_page_loader;
int crl_page_loader_new(struct crl_page_source *src, pid_t pid, int memfd,
			struct crl_page_loader **ret);
int crl_page_loader_add(struct crl_page_loader *l, uint64_t vaddr, uint64_t nr, uint64_t offset,
			bool force);
/* Write everything queued; always frees l. */
int crl_page_loader_finish(struct crl_page_loader *l);
void crl_page_loader_abort(struct crl_page_loader *l);

/* The size of the transfer buffer (bytes) the writer and loader use. */
#define CRL_PAGE_BATCH_BYTES (8u << 20)

#endif
