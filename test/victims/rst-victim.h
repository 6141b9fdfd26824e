/*
 * Helpers of the restore victims (test/victims/rst-*.c): what a task records
 * before vl_ready() and compares after vl_wait(), and a file-based meeting
 * point for the checks that need every task of the tree.
 *
 * Header-only: a victim links victim-lib.c and nothing else. Everything
 * here is static; unused helpers cost nothing.
 *
 * Nothing in the maps helpers allocates: a malloc() between the snapshot
 * and the comparison could grow the heap and change the very maps line
 * being compared. Buffers are the caller's (static, in .bss).
 */
#ifndef RST_VICTIM_H
#define RST_VICTIM_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "victim.h"

#define RV_UNUSED __attribute__((unused))
#define PG 4096UL
/* At most this many differences are reported per comparison: one broken
 * restore must not write a megabyte of failures. */
#define RV_MAX_REPORTS 12

/* Read a whole file into buf with plain read(2) (no malloc). Returns its
 * length, or -1 if it cannot be read or does not fit. buf is terminated. */
static RV_UNUSED ssize_t rv_read(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;

	if (fd < 0)
		return -1;
	for (;;) {
		ssize_t r = read(fd, buf + n, cap - n - 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += r;
		if (n + 1 == cap) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	buf[n] = '\0';
	return n;
}

/* Write text into the file name of the scratch directory, atomically. */
static RV_UNUSED int rv_write_file(const char *name, const char *text)
{
	char tmp[4400], path[4300];
	int fd;

	snprintf(path, sizeof(path), "%s/%s", vl_dir(), name);
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
		close(fd);
		return -1;
	}
	close(fd);
	return rename(tmp, path);
}

static RV_UNUSED uint64_t rv_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ULL + ts.tv_nsec / 1000000;
}

static RV_UNUSED void rv_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* --- identity of the task ------------------------------------------------ */

struct rv_ids {
	pid_t pid, ppid, pgid, sid;
};

static RV_UNUSED void rv_ids_save(struct rv_ids *ids)
{
	ids->pid = getpid();
	ids->ppid = getppid();
	ids->pgid = getpgid(0);
	ids->sid = getsid(0);
}

/*
 * pid, ppid, pgid and sid are the recorded ones. Not the ppid of the root: a
 * restored root is the child of criu-lite, or of init with -d. Not the
 * groups (check_groups false) of a tree whose session and group are led
 * from outside it: the restored tree joins criu-lite's then.
 */
static RV_UNUSED bool rv_ids_check(const struct rv_ids *ids, bool check_ppid, bool check_groups)
{
	struct rv_ids now;
	bool ok = true;

	rv_ids_save(&now);
	if (now.pid != ids->pid)
		ok = false, vl_fail("getpid() is %d, was %d before the dump", now.pid, ids->pid);
	if (check_ppid && now.ppid != ids->ppid)
		ok = false, vl_fail("getppid() is %d, was %d before the dump", now.ppid, ids->ppid);
	if (check_groups && now.pgid != ids->pgid)
		ok = false, vl_fail("getpgid() is %d, was %d before the dump", now.pgid, ids->pgid);
	if (check_groups && now.sid != ids->sid)
		ok = false, vl_fail("getsid() is %d, was %d before the dump", now.sid, ids->sid);
	return ok;
}

/* --- signals ------------------------------------------------------------- */

/* The blocked mask of the task equals want. */
static RV_UNUSED bool rv_expect_sigmask(const char *what, const sigset_t *want)
{
	sigset_t now;
	char diff[512] = "";
	size_t n = 0;

	sigprocmask(SIG_SETMASK, NULL, &now);
	for (int sig = 1; sig < 65 && n < sizeof(diff) - 40; sig++)
		if (sigismember(&now, sig) != sigismember(want, sig))
			n += snprintf(diff + n, sizeof(diff) - n, " %d(%s)", sig,
				      sigismember(&now, sig) ? "blocked, was not" : "not blocked, was");
	if (!n)
		return true;
	vl_fail("%s: the blocked-signal mask differs:%s", what, diff);
	return false;
}

/* --- identity of mapped objects ------------------------------------------ */

/* stat() of /proc/self/map_files/ for the VMA holding addr. */
static RV_UNUSED bool rv_map_stat(const void *addr, struct stat *st)
{
	static char maps[1 << 20];
	unsigned long a = (unsigned long)addr;

	if (rv_read("/proc/self/maps", maps, sizeof(maps)) < 0)
		return false;
	for (char *line = maps; line && *line;) {
		char *nl = strchr(line, '\n');
		unsigned long s, e;

		if (sscanf(line, "%lx-%lx", &s, &e) == 2 && a >= s && a < e) {
			char path[96];

			snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", s, e);
			return stat(path, st) == 0;
		}
		line = nl ? nl + 1 : NULL;
	}
	return false;
}

/* --- /proc/self/maps ----------------------------------------------------- */

struct rv_vma {
	unsigned long start, end, offset, ino;
	unsigned maj, min;
	char perms[8];
	const char *name; /* into the maps text, up to the end of the line */
	int name_len;
	const char *line;
	int line_len;
};

/* Parse the line at *pos of a maps text; advance *pos. false at the end. */
static RV_UNUSED bool rv_maps_next(const char **pos, struct rv_vma *v)
{
	const char *line = *pos, *nl;
	int name_at = 0;

	if (!line || !*line)
		return false;
	nl = strchr(line, '\n');
	v->line = line;
	v->line_len = nl ? nl - line : (int)strlen(line);
	*pos = nl ? nl + 1 : line + v->line_len;
	if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &v->start, &v->end, v->perms, &v->offset, &v->maj,
		   &v->min, &v->ino, &name_at) < 7) {
		v->start = v->end = 0;
		name_at = 0;
	}
	/* With no name, " %n" skips the newline too (or never matches at the
	 * end of the text): the name is empty then. */
	if (!name_at || name_at > v->line_len)
		name_at = v->line_len;
	v->name = line + name_at;
	v->name_len = v->line_len - name_at;
	return true;
}

/*
 * A shared memory object: shared anonymous memory or a memfd (the internal
 * shmem mount, device 0:1) or an unlinked file. A restore creates these
 * anew, so their inode numbers change; they are compared by sharing.
 */
static RV_UNUSED bool rv_vma_is_shm(const struct rv_vma *v)
{
	static const char deleted[] = " (deleted)";
	int dl = sizeof(deleted) - 1;

	if (v->maj == 0 && v->min == 1)
		return true;
	return v->name_len >= dl && !memcmp(v->name + v->name_len - dl, deleted, dl);
}

/* Old inode -> new inode of the shared memory objects: a bijection. */
struct rv_inomap {
	int n;
	unsigned long old_ino[1024], new_ino[1024];
};

/* Record old -> new; false if it contradicts what is known (one old object
 * became two, or two became one). */
static RV_UNUSED bool rv_inomap_add(struct rv_inomap *m, unsigned long old_ino, unsigned long new_ino,
				    char *why, size_t len)
{
	for (int i = 0; i < m->n; i++) {
		if (m->old_ino[i] == old_ino && m->new_ino[i] != new_ino) {
			snprintf(why, len, "object %lu is now both %lu and %lu: its sharing is broken", old_ino,
				 m->new_ino[i], new_ino);
			return false;
		}
		if (m->new_ino[i] == new_ino && m->old_ino[i] != old_ino) {
			snprintf(why, len, "objects %lu and %lu are both %lu now: merged", m->old_ino[i], old_ino,
				 new_ino);
			return false;
		}
		if (m->old_ino[i] == old_ino)
			return true;
	}
	if (m->n < (int)(sizeof(m->old_ino) / sizeof(m->old_ino[0]))) {
		m->old_ino[m->n] = old_ino;
		m->new_ino[m->n++] = new_ino;
	}
	return true;
}

/*
 * Compare two maps texts of this task: every line equal (range, perms,
 * offset, device, inode, name), except the inode of shared memory objects,
 * which must map old to new one-to-one (m gathers the mapping; it may be
 * shared across calls). Lines are matched by start address, so a missing or
 * extra VMA is reported as such. Returns the number of differences.
 */
static RV_UNUSED int rv_maps_compare(const char *what, const char *before, const char *after,
				     struct rv_inomap *m)
{
	const char *pb = before, *pa = after;
	struct rv_vma b, a;
	bool hb = rv_maps_next(&pb, &b), ha = rv_maps_next(&pa, &a);
	int bad = 0, lines = 0;
	char why[256];

#define RV_REPORT(...) do { if (bad++ < RV_MAX_REPORTS) vl_fail(__VA_ARGS__); } while (0)
	while (hb || ha) {
		lines++;
		if (hb && (!ha || b.start < a.start)) {
			RV_REPORT("%s: VMA gone after the restore: '%.*s'", what, b.line_len, b.line);
			hb = rv_maps_next(&pb, &b);
			continue;
		}
		if (ha && (!hb || a.start < b.start)) {
			RV_REPORT("%s: VMA new after the restore: '%.*s'", what, a.line_len, a.line);
			ha = rv_maps_next(&pa, &a);
			continue;
		}
		if (a.end != b.end || strcmp(a.perms, b.perms) || a.offset != b.offset || a.maj != b.maj ||
		    a.min != b.min || a.name_len != b.name_len || memcmp(a.name, b.name, a.name_len) ||
		    (!rv_vma_is_shm(&b) && a.ino != b.ino)) {
			RV_REPORT("%s: VMA differs: before '%.*s', after '%.*s'", what, b.line_len, b.line,
				  a.line_len, a.line);
		} else if (rv_vma_is_shm(&b) && !rv_inomap_add(m, b.ino, a.ino, why, sizeof(why))) {
			RV_REPORT("%s: VMA %lx-%lx '%.*s': %s", what, a.start, a.end, a.name_len, a.name, why);
		}
		hb = rv_maps_next(&pb, &b);
		ha = rv_maps_next(&pa, &a);
	}
	if (bad > RV_MAX_REPORTS)
		vl_fail("%s: %d more differences not shown", what, bad - RV_MAX_REPORTS);
	vl_log("%s: %d VMAs compared, %d differences, %d shared objects", what, lines, bad, m->n);
	return bad;
#undef RV_REPORT
}

/*
 * Compare the VmFlags of every VMA in two /proc/self/smaps texts (matched
 * by start address; VMAs only in one of them are left to rv_maps_compare).
 * Returns the number of differences.
 */
static RV_UNUSED int rv_vmflags_compare(const char *what, const char *before, const char *after)
{
	const char *pb = before, *pa = after;
	int bad = 0, n = 0;

	for (;;) {
		unsigned long sb = 0, sa = 0;
		const char *fb, *fa;
		int lb, la;

		/* Next VMA header of each: "start-end ..." lines (hex then '-') */
		while (pb && *pb && sscanf(pb, "%lx-%*x %*s", &sb) != 1)
			pb = strchr(pb, '\n') ? strchr(pb, '\n') + 1 : NULL;
		while (pa && *pa && sscanf(pa, "%lx-%*x %*s", &sa) != 1)
			pa = strchr(pa, '\n') ? strchr(pa, '\n') + 1 : NULL;
		if (!pb || !*pb || !pa || !*pa)
			break;
		if (sb != sa) {
			/* skip the lower one */
			const char **p = sb < sa ? &pb : &pa;

			*p = strchr(*p, '\n') ? strchr(*p, '\n') + 1 : NULL;
			continue;
		}
		fb = strstr(pb, "\nVmFlags:");
		fa = strstr(pa, "\nVmFlags:");
		if (!fb || !fa)
			break;
		fb += 9;
		fa += 9;
		lb = strchr(fb, '\n') ? strchr(fb, '\n') - fb : (int)strlen(fb);
		la = strchr(fa, '\n') ? strchr(fa, '\n') - fa : (int)strlen(fa);
		n++;
		if (la != lb || memcmp(fa, fb, la)) {
			if (bad++ < RV_MAX_REPORTS)
				vl_fail("%s: VmFlags of the VMA at %lx differ: before '%.*s', after '%.*s'", what,
					sb, lb, fb, la, fa);
		}
		pb = fb + lb;
		pa = fa + la;
	}
	if (bad > RV_MAX_REPORTS)
		vl_fail("%s: %d more VmFlags differences not shown", what, bad - RV_MAX_REPORTS);
	vl_log("%s: VmFlags of %d VMAs compared, %d differences", what, n, bad);
	return bad;
}

/* Grow the stack now by touching `size` bytes below here, so that later
 * calls do not grow the [stack] VMA between two snapshots. */
static RV_UNUSED __attribute__((noinline)) void rv_touch_stack(void)
{
	volatile char buf[256 * 1024];

	for (size_t i = 0; i < sizeof(buf); i += 1024)
		buf[i] = (char)i;
}

/* --- meeting of the tasks, through files --------------------------------- */

struct rv_entry {
	pid_t pid;
	char text[256];
};

/*
 * Publish text as this task's entry of the round `name` (a file
 * gather-NAME-PID in the scratch directory) and wait up to 20 s for n
 * entries, which are read into out[] (n of them). Files, not shared memory:
 * the meeting works even when the sharing under test is broken. Returns the
 * number of entries found (fewer than n: timed out, reported).
 */
static RV_UNUSED int rv_gather(const char *name, const char *text, int n, struct rv_entry *out)
{
	char file[256], prefix[256];
	uint64_t deadline = rv_now_ms() + 20000;
	int found = 0;

	snprintf(file, sizeof(file), "gather-%s-%d", name, getpid());
	snprintf(prefix, sizeof(prefix), "gather-%s-", name);
	if (rv_write_file(file, text) < 0) {
		vl_fail("round %s: cannot write %s", name, file);
		return 0;
	}
	for (;;) {
		DIR *d = opendir(vl_dir());
		struct dirent *de;

		found = 0;
		while (d && (de = readdir(d))) {
			char path[4400];

			if (strncmp(de->d_name, prefix, strlen(prefix)) || strstr(de->d_name, ".tmp"))
				continue;
			if (found < n) {
				out[found].pid = atoi(de->d_name + strlen(prefix));
				snprintf(path, sizeof(path), "%s/%s", vl_dir(), de->d_name);
				if (rv_read(path, out[found].text, sizeof(out[found].text)) < 0)
					out[found].text[0] = '\0';
			}
			found++;
		}
		if (d)
			closedir(d);
		if (found >= n)
			return n;
		if (rv_now_ms() > deadline) {
			vl_fail("round %s: only %d of %d tasks came within 20 s", name, found, n);
			return found;
		}
		rv_sleep_ms(5);
	}
}

#endif
