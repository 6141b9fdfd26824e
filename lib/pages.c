/* Page transfer between tasks and images; see crl/pages.h. */
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <linux/aio_abi.h>

#include "pagemap.pb-c.h"

#include "crl/log.h"
#include "crl/pages.h"
#include "crl/rsys.h"

#define BATCH_IOVS 1024 /* IOV_MAX */

int crl_pagemap_open(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? negative_errno() : fd;
}

int crl_pagemap_read(int fd, uint64_t addr, uint64_t *buf, size_t nr)
{
	return crl_pread_all(fd, buf, nr * 8, (off_t)(addr / CRL_PAGE_SIZE * 8));
}

int crl_zero_pfns_detect(struct crl_zero_pfns *ret)
{
	const size_t huge = 2UL << 20;
	_cleanup_close_ int fd = crl_pagemap_open(getpid());
	volatile char *p;
	uint64_t pme;
	char *area;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (fd < 0)
		return fd;

	/* A read fault in a private anonymous mapping maps the zero page. */
	p = mmap(NULL, CRL_PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return negative_errno();
	(void)p[0];
	r = crl_pagemap_read(fd, (uint64_t)(uintptr_t)p, &pme, 1);
	munmap((void *)p, CRL_PAGE_SIZE);
	if (r < 0)
		return r;
	if (!(pme & PM_PRESENT) || !(pme & PM_PFN_MASK))
		return -ENOTSUP; /* pfns hidden: not root? */
	ret->pfn = pme & PM_PFN_MASK;

	/* The same in a huge-page-aligned area maps the huge zero page, if
	 * THP gives one; it is optional. */
	area = mmap(NULL, 2 * huge, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return 0;
	p = (char *)(((uintptr_t)area + huge - 1) & ~(huge - 1));
	madvise((void *)p, huge, MADV_HUGEPAGE);
	(void)p[0];
	if (crl_pagemap_read(fd, (uint64_t)(uintptr_t)p, &pme, 1) == 0 && (pme & PM_PRESENT) &&
	    (pme & PM_PFN_MASK) != ret->pfn)
		ret->huge_pfn = pme & PM_PFN_MASK;
	munmap(area, 2 * huge);
	return 0;
}

bool crl_pfn_is_zero(const struct crl_zero_pfns *z, uint64_t pme)
{
	uint64_t pfn = pme & PM_PFN_MASK;

	if (!(pme & PM_PRESENT))
		return false;
	/* pfn 0 means unknown (detection failed, pfns hidden): then no page
	 * is the zero page, rather than every page with a hidden pfn. */
	if (z->pfn && pfn == z->pfn)
		return true;
	return z->huge_pfn && pfn >= z->huge_pfn && pfn < z->huge_pfn + 512;
}

bool crl_pme_wanted(uint64_t pme, bool file_backed, const struct crl_zero_pfns *z)
{
	if (pme & PM_SWAP)
		return true;
	if (!(pme & PM_PRESENT))
		return false;
	/* In a private file mapping a page with PM_FILE is the page cache
	 * page: the file brings it back. Without it, it is the task's copy. */
	if (file_backed && (pme & PM_FILE))
		return false;
	return !crl_pfn_is_zero(z, pme);
}

/* PAGEMAP_SCAN (Linux 6.7); the installed headers predate it. */
struct crl_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
struct crl_page_region {
	uint64_t start, end, categories;
};
#define CRL_PAGEMAP_SCAN _IOWR('f', 16, struct crl_pm_scan_arg)
#define PAGE_IS_FILE (1ULL << 2)
#define PAGE_IS_PRESENT (1ULL << 3)
#define PAGE_IS_SWAPPED (1ULL << 4)
#define PAGE_IS_PFNZERO (1ULL << 5)
#define PAGE_IS_GUARD (1ULL << 8)

int crl_pagemap_scan(int pagemap_fd, uint64_t start, uint64_t end, bool file_backed,
		     int (*fn)(void *arg, uint64_t start, uint64_t nr), void *arg, bool *ret_guard)
{
	struct crl_page_region v[256];
	/* Present or swapped, not a zero page (small or huge), and in a
	 * private file mapping not the page cache's own page. */
	struct crl_pm_scan_arg q = {
		.size = sizeof(q),
		.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.category_mask = PAGE_IS_PFNZERO | (file_backed ? PAGE_IS_FILE : 0),
		.category_inverted = PAGE_IS_PFNZERO | (file_backed ? PAGE_IS_FILE : 0),
		.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
		.vec = (uintptr_t)v,
		.vec_len = ARRAY_SIZE(v),
	};
	uint64_t at = start;
	int r;

	while (at < end) {
		long n;

		q.start = at;
		q.end = end;
		n = ioctl(pagemap_fd, CRL_PAGEMAP_SCAN, &q);
		if (n < 0)
			return negative_errno();
		for (long i = 0; i < n; i++) {
			r = fn(arg, v[i].start, (v[i].end - v[i].start) / CRL_PAGE_SIZE);
			if (r < 0)
				return r;
		}
		if (q.walk_end <= at)
			return -EIO;
		at = q.walk_end;
	}
	/* Guard regions (MADV_GUARD_INSTALL): a kernel without that category
	 * refuses the mask, and has none. */
	*ret_guard = false;
	{
		struct crl_pm_scan_arg g = {
			.size = sizeof(g), .start = start, .end = end,
			.category_anyof_mask = PAGE_IS_GUARD, .return_mask = PAGE_IS_GUARD,
			.vec = (uintptr_t)v, .vec_len = 1,
		};

		*ret_guard = ioctl(pagemap_fd, CRL_PAGEMAP_SCAN, &g) > 0;
	}
	return 0;
}

/* --- writer ------------------------------------------------------------- */

struct crl_page_writer {
	struct crl_img *pagemap;
	int pages_fd;
	pid_t pid;
	int memfd;
	uint64_t offset; /* file offset of buf[0] */

	bool has_rec;
	uint64_t rec_vaddr, rec_nr, rec_offset;

	char *buf;
	size_t used;
	struct iovec riov[BATCH_IOVS];
	size_t nr_riov;
	bool force;

	struct crl_page_writer_stats stats;
};

int crl_page_writer_new(struct crl_img *pagemap, int pages_fd, pid_t pid, int memfd,
			struct crl_page_writer **ret)
{
	struct crl_page_writer *w = calloc(1, sizeof(*w));
	off_t pos;

	if (!w)
		return -ENOMEM;
	w->buf = mmap(NULL, CRL_PAGE_BATCH_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	if (w->buf == MAP_FAILED) {
		free(w);
		return -ENOMEM;
	}
	pos = lseek(pages_fd, 0, SEEK_CUR);
	if (pos < 0 || !PAGE_ALIGNED((uint64_t)pos)) {
		munmap(w->buf, CRL_PAGE_BATCH_BYTES);
		free(w);
		return -EINVAL;
	}
	/* Page data goes straight to the disk when the file system allows it
	 * (O_DIRECT; every write here is page aligned): a dump does not
	 * fill the page cache with a copy of the tree's memory, and the copy
	 * is not slowed by allocating it. tmpfs refuses O_DIRECT: then the
	 * page cache it is. */
	{
		int fl = fcntl(pages_fd, F_GETFL);

		if (fl >= 0 && fcntl(pages_fd, F_SETFL, fl | O_DIRECT) < 0)
			log_debug("pages image: no O_DIRECT (%m), writing through the page cache");
	}
	w->pagemap = pagemap;
	w->pages_fd = pages_fd;
	w->pid = pid;
	w->memfd = memfd;
	w->offset = pos;
	*ret = w;
	return 0;
}

static int emit_record(struct crl_page_writer *w)
{
	PagemapEntry e = PAGEMAP_ENTRY__INIT;
	int r;

	if (!w->has_rec)
		return 0;
	e.vaddr = w->rec_vaddr;
	e.nr_pages = w->rec_nr;
	e.offset = w->rec_offset;
	r = crl_img_write(w->pagemap, &e.base);
	if (r < 0)
		return r;
	w->has_rec = false;
	w->stats.nr_records++;
	return 0;
}

/* Account nr pages at vaddr stored at file offset off in the records. */
static int note_run(struct crl_page_writer *w, uint64_t vaddr, uint64_t nr, uint64_t off)
{
	int r;

	/* A record's nr_pages is 32-bit: cap runs below that. */
	if (w->has_rec && w->rec_vaddr + w->rec_nr * CRL_PAGE_SIZE == vaddr &&
	    w->rec_offset + w->rec_nr * CRL_PAGE_SIZE == off && w->rec_nr + nr < (1u << 30)) {
		w->rec_nr += nr;
	} else {
		r = emit_record(w);
		if (r < 0)
			return r;
		w->has_rec = true;
		w->rec_vaddr = vaddr;
		w->rec_nr = nr;
		w->rec_offset = off;
	}
	w->stats.nr_pages += nr;
	return 0;
}

static int writer_flush(struct crl_page_writer *w)
{
	int r;

	if (!w->used)
		return 0;
	if (w->force) {
		size_t pos = 0;

		for (size_t i = 0; i < w->nr_riov; i++) {
			r = crl_mem_read_force(w->memfd, (uint64_t)(uintptr_t)w->riov[i].iov_base,
					       w->buf + pos, w->riov[i].iov_len);
			if (r < 0)
				return log_debug_errno(r, "pid %d: cannot read %#lx (+%zu) through mem: %m",
						       w->pid, (unsigned long)w->riov[i].iov_base,
						       w->riov[i].iov_len);
			pos += w->riov[i].iov_len;
		}
	} else {
		struct iovec l = { w->buf, w->used };
		ssize_t n = process_vm_readv(w->pid, &l, 1, w->riov, w->nr_riov, 0);

		if (n < 0)
			return log_debug_errno(negative_errno(), "pid %d: process_vm_readv: %m", w->pid);
		if ((size_t)n != w->used)
			return log_debug_errno(-EFAULT, "pid %d: short read of pages (%zd of %zu)", w->pid,
					       n, w->used);
	}
	r = crl_write_all(w->pages_fd, w->buf, w->used);
	if (r < 0)
		return r;
	w->offset += w->used;
	w->used = 0;
	w->nr_riov = 0;
	return 0;
}

int crl_page_writer_add(struct crl_page_writer *w, uint64_t vaddr, uint64_t nr, bool force)
{
	int r;

	while (nr) {
		uint64_t room = (CRL_PAGE_BATCH_BYTES - w->used) / CRL_PAGE_SIZE, chunk;
		struct iovec *last = w->nr_riov ? &w->riov[w->nr_riov - 1] : NULL;
		bool extends = last && (uint64_t)(uintptr_t)last->iov_base + last->iov_len == vaddr;

		if (w->used && (force != w->force || room == 0 || (!extends && w->nr_riov == BATCH_IOVS))) {
			r = writer_flush(w);
			if (r < 0)
				return r;
			continue;
		}
		w->force = force;
		chunk = MIN(nr, room);
		if (extends) {
			last->iov_len += chunk * CRL_PAGE_SIZE;
		} else {
			w->riov[w->nr_riov].iov_base = (void *)(uintptr_t)vaddr;
			w->riov[w->nr_riov].iov_len = chunk * CRL_PAGE_SIZE;
			w->nr_riov++;
		}
		r = note_run(w, vaddr, chunk, w->offset + w->used);
		if (r < 0)
			return r;
		w->used += chunk * CRL_PAGE_SIZE;
		vaddr += chunk * CRL_PAGE_SIZE;
		nr -= chunk;
	}
	return 0;
}

int crl_page_writer_add_local(struct crl_page_writer *w, uint64_t vaddr, const void *data,
			      uint64_t nr)
{
	const char *p = data;
	int r = writer_flush(w);

	if (r < 0)
		return r;
	/* In pieces a record can describe; through the (page-aligned) batch
	 * buffer when data is not page aligned, as O_DIRECT wants. */
	while (nr) {
		uint64_t chunk = MIN(nr, (uint64_t)(1u << 29));
		bool aligned = PAGE_ALIGNED((uintptr_t)p);

		if (!aligned)
			chunk = MIN(chunk, (uint64_t)CRL_PAGE_BATCH_BYTES / CRL_PAGE_SIZE);
		if (!aligned)
			memcpy(w->buf, p, chunk * CRL_PAGE_SIZE);
		r = crl_write_all(w->pages_fd, aligned ? p : w->buf, chunk * CRL_PAGE_SIZE);
		if (r < 0)
			return r;
		r = note_run(w, vaddr, chunk, w->offset);
		if (r < 0)
			return r;
		w->offset += chunk * CRL_PAGE_SIZE;
		vaddr += chunk * CRL_PAGE_SIZE;
		p += chunk * CRL_PAGE_SIZE;
		nr -= chunk;
	}
	return 0;
}

int crl_page_writer_cut(struct crl_page_writer *w)
{
	return emit_record(w);
}

void crl_page_writer_abort(struct crl_page_writer *w)
{
	if (!w)
		return;
	munmap(w->buf, CRL_PAGE_BATCH_BYTES);
	free(w);
}

int crl_page_writer_finish(struct crl_page_writer *w, struct crl_page_writer_stats *stats)
{
	int r = writer_flush(w);

	if (r >= 0)
		r = emit_record(w);
	if (stats)
		*stats = w->stats;
	crl_page_writer_abort(w);
	return r;
}

/* --- sources ------------------------------------------------------------ */

/*
 * A raw pages image. Reads can also be started ahead (kernel AIO; truly
 * asynchronous on an O_DIRECT file, done at once otherwise), so the loader
 * reads the next batch while it writes the current one into the task.
 */
struct file_source {
	struct crl_page_source base;
	int fd;
	aio_context_t aio;      /* 0: no AIO, reads are synchronous */
	struct iocb cb[2];
	bool started[2];
};

static int check_range(struct crl_page_source *s, uint64_t offset, size_t len)
{
	return offset > s->size || len > s->size - offset ? -EBADMSG : 0;
}

static int file_source_read(struct crl_page_source *s, uint64_t offset, void *buf, size_t len)
{
	struct file_source *f = (struct file_source *)s;
	int r = check_range(s, offset, len);

	return r < 0 ? r : crl_pread_all(f->fd, buf, len, (off_t)offset);
}

static int file_source_start(struct crl_page_source *s, unsigned slot, uint64_t offset, void *buf,
			     size_t len)
{
	struct file_source *f = (struct file_source *)s;
	struct iocb *cb = &f->cb[slot], *cbs[1] = { cb };
	int r = check_range(s, offset, len);

	if (r < 0)
		return r;
	if (!f->aio)
		return crl_pread_all(f->fd, buf, len, (off_t)offset);
	memset(cb, 0, sizeof(*cb));
	cb->aio_lio_opcode = IOCB_CMD_PREAD;
	cb->aio_fildes = f->fd;
	cb->aio_buf = (uintptr_t)buf;
	cb->aio_nbytes = len;
	cb->aio_offset = offset;
	if (syscall(SYS_io_submit, f->aio, 1, cbs) != 1)
		return negative_errno();
	f->started[slot] = true;
	return 0;
}

static int file_source_wait(struct crl_page_source *s, unsigned slot)
{
	struct file_source *f = (struct file_source *)s;
	struct io_event ev;
	struct iocb *cb = &f->cb[slot];
	long n;

	if (!f->started[slot])
		return 0;
	/* Completions come back in any order: an event for the other slot is
	 * kept by marking it done. */
	while (f->started[slot]) {
		n = syscall(SYS_io_getevents, f->aio, 1, 1, &ev, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n != 1)
			return n < 0 ? negative_errno() : -EIO;
		for (unsigned k = 0; k < 2; k++)
			if (ev.obj == (uintptr_t)&f->cb[k]) {
				f->started[k] = false;
				f->cb[k].aio_reserved2 = ev.res == (int64_t)f->cb[k].aio_nbytes ? 0 : 1;
			}
	}
	/* A short or failed read: read it plainly, to report the error. */
	if (cb->aio_reserved2)
		return crl_pread_all(f->fd, (void *)(uintptr_t)cb->aio_buf, cb->aio_nbytes, (off_t)cb->aio_offset);
	return 0;
}

static void file_source_free(struct crl_page_source *s)
{
	struct file_source *f = (struct file_source *)s;

	for (unsigned k = 0; k < 2; k++)
		file_source_wait(s, k);
	if (f->aio)
		syscall(SYS_io_destroy, f->aio);
	close(f->fd);
	free(f);
}

int crl_page_source_file(int fd, uint64_t size, struct crl_page_source **ret)
{
	struct file_source *f = calloc(1, sizeof(*f));
	int fl;

	if (!f)
		return -ENOMEM;
	f->base.read = file_source_read;
	f->base.read_start = file_source_start;
	f->base.read_wait = file_source_wait;
	f->base.free = file_source_free;
	f->base.size = size;
	f->fd = fd;
	/* Pages are read once, in order, into page-aligned buffers: straight
	 * from the disk (O_DIRECT) when the file system allows it, and then
	 * ahead of their use with AIO; else through the page cache with
	 * read-ahead. Callers' buffers must be page aligned. */
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0) {
		if (syscall(SYS_io_setup, 2, &f->aio) < 0)
			f->aio = 0;
	} else {
		posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	}
	*ret = &f->base;
	return 0;
}

/* --- loader ------------------------------------------------------------- */

/* One batch: runs of task pages whose data is contiguous in the source. */
struct batch {
	char *buf;
	size_t used;
	uint64_t src_offset; /* source offset of buf[0] */
	struct iovec riov[BATCH_IOVS];
	size_t nr_riov;
	bool force;
	bool reading;        /* its read was started, not yet written out */
};

struct crl_page_loader {
	struct crl_page_source *src;
	pid_t pid;
	int memfd;
	struct batch b[2];
	unsigned cur;        /* the batch being filled */
};

int crl_page_loader_new(struct crl_page_source *src, pid_t pid, int memfd,
			struct crl_page_loader **ret)
{
	struct crl_page_loader *l = calloc(1, sizeof(*l));
	char *bufs;

	if (!l)
		return -ENOMEM;
	bufs = mmap(NULL, 2 * CRL_PAGE_BATCH_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		    -1, 0);
	if (bufs == MAP_FAILED) {
		free(l);
		return -ENOMEM;
	}
	l->b[0].buf = bufs;
	l->b[1].buf = bufs + CRL_PAGE_BATCH_BYTES;
	l->src = src;
	l->pid = pid;
	l->memfd = memfd;
	*ret = l;
	return 0;
}

/* Wait for the data of batch k and write it into the task. */
static int write_out(struct crl_page_loader *l, unsigned k)
{
	struct batch *b = &l->b[k];
	int r;

	if (!b->reading)
		return 0;
	b->reading = false;
	r = l->src->read_start ? l->src->read_wait(l->src, k) : 0;
	if (r < 0)
		return log_debug_errno(r, "cannot read %zu bytes of pages at offset %llu: %m", b->used,
				       (unsigned long long)b->src_offset);
	if (b->force) {
		size_t pos = 0;

		for (size_t i = 0; i < b->nr_riov; i++) {
			r = crl_mem_write_force(l->memfd, (uint64_t)(uintptr_t)b->riov[i].iov_base,
						b->buf + pos, b->riov[i].iov_len);
			if (r < 0)
				return log_debug_errno(r, "pid %d: cannot write %#lx (+%zu) through mem: %m",
						       l->pid, (unsigned long)b->riov[i].iov_base,
						       b->riov[i].iov_len);
			pos += b->riov[i].iov_len;
		}
	} else {
		struct iovec lv = { b->buf, b->used };
		ssize_t n = process_vm_writev(l->pid, &lv, 1, b->riov, b->nr_riov, 0);

		if (n < 0)
			return log_debug_errno(negative_errno(), "pid %d: process_vm_writev: %m", l->pid);
		if ((size_t)n != b->used)
			return log_debug_errno(-EFAULT, "pid %d: short write of pages (%zd of %zu)", l->pid,
					       n, b->used);
	}
	b->used = 0;
	b->nr_riov = 0;
	return 0;
}

/*
 * The batch being filled is complete: start reading its data, then write
 * out the other one (whose read started earlier) meanwhile, and fill that
 * one next.
 */
static int loader_flush(struct crl_page_loader *l)
{
	struct batch *b = &l->b[l->cur];
	int r;

	if (!b->used)
		return 0;
	if (l->src->read_start)
		r = l->src->read_start(l->src, l->cur, b->src_offset, b->buf, b->used);
	else
		r = l->src->read(l->src, b->src_offset, b->buf, b->used);
	if (r < 0)
		return log_debug_errno(r, "cannot read %zu bytes of pages at offset %llu: %m", b->used,
				       (unsigned long long)b->src_offset);
	b->reading = true;
	l->cur ^= 1;
	return write_out(l, l->cur);
}

int crl_page_loader_add(struct crl_page_loader *l, uint64_t vaddr, uint64_t nr, uint64_t offset,
			bool force)
{
	int r;

	while (nr) {
		struct batch *b = &l->b[l->cur];
		uint64_t room = (CRL_PAGE_BATCH_BYTES - b->used) / CRL_PAGE_SIZE, chunk;
		struct iovec *last = b->nr_riov ? &b->riov[b->nr_riov - 1] : NULL;
		bool extends = last && (uint64_t)(uintptr_t)last->iov_base + last->iov_len == vaddr;

		if (b->used && (force != b->force || room == 0 || offset != b->src_offset + b->used ||
				(!extends && b->nr_riov == BATCH_IOVS))) {
			r = loader_flush(l);
			if (r < 0)
				return r;
			continue;
		}
		if (!b->used)
			b->src_offset = offset;
		b->force = force;
		chunk = MIN(nr, room);
		if (extends) {
			last->iov_len += chunk * CRL_PAGE_SIZE;
		} else {
			b->riov[b->nr_riov].iov_base = (void *)(uintptr_t)vaddr;
			b->riov[b->nr_riov].iov_len = chunk * CRL_PAGE_SIZE;
			b->nr_riov++;
		}
		b->used += chunk * CRL_PAGE_SIZE;
		vaddr += chunk * CRL_PAGE_SIZE;
		offset += chunk * CRL_PAGE_SIZE;
		nr -= chunk;
	}
	return 0;
}

void crl_page_loader_abort(struct crl_page_loader *l)
{
	if (!l)
		return;
	/* No read of ours may land in a buffer that is gone. */
	for (unsigned k = 0; k < 2; k++)
		if (l->b[k].reading && l->src->read_wait)
			l->src->read_wait(l->src, k);
	munmap(l->b[0].buf, 2 * CRL_PAGE_BATCH_BYTES);
	free(l);
}

int crl_page_loader_finish(struct crl_page_loader *l)
{
	int r = loader_flush(l);

	/* The last batch started is still to be written. */
	if (r >= 0)
		r = write_out(l, l->cur ^ 1);
	if (r >= 0)
		r = write_out(l, l->cur);
	crl_page_loader_abort(l);
	return r;
}
