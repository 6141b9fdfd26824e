/*
 * The objects the tree maps, one table for the whole tree, keyed by the
 * inode identity (st_dev, st_ino) that map_files gives. Two tasks that map
 * the same object get the same id, whatever the addresses: that is how the
 * restore knows what to share.
 *
 * Regular files that still exist go to files.img (identity only: the file
 * brings its contents back). Shared anonymous memory, memfds and unlinked
 * files go to shmem.img, and their contents are dumped once per object, read through the map_files link of one VMA that maps it (or the
 * /proc fd link of one fd that holds it).
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "files.pb-c.h"
#include "pagemap.pb-c.h"
#include "shmem.pb-c.h"

#include "crl/image.h"
#include "crl/kernel.h"
#include "crl/log.h"
#include "dump.h"

#define HASH_SIZE 1024

struct dump_object {
	uint32_t id;
	bool shmem;                /* shmem.img rather than files.img */
	ShmemKind kind;
	dev_t dev;
	ino_t ino;
	char *name;                /* path, or memfd name */
	uint64_t size;
	int64_t mtime_ns;
	uint32_t mode;
	uint32_t uid, gid;
	uint32_t seals;
	bool has_seals;
	bool mapped;               /* a file whose contents matter */
	char src[64];              /* a /proc path that opens it: map_files or fd */
	uint32_t *users;
	size_t nr_users, cap_users;
	struct dump_object *next;  /* hash chain */
};

struct dump_objects {
	struct dump_object *hash[HASH_SIZE];
	struct dump_object **all;  /* by id - 1 */
	size_t nr, cap;
};

static unsigned hash_of(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)dev * 0x9E3779B97F4A7C15ULL ^ (uint64_t)ino;

	return (h ^ (h >> 29)) % HASH_SIZE;
}

int dump_objects_new(struct dump_objects **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

void dump_objects_free(struct dump_objects *objs)
{
	if (!objs)
		return;
	for (size_t i = 0; i < objs->nr; i++) {
		free(objs->all[i]->name);
		free(objs->all[i]->users);
		free(objs->all[i]);
	}
	free(objs->all);
	free(objs);
}

static struct dump_object *find(struct dump_objects *objs, dev_t dev, ino_t ino)
{
	for (struct dump_object *o = objs->hash[hash_of(dev, ino)]; o; o = o->next)
		if (o->dev == dev && o->ino == ino)
			return o;
	return NULL;
}

int dump_unlinked_restorable(const char *path, char *why, size_t len)
{
	_cleanup_free_ char *dir = strdup(path);
	struct stat st;
	char *slash;

	if (!dir)
		return -ENOMEM;
	if (path[0] != '/') {
		snprintf(why, len, "an unlinked file without an absolute path (%s)", path);
		return -EOPNOTSUPP;
	}
	slash = strrchr(dir, '/');
	slash[slash == dir] = '\0'; /* "/name": the root directory */
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	snprintf(why, len, "an unlinked file whose directory %s is gone too: a restore could not create it again",
		 dir);
	return -EOPNOTSUPP;
}

int dump_objects_lookup(struct dump_objects *objs, dev_t dev, ino_t ino, uint32_t *ret_id)
{
	struct dump_object *o = find(objs, dev, ino);

	if (!o)
		return -ENOENT;
	*ret_id = o->id;
	return 0;
}

static int insert(struct dump_objects *objs, const struct stat *st, const char *name,
		  struct dump_object **ret)
{
	struct dump_object *o = calloc(1, sizeof(*o));
	unsigned h = hash_of(st->st_dev, st->st_ino);

	if (!o || GROW(objs->all, objs->cap, objs->nr + 1) < 0) {
		free(o);
		return -ENOMEM;
	}
	o->name = name ? strdup(name) : NULL;
	if (name && !o->name) {
		free(o);
		return -ENOMEM;
	}
	o->dev = st->st_dev;
	o->ino = st->st_ino;
	o->size = st->st_size;
	o->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
	o->mode = st->st_mode;
	o->uid = st->st_uid;
	o->gid = st->st_gid;
	objs->all[objs->nr++] = o;
	o->id = objs->nr;
	o->next = objs->hash[h];
	objs->hash[h] = o;
	*ret = o;
	return 0;
}

int dump_objects_add_file(struct dump_objects *objs, const char *path, const struct stat *st,
			  bool mapped, uint32_t *ret_id)
{
	struct dump_object *o = find(objs, st->st_dev, st->st_ino);
	int r;

	if (o) {
		if (o->shmem)
			return log_error_errno(-EINVAL, "%s is both a file and a shared object", path);
	} else {
		r = insert(objs, st, path, &o);
		if (r < 0)
			return r;
	}
	o->mapped |= mapped;
	*ret_id = o->id;
	return 0;
}

static int add_user(struct dump_object *o, pid_t pid)
{
	if (o->nr_users && o->users[o->nr_users - 1] == (uint32_t)pid)
		return 0;
	if (GROW(o->users, o->cap_users, o->nr_users + 1) < 0)
		return -ENOMEM;
	o->users[o->nr_users++] = pid;
	return 0;
}

int dump_objects_add_shmem(struct dump_objects *objs, ShmemKind kind, const char *name,
			   const struct stat *st, pid_t pid, const char *src, uint32_t *ret_id)
{
	struct dump_object *o = find(objs, st->st_dev, st->st_ino);
	int r;

	if (!o) {
		/* Seen from the fd side too (an MFD_HUGETLB memfd has no link
		 * and is not on the shmem device: it looks like an unlinked
		 * file): nothing here could create it again. */
		r = crl_is_hugetlbfs(src);
		if (r > 0)
			return log_error_errno(-EOPNOTSUPP,
					       "task %d: %s (%s) is on hugetlbfs (an MFD_HUGETLB memfd or a hugetlbfs file); "
					       "not supported",
					       pid, name ? name : "shared memory", src);
		if (r < 0)
			return log_error_errno(r, "task %d: cannot statfs %s: %m", pid, src);
		r = insert(objs, st, name, &o);
		if (r < 0)
			return r;
		o->shmem = true;
		o->kind = kind;
		snprintf(o->src, sizeof(o->src), "%s", src);
		if (kind == SHMEM_KIND__SHMEM_MEMFD) {
			_cleanup_close_ int fd = open(src, O_RDONLY | O_CLOEXEC);
			int seals = fd >= 0 ? fcntl(fd, F_GET_SEALS) : -1;

			if (seals < 0)
				return log_error_errno(fd < 0 ? negative_errno() : negative_errno(),
						       "task %d: cannot read the seals of memfd %s: %m", pid,
						       name);
			o->seals = seals;
			o->has_seals = true;
		}
	} else if (!o->shmem || o->kind != kind) {
		return log_error_errno(-EINVAL, "task %d: object %u mapped as two different kinds", pid,
				       o->id);
	}
	r = add_user(o, pid);
	if (r < 0)
		return r;
	*ret_id = o->id;
	return 0;
}

/*
 * Dump the contents of one shared object: map it in criu-lite through the
 * map_files link of a VMA that maps it, and write the ranges that hold data
 * (SEEK_DATA/SEEK_HOLE skip the holes) straight from that mapping.
 */
static int dump_contents(struct dump_ctx *ctx, struct dump_object *o)
{
	_cleanup_close_ int fd = -1, pages_fd = -1;
	struct crl_page_writer *w = NULL;
	struct crl_img *pagemap = NULL;
	uint64_t size = PAGE_UP(o->size);
	char *map = MAP_FAILED;
	off_t pos = 0;
	int r;

	fd = open(o->src, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return log_error_errno(negative_errno(), "object %u: cannot open %s: %m", o->id, o->src);
	r = crl_img_open(ctx->stagefd, CRL_IMG_SHMEM_PAGEMAP, o->id, CRL_IMG_WRITE, &pagemap);
	if (r >= 0)
		r = crl_img_raw_create(ctx->stagefd, CRL_IMG_SHMEM_PAGES, o->id, &pages_fd);
	if (r >= 0)
		r = crl_page_writer_new(pagemap, pages_fd, 0, -1, &w);
	if (r < 0)
		goto out;
	if (size) {
		map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
		if (map == MAP_FAILED) {
			r = negative_errno();
			goto out;
		}
	}
	while (size && (uint64_t)pos < o->size) {
		off_t data = lseek(fd, pos, SEEK_DATA), hole;

		if (data < 0) {
			if (errno == ENXIO) /* no data after pos */
				break;
			if (errno != EINVAL) {
				r = negative_errno();
				goto out;
			}
			/* No SEEK_DATA on this file system: everything is data. */
			data = pos;
			hole = o->size;
		} else {
			hole = lseek(fd, data, SEEK_HOLE);
			if (hole < 0)
				hole = o->size;
		}
		data &= ~(off_t)(CRL_PAGE_SIZE - 1);
		hole = MIN((uint64_t)PAGE_UP((uint64_t)hole), size);
		if (hole > data) {
			r = crl_page_writer_add_local(w, data, map + data, (hole - data) / CRL_PAGE_SIZE);
			if (r < 0)
				goto out;
		}
		pos = hole;
	}
	r = crl_page_writer_finish(w, NULL);
	w = NULL;
	if (r >= 0)
		r = crl_img_close(pagemap);
	else
		crl_img_close(pagemap);
	pagemap = NULL;
out:
	if (map != MAP_FAILED)
		munmap(map, size);
	crl_page_writer_abort(w);
	crl_img_close(pagemap);
	if (r < 0)
		return log_error_errno(r, "object %u (%s): cannot dump its contents: %m", o->id,
				       o->name ? o->name : "shared anonymous memory");
	return 0;
}

int dump_objects_write(struct dump_ctx *ctx)
{
	struct dump_objects *objs = ctx->objects;
	struct crl_img *files = NULL, *shmem = NULL;
	int r;

	r = crl_img_open(ctx->stagefd, CRL_IMG_FILES, 0, CRL_IMG_WRITE, &files);
	if (r >= 0)
		r = crl_img_open(ctx->stagefd, CRL_IMG_SHMEM, 0, CRL_IMG_WRITE, &shmem);
	for (size_t i = 0; i < objs->nr && r >= 0; i++) {
		struct dump_object *o = objs->all[i];

		if (!o->shmem) {
			FileEntry f = FILE_ENTRY__INIT;

			f.id = o->id;
			f.path = o->name;
			f.dev = o->dev;
			f.ino = o->ino;
			f.size = o->size;
			f.mtime_ns = o->mtime_ns;
			f.mode = o->mode;
			f.has_mapped = true;
			f.mapped = o->mapped;
			r = crl_img_write(files, &f.base);
		} else {
			ShmemEntry s = SHMEM_ENTRY__INIT;

			s.id = o->id;
			s.kind = o->kind;
			s.dev = o->dev;
			s.ino = o->ino;
			s.size = o->size;
			s.name = o->name;
			s.mode = o->mode;
			s.has_uid = s.has_gid = true;
			s.uid = o->uid;
			s.gid = o->gid;
			s.has_seals = o->has_seals;
			s.seals = o->seals;
			s.n_users = o->nr_users;
			s.users = o->users;
			r = crl_img_write(shmem, &s.base);
			if (r >= 0)
				r = dump_contents(ctx, o);
		}
	}
	if (r < 0) {
		crl_img_close(files);
		crl_img_close(shmem);
		return log_error_errno(r, "cannot write the object tables: %m");
	}
	r = crl_img_close(files);
	if (r >= 0)
		r = crl_img_close(shmem);
	else
		crl_img_close(shmem);
	if (r < 0)
		return log_error_errno(r, "cannot write files.img or shmem.img: %m");
	return 0;
}
