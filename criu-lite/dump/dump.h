/*
 * The dumper's internals, shared by the files of criu-lite/dump/.
 *
 *   pstree.c   freeze the tree, and leave it: resume or kill
 *   core.c     registers, signals, creds and the other per-task kernel state
 *   mm.c       VMAs: classification, mm fields, private pages
 *   files.c    file descriptors and pipes
 *   sockets.c  unix sockets and their queues
 *   objects.c  the tree-wide table of mapped objects, keyed by (st_dev, st_ino)
 *   dump.c     the order of it all, the image directory
 */
#ifndef CRL_DUMP_H
#define CRL_DUMP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/user.h>

#include "mm.pb-c.h"
#include "shmem.pb-c.h"

#include "crl/pages.h"
#include "crl/proc.h"
#include "crl/ptrace.h"
#include "tool.h"

/* What a VMA is, as the dump decided. */
struct vma_class {
	VmaKind kind;
	uint32_t object_id;      /* 0: none */
	uint64_t dev, ino;       /* identity from map_files */
	uint32_t flags;          /* MAP_SHARED or MAP_PRIVATE, MAP_GROWSDOWN, MAP_NORESERVE */
	bool dump_pages;         /* private: pages of its own may exist */
	bool file_backed;        /* private over an object: only copied-on-write pages are its own */
};

struct dump_task {
	pid_t pid;
	int parent;                  /* index in dump_ctx.tasks; -1 for the root */
	struct crl_proc_stat stat;
	struct crl_proc_status status;

	/* Freezing. */
	bool seized;
	struct crl_stop_info stop;   /* signals the freeze took out of the queue */
	bool requeued;               /* ...and that were put back */
	bool regs_saved;
	struct user_regs_struct regs;       /* as seized */
	struct user_regs_struct final_regs; /* what is dumped: regs, rseq abort applied */
	uint64_t sigmask;            /* blocked signals as seized */
	bool sigmask_changed;        /* we blocked everything during remote calls */
	bool parked;                 /* back in an interrupt stop with its own registers */
	bool stop_later;             /* a SIGSTOP was taken from it: send it when letting go */
	bool exited;                 /* it died during the dump */
	bool zombie;                 /* it had exited already: only its pstree entry */

	/* Memory. */
	struct crl_vma_list vmas;
	struct vma_class *vc;        /* one per VMA */
	uint64_t brk;
	uint64_t nofile_max;         /* hard RLIMIT_NOFILE, as the task read it */
};

struct dump_ctx {
	const struct crl_opts *opts;
	int dirfd;                   /* the image directory */
	int stagefd;                 /* where this dump's images are written */
	char stage_name[64];         /* its name inside the image directory */

	struct dump_task *tasks;     /* pstree order: a parent before its children */
	size_t nr_tasks, cap_tasks;

	struct dump_objects *objects;
	struct dump_files *files;
	struct dump_sockets *sockets;
	struct crl_zero_pfns zero;
	bool pagemap_scan;           /* PAGEMAP_SCAN works (until it fails once) */
	dev_t shm_dev;
	uint64_t nr_pages;           /* private pages dumped, for the summary */
};

/* pstree.c */
int dump_freeze_tree(struct dump_ctx *ctx);
int dump_check_alive(struct dump_ctx *ctx);
void dump_resume_tree(struct dump_ctx *ctx);
int dump_kill_tree(struct dump_ctx *ctx);
int dump_write_pstree(struct dump_ctx *ctx);

/* core.c */
/* Refuse what this task holds that criu-lite cannot restore (namespaces,
 * seccomp, POSIX timers...). */
int dump_task_check(struct dump_ctx *ctx, struct dump_task *t);
/* Registers, signals, creds and the rest; runs remote calls in the task. */
int dump_task_core(struct dump_ctx *ctx, struct dump_task *t);
/* Queue again the signals the freeze took out of t's queue. */
int dump_task_requeue(struct dump_ctx *ctx, struct dump_task *t);
/* After remote calls: park t with its own registers and mask (see
 * crl_ptrace_park), safe to detach from then on. */
int dump_task_park(struct dump_task *t);

/* mm.c */
int dump_task_vmas(struct dump_ctx *ctx, struct dump_task *t);
/* Refuse a mapping with a NUMA memory policy of its own (mbind(), or a
 * shared memory object's): /proc/PID/numa_maps shows it unlike the task's
 * policy, which the mapping at probe (made in the task without one) shows. */
int dump_check_vma_policies(const struct dump_task *t, uint64_t probe);
int dump_task_mm(struct dump_ctx *ctx, struct dump_task *t);
int dump_task_pages(struct dump_ctx *ctx, struct dump_task *t);

/* files.c */
int dump_files_new(struct dump_files **ret);
void dump_files_free(struct dump_files *f);
/* The fd table of a task: fdinfo-PID.img, and its descriptions noted. */
int dump_task_fds(struct dump_ctx *ctx, struct dump_task *t);
/* filedesc.img, pipes.img (with their data), unixsk.img (with queues). */
int dump_files_write(struct dump_ctx *ctx);
/* Refuse fd of t (link: where /proc/PID/fd/N leads), saying what it is. */
int dump_refuse_fd(const struct dump_task *t, int fd, const char *link, const char *what);

/* sockets.c */
int dump_sockets_new(struct dump_sockets **ret);
void dump_sockets_free(struct dump_sockets *s);
/* The unix socket inode ino behind fd of t, checked; *ret: its id. */
int dump_sockets_add(struct dump_ctx *ctx, struct dump_task *t, int fd, const char *link, uint64_t ino,
		     uint32_t *ret);
/* Every socket noted, with its queue, into unixsk.img. */
int dump_sockets_write(struct dump_ctx *ctx, struct crl_img *img);

/* objects.c */
int dump_objects_new(struct dump_objects **ret);
void dump_objects_free(struct dump_objects *objs);
/* A regular file (or directory, or device) that still exists: recorded in
 * files.img. path must name the inode st describes. mapped: its contents
 * matter (mapped, or the exe), not only its identity. */
int dump_objects_add_file(struct dump_objects *objs, const char *path, const struct stat *st,
			  bool mapped, uint32_t *ret_id);
/* A memory object with no file to come back from (shmem.img), used by
 * pid. src: a /proc path that opens it (a map_files or fd link), through
 * which its contents are read. */
int dump_objects_add_shmem(struct dump_objects *objs, ShmemKind kind, const char *name,
			   const struct stat *st, pid_t pid, const char *src, uint32_t *ret_id);
/* Can an unlinked file (path: where it was, without " (deleted)") be
 * recreated at restore? It comes back at its path, or unnamed in the same
 * directory: that directory must exist. 0 if so; otherwise -EOPNOTSUPP and
 * why (what the caller refuses, without the task or mapping) in why.
 * dump/mm.c calls it for mappings; the fd side (dump/files.c) can too. */
int dump_unlinked_restorable(const char *path, char *why, size_t len);
/* The object with this identity, if known (either table). */
int dump_objects_lookup(struct dump_objects *objs, dev_t dev, ino_t ino, uint32_t *ret_id);
/* Write files.img, shmem.img and the contents of every shmem object. */
int dump_objects_write(struct dump_ctx *ctx);

#endif
