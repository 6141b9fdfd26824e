/*
 * The restorer's internals, shared by the files of criu-lite/restore/.
 *
 *   images.c   read and validate every image before anything is touched
 *   tree.c     create the tasks with their pids, sessions and groups; seize
 *              them; kill them all if the restore fails
 *   objects.c  files (opened, identity checked) and shared objects (created
 *              by their first user, reopened by the others through map_files)
 *   files.c    file descriptors: descriptions created once and shared again,
 *              pipes with their data
 *   sockets.c  unix sockets with their links, names and queues
 *   mm.c       the address space of a task, driven by remote syscalls
 *   core.c     signals, rseq, creds and the rest; registers last
 *   restore.c  the order of it all
 */
#ifndef CRL_RESTORE_H
#define CRL_RESTORE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "core.pb-c.h"
#include "fdinfo.pb-c.h"
#include "files.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pstree.pb-c.h"
#include "shmem.pb-c.h"

#include "crl/image.h"
#include "crl/pages.h"
#include "crl/rsys.h"
#include "tool.h"

/* The bootstrap area of a task being restored: one page with a syscall
 * instruction, the rest scratch for arguments (up to 65536 supplementary
 * groups, the largest thing passed). */
#define RST_BOOT_SIZE (128 * CRL_PAGE_SIZE)

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
	bool stop_later;         /* a SIGSTOP came while it was rebuilt */
	struct crl_rsys rsys;
	uint64_t boot;           /* bootstrap area: a syscall instruction + scratch */
	int memfd;               /* /proc/PID/mem, for writes into read-only memory */
	int *obj_fds;            /* [2 * id + rw]: an fd of the object in the task, or -1 */

	FdEntry **fds;           /* fdinfo-PID.img, sorted by fd */
	size_t nr_fds, cap_fds;
	int hold_base;           /* fds from here up hold things for a while */
	uint64_t nofile_soft;    /* its soft RLIMIT_NOFILE, raised while fds are made */
	int *holds;              /* ...which are closed when the tree is done */
	size_t nr_holds, cap_holds;
	pid_t *pidfd_of;         /* pidfds this task opened: of which pid... */
	int *pidfd_fd;           /* ...at which fd */
	size_t nr_pidfds, cap_pidfds;
};

/* An open file description, and where a restored one can be taken from. */
struct rst_desc {
	FileDescEntry *e;
	pid_t owner;
	int owner_fd;
};

struct rst_pipe {
	PipeEntry *e;
	pid_t owner;             /* the task holding the pipe's first ends */
	int rfd, wfd;            /* there: the read and write ends (-1 when given away) */
	bool r_used, w_used;     /* the pipe2 descriptions went to dumped ones */
	bool has_reader;         /* the dump holds a reading description of it */
	bool has_writer;         /* and a writing one */
};

struct rst_sock {
	UnixSkEntry *e;
	struct rst_task *holder; /* the first task (tree order) with an fd of it */
	pid_t owner;
	int fd;                  /* the socket in owner, once created */
	int dead_fd;             /* peer_closed: the other end, closed when done */
	char bound_path[PATH_MAX]; /* the socket file this restore made */
	ino_t bound_ino;           /* and its inode */
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
	char reopen[96];         /* a /proc path that opens it, once it exists */
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
	struct rst_desc *descs;     /* by id - 1 */
	size_t nr_descs, cap_descs;
	struct rst_pipe *pipes;
	size_t nr_pipes, cap_pipes;
	struct rst_sock *socks;
	size_t nr_socks, cap_socks;
	bool has_tty;
};

static inline bool rst_zombie(const struct rst_task *t)
{
	return t->pstree->state == TASK_STATE__TASK_ZOMBIE;
}

/* images.c */
/* Read every record of an image; fn takes ownership of each and explains a
 * refusal in why (the caller names the file and the record). */
int rst_read_all(struct rst_ctx *ctx, enum crl_img_kind kind, uint32_t id,
		 int (*fn)(struct rst_ctx *ctx, ProtobufCMessage *m, void *arg, char *why, size_t len),
		 void *arg, bool optional);
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
/* An fd in task t of shared object id (created there if it is the first
 * user), opened with flags. */
int rst_object_open(struct rst_ctx *ctx, struct rst_task *t, uint32_t id, int flags, int *ret_fd);
void rst_release_objects(struct rst_ctx *ctx);

/* files.c */
/* Move fd of task t up to its holding range (kept until the tree is
 * done); *ret_fd is its new number. */
int rst_hold_fd(struct rst_task *t, int fd, int *ret_fd);
/* A new fd in t for the very description fd of owner holds. */
int rst_take_fd(struct rst_task *t, pid_t owner, int fd, int *ret_fd);
/* Status flags of a description made by pipe2/socket, which take none
 * (O_ASYNC apart: it is set on the final fd, with the signal owner). */
int rst_set_status_flags(struct rst_task *t, int fd, uint32_t flags);
int rst_load_files(struct rst_ctx *ctx);
void rst_free_files(struct rst_ctx *ctx);
/* Every fd of every task (the whole tree at once: a description may be
 * created in one task and taken by others). */
int rst_restore_files(struct rst_ctx *ctx);

/* sockets.c */
/* The first task (tree order) holding each socket: the one that makes it. */
void rst_find_socket_holders(struct rst_ctx *ctx);
/* Before any task exists: every path a socket will be bound to is free, or
 * holds the socket file the dumped one left behind. */
int rst_check_socket_paths(struct rst_ctx *ctx);
/* Every socket, in every holder, before any fd is placed. */
int rst_make_sockets(struct rst_ctx *ctx);
/* An fd in t for the socket of description d. */
int rst_open_socket(struct rst_ctx *ctx, struct rst_task *t, const FileDescEntry *d, int *ret_fd);
/* Queues, shutdowns and peek offsets, once every fd is in place. */
int rst_refill_sockets(struct rst_ctx *ctx);
/* A failed restore removes the socket files it made. */
void rst_unbind_sockets(struct rst_ctx *ctx);
/* Hand the terminal to the restored job, and take it back. */
void rst_tty_foreground(struct rst_ctx *ctx, bool to_tree);

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
/* openat(AT_FDCWD, path, flags | O_CLOEXEC) in the task. */
int rst_open(struct rst_task *t, const char *path, int flags, int *ret_fd);

/* core.c */
/* What fds depend on: resource limits (RLIMIT_NOFILE above criu-lite's)
 * and the working directory (sockets bound by relative paths). */
int rst_task_env(struct rst_ctx *ctx, struct rst_task *t);
int rst_task_core(struct rst_ctx *ctx, struct rst_task *t);
int rst_task_finish(struct rst_ctx *ctx, struct rst_task *t);

#endif
