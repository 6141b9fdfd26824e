/*
 * The objects restored tasks map, and how they come to share them.
 *
 * Regular files are reopened by path in the task, after checking that the
 * path still names the dumped inode with the dumped size and mtime.
 *
 * Shared memory objects are created once, by the first task in tree order
 * that maps them, and filled by criu-lite from the images:
 *   - shared anonymous memory: an anonymous MAP_SHARED mapping in the task,
 *     opened through its own map_files link, then unmapped (the fd keeps the
 *     shmem inode);
 *   - a memfd: memfd_create() in the task, with the dumped name;
 *   - an unlinked file: recreated by criu-lite at its old path, filled,
 *     unlinked again, and opened by the tasks through /proc/<criu-lite>/fd.
 * Every later task opens /proc/<first task>/map_files/<its VMA> (for an
 * unlinked file: criu-lite's fd of it; for an object only fds hold: the
 * first holder's /proc/PID/fd link) and maps that: all of them map one
 * inode again, as before the dump.
 */
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "crl/kernel.h"
#include "crl/log.h"
#include "crl/proc.h"
#include "restore.h"

#define FILL_CHUNK (8u << 20)

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
}

int rst_check_files(struct rst_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_objects; i++) {
		const FileEntry *f = ctx->objects[i].file;
		struct stat st;

		if (!f)
			continue;
		if (stat(f->path, &st) < 0)
			return log_error_errno(negative_errno(), "file %s, used by the dumped tree, is gone: %m",
					       f->path);
		if ((st.st_mode & S_IFMT) != (f->mode & S_IFMT))
			return log_error_errno(-ESTALE, "%s is no longer the same kind of file as at the dump",
					       f->path);
		if (S_ISDIR(st.st_mode)) {
			/* A directory (a working directory) may be re-created
			 * without harm: say so and go on. */
			if (st.st_dev != f->dev || st.st_ino != f->ino)
				log_warn("directory %s is not the one of the dump (inode %llu, was %llu)",
					 f->path, (unsigned long long)st.st_ino, (unsigned long long)f->ino);
			continue;
		}
		if (st.st_dev != f->dev || st.st_ino != f->ino)
			return log_error_errno(-ESTALE, "file %s was replaced since the dump (inode %llu, was %llu)",
					       f->path, (unsigned long long)st.st_ino, (unsigned long long)f->ino);
		if (S_ISCHR(st.st_mode))
			continue; /* a device: its identity is all there is */
		if (f->has_mapped && !f->mapped) {
			/* Only held open: it may have grown (a log), but an fd
			 * offset must not point past a shrunk end. */
			if ((uint64_t)st.st_size < f->size)
				return log_error_errno(-ESTALE, "file %s shrank since the dump (size %llu, was %llu)",
						       f->path, (unsigned long long)st.st_size,
						       (unsigned long long)f->size);
			continue;
		}
		if ((uint64_t)st.st_size != f->size)
			return log_error_errno(-ESTALE, "file %s changed since the dump (size %llu, was %llu)",
					       f->path, (unsigned long long)st.st_size,
					       (unsigned long long)f->size);
		if (mtime_ns(&st) != f->mtime_ns)
			return log_error_errno(-ESTALE, "file %s changed since the dump (it was modified after it)",
					       f->path);
	}
	return 0;
}

static void unmap_chunk(char **p)
{
	if (*p && *p != MAP_FAILED)
		munmap(*p, FILL_CHUNK);
}

/* Write an object's dumped contents into fd (criu-lite's own fd of it). */
static int fill_object(struct rst_object *o, int fd)
{
	/* Page aligned, as the page source asks. */
	__attribute__((cleanup(unmap_chunk))) char *buf = NULL;

	if (!o->pages.nr)
		return 0;
	buf = mmap(NULL, FILL_CHUNK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return -ENOMEM;
	for (size_t i = 0; i < o->pages.nr; i++) {
		const PagemapEntry *run = o->pages.runs[i];
		uint64_t len = (uint64_t)run->nr_pages * CRL_PAGE_SIZE;

		for (uint64_t done = 0; done < len;) {
			size_t n = MIN(len - done, (uint64_t)FILL_CHUNK);
			uint64_t at = run->vaddr + done;
			int r = o->pages.src->read(o->pages.src, run->offset + done, buf, n);

			/* The last page may reach past the object's size. */
			if (at + n > o->shmem->size)
				n = o->shmem->size > at ? o->shmem->size - at : 0;
			if (r >= 0 && n)
				r = crl_pwrite_all(fd, buf, n, at);
			if (r < 0)
				return log_error_errno(r, "object %u: cannot write its contents: %m", o->id);
			done += MIN(len - done, (uint64_t)FILL_CHUNK);
		}
	}
	return 0;
}

/* The dumped owner (images of older writers have none: root's, as the
 * object was created) and mode, on criu-lite's fd of a new object. The
 * owner first: chown() clears the set-id bits. */
static int set_owner_mode(const struct rst_object *o, int fd)
{
	const ShmemEntry *s = o->shmem;

	if (s->has_uid && fchown(fd, s->uid, s->gid) < 0)
		return log_error_errno(negative_errno(), "object %u (%s): cannot give it its owner %u:%u: %m",
				       o->id, s->name ? s->name : "shared anonymous memory", s->uid, s->gid);
	if (fchmod(fd, s->mode & 07777) < 0)
		return log_error_errno(negative_errno(), "object %u (%s): cannot give it its mode %04o: %m", o->id,
				       s->name ? s->name : "shared anonymous memory", s->mode & 07777);
	return 0;
}

/* Once filled, criu-lite keeps the recreated file through a read-only fd:
 * a writer open anywhere keeps it from becoming a task's executable
 * (PR_SET_MM_MAP denies write access to the new exe file, EACCES). Tasks
 * still reopen it for writing through /proc where they need to. */
static int keep_read_only(struct rst_object *o)
{
	char self[64];
	int fd;

	snprintf(self, sizeof(self), "/proc/self/fd/%d", o->ghost_fd);
	fd = open(self, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	close(o->ghost_fd);
	o->ghost_fd = fd;
	return 0;
}

/*
 * Unlinked files come back as they were: created under their old name,
 * filled, and unlinked again at once, so the task maps "/path (deleted)".
 * If something else now has that name, the file is created unnamed
 * (O_TMPFILE) in the same directory.
 */
/* A file made by open(dir, O_TMPFILE) is named "DIR/#INODE" in /proc. */
static bool made_by_tmpfile(const ShmemEntry *s)
{
	const char *base = strrchr(s->name, '/');
	char want[32];

	snprintf(want, sizeof(want), "#%llu", (unsigned long long)s->ino);
	return base && !strcmp(base + 1, want);
}

int rst_prepare_ghosts(struct rst_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_objects; i++) {
		struct rst_object *o = &ctx->objects[i];
		const char *path;
		int fd, r;

		if (!o->shmem || o->shmem->kind != SHMEM_KIND__SHMEM_UNLINKED)
			continue;
		path = o->shmem->name;
		if (made_by_tmpfile(o->shmem)) {
			/* It never had a name: it is made the same way, and
			 * linkat() can give it one as before. */
			fd = -1;
			errno = EEXIST;
		} else {
			fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, o->shmem->mode & 07777);
		}
		if (fd >= 0) {
			unlink(path);
		} else if (errno == EEXIST) {
			_cleanup_free_ char *copy = strdup(path);

			if (!copy)
				return -ENOMEM;
			fd = open(dirname(copy), O_RDWR | O_TMPFILE | O_CLOEXEC, o->shmem->mode & 07777);
			if (fd >= 0 && !made_by_tmpfile(o->shmem))
				log_warn("%s exists again: its unlinked namesake is restored without a name",
					 path);
		}
		if (fd < 0)
			return log_error_errno(negative_errno(), "cannot recreate the unlinked file %s: %m", path);
		o->ghost_fd = fd;
		r = set_owner_mode(o, fd);
		if (r < 0)
			return r;
		if (ftruncate(fd, o->shmem->size) < 0)
			return log_error_errno(negative_errno(), "cannot size the unlinked file %s: %m", path);
		r = fill_object(o, fd);
		if (r < 0)
			return r;
		r = keep_read_only(o);
		if (r < 0)
			return log_error_errno(r, "cannot reopen the unlinked file %s read-only: %m", path);
	}
	return 0;
}
/* A file of the dump opened in t, checked to be the very inode dumped (the
 * path was checked before the tree was created; this closes the race). */
static int open_file(struct rst_task *t, const FileEntry *f, int flags, int *ret_fd)
{
	struct stat st;
	char path[64];
	int r, fd;

	r = rst_open(t, f->path, flags, &fd);
	if (r < 0)
		return log_error_errno(r, "task %d: cannot open %s: %m", t->pid, f->path);
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", t->pid, fd);
	if (stat(path, &st) < 0 || st.st_dev != f->dev || st.st_ino != f->ino)
		return log_error_errno(-ESTALE, "task %d: %s changed while being restored", t->pid, f->path);
	*ret_fd = fd;
	return 0;
}

/* Create a shared object in its first user, fill it. */
static int create_object(struct rst_ctx *ctx, struct rst_task *t, struct rst_object *o, int *ret_fd)
{
	const ShmemEntry *s = o->shmem;
	char path[96];
	long ret;
	_cleanup_close_ int local = -1;
	uint64_t addr;
	int r, fd = -1;

	switch (s->kind) {
	case SHMEM_KIND__SHMEM_ANON: {
		long tmp;

		/* A shmem inode of the kind MAP_SHARED|MAP_ANONYMOUS makes,
		 * reached through the mapping's own map_files link. */
		r = RCALL(t, &tmp, "mmap of shared anonymous memory", SYS_mmap, 0, PAGE_UP(s->size),
			  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (r < 0)
			return r;
		snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", tmp, tmp + PAGE_UP(s->size));
		r = rst_open(t, path, O_RDWR, &fd);
		if (r >= 0)
			r = RCALL(t, &ret, "munmap", SYS_munmap, tmp, PAGE_UP(s->size));
		if (r < 0)
			return r;
		break;
	}
	case SHMEM_KIND__SHMEM_MEMFD: {
		unsigned flags = MFD_CLOEXEC;

		/* Only a memfd created with MFD_ALLOW_SEALING can have seals
		 * other than F_SEAL_SEAL; the seals are added at the end. */
		if (!s->has_seals || s->seals != F_SEAL_SEAL)
			flags |= MFD_ALLOW_SEALING;
		crl_rsys_scratch_reset(&t->rsys);
		r = rst_put(t, s->name, strlen(s->name) + 1, &addr);
		if (r >= 0)
			r = RCALL(t, &ret, "memfd_create", SYS_memfd_create, addr, flags);
		fd = ret;
		if (r >= 0)
			r = RCALL(t, &ret, "ftruncate of the memfd", SYS_ftruncate, fd, s->size);
		if (r < 0)
			return r;
		break;
	}
	case SHMEM_KIND__SHMEM_UNLINKED:
		/* Recreated and filled by criu-lite already; reachable
		 * through criu-lite's own fd for as long as it runs. */
		snprintf(o->reopen, sizeof(o->reopen), "/proc/%d/fd/%d", getpid(), o->ghost_fd);
		r = rst_open(t, o->reopen, O_RDWR, &fd);
		if (r < 0)
			return r;
		*ret_fd = fd;
		o->created = true;
		return 0;
	default:
		return log_error_errno(-EOPNOTSUPP, "object %u: kind %d cannot be restored", o->id, s->kind);
	}

	/* criu-lite fills the new object through the task's fd of it. */
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", t->pid, fd);
	local = open(path, O_RDWR | O_CLOEXEC);
	if (local < 0)
		return log_error_errno(negative_errno(), "task %d: cannot open its new object %u: %m", t->pid,
				       o->id);
	r = set_owner_mode(o, local);
	if (r >= 0)
		r = fill_object(o, local);
	if (r < 0)
		return r;
	*ret_fd = fd;
	o->created = true;
	return 0;
}

int rst_object_fd(struct rst_ctx *ctx, struct rst_task *t, const VmaEntry *vma, int *ret_fd)
{
	struct rst_object *o = rst_object(ctx, vma->object_id);
	bool shared = vma->flags & MAP_SHARED;
	/* A shared mapping that may become writable needs a writable fd;
	 * a private one never does. */
	bool rw = shared && (vma->vmflags & VMF(MW));
	int *slot = &t->obj_fds[2 * vma->object_id + rw];
	int r, fd = -1;

	if (*slot >= 0) {
		*ret_fd = *slot;
		return 0;
	}
	if (o->file) {
		r = open_file(t, o->file, rw ? O_RDWR : O_RDONLY, &fd);
		if (r < 0)
			return r;
	} else if (!o->created) {
		r = create_object(ctx, t, o, &fd);
		if (r < 0)
			return log_error_errno(r, "task %d: cannot create shared object %u (%s): %m", t->pid,
					       o->id, o->shmem->name ? o->shmem->name : "shared anonymous memory");
		if (!rw) {
			/* The new object's fd is writable. A shared mapping
			 * made through it could be made writable later
			 * (VM_MAYWRITE), where the dumped one could not, and
			 * F_SEAL_WRITE refuses a memfd that has one: map it
			 * through a read-only fd; the writable one stays for
			 * this task's other VMAs. */
			char self[64];

			t->obj_fds[2 * vma->object_id + 1] = fd;
			snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
			r = rst_open(t, self, O_RDONLY, &fd);
			if (r < 0)
				return log_error_errno(r, "task %d: cannot reopen shared object %u read-only: %m",
						       t->pid, o->id);
		}
	} else {
		r = rst_open(t, o->reopen, rw ? O_RDWR : O_RDONLY, &fd);
		if (r < 0)
			return log_error_errno(r, "task %d: cannot open object %u through %s: %m", t->pid, o->id,
					       o->reopen);
	}
	*slot = fd;
	*ret_fd = fd;
	return 0;
}

void rst_object_mapped(struct rst_ctx *ctx, struct rst_task *t, const VmaEntry *vma)
{
	struct rst_object *o = rst_object(ctx, vma->object_id);

	if (!o || !o->shmem || o->owner)
		return;
	o->owner = t->pid;
	if (!o->reopen[0])
		snprintf(o->reopen, sizeof(o->reopen), "/proc/%d/map_files/%llx-%llx", t->pid,
			 (unsigned long long)vma->start, (unsigned long long)vma->end);
}

int rst_object_open(struct rst_ctx *ctx, struct rst_task *t, uint32_t id, int flags, int *ret_fd)
{
	struct rst_object *o = rst_object(ctx, id);
	int r, fd, created;

	if (o->file)
		return open_file(t, o->file, flags, ret_fd);
	if (!o->created) {
		/* Only fds use it: this task creates it and keeps an fd of it
		 * for the others until the tree is done. */
		r = create_object(ctx, t, o, &created);
		if (r < 0)
			return log_error_errno(r, "task %d: cannot create shared object %u: %m", t->pid, o->id);
		if (!o->reopen[0]) {
			r = rst_hold_fd(t, created, &created);
			if (r < 0)
				return r;
			snprintf(o->reopen, sizeof(o->reopen), "/proc/%d/fd/%d", t->pid, created);
			o->owner = t->pid;
		} else {
			long ret;

			r = RCALL(t, &ret, "close", SYS_close, created);
			if (r < 0)
				return r;
		}
	}
	r = rst_open(t, o->reopen, flags, &fd);
	if (r < 0)
		return log_error_errno(r, "task %d: cannot open object %u through %s: %m", t->pid, o->id,
				       o->reopen);
	*ret_fd = fd;
	return 0;
}

int rst_close_object_fds(struct rst_ctx *ctx, struct rst_task *t)
{
	for (size_t k = 0; k < 2 * (ctx->nr_objects + 1); k++) {
		long ret;
		int r;

		if (t->obj_fds[k] < 0)
			continue;
		r = RCALL(t, &ret, "close", SYS_close, t->obj_fds[k]);
		if (r < 0)
			return r;
		t->obj_fds[k] = -1;
	}
	return 0;
}

/* Seals last: F_SEAL_WRITE and friends would have refused the filling.
 * F_ADD_SEALS wants an fd open for writing (the kernel answers EPERM
 * otherwise), whatever the seals. */
int rst_seal_memfds(struct rst_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_objects; i++) {
		struct rst_object *o = &ctx->objects[i];
		_cleanup_close_ int fd = -1;
		unsigned seals;

		if (!o->shmem || o->shmem->kind != SHMEM_KIND__SHMEM_MEMFD || !o->shmem->has_seals)
			continue;
		seals = o->shmem->seals;
		if (seals == F_SEAL_SEAL || !seals || !o->reopen[0])
			continue;
		fd = open(o->reopen, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return log_error_errno(negative_errno(),
					       "task %d: memfd %s (object %u): cannot reopen it through %s to seal it: %m",
					       o->owner, o->shmem->name, o->id, o->reopen);
		if (fcntl(fd, F_ADD_SEALS, seals & ~F_SEAL_SEAL) < 0 ||
		    ((seals & F_SEAL_SEAL) && fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL) < 0))
			return log_error_errno(negative_errno(), "task %d: memfd %s (object %u): cannot add seals %#x: %m",
					       o->owner, o->shmem->name, o->id, seals);
	}
	return 0;
}

void rst_release_objects(struct rst_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_objects; i++)
		if (ctx->objects[i].ghost_fd >= 0) {
			close(ctx->objects[i].ghost_fd);
			ctx->objects[i].ghost_fd = -1;
		}
}
