/*
 * Helpers of the restore victims (test/victims/rst-*.c): snapshots of
 * /proc/self/maps and smaps taken before vl_ready() and compared line by
 * line after vl_wait(). The ids, the signal mask, whole-file reads and
 * writes and the meeting of the tasks are victim-lib's (victim.h).
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
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "victim.h"

#define RV_UNUSED __attribute__((unused))
#define PG 4096UL
/* At most this many differences are reported per comparison: one broken
 * restore must not write a megabyte of failures. */
#define RV_MAX_REPORTS 12

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

#endif
