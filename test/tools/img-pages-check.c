/*
 * img-pages-check DIR PID...
 *
 * Compares a dump taken with --leave-running with the live tree it came
 * from (the tree must not have run since: victims sleep in vl_wait()).
 *
 * For each PID:
 *   - every page of pagemap-PID.img + pages-PID.img equals the live memory
 *     at its address (/proc/PID/mem), and lies inside a VMA of mm-PID.img;
 *   - completeness: every page of a private VMA that was not dumped holds
 *     nothing of the task's own: a present page of anonymous memory reads
 *     as zeroes, and a present copy-on-write page (no PM_FILE bit) of a
 *     private file mapping equals the file's page.
 * Then, for every object of shmem.img:
 *   - its size covers every VMA that maps it (pgoff * 4096 + length);
 *   - every page of shmem-pagemap-ID.img + shmem-pages-ID.img (vaddr is the
 *     offset in the object) equals the live object, read through
 *     /proc/USER/map_files/START-END of a VMA that maps it (USER: the first
 *     user still alive; the object offset of a VMA is pgoff * 4096);
 *   - completeness: every data range of the live object (SEEK_DATA) that
 *     was not dumped reads as zeroes.
 *
 * Prints what it compared; exits 0 when everything matched, 1 when
 * something differs (each difference named by its address or offset), 2
 * when it could not compare (a missing image, an unreadable process).
 */
#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "core.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "shmem.pb-c.h"

#include "crl/image.h"
#include "crl/pages.h"
#include "crl/util.h"

#define PG CRL_PAGE_SIZE
#define BATCH 256 /* pages compared per read */
#define MAX_REPORTS 20

static int nr_diffs;  /* differences found */
static int nr_errors; /* things that could not be compared */

#define diff(...)                                       \
	do {                                            \
		if (nr_diffs++ < MAX_REPORTS)           \
			printf("DIFF: " __VA_ARGS__);   \
	} while (0)
#define error(...)                                      \
	do {                                            \
		nr_errors++;                            \
		printf("ERROR: " __VA_ARGS__);          \
	} while (0)

/* One run of dumped pages. */
struct run {
	uint64_t vaddr, nr, offset;
};

struct runs {
	struct run *r;
	size_t nr, cap;
};

/* Read a pagemap image into runs; checks they are sorted, page aligned and
 * inside the pages file of pages_size bytes. */
static int read_runs(int dirfd, enum crl_img_kind kind, uint32_t id, uint64_t pages_size,
		     struct runs *ret)
{
	_cleanup_img_ struct crl_img *img = NULL;
	ProtobufCMessage *msg;
	char name[64];
	int r;

	crl_img_filename(kind, id, name, sizeof(name));
	r = crl_img_open(dirfd, kind, id, CRL_IMG_READ, &img);
	if (r < 0) {
		error("%s: cannot open: %s%s%s\n", name, strerror(-r), img ? ": " : "",
		      img ? crl_img_error(img) : "");
		return r;
	}
	while ((r = crl_img_read(img, &msg)) > 0) {
		PagemapEntry *e = (PagemapEntry *)msg;
		struct run run = { e->vaddr, e->nr_pages, e->offset };

		protobuf_c_message_free_unpacked(msg, NULL);
		if (!PAGE_ALIGNED(run.vaddr) || !PAGE_ALIGNED(run.offset) || !run.nr ||
		    run.offset < PG || run.offset + run.nr * PG > pages_size) {
			diff("%s: record %zu (%#" PRIx64 ", %" PRIu64 " pages at offset %#" PRIx64
			     ") is not inside the %" PRIu64 "-byte pages file\n",
			     name, ret->nr + 1, run.vaddr, run.nr, run.offset, pages_size);
			continue;
		}
		if (ret->nr && ret->r[ret->nr - 1].vaddr + ret->r[ret->nr - 1].nr * PG > run.vaddr)
			diff("%s: record %zu at %#" PRIx64 " overlaps or precedes the one before\n", name,
			     ret->nr + 1, run.vaddr);
		if (GROW(ret->r, ret->cap, ret->nr + 1) < 0)
			return -ENOMEM;
		ret->r[ret->nr++] = run;
	}
	if (r < 0)
		error("%s: %s\n", name, crl_img_error(img));
	return r;
}

/* Is the page at addr inside one of the runs? (runs sorted) */
static bool in_runs(const struct runs *rs, uint64_t addr)
{
	size_t lo = 0, hi = rs->nr;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const struct run *r = &rs->r[mid];

		if (addr < r->vaddr)
			hi = mid;
		else if (addr >= r->vaddr + r->nr * PG)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static bool is_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/*
 * Compare the runs of a pages file with a live source (a /proc/PID/mem or
 * map_files fd, addressed by vaddr + delta). what names the source in
 * reports ("pid 12", "shmem 3"). Returns the number of pages compared.
 */
static uint64_t compare_runs(const struct runs *rs, int pages_fd, int live_fd, int64_t delta,
			     const char *what, const char *unit, uint64_t skip_start, uint64_t skip_len)
{
	static unsigned char a[BATCH * PG], b[BATCH * PG];
	uint64_t compared = 0;

	for (size_t i = 0; i < rs->nr; i++) {
		const struct run *run = &rs->r[i];

		for (uint64_t done = 0; done < run->nr;) {
			uint64_t n = MIN(run->nr - done, (uint64_t)BATCH);
			uint64_t addr = run->vaddr + done * PG;
			int r;

			r = crl_pread_all(pages_fd, a, n * PG, run->offset + done * PG);
			if (r < 0) {
				error("%s: cannot read the pages image at %#" PRIx64 ": %s\n", what,
				      run->offset + done * PG, strerror(-r));
				return compared;
			}
			r = crl_pread_all(live_fd, b, n * PG, addr + delta);
			if (r < 0) {
				diff("%s: %s %#" PRIx64 " (%" PRIu64 " pages) was dumped but cannot be read live: %s\n",
				     what, unit, addr, n, strerror(-r));
				done += n;
				continue;
			}
			/* Bytes the kernel itself rewrites in a running task
			 * (its rseq area: cpu_id on every migration) are not
			 * compared. */
			for (uint64_t x = skip_start; x < skip_start + skip_len; x++)
				if (x >= addr && x < addr + n * PG)
					a[x - addr] = b[x - addr];
			for (uint64_t p = 0; p < n; p++)
				if (memcmp(a + p * PG, b + p * PG, PG)) {
					size_t at = 0;

					while (a[p * PG + at] == b[p * PG + at])
						at++;
					diff("%s: the dumped page at %s %#" PRIx64 " differs from the live one "
					     "(first at byte %zu: dumped %#x, live %#x)\n",
					     what, unit, addr + p * PG, at, a[p * PG + at], b[p * PG + at]);
				}
			compared += n;
			done += n;
		}
	}
	return compared;
}

static bool vma_private(const VmaEntry *v)
{
	return !(v->flags & 0x01 /* MAP_SHARED */);
}

static bool vma_anon(const VmaEntry *v)
{
	return v->kind == VMA_KIND__VMA_ANON || v->kind == VMA_KIND__VMA_HEAP || v->kind == VMA_KIND__VMA_STACK;
}

/* Private pages of pid that hold data of the task's own but were not
 * dumped. Uses pagemap so never-touched pages are not read (reading them
 * through /proc/PID/mem would map zero pages into the task). */
static void check_complete(pid_t pid, const MmEntry *mm, const struct runs *rs, int mem_fd)
{
	static unsigned char buf[PG], fbuf[PG];
	char what[32];
	int pm_fd = crl_pagemap_open(pid);
	uint64_t checked = 0;

	snprintf(what, sizeof(what), "pid %d", pid);
	if (pm_fd < 0) {
		error("%s: cannot open its pagemap: %s\n", what, strerror(-pm_fd));
		return;
	}
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *v = mm->vmas[i];
		bool anon = vma_anon(v);
		int file_fd = -1;

		if (!vma_private(v) || v->kind == VMA_KIND__VMA_VDSO || v->kind == VMA_KIND__VMA_VVAR ||
		    v->kind == VMA_KIND__VMA_VVAR_VCLOCK || v->kind == VMA_KIND__VMA_VSYSCALL)
			continue;
		if (!anon) {
			char path[128];

			snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, pid, v->start,
				 v->end);
			file_fd = open(path, O_RDONLY | O_CLOEXEC);
			if (file_fd < 0) {
				error("%s: cannot open %s: %m\n", what, path);
				continue;
			}
		}
		for (uint64_t addr = v->start; addr < v->end; addr += PG) {
			uint64_t pme;

			if (in_runs(rs, addr))
				continue;
			if (crl_pagemap_read(pm_fd, addr, &pme, 1) < 0) {
				error("%s: cannot read the pagemap at %#" PRIx64 "\n", what, addr);
				break;
			}
			if (!(pme & (PM_PRESENT | PM_SWAP)))
				continue;
			if (!anon && (pme & PM_FILE))
				continue;  /* the file's own page */
			checked++;
			if (crl_pread_all(mem_fd, buf, PG, addr) < 0) {
				error("%s: cannot read the live page at %#" PRIx64 "\n", what, addr);
				continue;
			}
			if (anon) {
				if (!is_zero(buf, PG))
					diff("%s: the page at %#" PRIx64 " holds data but was not dumped\n", what,
					     addr);
				continue;
			}
			memset(fbuf, 0, PG);
			if (pread(file_fd, fbuf, PG, v->pgoff * PG + (addr - v->start)) < 0 || memcmp(buf, fbuf, PG))
				diff("%s: the copy-on-write page at %#" PRIx64 " differs from the file but was "
				     "not dumped\n", what, addr);
		}
		if (file_fd >= 0)
			close(file_fd);
	}
	close(pm_fd);
	printf("pid %d: %" PRIu64 " present pages that were not dumped checked to hold nothing of its own\n", pid,
	       checked);
}

/* The private pages of pid: dumped ones equal live memory, inside a VMA;
 * the others hold nothing of the task's own. */
static void check_pid(int dirfd, pid_t pid)
{
	_cleanup_close_ int pages_fd = -1, mem_fd = -1;
	ProtobufCMessage *msg = NULL;
	struct runs rs = { 0 };
	const char *reason;
	uint64_t pages_size, compared, nr_pages = 0;
	char err[256], path[64], what[32];
	MmEntry *mm;
	size_t v = 0;
	int r;

	snprintf(what, sizeof(what), "pid %d", pid);
	r = crl_img_read_single(dirfd, CRL_IMG_MM, pid, &msg, &reason);
	if (r < 0) {
		error("%s: %s\n", what, reason);
		return;
	}
	mm = (MmEntry *)msg;
	r = crl_img_raw_open(dirfd, CRL_IMG_PAGES, pid, &pages_fd, &pages_size, err, sizeof(err));
	if (r < 0) {
		error("%s: %s\n", what, err);
		goto out;
	}
	if (read_runs(dirfd, CRL_IMG_PAGEMAP, pid, pages_size, &rs) < 0)
		goto out;
	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (mem_fd < 0) {
		error("%s: cannot open %s: %m\n", what, path);
		goto out;
	}

	/* Every run inside a private VMA of the dump (runs and VMAs are both
	 * sorted, so one pass). */
	for (size_t i = 0; i < rs.nr; i++) {
		for (uint64_t a = rs.r[i].vaddr; a < rs.r[i].vaddr + rs.r[i].nr * PG; a += PG) {
			while (v < mm->n_vmas && mm->vmas[v]->end <= a)
				v++;
			if (v == mm->n_vmas || mm->vmas[v]->start > a) {
				diff("%s: the dumped page at %#" PRIx64 " is in no VMA of mm-%d.img\n", what, a, pid);
				break;
			}
			if (!vma_private(mm->vmas[v])) {
				diff("%s: the dumped page at %#" PRIx64 " is in a shared VMA %#" PRIx64 "-%#" PRIx64
				     "\n", what, a, mm->vmas[v]->start, mm->vmas[v]->end);
				break;
			}
		}
		nr_pages += rs.r[i].nr;
	}
	{
		ProtobufCMessage *cm = NULL;
		const char *why;
		uint64_t rseq_ptr = 0, rseq_len = 0;

		if (crl_img_read_single(dirfd, CRL_IMG_CORE, pid, &cm, &why) == 0) {
			const CoreEntry *core = (const CoreEntry *)cm;

			if (core->rseq) {
				rseq_ptr = core->rseq->ptr;
				rseq_len = core->rseq->size;
			}
			protobuf_c_message_free_unpacked(cm, NULL);
		}
		compared = compare_runs(&rs, pages_fd, mem_fd, 0, what, "address", rseq_ptr, rseq_len);
	}
	printf("pid %d: %zu runs, %" PRIu64 " dumped pages, %" PRIu64 " compared with live memory\n", pid, rs.nr,
	       nr_pages, compared);
	check_complete(pid, mm, &rs, mem_fd);
out:
	free(rs.r);
	protobuf_c_message_free_unpacked(msg, NULL);
}

static bool pid_alive(uint32_t pid)
{
	char path[64];
	char *text = NULL;
	bool alive;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	if (crl_read_file(path, &text, NULL) < 0)
		return false;
	/* "pid (comm) S ...": a zombie has no memory left */
	alive = strrchr(text, ')') && strrchr(text, ')')[1] == ' ' && strrchr(text, ')')[2] != 'Z';
	free(text);
	return alive;
}

/*
 * One shared object: its size covers its VMAs; its dumped pages equal the
 * live object; its live data not dumped is zeroes.
 */
static void check_shmem(int dirfd, const ShmemEntry *e)
{
	_cleanup_close_ int pages_fd = -1, obj_fd = -1;
	struct runs rs = { 0 };
	uint64_t pages_size, compared, checked = 0, nr_vmas = 0;
	char err[256], what[32], path[128] = "";
	uint32_t via = 0;
	int r;

	snprintf(what, sizeof(what), "shmem %u", e->id);
	/* Every VMA of every user that maps it: the size must cover it. */
	for (size_t u = 0; u < e->n_users; u++) {
		ProtobufCMessage *msg;
		const char *reason;
		MmEntry *mm;
		bool maps_it = false;

		if (crl_img_read_single(dirfd, CRL_IMG_MM, e->users[u], &msg, &reason) < 0) {
			error("%s: user %u: %s\n", what, e->users[u], reason);
			continue;
		}
		mm = (MmEntry *)msg;
		for (size_t i = 0; i < mm->n_vmas; i++) {
			const VmaEntry *v = mm->vmas[i];

			if (!v->has_object_id || v->object_id != e->id)
				continue;
			maps_it = true;
			nr_vmas++;
			if (v->pgoff * PG + (v->end - v->start) > e->size)
				diff("%s: size %" PRIu64 " does not cover the VMA %" PRIx64 "-%" PRIx64
				     " of pid %u at offset %#" PRIx64 "\n",
				     what, e->size, v->start, v->end, e->users[u], v->pgoff * PG);
			if (obj_fd < 0 && pid_alive(e->users[u])) {
				snprintf(path, sizeof(path), "/proc/%u/map_files/%" PRIx64 "-%" PRIx64, e->users[u],
					 v->start, v->end);
				obj_fd = open(path, O_RDONLY | O_CLOEXEC);
				if (obj_fd < 0)
					error("%s: cannot open %s: %m\n", what, path);
				else
					via = e->users[u];
			}
		}
		if (!maps_it)
			diff("%s: user %u has no VMA with object_id %u in mm-%u.img\n", what, e->users[u], e->id,
			     e->users[u]);
		protobuf_c_message_free_unpacked(msg, NULL);
	}
	if (obj_fd < 0) {
		error("%s: no live user to read it through\n", what);
		return;
	}
	r = crl_img_raw_open(dirfd, CRL_IMG_SHMEM_PAGES, e->id, &pages_fd, &pages_size, err, sizeof(err));
	if (r < 0) {
		error("%s: %s\n", what, err);
		return;
	}
	if (read_runs(dirfd, CRL_IMG_SHMEM_PAGEMAP, e->id, pages_size, &rs) < 0)
		goto out;
	for (size_t i = 0; i < rs.nr; i++)
		if (rs.r[i].vaddr + rs.r[i].nr * PG > e->size)
			diff("%s: the dumped run at offset %#" PRIx64 " ends past the size %" PRIu64 "\n", what,
			     rs.r[i].vaddr, e->size);
	compared = compare_runs(&rs, pages_fd, obj_fd, 0, what, "offset", 0, 0);

	/* Live data that was not dumped must be zeroes. */
	for (off_t data = 0; (uint64_t)data < e->size;) {
		static unsigned char buf[PG];
		off_t hole;

		data = lseek(obj_fd, data, SEEK_DATA);
		if (data < 0)
			break;  /* ENXIO: no data after it */
		hole = lseek(obj_fd, data, SEEK_HOLE);
		if (hole < 0)
			hole = e->size;
		for (off_t off = data & ~(off_t)(PG - 1); off < hole && (uint64_t)off < e->size; off += PG) {
			if (in_runs(&rs, off))
				continue;
			checked++;
			memset(buf, 0, PG);
			if (pread(obj_fd, buf, PG, off) < 0)
				error("%s: cannot read offset %#jx through %s: %m\n", what, (intmax_t)off, path);
			else if (!is_zero(buf, PG))
				diff("%s: the page at offset %#jx holds data but was not dumped\n", what,
				     (intmax_t)off);
		}
		data = hole;
	}
	printf("shmem %u (kind %d, size %" PRIu64 ", %zu users, %" PRIu64 " VMAs): %" PRIu64
	       " dumped pages compared with the live object through %s (pid %u); %" PRIu64
	       " live pages not dumped checked to be zeroes\n",
	       e->id, e->kind, e->size, e->n_users, nr_vmas, compared, path, via, checked);
out:
	free(rs.r);
}

static void check_shmems(int dirfd)
{
	_cleanup_img_ struct crl_img *img = NULL;
	ProtobufCMessage *msg;
	unsigned n = 0;
	int r;

	r = crl_img_open(dirfd, CRL_IMG_SHMEM, 0, CRL_IMG_READ, &img);
	if (r == -ENOENT) {
		printf("no shmem.img: no shared objects\n");
		return;
	}
	if (r < 0) {
		error("shmem.img: %s\n", img ? crl_img_error(img) : strerror(-r));
		return;
	}
	while ((r = crl_img_read(img, &msg)) > 0) {
		check_shmem(dirfd, (ShmemEntry *)msg);
		protobuf_c_message_free_unpacked(msg, NULL);
		n++;
	}
	if (r < 0)
		error("shmem.img: %s\n", crl_img_error(img));
	printf("%u shared objects checked\n", n);
}

int main(int argc, char **argv)
{
	_cleanup_close_ int dirfd = -1;

	if (argc < 3) {
		fprintf(stderr, "usage: %s DIR PID...\n", argv[0]);
		return 2;
	}
	dirfd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		fprintf(stderr, "%s: cannot open %s: %m\n", argv[0], argv[1]);
		return 2;
	}
	for (int i = 2; i < argc; i++) {
		uint64_t pid;

		if (crl_parse_u64(argv[i], 10, &pid) < 0 || !pid || pid > INT32_MAX) {
			fprintf(stderr, "%s: '%s' is not a pid\n", argv[0], argv[i]);
			return 2;
		}
		check_pid(dirfd, pid);
	}
	check_shmems(dirfd);
	if (nr_diffs > MAX_REPORTS)
		printf("(%d more differences not shown)\n", nr_diffs - MAX_REPORTS);
	printf("%d differences, %d errors\n", nr_diffs, nr_errors);
	return nr_diffs ? 1 : nr_errors ? 2 : 0;
}
