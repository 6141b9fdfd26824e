/*
 * criu-lite dump: freeze a process tree and write it to images.
 *
 * The order:
 *   1. freeze every task (pstree.c);
 *   2. per task, in tree order: refuse what cannot be restored, classify its
 *      VMAs (mm.c), read its kernel state with remote calls (core.c), write
 *      its mm, core and private pages, and its fd table (files.c);
 *   3. write the file descriptions, pipes with their data and unix sockets
 *      with their queues (files.c), the object tables and the contents of
 *      shared objects once each (objects.c), the pstree, and last the
 *      inventory;
 *   4. check no task died meanwhile, move the images into place, then kill
 *      the tree or (--leave-running) let it go on.
 * Images are written into a private staging directory inside the image
 * directory and only moved into place once complete: a failed dump leaves
 * the tree running as it was and an older dump in the directory intact.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include "inventory.pb-c.h"

#include "crl/image.h"
#include "crl/kernel.h"
#include "crl/log.h"
#include "dump.h"

static void remove_stale_stages(int dirfd);

static int open_image_dir(struct dump_ctx *ctx)
{
	const char *dir = ctx->opts->dir;
	struct stat st;

	/* Images hold the memory of the tree: a directory made here is 0700,
	 * every image 0600. An existing directory is not changed (it may be
	 * shared); its mode is only warned about. */
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return log_error_errno(negative_errno(), "cannot create the image directory %s: %m", dir);
	ctx->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctx->dirfd < 0)
		return log_error_errno(negative_errno(), "cannot open the image directory %s: %m", dir);
	if (fstat(ctx->dirfd, &st) == 0 && (st.st_mode & 077))
		log_warn("%s is open to others (mode %o); the images in it are 0600", dir, st.st_mode & 07777);

	remove_stale_stages(ctx->dirfd);
	snprintf(ctx->stage_name, sizeof(ctx->stage_name), ".dump-%d", getpid());
	if (mkdirat(ctx->dirfd, ctx->stage_name, 0700) < 0)
		return log_error_errno(negative_errno(), "cannot create %s/%s: %m", dir, ctx->stage_name);
	ctx->stagefd = openat(ctx->dirfd, ctx->stage_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ctx->stagefd < 0)
		return log_error_errno(negative_errno(), "cannot open %s/%s: %m", dir, ctx->stage_name);
	return 0;
}

/* Remove the directory name of dirfd with the files in it. */
static void remove_dir(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	struct dirent *de;
	DIR *d;

	if (fd < 0)
		return;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			unlinkat(fd, de->d_name, 0);
	closedir(d);
	unlinkat(parent, name, AT_REMOVEDIR);
}

/* Staging directories of dumps whose criu-lite died (killed, a crash). */
static void remove_stale_stages(int dirfd)
{
	DIR *d = crl_opendirat(dirfd, ".");
	struct dirent *de;
	int pid;

	if (!d)
		return;
	while ((de = readdir(d)))
		if ((sscanf(de->d_name, ".dump-%d", &pid) == 1 || sscanf(de->d_name, ".old-%d", &pid) == 1) &&
		    pid != getpid() && kill(pid, 0) < 0 && errno == ESRCH) {
			log_debug("removing %s, left by a dump that did not finish", de->d_name);
			remove_dir(dirfd, de->d_name);
		}
	closedir(d);
}

/* Remove the staging directory and whatever is in it. */
static void remove_stage(struct dump_ctx *ctx)
{
	if (ctx->stagefd < 0)
		return;
	close(ctx->stagefd);
	ctx->stagefd = -1;
	remove_dir(ctx->dirfd, ctx->stage_name);
}

/* Move every image (inventory.img last when last_inventory, first
 * otherwise) from one directory to another; stop at the first failure. */
static int move_images(int from, int to, bool last_inventory)
{
	DIR *d = crl_opendirat(from, ".");
	enum crl_img_kind kind;
	struct dirent *de;
	int r = 0;

	if (!d)
		return negative_errno();
	if (!last_inventory && renameat(from, "inventory.img", to, "inventory.img") < 0 && errno != ENOENT)
		r = negative_errno();
	while (r >= 0 && (de = readdir(d)))
		if (strcmp(de->d_name, "inventory.img") && crl_img_kind_from_name(de->d_name, &kind, NULL) == 0 &&
		    renameat(from, de->d_name, to, de->d_name) < 0)
			r = negative_errno();
	closedir(d);
	if (r >= 0 && last_inventory && renameat(from, "inventory.img", to, "inventory.img") < 0 && errno != ENOENT)
		r = negative_errno();
	return r;
}

/*
 * Move the complete dump into the image directory. An older dump there is
 * first moved aside (its inventory first, so the directory never holds a
 * complete-looking mix of two dumps), then the new images come in (the
 * inventory last), then the old one is removed. If moving in fails, the new
 * images go and the old dump comes back.
 */
static int commit_images(struct dump_ctx *ctx)
{
	char old[64];
	int oldfd, r;

	snprintf(old, sizeof(old), ".old-%d", getpid());
	if (mkdirat(ctx->dirfd, old, 0700) < 0)
		return log_error_errno(negative_errno(), "cannot create %s/%s: %m", ctx->opts->dir, old);
	oldfd = openat(ctx->dirfd, old, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (oldfd < 0) {
		r = log_error_errno(negative_errno(), "cannot open %s/%s: %m", ctx->opts->dir, old);
		unlinkat(ctx->dirfd, old, AT_REMOVEDIR);
		return r;
	}
	r = move_images(ctx->dirfd, oldfd, false);
	if (r < 0) {
		log_error_errno(r, "cannot move the older dump in %s aside: %m", ctx->opts->dir);
		move_images(oldfd, ctx->dirfd, true);
	} else {
		r = move_images(ctx->stagefd, ctx->dirfd, true);
		if (r < 0) {
			log_error_errno(r, "cannot move the images into %s: %m", ctx->opts->dir);
			/* The new ones back to the stage (removed with it),
			 * the old ones back in place. */
			move_images(ctx->dirfd, ctx->stagefd, false);
			move_images(oldfd, ctx->dirfd, true);
		}
	}
	close(oldfd);
	remove_dir(ctx->dirfd, old);
	return r;
}

static int write_inventory(struct dump_ctx *ctx)
{
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	struct utsname u;
	int r;

	uname(&u);
	inv.format_version = CRL_IMG_FORMAT_VERSION;
	inv.tool_version = CRL_TOOL_VERSION;
	inv.kernel = u.release;
	inv.arch = u.machine;
	inv.root_pid = ctx->tasks[0].pid;
	inv.nr_tasks = ctx->nr_tasks;
	inv.page_size = CRL_PAGE_SIZE;
	inv.dump_time = time(NULL);
	inv.has_shm_dev = true;
	inv.shm_dev = ctx->shm_dev;
	if (crl_kernel_vdso(&inv.vdso_size, &inv.vdso_crc) == 0)
		inv.has_vdso_size = inv.has_vdso_crc = true;
	else
		log_warn("this kernel maps no [vdso] into criu-lite: its identity is not recorded");
	r = crl_img_write_single(ctx->stagefd, CRL_IMG_INVENTORY, 0, &inv.base);
	if (r < 0)
		return log_error_errno(r, "cannot write inventory.img: %m");
	return 0;
}

static int dump_task(struct dump_ctx *ctx, struct dump_task *t)
{
	int r;

	r = dump_task_check(ctx, t);
	if (r >= 0)
		r = dump_task_vmas(ctx, t);
	if (r >= 0)
		r = dump_task_core(ctx, t);
	if (r >= 0)
		r = dump_task_mm(ctx, t);
	if (r >= 0)
		r = dump_task_pages(ctx, t);
	if (r >= 0)
		r = dump_task_fds(ctx, t);
	return r;
}

static void ctx_release(struct dump_ctx *ctx)
{
	for (size_t i = 0; i < ctx->nr_tasks; i++) {
		crl_vma_list_free(&ctx->tasks[i].vmas);
		crl_proc_status_release(&ctx->tasks[i].status);
		free(ctx->tasks[i].vc);
	}
	free(ctx->tasks);
	dump_objects_free(ctx->objects);
	dump_files_free(ctx->files);
	dump_sockets_free(ctx->sockets);
	if (ctx->stagefd >= 0)
		close(ctx->stagefd);
	if (ctx->dirfd >= 0)
		close(ctx->dirfd);
}

int cmd_dump(const struct crl_opts *o)
{
	struct dump_ctx ctx = { .opts = o, .dirfd = -1, .stagefd = -1, .pagemap_scan = true };
	uint64_t t0 = crl_now_ns();
	int r;

	r = crl_zero_pfns_detect(&ctx.zero);
	if (r < 0)
		return log_error_errno(r, "cannot learn the zero page's frame number (pagemap needs root): %m");
	r = crl_kernel_shm_dev(&ctx.shm_dev);
	if (r < 0)
		return log_error_errno(r, "cannot open /proc/self/map_files (needs CAP_CHECKPOINT_RESTORE): %m");
	r = dump_objects_new(&ctx.objects);
	if (r >= 0)
		r = dump_files_new(&ctx.files);
	if (r >= 0)
		r = dump_sockets_new(&ctx.sockets);
	if (r < 0)
		return log_error_errno(r, "out of memory");
	r = open_image_dir(&ctx);
	if (r < 0)
		goto out;

	r = dump_freeze_tree(&ctx);
	for (size_t i = 0; i < ctx.nr_tasks && r >= 0; i++) {
		if (crl_interrupted())
			r = log_error_errno(-EINTR, "interrupted by signal %d", crl_interrupted());
		else if (!ctx.tasks[i].zombie)
			r = dump_task(&ctx, &ctx.tasks[i]);
	}
	if (r >= 0)
		r = dump_files_write(&ctx);
	if (r >= 0)
		r = dump_objects_write(&ctx);
	if (r >= 0)
		r = dump_write_pstree(&ctx);
	if (r >= 0)
		r = write_inventory(&ctx);
	if (r >= 0)
		r = dump_check_alive(&ctx);
	if (r >= 0 && crl_interrupted())
		r = log_error_errno(-EINTR, "interrupted by signal %d", crl_interrupted());
	if (r >= 0)
		r = commit_images(&ctx);
	if (r < 0) {
		dump_resume_tree(&ctx);
		log_error("Dump of the tree of %d failed; the tree was left running", o->pid);
		goto out;
	}

	if (o->leave_running)
		dump_resume_tree(&ctx);
	else
		dump_kill_tree(&ctx);
	log_info("Dumped %zu task(s), %llu MiB of private memory, into %s in %llu ms%s", ctx.nr_tasks,
		 (unsigned long long)(ctx.nr_pages * CRL_PAGE_SIZE >> 20), o->dir,
		 (unsigned long long)((crl_now_ns() - t0) / 1000000),
		 o->leave_running ? "; the tree runs on" : "; the tree was killed");
out:
	remove_stage(&ctx);
	ctx_release(&ctx);
	return r;
}
