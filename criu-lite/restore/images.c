/*
 * Reading a dump. Every image is read and checked before the restore
 * creates anything: each record by its kind's validator (lib/image.c), and
 * here everything that needs more than one record: the tree is a tree, each
 * VMA names an object of the right kind, every run of pages lies inside a
 * private VMA (or inside its object) and inside its pages file. A damaged
 * dump is refused with the file and the record named.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>

#include "crl/image.h"
#include "crl/kernel.h"
#include "crl/limits.h"
#include "crl/log.h"
#include "crl/ptrace.h"
#include "restore.h"

#define FREE_MSG(m) do { if (m) protobuf_c_message_free_unpacked(&(m)->base, NULL); } while (0)

struct rst_object *rst_object(struct rst_ctx *ctx, uint32_t id)
{
	if (id == 0 || id > ctx->nr_objects || !ctx->objects[id - 1].id)
		return NULL;
	return &ctx->objects[id - 1];
}

int rst_task_index(const struct rst_ctx *ctx, pid_t pid)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++)
		if (ctx->tasks[i].pid == pid)
			return i;
	return -1;
}

int rst_read_all(struct rst_ctx *ctx, enum crl_img_kind kind, uint32_t id,
		 int (*fn)(struct rst_ctx *ctx, ProtobufCMessage *m, void *arg, char *why, size_t len),
		 void *arg, bool optional)
{
	struct crl_img *img = NULL;
	ProtobufCMessage *m;
	char name[64], why[256];
	int r;

	crl_img_filename(kind, id, name, sizeof(name));
	r = crl_img_open(ctx->dirfd, kind, id, CRL_IMG_READ, &img);
	if (r == -ENOENT && optional)
		return 0;
	if (r < 0) {
		if (img)
			log_error("%s/%s: %s", ctx->opts->dir, name, crl_img_error(img));
		else
			log_error_errno(r, "%s/%s: cannot open: %m", ctx->opts->dir, name);
		crl_img_close(img);
		return r;
	}
	while ((r = crl_img_read(img, &m)) > 0) {
		unsigned idx = crl_img_nr_records(img) - 1;

		why[0] = '\0';
		r = fn(ctx, m, arg, why, sizeof(why));
		if (r < 0) {
			log_error("%s/%s: record %u: %s", ctx->opts->dir, name, idx, why);
			crl_img_close(img);
			return -EBADMSG;
		}
	}
	if (r < 0)
		log_error("%s/%s: %s", ctx->opts->dir, name, crl_img_error(img));
	crl_img_close(img);
	return r;
}

static int read_one(struct rst_ctx *ctx, enum crl_img_kind kind, uint32_t id, ProtobufCMessage **ret)
{
	const char *why;
	int r = crl_img_read_single(ctx->dirfd, kind, id, ret, &why);

	if (r == -ENOENT) {
		char name[64];

		crl_img_filename(kind, id, name, sizeof(name));
		return log_error_errno(r, "%s/%s is missing: not a complete dump", ctx->opts->dir, name);
	}
	if (r < 0)
		log_error("%s/%s", ctx->opts->dir, why);
	return r;
}

static int add_pstree(struct rst_ctx *ctx, ProtobufCMessage *m, void *arg, char *why, size_t len)
{
	PstreeEntry *e = (PstreeEntry *)m;
	size_t *cap = arg;
	struct rst_task *t;

	if (GROW(ctx->tasks, *cap, ctx->nr_tasks + 1) < 0) {
		FREE_MSG(e);
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	t = &ctx->tasks[ctx->nr_tasks];
	memset(t, 0, sizeof(*t));
	t->pstree = e;
	t->pid = e->pid;
	t->memfd = -1;
	ctx->nr_tasks++;
	if (rst_task_index(ctx, e->pid) != (int)ctx->nr_tasks - 1) {
		snprintf(why, len, "pid %u appears twice", e->pid);
		return -EBADMSG;
	}
	if (ctx->nr_tasks == 1) {
		t->parent = -1;
		if (e->ppid != 0) {
			snprintf(why, len, "the root %u has a parent %u in the tree", e->pid, e->ppid);
			return -EBADMSG;
		}
	} else {
		t->parent = rst_task_index(ctx, e->ppid);
		if (t->parent < 0 || e->ppid == 0) {
			snprintf(why, len, "task %u: its parent %u is not listed before it", e->pid, e->ppid);
			return -EBADMSG;
		}
	}
	if (t->parent >= 0 && rst_zombie(&ctx->tasks[t->parent])) {
		snprintf(why, len, "task %u: its parent %u is a zombie", e->pid, e->ppid);
		return -EBADMSG;
	}
	if (e->n_threads != 1) {
		snprintf(why, len, "task %u has %zu threads: not supported", e->pid, e->n_threads);
		return -EBADMSG;
	}
	return 0;
}

static int add_file(struct rst_ctx *ctx, ProtobufCMessage *m, void *arg, char *why, size_t len)
{
	FileEntry *e = (FileEntry *)m;
	struct rst_object *o;

	if (e->id > ctx->nr_objects || ctx->objects[e->id - 1].id) {
		snprintf(why, len, "file id %u is out of range or used twice", e->id);
		FREE_MSG(e);
		return -EBADMSG;
	}
	o = &ctx->objects[e->id - 1];
	o->id = e->id;
	o->file = e;
	return 0;
}

static int add_shmem(struct rst_ctx *ctx, ProtobufCMessage *m, void *arg, char *why, size_t len)
{
	ShmemEntry *e = (ShmemEntry *)m;
	struct rst_object *o;

	if (e->id > ctx->nr_objects || ctx->objects[e->id - 1].id) {
		snprintf(why, len, "object id %u is out of range or used twice", e->id);
		FREE_MSG(e);
		return -EBADMSG;
	}
	o = &ctx->objects[e->id - 1];
	o->id = e->id;
	o->shmem = e;
	return 0;
}

static int add_run(struct rst_ctx *ctx, ProtobufCMessage *m, void *arg, char *why, size_t len)
{
	struct rst_pages *p = arg;
	PagemapEntry *e = (PagemapEntry *)m;

	if (GROW(p->runs, p->cap, p->nr + 1) < 0) {
		FREE_MSG(e);
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	p->runs[p->nr++] = e;
	if (p->nr > 1) {
		const PagemapEntry *prev = p->runs[p->nr - 2];

		if (e->vaddr < prev->vaddr + (uint64_t)prev->nr_pages * CRL_PAGE_SIZE) {
			snprintf(why, len, "run at %#llx overlaps or precedes the one before",
				 (unsigned long long)e->vaddr);
			return -EBADMSG;
		}
	}
	return 0;
}

/* Open the pages file and check every run's data lies inside it. */
static int open_pages(struct rst_ctx *ctx, struct rst_pages *p, enum crl_img_kind kind, uint32_t id)
{
	char err[256];
	uint64_t size;
	int r, fd;

	if (!p->nr)
		return 0;
	r = crl_img_raw_open(ctx->dirfd, kind, id, &fd, &size, err, sizeof(err));
	if (r < 0)
		return log_error_errno(r, "%s/%s", ctx->opts->dir, err);
	r = crl_page_source_file(fd, size, &p->src);
	if (r < 0) {
		close(fd);
		return log_error_errno(r, "out of memory");
	}
	for (size_t i = 0; i < p->nr; i++) {
		const PagemapEntry *e = p->runs[i];

		if (e->offset > size || (uint64_t)e->nr_pages * CRL_PAGE_SIZE > size - e->offset) {
			char name[64];

			crl_img_filename(kind, id, name, sizeof(name));
			return log_error_errno(-EBADMSG,
					       "%s/%s: run %zu (%#llx, %u pages) points past the end of its "
					       "pages file",
					       ctx->opts->dir, name, i, (unsigned long long)e->vaddr,
					       e->nr_pages);
		}
	}
	return 0;
}

static bool vma_is_private_memory(const VmaEntry *v)
{
	switch (v->kind) {
	case VMA_KIND__VMA_ANON:
	case VMA_KIND__VMA_HEAP:
	case VMA_KIND__VMA_STACK:
		return true;
	case VMA_KIND__VMA_FILE_PRIVATE:
	case VMA_KIND__VMA_SHARED_ANON:
	case VMA_KIND__VMA_MEMFD:
	case VMA_KIND__VMA_UNLINKED:
		return (v->flags & MAP_PRIVATE) != 0;
	default:
		return false;
	}
}

/* Cross-record checks of one task's mm against the objects and its pages. */
static int check_task(struct rst_ctx *ctx, struct rst_task *t)
{
	const MmEntry *mm = t->mm;
	char name[64];
	size_t v = 0;

	crl_img_filename(CRL_IMG_MM, t->pid, name, sizeof(name));
	if (t->core->pid != (uint32_t)t->pid)
		return log_error_errno(-EBADMSG, "%s/core-%d.img: belongs to pid %u", ctx->opts->dir, t->pid,
				       t->core->pid);
	if (!rst_object(ctx, mm->exe_id))
		return log_error_errno(-EBADMSG, "%s/%s: the exe names object %u, which is not in the dump",
				       ctx->opts->dir, name, mm->exe_id);
	/* The kernel takes back only an XSAVE area of this CPU's size
	 * (PTRACE_SETREGSET NT_X86_XSTATE); found now, before anything runs. */
	if (t->core->has_xsave && t->core->xsave.len != crl_xstate_size())
		return log_error_errno(-EINVAL, "%s/core-%d.img: an XSAVE area of %zu bytes, this CPU's is %zu: "
						"the dump was made on another kind of CPU",
				       ctx->opts->dir, t->pid, t->core->xsave.len, crl_xstate_size());
	if (t->core->has_cwd_id && (!rst_object(ctx, t->core->cwd_id) ||
				    !rst_object(ctx, t->core->cwd_id)->file))
		return log_error_errno(-EBADMSG, "%s/core-%d.img: the cwd names an unknown file",
				       ctx->opts->dir, t->pid);
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const VmaEntry *e = mm->vmas[i];
		struct rst_object *o;
		bool want_file = false;

		switch (e->kind) {
		case VMA_KIND__VMA_FILE_PRIVATE:
		case VMA_KIND__VMA_FILE_SHARED:
			want_file = true;
			/* fall through */
		case VMA_KIND__VMA_SHARED_ANON:
		case VMA_KIND__VMA_MEMFD:
		case VMA_KIND__VMA_UNLINKED:
		case VMA_KIND__VMA_SYSV_SHM:
			o = rst_object(ctx, e->object_id);
			if (!o || (want_file ? !o->file : !o->shmem))
				return log_error_errno(-EBADMSG,
						       "%s/%s: VMA %zu (%#llx) names object %u, which is "
						       "missing or of another kind",
						       ctx->opts->dir, name, i, (unsigned long long)e->start,
						       e->object_id);
			if (o->shmem && ((e->kind == VMA_KIND__VMA_SHARED_ANON) !=
						 (o->shmem->kind == SHMEM_KIND__SHMEM_ANON) ||
					 (e->kind == VMA_KIND__VMA_MEMFD) !=
						 (o->shmem->kind == SHMEM_KIND__SHMEM_MEMFD) ||
					 (e->kind == VMA_KIND__VMA_UNLINKED) !=
						 (o->shmem->kind == SHMEM_KIND__SHMEM_UNLINKED)))
				return log_error_errno(-EBADMSG, "%s/%s: VMA %zu maps object %u as the wrong kind",
						       ctx->opts->dir, name, i, e->object_id);
			break;
		default:
			break;
		}
	}
	/* Both lists are sorted: walk them together. */
	for (size_t i = 0; i < t->pages.nr; i++) {
		const PagemapEntry *run = t->pages.runs[i];
		uint64_t end = run->vaddr + (uint64_t)run->nr_pages * CRL_PAGE_SIZE;

		while (v < mm->n_vmas && mm->vmas[v]->end <= run->vaddr)
			v++;
		if (v == mm->n_vmas || run->vaddr < mm->vmas[v]->start || end > mm->vmas[v]->end ||
		    !vma_is_private_memory(mm->vmas[v]))
			return log_error_errno(-EBADMSG,
					       "%s/pagemap-%d.img: run %zu (%#llx, %u pages) is not inside "
					       "one private VMA",
					       ctx->opts->dir, t->pid, i, (unsigned long long)run->vaddr,
					       run->nr_pages);
	}
	return 0;
}

static int check_object_pages(struct rst_ctx *ctx, struct rst_object *o)
{
	for (size_t i = 0; i < o->pages.nr; i++) {
		const PagemapEntry *run = o->pages.runs[i];

		if (run->vaddr + (uint64_t)run->nr_pages * CRL_PAGE_SIZE > PAGE_UP(o->shmem->size))
			return log_error_errno(-EBADMSG,
					       "%s/shmem-pagemap-%u.img: run %zu goes past the object's "
					       "size %llu",
					       ctx->opts->dir, o->id, i, (unsigned long long)o->shmem->size);
	}
	return 0;
}

/* The restored tasks get this kernel's vDSO, moved to where the dumped one
 * was; saved instruction pointers and return addresses may point into it,
 * so its code must be the dumped one, byte for byte. */
static int check_vdso(struct rst_ctx *ctx)
{
	const InventoryEntry *inv = ctx->inventory;
	struct utsname u;
	uint32_t size, crc;

	if (!inv->has_vdso_size || !inv->has_vdso_crc)
		return 0;
	if (crl_kernel_vdso(&size, &crc) < 0)
		return log_error_errno(-EINVAL, "%s/inventory.img: the dump was made with a [vdso] and this kernel "
						"maps none: its tasks may be running inside it",
				       ctx->opts->dir);
	if (size != inv->vdso_size || crc != inv->vdso_crc)
		return log_error_errno(-EINVAL, "%s/inventory.img: the vDSO of this kernel (%s, %u bytes, crc %08x) "
						"differs from the one of the dump (kernel %s, %u bytes, crc %08x); "
						"restore on the kernel the dump was made on",
				       ctx->opts->dir, uname(&u) == 0 ? u.release : "?", size, crc, inv->kernel,
				       inv->vdso_size, inv->vdso_crc);
	return 0;
}

int rst_load_images(struct rst_ctx *ctx)
{
	size_t cap = 0, nr_files = 0, nr_shmem = 0;
	int r;

	r = read_one(ctx, CRL_IMG_INVENTORY, 0, (ProtobufCMessage **)&ctx->inventory);
	if (r >= 0)
		r = check_vdso(ctx);
	if (r < 0)
		return r;
	r = rst_read_all(ctx, CRL_IMG_PSTREE, 0, add_pstree, &cap, false);
	if (r < 0)
		return r;
	if (!ctx->nr_tasks)
		return log_error_errno(-EBADMSG, "%s/pstree.img holds no task", ctx->opts->dir);
	if (ctx->nr_tasks != ctx->inventory->nr_tasks || ctx->tasks[0].pid != (pid_t)ctx->inventory->root_pid)
		return log_error_errno(-EBADMSG, "%s/pstree.img: %zu tasks rooted at %d, inventory.img says "
						 "%u rooted at %u",
				       ctx->opts->dir, ctx->nr_tasks, ctx->tasks[0].pid,
				       ctx->inventory->nr_tasks, ctx->inventory->root_pid);

	/* Object ids are dense from 1; size the table by counting first. */
	{
		struct crl_img *img = NULL;
		ProtobufCMessage *m;

		for (int k = 0; k < 2; k++) {
			enum crl_img_kind kind = k ? CRL_IMG_SHMEM : CRL_IMG_FILES;
			size_t *n = k ? &nr_shmem : &nr_files;

			r = crl_img_open(ctx->dirfd, kind, 0, CRL_IMG_READ, &img);
			while (r >= 0 && (r = crl_img_read(img, &m)) > 0) {
				(*n)++;
				protobuf_c_message_free_unpacked(m, NULL);
			}
			if (r < 0) {
				log_error("%s/%s: %s", ctx->opts->dir, k ? "shmem.img" : "files.img",
					  img ? crl_img_error(img) : strerror(-r));
				crl_img_close(img);
				return r;
			}
			crl_img_close(img);
			img = NULL;
		}
	}
	ctx->nr_objects = nr_files + nr_shmem;
	ctx->objects = calloc(ctx->nr_objects + 1, sizeof(*ctx->objects));
	if (!ctx->objects)
		return -ENOMEM;
	for (size_t i = 0; i < ctx->nr_objects; i++) {
		ctx->objects[i].ghost_fd = -1;
	}
	r = rst_read_all(ctx, CRL_IMG_FILES, 0, add_file, NULL, false);
	if (r >= 0)
		r = rst_read_all(ctx, CRL_IMG_SHMEM, 0, add_shmem, NULL, false);
	if (r < 0)
		return r;
	for (size_t i = 0; i < ctx->nr_objects; i++) {
		struct rst_object *o = &ctx->objects[i];

		if (!o->id)
			return log_error_errno(-EBADMSG, "%s: object ids are not contiguous (no object %zu)",
					       ctx->opts->dir, i + 1);
		if (!o->shmem)
			continue;
		if (o->shmem->kind == SHMEM_KIND__SHMEM_SYSV)
			return log_error_errno(-EOPNOTSUPP, "%s/shmem.img: object %u is a SysV segment: "
							    "restoring those is not supported",
					       ctx->opts->dir, o->id);
		r = rst_read_all(ctx, CRL_IMG_SHMEM_PAGEMAP, o->id, add_run, &o->pages, true);
		if (r >= 0)
			r = open_pages(ctx, &o->pages, CRL_IMG_SHMEM_PAGES, o->id);
		if (r >= 0)
			r = check_object_pages(ctx, o);
		if (r < 0)
			return r;
	}

	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct rst_task *t = &ctx->tasks[i];

		if (rst_zombie(t))
			continue; /* a zombie has its pstree entry only */
		r = read_one(ctx, CRL_IMG_CORE, t->pid, (ProtobufCMessage **)&t->core);
		if (r >= 0)
			r = read_one(ctx, CRL_IMG_MM, t->pid, (ProtobufCMessage **)&t->mm);
		if (r >= 0)
			r = rst_read_all(ctx, CRL_IMG_PAGEMAP, t->pid, add_run, &t->pages, false);
		if (r >= 0)
			r = open_pages(ctx, &t->pages, CRL_IMG_PAGES, t->pid);
		if (r >= 0)
			r = check_task(ctx, t);
		if (r < 0)
			return r;
		/* Two per object: read-only and read-write. */
		t->obj_fds = malloc(2 * (ctx->nr_objects + 1) * sizeof(int));
		if (!t->obj_fds)
			return -ENOMEM;
		for (size_t k = 0; k < 2 * (ctx->nr_objects + 1); k++)
			t->obj_fds[k] = -1;
	}
	log_debug("Read a dump of %zu task(s) and %zu object(s)", ctx->nr_tasks, ctx->nr_objects);
	return 0;
}

static void free_pages(struct rst_pages *p)
{
	for (size_t i = 0; i < p->nr; i++)
		FREE_MSG(p->runs[i]);
	free(p->runs);
	crl_page_source_free(p->src);
	p->runs = NULL;
	p->nr = p->cap = 0;
	p->src = NULL;
}

void rst_free_images(struct rst_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		struct rst_task *t = &ctx->tasks[i];

		FREE_MSG(t->pstree);
		FREE_MSG(t->core);
		FREE_MSG(t->mm);
		free_pages(&t->pages);
		free(t->obj_fds);
		if (t->memfd >= 0)
			close(t->memfd);
	}
	free(ctx->tasks);
	for (size_t i = 0; ctx->objects && i < ctx->nr_objects; i++) {
		FREE_MSG(ctx->objects[i].file);
		FREE_MSG(ctx->objects[i].shmem);
		free_pages(&ctx->objects[i].pages);
		if (ctx->objects[i].ghost_fd >= 0)
			close(ctx->objects[i].ghost_fd);
	}
	free(ctx->objects);
	FREE_MSG(ctx->inventory);
}
