/*
 * The restorer's internals, shared by the files of criu-lite/restore/.
 *
 *   images.c   read and validate every image before anything is touched
 *   tree.c     create the tasks with their pids, sessions and groups; seize
 *              them; kill them all if the restore fails
 *   objects.c  files (opened, identity checked) and shared objects (created
 *              by their first user, reopened by the others through map_files)
 *   mm.c       the address space of a task, driven by remote syscalls
 *   core.c     signals, rseq, creds and the rest; registers last
 *   restore.c  the order of it all
 */
#ifndef CRL_RESTORE_H
#define CRL_RESTORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core.pb-c.h"
#include "files.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"
#include "shmem.pb-c.h"

#include "crl/pages.h"
#include "crl/rsys.h"
#include "tool.h"

/* Runs of pages of a task or of a shared object, and where their data is. */
struct rst_pages {
	PagemapEntry **runs;
	size_t nr, cap;
	struct crl_page_source *src;  /* the raw pages image; NULL without runs */
};

struct rst_task {
	pid_t pid;
	int parent;              /* index in rst_ctx.tasks; -1 for the root */
	PstreeEntry *pstree;
	CoreEntry *core;
	MmEntry *mm;
	struct rst_pages pages;

	/* Runtime. */
	bool created;            /* exists (a stub, or the restored task) */
	bool seized;
	struct crl_rsys rsys;
	uint64_t boot;           /* bootstrap area: a syscall instruction + scratch */
	int memfd;               /* /proc/PID/mem, for writes into read-only memory */
	int *obj_fds;            /* [2 * id + rw]: an fd of the object in the task, or -1 */
};

struct rst_object {
	uint32_t id;
	FileEntry *file;         /* one of the two */
	ShmemEntry *shmem;
	struct rst_pages pages;  /* shared object contents */

	/* Runtime: the first restored task that maps the object and the VMA
	 * through which later users reopen it. */
	bool created;
	pid_t owner;
	uint64_t owner_start, owner_end;
	int ghost_fd;            /* an unlinked file recreated by criu-lite */
};

struct rst_ctx {
	const struct crl_opts *opts;
	int dirfd;
	InventoryEntry *inventory;
	struct rst_task *tasks;  /* pstree order */
	size_t nr_tasks;
	struct rst_object *objects; /* by id - 1 */
	size_t nr_objects;
	struct rst_shared *shared;  /* shared with the stubs while the tree is built */
};

/* images.c */
int rst_load_images(struct rst_ctx *ctx);
void rst_free_images(struct rst_ctx *ctx);
struct rst_object *rst_object(struct rst_ctx *ctx, uint32_t id);
int rst_task_index(const struct rst_ctx *ctx, pid_t pid);

/* tree.c */
int rst_check_pids_free(struct rst_ctx *ctx);
int rst_create_tree(struct rst_ctx *ctx);
void rst_kill_tree(struct rst_ctx *ctx);

/* objects.c */
int rst_check_files(struct rst_ctx *ctx);
int rst_prepare_ghosts(struct rst_ctx *ctx);
/* An fd of object id inside task t (opened or created on first use). */
int rst_object_fd(struct rst_ctx *ctx, struct rst_task *t, const VmaEntry *vma, int *ret_fd);
/* Note that t now maps the object through vma (it may become its owner). */
void rst_object_mapped(struct rst_ctx *ctx, struct rst_task *t, const VmaEntry *vma);
int rst_close_object_fds(struct rst_ctx *ctx, struct rst_task *t);
int rst_seal_memfds(struct rst_ctx *ctx);
void rst_release_objects(struct rst_ctx *ctx);

/* mm.c */
int rst_task_mm(struct rst_ctx *ctx, struct rst_task *t);
/* A remote call that must succeed; names the task and the step on failure. */
int rst_call(struct rst_task *t, long *ret, const char *step, long nr, unsigned long a1,
	     unsigned long a2, unsigned long a3, unsigned long a4, unsigned long a5,
	     unsigned long a6);
#define RCALL(t, ret, step, nr, ...) RCALL_(t, ret, step, nr, ##__VA_ARGS__, 0, 0, 0, 0, 0, 0)
#define RCALL_(t, ret, step, nr, a1, a2, a3, a4, a5, a6, ...)                                     \
	rst_call(t, ret, step, nr, (unsigned long)(a1), (unsigned long)(a2), (unsigned long)(a3), \
		 (unsigned long)(a4), (unsigned long)(a5), (unsigned long)(a6))
/* Copy a string or structure into the task's scratch area. */
int rst_put(struct rst_task *t, const void *data, size_t len, uint64_t *ret_addr);

/* core.c */
int rst_task_core(struct rst_ctx *ctx, struct rst_task *t);
int rst_task_finish(struct rst_ctx *ctx, struct rst_task *t);

#endif
