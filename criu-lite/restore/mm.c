/*
 * Rebuilding the address space of one task, by remote system calls.
 *
 * The task is a stopped copy of criu-lite (a stub). In order:
 *   1. its rseq area is unregistered: it lives in memory about to go;
 *   2. a bootstrap area is mapped where the dumped layout has a hole: one
 *      page holding a syscall instruction, the rest scratch for arguments;
 *   3. everything else of the stub is unmapped, but [vvar], [vvar_vclock]
 *      and [vdso], which are moved, keeping their relative offsets (the vDSO
 *      code finds its data relative to itself), to their dumped addresses;
 *   4. every VMA is mapped at its address: anonymous memory, files, and
 *      shared objects (objects.c);
 *   5. private pages are written in batches (lib/pages.c), after the
 *      madvise flags of each VMA (huge pages or not come from them);
 *   6. protections that had to be relaxed are set, mlock and names applied;
 *   7. the mm fields, auxv and exe link are set with PR_SET_MM_MAP.
 *
 * VMA merging. The kernel merges a new mapping into a neighbour that has
 * the same flags. Two neighbours that were separate at dump time (their
 * anon_vmas differed, usually because both were written before they became
 * adjacent) would come back as one. They are kept apart by mapping the
 * second one with a temporary protection, making sure both get an anon_vma
 * (a page written in each), and only then setting the real protection:
 * mprotect() does not merge VMAs whose anon_vmas differ.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/prctl.h>
#include <linux/rseq.h>

#include "crl/limits.h"
#include "crl/log.h"
#include "crl/proc.h"
#include "restore.h"

#define MMAP_MIN_ADDR 0x10000ULL

/* A syscall instruction in criu-lite's own code. The stubs are copies of
 * criu-lite, so it is at the same address in them: the first remote calls
 * run from here, the later ones from the bootstrap page. */
extern const char crl_syscall_insn[];
__asm__(".pushsection .text\n"
	".globl crl_syscall_insn\n"
	".type crl_syscall_insn, @function\n"
	"crl_syscall_insn:\n"
	"	syscall\n"
	"	ud2\n"
	".popsection\n");

int rst_call(struct rst_task *t, long *ret, const char *step, long nr, unsigned long a1,
	     unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5,
	     unsigned long a6)
{
	long res;
	int r = crl_rsys_call6(&t->rsys, &res, nr, a1, a2, a3, a4, a5, a6);

	if (r < 0)
		return log_error_errno(r, "task %d: %s: the remote call could not be made: %m", t->pid, step);
	if ((unsigned long)res >= -4095UL)
		return log_error_errno((int)res, "task %d: %s failed: %m", t->pid, step);
	if (ret)
		*ret = res;
	return 0;
}

int rst_put(struct rst_task *t, const void *data, size_t len, uint64_t *ret_addr)
{
	int r = crl_rsys_put(&t->rsys, data, len, ret_addr);

	if (r < 0)
		return log_error_errno(r, "task %d: cannot copy %zu bytes of arguments into it: %m", t->pid,
				       len);
	return 0;
}

int rst_open(struct rst_task *t, const char *path, int flags, int *ret_fd)
{
	uint64_t addr;
	long fd;
	int r;

	crl_rsys_scratch_reset(&t->rsys);
	r = rst_put(t, path, strlen(path) + 1, &addr);
	if (r >= 0)
		r = RCALL(t, &fd, path, SYS_openat, AT_FDCWD, addr, flags | O_CLOEXEC, 0);
	if (r < 0)
		return r;
	*ret_fd = fd;
	return 0;
}

struct range {
	uint64_t start, end;
};

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* A hole of size bytes that none of the ranges covers, the lowest from
 * MMAP_MIN_ADDR, below the 47-bit user limit. 0 when there is none. */
static uint64_t find_gap(struct range *r, size_t nr, uint64_t size)
{
	uint64_t at = MMAP_MIN_ADDR;

	qsort(r, nr, sizeof(*r), cmp_range);
	for (size_t i = 0; i < nr; i++) {
		if (r[i].start >= at + size)
			break;
		if (r[i].end > at)
			at = r[i].end;
	}
	return at + size <= 0x7ffffffff000ULL ? at : 0;
}

/* Ranges a temporary area must avoid: the dumped layout, what the task has
 * now, and extra. */
static int occupied(const struct rst_task *t, const struct crl_vma_list *cur, const struct range *extra,
		    size_t nr_extra, struct range **ret, size_t *ret_nr)
{
	size_t n = 0, cap = t->mm->n_vmas + cur->nr + nr_extra;
	struct range *r = malloc((cap + 1) * sizeof(*r));

	if (!r)
		return -ENOMEM;
	for (size_t i = 0; i < t->mm->n_vmas; i++)
		if (t->mm->vmas[i]->kind != VMA_KIND__VMA_VSYSCALL)
			r[n++] = (struct range){ t->mm->vmas[i]->start, t->mm->vmas[i]->end };
	for (size_t i = 0; i < cur->nr; i++)
		if (cur->v[i].end <= CRL_TASK_SIZE_MAX)
			r[n++] = (struct range){ cur->v[i].start, cur->v[i].end };
	for (size_t i = 0; i < nr_extra; i++)
		r[n++] = extra[i];
	*ret = r;
	*ret_nr = n;
	return 0;
}

static const struct {
	const char *name;
	VmaKind kind;
} vdso_parts[] = {
	{ "[vvar]", VMA_KIND__VMA_VVAR },
	{ "[vvar_vclock]", VMA_KIND__VMA_VVAR_VCLOCK },
	{ "[vdso]", VMA_KIND__VMA_VDSO },
};
#define NR_VDSO_PARTS ARRAY_SIZE(vdso_parts)

/* 1-3: rseq off, the bootstrap area, the stub's memory gone. Fills cur
 * with the parts of the vDSO the stub has. */
static int clear_stub(struct rst_task *t, struct range cur_vdso[NR_VDSO_PARTS])
{
	static const unsigned char syscall_insn[2] = { 0x0f, 0x05 };
	struct crl_vma_list cur = { 0 };
	struct crl_rseq_conf conf = { 0 };
	_cleanup_free_ struct range *occ = NULL, *keep = NULL;
	size_t nr_occ = 0, nr_keep = 0;
	uint64_t top = 0, from = 0;
	long ret;
	int r;

	r = crl_rsys_init(&t->rsys, t->pid, (uint64_t)(uintptr_t)crl_syscall_insn);
	if (r >= 0)
		r = crl_ptrace_set_sigmask(t->pid, ~0ULL);
	if (r < 0)
		return log_error_errno(r, "task %d: cannot take control of the new task: %m", t->pid);

	/* The kernel writes into a registered rseq area on every return to
	 * user mode: unregister the stub's before its memory goes. */
	if (crl_ptrace_get_rseq(t->pid, &conf) == 0 && conf.ptr) {
		r = RCALL(t, &ret, "unregistering the stub's rseq", SYS_rseq, conf.ptr, conf.size,
			  RSEQ_FLAG_UNREGISTER, conf.signature);
		if (r < 0)
			return r;
	}

	r = crl_vmas_read(t->pid, &cur);
	if (r < 0)
		return log_error_errno(r, "task %d: cannot read its mappings: %m", t->pid);
	r = occupied(t, &cur, NULL, 0, &occ, &nr_occ);
	if (r < 0)
		goto out;
	t->boot = find_gap(occ, nr_occ, RST_BOOT_SIZE);
	if (!t->boot) {
		r = log_error_errno(-ENOMEM, "task %d: no room for the bootstrap area", t->pid);
		goto out;
	}
	r = RCALL(t, &ret, "mapping the bootstrap area", SYS_mmap, t->boot, RST_BOOT_SIZE,
		  PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (r < 0)
		goto out;
	r = crl_mem_write(t->pid, t->boot, syscall_insn, sizeof(syscall_insn));
	if (r < 0) {
		r = log_error_errno(r, "task %d: cannot write the bootstrap code: %m", t->pid);
		goto out;
	}
	t->rsys.syscall_ip = t->boot;
	crl_rsys_set_scratch(&t->rsys, t->boot + CRL_PAGE_SIZE, RST_BOOT_SIZE - CRL_PAGE_SIZE);

	/* Keep the bootstrap area and the vDSO; unmap the rest. */
	keep = calloc(NR_VDSO_PARTS + 1, sizeof(*keep));
	if (!keep) {
		r = -ENOMEM;
		goto out;
	}
	keep[nr_keep++] = (struct range){ t->boot, t->boot + RST_BOOT_SIZE };
	for (size_t k = 0; k < NR_VDSO_PARTS; k++) {
		cur_vdso[k] = (struct range){ 0, 0 };
		for (size_t i = 0; i < cur.nr; i++)
			if (cur.v[i].name && !strcmp(cur.v[i].name, vdso_parts[k].name)) {
				cur_vdso[k] = (struct range){ cur.v[i].start, cur.v[i].end };
				keep[nr_keep++] = cur_vdso[k];
			}
	}
	for (size_t i = 0; i < cur.nr; i++)
		if (cur.v[i].end <= CRL_TASK_SIZE_MAX && cur.v[i].end > top)
			top = cur.v[i].end;
	qsort(keep, nr_keep, sizeof(*keep), cmp_range);
	for (size_t k = 0; k <= nr_keep && r >= 0; k++) {
		uint64_t to = k < nr_keep ? keep[k].start : top;

		if (to > from)
			r = RCALL(t, &ret, "unmapping the stub", SYS_munmap, from, to - from);
		if (k < nr_keep)
			from = keep[k].end;
	}
out:
	crl_vma_list_free(&cur);
	return r;
}

/* 3: the vDSO parts to their dumped addresses, as one block. */
static int move_vdso(struct rst_task *t, const struct range cur[NR_VDSO_PARTS])
{
	const VmaEntry *dumped[NR_VDSO_PARTS] = { 0 };
	int64_t delta = 0;
	bool any = false, overlap = false;
	long ret;
	int r;

	for (size_t i = 0; i < t->mm->n_vmas; i++)
		for (size_t k = 0; k < NR_VDSO_PARTS; k++)
			if (t->mm->vmas[i]->kind == vdso_parts[k].kind)
				dumped[k] = t->mm->vmas[i];
	for (size_t k = 0; k < NR_VDSO_PARTS; k++) {
		if (!dumped[k]) {
			/* The dumped task had no such part: drop ours. */
			if (cur[k].end) {
				r = RCALL(t, &ret, "unmapping a vDSO part", SYS_munmap, cur[k].start,
					  cur[k].end - cur[k].start);
				if (r < 0)
					return r;
			}
			continue;
		}
		if (!cur[k].end || cur[k].end - cur[k].start != dumped[k]->end - dumped[k]->start)
			return log_error_errno(-EOPNOTSUPP,
					       "task %d: the dump has a %s of %llu bytes, this kernel gives %llu: "
					       "the vDSO layout differs",
					       t->pid, vdso_parts[k].name,
					       (unsigned long long)(dumped[k]->end - dumped[k]->start),
					       (unsigned long long)(cur[k].end - cur[k].start));
		if (!any)
			delta = (int64_t)(dumped[k]->start - cur[k].start);
		else if ((int64_t)(dumped[k]->start - cur[k].start) != delta)
			return log_error_errno(-EOPNOTSUPP,
					       "task %d: the vDSO parts were apart differently in the dump: the "
					       "vDSO layout differs",
					       t->pid);
		any = true;
	}
	if (!any || delta == 0)
		return 0;

	for (size_t k = 0; k < NR_VDSO_PARTS; k++)
		for (size_t j = 0; dumped[k] && j < NR_VDSO_PARTS; j++)
			if (dumped[j] && dumped[k]->start < cur[j].end && cur[j].start < dumped[k]->end)
				overlap = true;
	if (overlap) {
		/* The block moves onto itself: through a free spot first. */
		struct crl_vma_list none = { 0 };
		_cleanup_free_ struct range *occ = NULL;
		struct range extra[NR_VDSO_PARTS + 1];
		uint64_t lo = UINT64_MAX, hi = 0, tmp;
		size_t nr_occ = 0, n = 0;

		for (size_t k = 0; k < NR_VDSO_PARTS; k++)
			if (dumped[k]) {
				extra[n++] = cur[k];
				lo = MIN(lo, cur[k].start);
				hi = MAX(hi, cur[k].end);
			}
		extra[n++] = (struct range){ t->boot, t->boot + RST_BOOT_SIZE };
		r = occupied(t, &none, extra, n, &occ, &nr_occ);
		if (r < 0)
			return r;
		tmp = find_gap(occ, nr_occ, hi - lo);
		if (!tmp)
			return log_error_errno(-ENOMEM, "task %d: no room to move the vDSO", t->pid);
		for (size_t k = 0; k < NR_VDSO_PARTS; k++) {
			if (!dumped[k])
				continue;
			r = RCALL(t, &ret, "moving the vDSO aside", SYS_mremap, cur[k].start,
				  cur[k].end - cur[k].start, cur[k].end - cur[k].start,
				  MREMAP_MAYMOVE | MREMAP_FIXED, tmp + (cur[k].start - lo));
			if (r < 0)
				return r;
		}
		for (size_t k = 0; k < NR_VDSO_PARTS; k++) {
			if (!dumped[k])
				continue;
			r = RCALL(t, &ret, "moving the vDSO into place", SYS_mremap, tmp + (cur[k].start - lo),
				  cur[k].end - cur[k].start, cur[k].end - cur[k].start,
				  MREMAP_MAYMOVE | MREMAP_FIXED, dumped[k]->start);
			if (r < 0)
				return r;
		}
		return 0;
	}
	for (size_t k = 0; k < NR_VDSO_PARTS; k++) {
		if (!dumped[k])
			continue;
		r = RCALL(t, &ret, "moving the vDSO into place", SYS_mremap, cur[k].start,
			  cur[k].end - cur[k].start, cur[k].end - cur[k].start, MREMAP_MAYMOVE | MREMAP_FIXED,
			  dumped[k]->start);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool is_special(const VmaEntry *e)
{
	return e->kind == VMA_KIND__VMA_VDSO || e->kind == VMA_KIND__VMA_VVAR ||
	       e->kind == VMA_KIND__VMA_VVAR_VCLOCK || e->kind == VMA_KIND__VMA_VSYSCALL;
}

static bool is_anon(const VmaEntry *e)
{
	return e->kind == VMA_KIND__VMA_ANON || e->kind == VMA_KIND__VMA_HEAP ||
	       e->kind == VMA_KIND__VMA_STACK;
}

/* The name a VMA carries itself: "[heap]" and "[stack]" are not, the
 * kernel derives them from the mm fields when it prints maps, and they do
 * not keep it from merging with a neighbour. */
static const char *own_name(const char *name)
{
	return name && (!strcmp(name, "[heap]") || !strcmp(name, "[stack]")) ? NULL : name;
}

static bool same_name(const char *a, const char *b)
{
	a = own_name(a);
	b = own_name(b);
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Would the kernel merge vma b into its left neighbour a, had they the
 * same anon_vma? Then they were kept apart by something we must recreate. */
static bool would_merge(const VmaEntry *a, const VmaEntry *b)
{
	if (a->end != b->start || is_special(a) || is_special(b) || !(a->flags & MAP_PRIVATE) ||
	    !(b->flags & MAP_PRIVATE) || a->prot != b->prot || a->flags != b->flags ||
	    a->vmflags != b->vmflags)
		return false;
	if (is_anon(a) && is_anon(b))
		return same_name(a->name, b->name);
	return !is_anon(a) && !is_anon(b) && a->object_id == b->object_id &&
	       b->pgoff == a->pgoff + (a->end - a->start) / CRL_PAGE_SIZE;
}

/* A private VMA that was writable once keeps VM_ACCOUNT ("ac"); map it
 * writable first, so it gets it again. */
static bool needs_account(const VmaEntry *e)
{
	return (e->flags & MAP_PRIVATE) && (e->vmflags & VMF(AC)) && !(e->prot & PROT_WRITE);
}

struct vma_plan {
	int prot0;       /* protection it is mapped with */
	bool apart;      /* must not merge with a neighbour: needs an anon_vma */
	bool has_pages;
};

static int map_vma(struct rst_ctx *ctx, struct rst_task *t, const VmaEntry *e, int prot0)
{
	unsigned long flags = MAP_FIXED_NOREPLACE | (e->flags & (MAP_SHARED | MAP_PRIVATE | MAP_NORESERVE));
	unsigned long off = 0;
	int fd = -1, r;
	long ret;

	if (is_anon(e)) {
		flags |= MAP_ANONYMOUS | (e->flags & MAP_GROWSDOWN);
	} else {
		r = rst_object_fd(ctx, t, e, &fd);
		if (r < 0)
			return r;
		off = e->pgoff * CRL_PAGE_SIZE;
	}
	r = crl_rsys_call6(&t->rsys, &ret, SYS_mmap, e->start, e->end - e->start, prot0, flags, fd, off);
	if (r < 0 || (unsigned long)ret >= -4095UL || (uint64_t)ret != e->start)
		return log_error_errno(r < 0 ? r : (unsigned long)ret >= -4095UL ? (int)ret : -EFAULT,
				       "task %d: cannot map %llx-%llx%s%s: %m", t->pid,
				       (unsigned long long)e->start, (unsigned long long)e->end,
				       e->name ? " " : "", e->name ? e->name : "");
	if (!is_anon(e))
		rst_object_mapped(ctx, t, e);
	return 0;
}

/* Give a VMA without restored pages an anon_vma: rewrite its first page
 * with its own contents (zeroes, or the file's), through /proc/PID/mem
 * which does that whatever the protection. */
static int touch(struct rst_task *t, const VmaEntry *e)
{
	char page[CRL_PAGE_SIZE];
	int r = crl_mem_read_force(t->memfd, e->start, page, sizeof(page));

	if (r >= 0)
		r = crl_mem_write_force(t->memfd, e->start, page, sizeof(page));
	if (r < 0)
		return log_error_errno(r, "task %d: cannot touch %llx to keep it apart from its neighbour: %m",
				       t->pid, (unsigned long long)e->start);
	return 0;
}

static int load_pages(struct rst_task *t, const struct vma_plan *plan)
{
	struct crl_page_loader *l = NULL;
	const MmEntry *mm = t->mm;
	size_t v = 0;
	int r;

	if (!t->pages.nr)
		return 0;
	r = crl_page_loader_new(t->pages.src, t->pid, t->memfd, &l);
	if (r < 0)
		return log_error_errno(r, "out of memory");
	for (size_t i = 0; i < t->pages.nr && r >= 0; i++) {
		const PagemapEntry *run = t->pages.runs[i];

		while (mm->vmas[v]->end <= run->vaddr)
			v++; /* runs lie inside VMAs: checked when read */
		/* Memory the task cannot write (yet) goes through
		 * /proc/PID/mem, which writes into read-only private pages. */
		r = crl_page_loader_add(l, run->vaddr, run->nr_pages, run->offset,
					!(plan[v].prot0 & PROT_WRITE));
	}
	if (r < 0) {
		crl_page_loader_abort(l);
		return log_error_errno(r, "task %d: cannot write its pages: %m", t->pid);
	}
	r = crl_page_loader_finish(l);
	if (r < 0)
		return log_error_errno(r, "task %d: cannot write its pages: %m", t->pid);
	return 0;
}

/* madvise() state from VmFlags. Applied as soon as the VMA is mapped,
 * before its pages are written: MADV_HUGEPAGE decides whether the faults
 * that writing makes allocate huge pages (afterwards, the region would stay
 * in small pages until khugepaged maybe collapsed it), and MADV_NOHUGEPAGE
 * that they do not. */
static int apply_advice(struct rst_task *t, const VmaEntry *e)
{
	static const struct {
		int bit;
		int advice;
	} advices[] = {
		{ CRL_VMF_DD, MADV_DONTDUMP }, { CRL_VMF_DC, MADV_DONTFORK },   { CRL_VMF_WF, MADV_WIPEONFORK },
		{ CRL_VMF_HG, MADV_HUGEPAGE }, { CRL_VMF_NH, MADV_NOHUGEPAGE }, { CRL_VMF_MG, MADV_MERGEABLE },
		{ CRL_VMF_SR, MADV_SEQUENTIAL }, { CRL_VMF_RR, MADV_RANDOM },
	};
	char step[64];
	uint64_t len = e->end - e->start;
	long ret;
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(advices); i++) {
		if (!(e->vmflags & (1ULL << advices[i].bit)))
			continue;
		snprintf(step, sizeof(step), "madvise(%llx-%llx, %d)", (unsigned long long)e->start,
			 (unsigned long long)e->end, advices[i].advice);
		r = RCALL(t, &ret, step, SYS_madvise, e->start, len, advices[i].advice);
		if (r < 0)
			return r;
	}
	return 0;
}

/* mlock() state and the anonymous name, from VmFlags and the name: once
 * the pages are in and the protection is final. */
static int apply_lock_name(struct rst_task *t, const VmaEntry *e)
{
	uint64_t len = e->end - e->start;
	long ret;
	int r;

	if (e->vmflags & VMF(LF)) {
		r = RCALL(t, &ret, "mlock2(MLOCK_ONFAULT)", SYS_mlock2, e->start, len, 1 /* MLOCK_ONFAULT */);
		if (r < 0)
			return r;
	} else if (e->vmflags & VMF(LO)) {
		r = RCALL(t, &ret, "mlock", SYS_mlock, e->start, len);
		if (r < 0)
			return r;
	}
	if (e->name && !strncmp(e->name, "[anon:", 6)) {
		size_t n = strlen(e->name);
		char name[256];
		uint64_t addr;

		snprintf(name, sizeof(name), "%.*s", (int)(n > 7 ? n - 7 : 0), e->name + 6);
		crl_rsys_scratch_reset(&t->rsys);
		r = rst_put(t, name, strlen(name) + 1, &addr);
		if (r >= 0)
			r = RCALL(t, &ret, "naming an anonymous mapping", SYS_prctl, PR_SET_VMA,
				  PR_SET_VMA_ANON_NAME, e->start, len, addr);
		if (r < 0)
			return r;
	}
	return 0;
}

/* 4-6: the VMAs, their pages, their final protection and flags. */
static int restore_vmas(struct rst_ctx *ctx, struct rst_task *t)
{
	const MmEntry *mm = t->mm;
	_cleanup_free_ struct vma_plan *plan = calloc(mm->n_vmas + 1, sizeof(*plan));
	size_t v = 0;
	long ret;
	int r;

	if (!plan)
		return -ENOMEM;
	for (size_t i = 0; i < t->pages.nr; i++) {
		while (mm->vmas[v]->end <= t->pages.runs[i]->vaddr)
			v++;
		plan[v].has_pages = true;
	}

	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *e = mm->vmas[i];
		int prot0 = needs_account(e) ? (int)(e->prot | PROT_WRITE) : (int)e->prot;

		if (is_special(e))
			continue;
		if (i > 0 && would_merge(mm->vmas[i - 1], e)) {
			plan[i - 1].apart = plan[i].apart = true;
			/* Differ from the neighbour as it is mapped now. */
			if (prot0 == plan[i - 1].prot0)
				prot0 = prot0 == PROT_NONE ? PROT_READ : PROT_NONE;
		}
		plan[i].prot0 = prot0;
		r = map_vma(ctx, t, e, prot0);
		if (r >= 0)
			r = apply_advice(t, e);
		if (r < 0)
			return r;
	}

	r = load_pages(t, plan);
	if (r < 0)
		return r;

	for (size_t i = 0; i < mm->n_vmas; i++)
		if (plan[i].apart && !plan[i].has_pages) {
			r = touch(t, mm->vmas[i]);
			if (r < 0)
				return r;
		}
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *e = mm->vmas[i];

		if (is_special(e))
			continue;
		if (needs_account(e) && !(plan[i].prot0 & PROT_WRITE)) {
			r = RCALL(t, &ret, "mprotect", SYS_mprotect, e->start, e->end - e->start,
				  e->prot | PROT_WRITE);
			if (r < 0)
				return r;
			plan[i].prot0 = e->prot | PROT_WRITE;
		}
		if ((unsigned)plan[i].prot0 != e->prot) {
			r = RCALL(t, &ret, "mprotect", SYS_mprotect, e->start, e->end - e->start, e->prot);
			if (r < 0)
				return r;
		}
		r = apply_lock_name(t, e);
		if (r < 0)
			return r;
	}
	return rst_close_object_fds(ctx, t);
}

/* Compare the new layout with the dumped one: a merge or a split that
 * slipped through is worth a warning (the task works, but is not identical). */
static void verify_layout(struct rst_task *t)
{
	struct crl_vma_list now = { 0 };
	size_t j = 0;

	if (crl_vmas_read(t->pid, &now) < 0)
		return;
	for (size_t i = 0; i < t->mm->n_vmas; i++) {
		const VmaEntry *e = t->mm->vmas[i];

		while (j < now.nr && now.v[j].end <= e->start)
			j++;
		if (j == now.nr || now.v[j].start != e->start || now.v[j].end != e->end ||
		    now.v[j].prot != e->prot) {
			log_warn("task %d: restored VMA %llx-%llx is not as dumped (now %llx-%llx)", t->pid,
				 (unsigned long long)e->start, (unsigned long long)e->end,
				 j < now.nr ? (unsigned long long)now.v[j].start : 0ULL,
				 j < now.nr ? (unsigned long long)now.v[j].end : 0ULL);
			break;
		}
	}
	crl_vma_list_free(&now);
}

/* 7: mm fields, auxv, exe. */
static int set_mm_fields(struct rst_ctx *ctx, struct rst_task *t)
{
	const MmEntry *mm = t->mm;
	struct prctl_mm_map map = {
		.start_code = mm->start_code,
		.end_code = mm->end_code,
		.start_data = mm->start_data,
		.end_data = mm->end_data,
		.start_brk = mm->start_brk,
		.brk = mm->brk,
		.start_stack = mm->start_stack,
		.arg_start = mm->arg_start,
		.arg_end = mm->arg_end,
		.env_start = mm->env_start,
		.env_end = mm->env_end,
		.auxv_size = mm->n_auxv * sizeof(uint64_t),
	};
	VmaEntry exe = VMA_ENTRY__INIT;
	uint64_t auxv_addr, map_addr;
	long ret;
	int fd, r;

	/* The exe is opened like the object of a private mapping. */
	exe.object_id = mm->exe_id;
	exe.flags = MAP_PRIVATE;
	r = rst_object_fd(ctx, t, &exe, &fd);
	if (r < 0)
		return r;
	crl_rsys_scratch_reset(&t->rsys);
	r = rst_put(t, mm->auxv, map.auxv_size, &auxv_addr);
	if (r < 0)
		return r;
	map.auxv = (__u64 *)(uintptr_t)auxv_addr;
	map.exe_fd = fd;
	r = rst_put(t, &map, sizeof(map), &map_addr);
	if (r >= 0) {
		const struct rst_object *o = rst_object(ctx, mm->exe_id);

		r = RCALL(t, &ret, "PR_SET_MM_MAP", SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, map_addr, sizeof(map));
		if (r < 0)
			log_error("task %d: the mm fields, auxv and executable (object %u, %s) were not taken", t->pid,
				  mm->exe_id, o->file ? o->file->path : o->shmem->name ? o->shmem->name : "?");
	}
	if (r >= 0)
		r = rst_close_object_fds(ctx, t);
	return r;
}

int rst_task_mm(struct rst_ctx *ctx, struct rst_task *t)
{
	struct range cur_vdso[NR_VDSO_PARTS];
	int r;

	t->memfd = crl_mem_open(t->pid, O_RDWR);
	if (t->memfd < 0)
		return log_error_errno(t->memfd, "task %d: cannot open its memory: %m", t->pid);
	r = clear_stub(t, cur_vdso);
	if (r >= 0)
		r = move_vdso(t, cur_vdso);
	if (r >= 0)
		r = restore_vmas(ctx, t);
	if (r >= 0)
		r = set_mm_fields(ctx, t);
	/* Not needed any more: a big tree must not keep one per task. */
	close(t->memfd);
	t->memfd = -1;
	if (r < 0)
		return r;
	verify_layout(t);
	return 0;
}
