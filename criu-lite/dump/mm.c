/*
 * The address space of a task: what each VMA maps, the mm fields, and the
 * private pages.
 *
 * Every file-backed or shared VMA is identified through
 * /proc/PID/map_files/START-END: stat() gives the inode that is mapped,
 * readlink() what it is (a path, "/dev/zero (deleted)" for shared anonymous
 * memory, "/memfd:NAME (deleted)", "/SYSVKEY (deleted)"). That identity,
 * (st_dev, st_ino), keys the tree-wide object table, so two tasks mapping
 * one object record the same object id.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "mm.pb-c.h"
#include "pagemap.pb-c.h"

#include "crl/image.h"
#include "crl/kernel.h"
#include "crl/log.h"
#include "crl/rsys.h"
#include "dump.h"

#define DELETED " (deleted)"

/* A copy of link text without the " (deleted)" suffix the kernel adds. */
static char *strip_deleted(const char *link, size_t skip)
{
	size_t len = strlen(link), dl = strlen(DELETED);

	if (len >= dl && !strcmp(link + len - dl, DELETED))
		len -= dl;
	if (skip > len)
		skip = len;
	return strndup(link + skip, len - skip);
}

static int refuse(const struct dump_task *t, const struct crl_vma *v, const char *what)
{
	return log_error_errno(-EOPNOTSUPP, "task %d (%s): mapping %llx-%llx%s%s%s: %s; not supported",
			       t->pid, t->stat.comm, (unsigned long long)v->start,
			       (unsigned long long)v->end, v->name ? " (" : "", v->name ? v->name : "",
			       v->name ? ")" : "", what);
}

static bool starts_with(const char *s, const char *prefix)
{
	return s && !strncmp(s, prefix, strlen(prefix));
}

/* Classify a VMA that maps an object (it has a map_files entry). */
static int classify_object(struct dump_ctx *ctx, struct dump_task *t, const struct crl_vma *v,
			   struct vma_class *c)
{
	char link[PATH_MAX + 64];
	_cleanup_free_ char *name = NULL;
	struct stat st;
	ShmemKind sk;
	int r;

	r = crl_map_files_stat(t->pid, v->start, v->end, &st);
	if (r >= 0)
		r = crl_map_files_readlink(t->pid, v->start, v->end, link, sizeof(link));
	if (r < 0)
		return log_error_errno(r, "task %d: cannot identify mapping %llx-%llx through map_files: %m",
				       t->pid, (unsigned long long)v->start, (unsigned long long)v->end);
	c->dev = st.st_dev;
	c->ino = st.st_ino;

	if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 5) && !v->shared) {
		/* MAP_PRIVATE of /dev/zero is anonymous memory that keeps the
		 * device as its file: map the device again, privately. */
		c->kind = VMA_KIND__VMA_FILE_PRIVATE;
		return dump_objects_add_file(ctx->objects, link, &st, true, &c->object_id);
	}
	if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))
		return refuse(t, v, "a device mapping");
	if (S_ISSOCK(st.st_mode))
		return refuse(t, v, "a socket mapping (packet ring)");
	if (starts_with(link, "anon_inode:") || starts_with(link, "/[aio]") || link[0] != '/')
		return refuse(t, v, starts_with(link, "/[aio]") ? "an AIO ring" : "a kernel object mapping");

	if (st.st_dev == ctx->shm_dev) {
		/* The kernel's internal shmem mount: no path to come back
		 * from, the contents go into the images. */
		if (starts_with(link, "/dev/zero")) {
			sk = SHMEM_KIND__SHMEM_ANON;
			c->kind = VMA_KIND__VMA_SHARED_ANON;
		} else if (starts_with(link, "/memfd:")) {
			sk = SHMEM_KIND__SHMEM_MEMFD;
			c->kind = VMA_KIND__VMA_MEMFD;
			name = strip_deleted(link, strlen("/memfd:"));
		} else if (starts_with(link, "/SYSV")) {
			/* The images can describe it, the restorer cannot
			 * bring it back yet: refuse rather than dump what
			 * cannot be restored. */
			return refuse(t, v, "SysV shared memory (shmat)");
		} else {
			return refuse(t, v, "an internal shmem object of an unknown kind");
		}
		if (!S_ISREG(st.st_mode))
			return refuse(t, v, "an internal object that is not a regular file");
	} else if (S_ISREG(st.st_mode) && st.st_nlink == 0) {
		char why[PATH_MAX + 128];

		sk = SHMEM_KIND__SHMEM_UNLINKED;
		c->kind = VMA_KIND__VMA_UNLINKED;
		name = strip_deleted(link, 0);
		if (!name)
			return -ENOMEM;
		r = dump_unlinked_restorable(name, why, sizeof(why));
		if (r == -EOPNOTSUPP)
			return refuse(t, v, why);
		if (r < 0)
			return r;
	} else if (S_ISREG(st.st_mode)) {
		struct stat now;

		/* The path must still lead to the mapped inode, or the
		 * restore would map another file. */
		if (stat(link, &now) < 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino)
			return refuse(t, v, "the file at this path is no longer the mapped one");
		c->kind = v->shared ? VMA_KIND__VMA_FILE_SHARED : VMA_KIND__VMA_FILE_PRIVATE;
		return dump_objects_add_file(ctx->objects, link, &st, true, &c->object_id);
	} else {
		return refuse(t, v, "an object that is neither a regular file nor shared memory");
	}
	if (!name && sk != SHMEM_KIND__SHMEM_ANON)
		return -ENOMEM;
	snprintf(link, sizeof(link), "/proc/%d/map_files/%llx-%llx", t->pid, (unsigned long long)v->start,
		 (unsigned long long)v->end);
	return dump_objects_add_shmem(ctx->objects, sk, name, &st, t->pid, link, &c->object_id);
}

static int classify(struct dump_ctx *ctx, struct dump_task *t, const struct crl_vma *v,
		    struct vma_class *c)
{
	static const struct {
		const char *name;
		VmaKind kind;
	} specials[] = {
		{ "[vdso]", VMA_KIND__VMA_VDSO },
		{ "[vvar]", VMA_KIND__VMA_VVAR },
		{ "[vvar_vclock]", VMA_KIND__VMA_VVAR_VCLOCK },
		{ "[vsyscall]", VMA_KIND__VMA_VSYSCALL },
	};
	bool anon = !v->ino && !v->dev_major && !v->dev_minor;

	memset(c, 0, sizeof(*c));
	c->flags = (v->shared ? MAP_SHARED : MAP_PRIVATE) | (v->vmflags & VMF(GD) ? MAP_GROWSDOWN : 0) |
		   (v->vmflags & VMF(NR) ? MAP_NORESERVE : 0);

	for (size_t i = 0; anon && v->name && i < ARRAY_SIZE(specials); i++)
		if (!strcmp(v->name, specials[i].name)) {
			c->kind = specials[i].kind;
			return 0;
		}
	if (v->vmflags & VMF(HT))
		return refuse(t, v, "hugetlb memory (MAP_HUGETLB, an MFD_HUGETLB memfd or a hugetlbfs file)");
	if (v->vmflags & (VMF(UM) | VMF(UW) | VMF(UI)))
		return refuse(t, v, "registered with userfaultfd");
	if (v->vmflags & VMF(SS))
		return refuse(t, v, "a shadow stack");
	if (v->vmflags & VMF(SL))
		return refuse(t, v, "sealed with mseal()");
	if (v->vmflags & (VMF(IO) | VMF(PF) | VMF(MM)))
		return refuse(t, v, "a device mapping (VM_IO/VM_PFNMAP)");
	if (v->vmflags & VMF(UNKNOWN))
		return refuse(t, v, "it has a VmFlags mnemonic this criu-lite does not know");

	if (anon) {
		if (v->shared)
			return refuse(t, v, "shared memory without an inode");
		if (v->name && v->name[0] == '[' && strcmp(v->name, "[heap]") && strcmp(v->name, "[stack]") &&
		    !starts_with(v->name, "[anon:"))
			return refuse(t, v, "a special mapping of the kernel");
		if (v->name && !strcmp(v->name, "[heap]"))
			c->kind = VMA_KIND__VMA_HEAP;
		else if ((v->vmflags & VMF(GD)) || (v->name && !strcmp(v->name, "[stack]")))
			c->kind = VMA_KIND__VMA_STACK;
		else
			c->kind = VMA_KIND__VMA_ANON;
		c->dump_pages = true;
		return 0;
	}
	if (!v->vmflags && !v->has_vmflags)
		log_debug("task %d: no VmFlags for %llx", t->pid, (unsigned long long)v->start);
	c->dump_pages = !v->shared;
	c->file_backed = true;
	return classify_object(ctx, t, v, c);
}

int dump_check_vma_policies(const struct dump_task *t, uint64_t probe)
{
	_cleanup_free_ char *text = NULL;
	char path[64], task_policy[64] = "";
	unsigned long long start;
	char policy[64];
	int r;

	snprintf(path, sizeof(path), "/proc/%d/numa_maps", t->pid);
	r = crl_read_file(path, &text, NULL);
	if (r == -ENOENT)
		return 0; /* a kernel without NUMA */
	if (r < 0)
		return log_error_errno(r, "task %d: cannot read %s: %m", t->pid, path);
	/* A mapping without a policy of its own shows the task's. */
	for (const char *line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		if (sscanf(line, "%llx %63s", &start, policy) == 2 && start == probe)
			snprintf(task_policy, sizeof(task_policy), "%s", policy);
	if (!task_policy[0])
		return log_error_errno(-ENOENT, "task %d: %s does not show the mapping at %llx", t->pid, path,
				       (unsigned long long)probe);
	for (const char *line = text; line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (sscanf(line, "%llx %63s", &start, policy) != 2 || !strcmp(policy, task_policy))
			continue;
		for (size_t i = 0; i < t->vmas.nr; i++)
			if (t->vmas.v[i].start == start) {
				char what[128];

				snprintf(what, sizeof(what), "a NUMA memory policy of its own (%s, from mbind())",
					 policy);
				return refuse(t, &t->vmas.v[i], what);
			}
		return log_error_errno(-EOPNOTSUPP, "task %d (%s): the mapping at %llx has a NUMA memory policy of "
						    "its own (%s, from mbind()); not supported",
				       t->pid, t->stat.comm, start, policy);
	}
	return 0;
}

int dump_task_vmas(struct dump_ctx *ctx, struct dump_task *t)
{
	int r;

	crl_vma_list_free(&t->vmas);
	r = crl_vmas_read(t->pid, &t->vmas);
	if (r < 0)
		return log_error_errno(r, "task %d: cannot read its mappings: %m", t->pid);
	free(t->vc);
	t->vc = calloc(t->vmas.nr + 1, sizeof(*t->vc));
	if (!t->vc)
		return -ENOMEM;
	for (size_t i = 0; i < t->vmas.nr; i++) {
		r = classify(ctx, t, &t->vmas.v[i], &t->vc[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The exe link: a file that still exists, or an unlinked one that is mapped
 * (then it is already in the shared-object table). */
static int exe_object(struct dump_ctx *ctx, struct dump_task *t, uint32_t *ret_id)
{
	char path[64], link[PATH_MAX];
	struct stat st;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", t->pid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0 || stat(path, &st) < 0)
		return log_error_errno(negative_errno(), "task %d: cannot read its exe link: %m", t->pid);
	link[n] = '\0';
	if (st.st_nlink == 0) {
		if (dump_objects_lookup(ctx->objects, st.st_dev, st.st_ino, ret_id) == 0)
			return 0;
		return log_error_errno(-EOPNOTSUPP, "task %d: its executable %s was deleted and is not "
						    "mapped: not supported",
				       t->pid, link);
	}
	return dump_objects_add_file(ctx->objects, link, &st, true, ret_id);
}

int dump_task_mm(struct dump_ctx *ctx, struct dump_task *t)
{
	MmEntry mm = MM_ENTRY__INIT;
	_cleanup_free_ VmaEntry *vmas = NULL;
	_cleanup_free_ VmaEntry **vmap = NULL;
	_cleanup_free_ uint64_t *auxv = NULL;
	size_t nr_auxv = 0;
	int r;

	r = crl_proc_auxv(t->pid, &auxv, &nr_auxv);
	if (r < 0)
		return log_error_errno(r, "task %d: cannot read its auxv: %m", t->pid);
	mm.start_code = t->stat.start_code;
	mm.end_code = t->stat.end_code;
	mm.start_data = t->stat.start_data;
	mm.end_data = t->stat.end_data;
	mm.start_brk = t->stat.start_brk;
	mm.brk = t->brk;
	mm.start_stack = t->stat.start_stack;
	mm.arg_start = t->stat.arg_start;
	mm.arg_end = t->stat.arg_end;
	mm.env_start = t->stat.env_start;
	mm.env_end = t->stat.env_end;
	mm.n_auxv = nr_auxv;
	mm.auxv = auxv;
	r = exe_object(ctx, t, &mm.exe_id);
	if (r < 0)
		return r;

	vmas = calloc(t->vmas.nr + 1, sizeof(*vmas));
	vmap = calloc(t->vmas.nr + 1, sizeof(*vmap));
	if (!vmas || !vmap)
		return -ENOMEM;
	for (size_t i = 0; i < t->vmas.nr; i++) {
		const struct crl_vma *v = &t->vmas.v[i];
		const struct vma_class *c = &t->vc[i];
		VmaEntry *e = &vmas[i];

		vma_entry__init(e);
		e->start = v->start;
		e->end = v->end;
		e->pgoff = v->offset / CRL_PAGE_SIZE;
		e->prot = v->prot;
		e->flags = c->flags;
		e->vmflags = v->vmflags;
		e->kind = c->kind;
		if (c->object_id) {
			e->has_object_id = true;
			e->object_id = c->object_id;
			e->has_dev = e->has_ino = true;
			e->dev = c->dev;
			e->ino = c->ino;
		}
		e->name = v->name;
		vmap[i] = e;
	}
	mm.n_vmas = t->vmas.nr;
	mm.vmas = vmap;

	r = crl_img_write_single(ctx->stagefd, CRL_IMG_MM, t->pid, &mm.base);
	if (r < 0)
		return log_error_errno(r, "cannot write mm-%d.img: %m", t->pid);
	return 0;
}

enum { CHUNK = 8192 };

struct scan_arg {
	struct crl_page_writer *w;
	bool force;
};

static int scan_run(void *arg, uint64_t start, uint64_t nr)
{
	struct scan_arg *a = arg;

	return crl_page_writer_add(a->w, start, nr, a->force);
}

/* Without PAGEMAP_SCAN: read pagemap, CHUNK entries at a time. */
static int walk_pagemap(struct dump_ctx *ctx, struct dump_task *t, const struct crl_vma *v,
			const struct vma_class *c, int pmfd, uint64_t *pme, struct crl_page_writer *w, bool force)
{
	int r = 0;

	for (uint64_t addr = v->start; addr < v->end && r >= 0;) {
		size_t n = MIN((v->end - addr) / CRL_PAGE_SIZE, (uint64_t)CHUNK), run = 0;
		uint64_t run_start = 0;

		r = crl_pagemap_read(pmfd, addr, pme, n);
		if (r < 0)
			return log_error_errno(r, "task %d: cannot read pagemap at %llx: %m", t->pid,
					       (unsigned long long)addr);
		for (size_t k = 0; k <= n && r >= 0; k++) {
			bool want = k < n && crl_pme_wanted(pme[k], c->file_backed, &ctx->zero);

			if (k < n && (pme[k] & PM_GUARD))
				return refuse(t, v, "it holds guard regions (MADV_GUARD_INSTALL)");
			if (want) {
				if (!run)
					run_start = addr + k * CRL_PAGE_SIZE;
				run++;
				continue;
			}
			if (run)
				r = crl_page_writer_add(w, run_start, run, force);
			run = 0;
		}
		addr += n * CRL_PAGE_SIZE;
	}
	return r;
}

int dump_task_pages(struct dump_ctx *ctx, struct dump_task *t)
{
	_cleanup_close_ int pmfd = -1, memfd = -1, pages_fd = -1;
	_cleanup_free_ uint64_t *pme = NULL;
	struct crl_page_writer *w = NULL;
	struct crl_page_writer_stats stats;
	struct crl_img *pagemap = NULL;
	int r;

	pmfd = crl_pagemap_open(t->pid);
	if (pmfd < 0)
		return log_error_errno(pmfd, "task %d: cannot open its pagemap: %m", t->pid);
	pme = malloc(CHUNK * sizeof(*pme));
	if (!pme)
		return -ENOMEM;
	/* For memory the task cannot read itself (PROT_NONE). */
	memfd = crl_mem_open(t->pid, O_RDONLY);
	if (memfd < 0)
		return log_error_errno(memfd, "task %d: cannot open its memory: %m", t->pid);
	r = crl_img_open(ctx->stagefd, CRL_IMG_PAGEMAP, t->pid, CRL_IMG_WRITE, &pagemap);
	if (r >= 0)
		r = crl_img_raw_create(ctx->stagefd, CRL_IMG_PAGES, t->pid, &pages_fd);
	if (r >= 0)
		r = crl_page_writer_new(pagemap, pages_fd, t->pid, memfd, &w);
	if (r < 0) {
		crl_img_close(pagemap);
		return log_error_errno(r, "task %d: cannot create its page images: %m", t->pid);
	}

	for (size_t i = 0; i < t->vmas.nr && r >= 0; i++) {
		const struct crl_vma *v = &t->vmas.v[i];
		const struct vma_class *c = &t->vc[i];
		/* PROT_NONE (or write-only) memory is read through
		 * /proc/PID/mem: process_vm_readv honours the protection. */
		bool force = !(v->prot & PROT_READ);

		if (!c->dump_pages)
			continue;
		if (ctx->pagemap_scan) {
			struct scan_arg a = { w, force };
			bool guard = false;

			r = crl_pagemap_scan(pmfd, v->start, v->end, c->file_backed, scan_run, &a, &guard);
			if (r == -ENOTTY || r == -EINVAL) {
				/* Before Linux 6.7: read pagemap from now on. */
				ctx->pagemap_scan = false;
				r = 0;
			} else if (r >= 0 && guard) {
				r = refuse(t, v, "it holds guard regions (MADV_GUARD_INSTALL)");
			}
			if (r < 0 || ctx->pagemap_scan) {
				if (r >= 0)
					r = crl_page_writer_cut(w);
				continue;
			}
		}
		r = walk_pagemap(ctx, t, v, c, pmfd, pme, w, force);
		if (r >= 0)
			r = crl_page_writer_cut(w);
	}
	if (r < 0) {
		crl_page_writer_abort(w);
		crl_img_close(pagemap);
		return log_error_errno(r, "task %d: cannot dump its pages: %m", t->pid);
	}
	r = crl_page_writer_finish(w, &stats);
	if (r >= 0)
		r = crl_img_close(pagemap);
	else
		crl_img_close(pagemap);
	if (r < 0)
		return log_error_errno(r, "task %d: cannot write its pages: %m", t->pid);
	ctx->nr_pages += stats.nr_pages;
	log_debug("task %d: %llu private pages in %llu runs", t->pid, (unsigned long long)stats.nr_pages,
		  (unsigned long long)stats.nr_records);
	return 0;
}
