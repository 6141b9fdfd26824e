/*
 * rst-memedge MODE: edge cases of shared memory objects, checked from inside
 * after a restore.
 *
 *   seals     root ── child
 *             Three memfds with seals other than F_SEAL_SEAL, their fds
 *             closed but for the last:
 *               "crl-seal-grow"   4 pages, F_SEAL_GROW|F_SEAL_SHRINK, mapped
 *                                 MAP_SHARED read-write by the root before
 *                                 forking (the child inherits it);
 *               "crl-seal-futw"   2 pages, mapped MAP_SHARED read-write,
 *                                 then F_SEAL_FUTURE_WRITE|F_SEAL_SEAL;
 *               "crl-seal-write"  held by the root at fd 10, never mapped,
 *                                 F_SEAL_WRITE|F_SEAL_GROW|F_SEAL_SHRINK.
 *             After: F_GET_SEALS of each is what it was; the contents are
 *             intact; growing the first fails (EPERM), and a write by the
 *             child through its mapping is seen by the root; the mapping of
 *             the second is still writable, but write() to it fails; the
 *             third cannot be written.
 *
 *   romap     root ── child
 *             Three objects mapped MAP_SHARED PROT_READ where the mapping
 *             cannot be made writable (no VM_MAYWRITE, "mw" in VmFlags), all
 *             fds closed:
 *               "crl-ro"          a memfd mapped through an O_RDONLY fd;
 *               ro-unlinked.dat   an unlinked file mapped through an
 *                                 O_RDONLY fd;
 *               "crl-ro-sealed"   a memfd sealed F_SEAL_WRITE, mapped
 *                                 through its read-write fd (the seal takes
 *                                 VM_MAYWRITE away).
 *             After, in both tasks: mprotect(PROT_READ|PROT_WRITE) fails
 *             with the errno it failed with before the dump (EACCES), "mw"
 *             is still absent, the contents and the seal are intact.
 *
 *   delexe    root ── child
 *             Run from a copy of this program in the scratch directory,
 *             which the root unlinks (the test may put another file at
 *             that path after that: a replaced executable). /proc/self/exe
 *             reads "PATH (deleted)". After, in both tasks: /proc/self/exe
 *             still ends with " (deleted)", with no link, and is the same
 *             text unless the path holds a file again: then that is the
 *             test's ("replaced\n"), untouched.
 *
 *   unldir    root
 *             A file gone/data (2 pages) mapped MAP_SHARED, then unlinked,
 *             and its directory removed: a dump must refuse it. The range
 *             goes into the file unldir-range ("START-END", as in maps).
 *             After the failed dump: the contents are intact.
 *
 *   thp       root
 *             16 MiB of private anonymous memory, 2 MiB aligned, with
 *             MADV_HUGEPAGE, written whole. After: "hg" is in its VmFlags,
 *             the contents are intact, and, when transparent huge pages
 *             are enabled ("always" or "madvise" in
 *             /sys/kernel/mm/transparent_hugepage/enabled), its
 *             AnonHugePages in smaps is at least half of what it was
 *             before the dump (it was all of it here; fewer than that only
 *             if huge pages could not be had): the pages were written
 *             into huge pages, not 4 KiB ones.
 *
 *   hugefd    root
 *   hugemap   An MFD_HUGETLB memfd "crl-huge": held at fd 10, never mapped
 *             (hugefd); or 2 MiB of it mapped MAP_SHARED|MAP_NORESERVE (no
 *             huge page is needed until it is touched), its fd closed
 *             (hugemap), the range written into huge-range. A dump must
 *             refuse either. Where the kernel has no hugetlbfs, the file
 *             huge-unsupported is written instead and nothing is checked.
 *
 *   mbind     root ── child
 *             The root binds 4 pages to node 0 with mbind(MPOL_BIND), the
 *             range written into mbind-range: a dump must refuse them.
 *
 *   owner     root ── child
 *             Objects given the owner 1234:1234 (fchown) and mode 0640
 *             (fchmod) by root: a memfd "crl-owned" and an unlinked file
 *             owned.dat, each mapped MAP_SHARED read-write, their fds
 *             closed; shared anonymous memory (chowned through its
 *             map_files link; its mode left as it is); and a memfd
 *             "crl-owned-fd" held at fd 10 only, mode 0600. After, in both
 *             tasks: stat() of each shows the same owner, group and mode
 *             as before the dump; the contents are intact.
 *
 *   chroot    root ── child
 *             The child chroot()s into the scratch directory before it
 *             reports ready (through the protocol's pipe; its own reports
 *             by path are lost: only its exit status tells). A dump must
 *             refuse it. After the failed dump: the child's root is still
 *             the scratch directory; its fds are not checked (no /proc).
 *
 * Every task also checks that it holds no fd but 0-2 and the ones named above
 * (the child inherits the root's).
 */
#include <limits.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "rst-victim.h"

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

#define SEED_GROW 0x6700000ULL
#define SEED_FUTW 0xf7700000ULL
#define SEED_WRITE 0x77100000ULL
#define SEED_AFTER 0xaf7e5000ULL
#define HELD_FD 10
#define WRITE_LEN 1000

enum mode { SEALS, ROMAP, DELEXE, UNLDIR, THP, HUGEFD, HUGEMAP, OWNER, CHROOT, MBIND };
static const char *const mode_names[] = { "seals", "romap", "delexe", "unldir", "thp", "hugefd", "hugemap", "owner",
						  "chroot", "mbind" };
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static unsigned mode;
static char *grow, *futw;

/* romap: the read-only shared mappings, and how mprotect(PROT_WRITE) and
 * VmFlags answered for them before the dump. */
#define NR_RO 3
static const char *ro_name[NR_RO] = { "crl-ro", "ro-unlinked.dat", "crl-ro-sealed" };
static char *ro_map[NR_RO];
static int ro_errno[NR_RO], ro_mw[NR_RO];
static int held[1], nr_held; /* the fds a task holds, beyond 0-2 */

/* An fd of the object mapped at addr, through map_files. */
static int map_fd(const void *addr, size_t len, int flags)
{
	char path[96];

	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", (unsigned long)addr,
		 (unsigned long)addr + len);
	return open(path, flags | O_CLOEXEC);
}

/* A memfd of pages pages, filled with seed, mapped MAP_SHARED with prot. */
static char *memfd_map(const char *name, size_t pages, uint64_t seed, int prot, int *ret_fd)
{
	int fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	char *p;

	if (fd < 0 || ftruncate(fd, pages * PG) < 0)
		vl_die(name);
	p = mmap(NULL, pages * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		vl_die(name);
	vl_fill(p, pages * PG, seed);
	if (!(prot & PROT_WRITE) && mprotect(p, pages * PG, prot) < 0)
		vl_die("mprotect");
	*ret_fd = fd;
	return p;
}

static void expect_seals(const char *what, int fd, int want)
{
	int seals = fd >= 0 ? fcntl(fd, F_GET_SEALS) : -1;

	if (seals != want)
		vl_fail("%s: F_GET_SEALS gives %#x (%m), was %#x before the dump", what, seals, want);
}

static void build_seals(void)
{
	int fd;

	grow = memfd_map("crl-seal-grow", 4, SEED_GROW, PROT_READ | PROT_WRITE, &fd);
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK) < 0)
		vl_die("seal crl-seal-grow");
	close(fd);
	futw = memfd_map("crl-seal-futw", 2, SEED_FUTW, PROT_READ | PROT_WRITE, &fd);
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0)
		vl_die("seal crl-seal-futw");
	close(fd);
	{
		static char buf[WRITE_LEN];

		fd = memfd_create("crl-seal-write", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		vl_fill(buf, sizeof(buf), SEED_WRITE);
		if (fd < 0 || write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			vl_die("crl-seal-write");
		if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK) < 0)
			vl_die("seal crl-seal-write");
		vl_move_fd(fd, HELD_FD);
		held[nr_held++] = HELD_FD;
	}
}

#define SEED_RO 0x40000000ULL
#define RO_PAGES 2

/* Fill the file fd with RO_PAGES pages of seed SEED_RO + i. */
static void fill_ro(int fd, int i)
{
	static char buf[RO_PAGES * PG];

	vl_fill(buf, sizeof(buf), SEED_RO + i);
	if (pwrite(fd, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
		vl_die(ro_name[i]);
}

/* Map the file at path (opened O_RDONLY) MAP_SHARED PROT_READ. */
static char *map_ro(const char *path, int i)
{
	int ro = open(path, O_RDONLY | O_CLOEXEC);
	char *p;

	if (ro < 0)
		vl_die(path);
	p = mmap(NULL, RO_PAGES * PG, PROT_READ, MAP_SHARED, ro, 0);
	if (p == MAP_FAILED)
		vl_die(ro_name[i]);
	close(ro);
	return p;
}

static void build_romap(void)
{
	char *path = vl_path(ro_name[1]), self[64];
	int fd;

	fd = memfd_create(ro_name[0], MFD_CLOEXEC);
	if (fd < 0)
		vl_die(ro_name[0]);
	fill_ro(fd, 0);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	ro_map[0] = map_ro(self, 0);
	close(fd);

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		vl_die(path);
	fill_ro(fd, 1);
	ro_map[1] = map_ro(path, 1);
	if (unlink(path) < 0)
		vl_die("unlink");
	close(fd);
	free(path);

	fd = memfd_create(ro_name[2], MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		vl_die(ro_name[2]);
	fill_ro(fd, 2);
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) < 0)
		vl_die("seal crl-ro-sealed");
	ro_map[2] = mmap(NULL, RO_PAGES * PG, PROT_READ, MAP_SHARED, fd, 0);
	if (ro_map[2] == MAP_FAILED)
		vl_die("mmap crl-ro-sealed");
	close(fd);

	for (int i = 0; i < NR_RO; i++) {
		ro_errno[i] = mprotect(ro_map[i], RO_PAGES * PG, PROT_READ | PROT_WRITE) ? errno : 0;
		ro_mw[i] = vl_vma_has_flag(ro_map[i], "mw");
		if (!ro_errno[i] || ro_mw[i])
			vl_fail("%s: the mapping could be made writable before the dump (mprotect: %d, mw: %d)",
				ro_name[i], ro_errno[i], ro_mw[i]);
	}
}

static void check_romap(int idx)
{
	for (int i = 0; i < NR_RO; i++) {
		int e = mprotect(ro_map[i], RO_PAGES * PG, PROT_READ | PROT_WRITE) ? errno : 0;
		int mw = vl_vma_has_flag(ro_map[i], "mw");

		if (e != ro_errno[i])
			vl_fail("%s: mprotect(PROT_READ|PROT_WRITE) of its read-only shared mapping gives errno %d "
				"after the restore, %d before the dump",
				ro_name[i], e, ro_errno[i]);
		if (mw != ro_mw[i])
			vl_fail("%s: \"mw\" in VmFlags: %d after the restore, %d before the dump", ro_name[i], mw,
				ro_mw[i]);
		if (!e)
			mprotect(ro_map[i], RO_PAGES * PG, PROT_READ);
		vl_expect_fill(ro_name[i], ro_map[i], RO_PAGES * PG, SEED_RO + i);
	}
	{
		int fd = map_fd(ro_map[2], RO_PAGES * PG, O_RDONLY);

		expect_seals(ro_name[2], fd, F_SEAL_WRITE);
		if (fd >= 0)
			close(fd);
	}
}

/* delexe: /proc/self/exe before the dump. A test that replaces the
 * executable writes this text at its path. */
#define REPLACED "replaced\n"
static char exe_before[PATH_MAX];
static const char deleted[] = " (deleted)";

static bool ends_deleted(const char *s)
{
	size_t n = strlen(s), d = strlen(deleted);

	return n > d && !strcmp(s + n - d, deleted);
}

static void build_delexe(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	size_t dl = strlen(vl_dir());

	if (n < 0)
		vl_die("readlink /proc/self/exe");
	path[n] = '\0';
	/* Only a copy in the scratch directory is ours to unlink. */
	if (strncmp(path, vl_dir(), dl) || path[dl] != '/') {
		vl_fail("delexe: run a copy of rst-memedge in %s, not %s", vl_dir(), path);
		vl_exit();
	}
	if (unlink(path) < 0)
		vl_die("unlink the executable");
	n = readlink("/proc/self/exe", exe_before, sizeof(exe_before) - 1);
	if (n < 0)
		vl_die("readlink /proc/self/exe");
	exe_before[n] = '\0';
	if (!ends_deleted(exe_before))
		vl_fail("delexe: /proc/self/exe is '%s' once unlinked", exe_before);
}

static void check_delexe(int idx)
{
	char now[PATH_MAX], path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", now, sizeof(now) - 1);
	struct stat st;

	if (n < 0) {
		vl_fail("readlink /proc/self/exe: %m");
		return;
	}
	now[n] = '\0';
	if (!ends_deleted(now))
		vl_fail("/proc/self/exe is '%s' after the restore, was '%s'", now, exe_before);
	snprintf(path, sizeof(path), "%.*s", (int)(strlen(exe_before) - strlen(deleted)), exe_before);
	if (stat(path, &st) == 0) {
		/* The test put a file there after the unlink: it must be left
		 * as it is. */
		char text[64];

		if (vl_read_into(path, text, sizeof(text)) < 0 || strcmp(text, REPLACED))
			vl_fail("%s is not the file the test put there after the restore", path);
	} else if (strcmp(now, exe_before)) {
		vl_fail("/proc/self/exe is '%s' after the restore, was '%s'", now, exe_before);
	}
	if (stat("/proc/self/exe", &st) < 0 || st.st_nlink != 0)
		vl_fail("the executable has %lu links after the restore", (unsigned long)st.st_nlink);
}

/* unldir */
#define SEED_UNLDIR 0x6d1700000ULL
static char *unl;

static void build_unldir(void)
{
	char *dir = vl_path("gone"), *path = vl_path("gone/data"), range[64];
	int fd;

	if (mkdir(dir, 0755) < 0)
		vl_die(dir);
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, 2 * PG) < 0)
		vl_die(path);
	unl = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (unl == MAP_FAILED)
		vl_die("mmap gone/data");
	close(fd);
	vl_fill(unl, 2 * PG, SEED_UNLDIR);
	if (unlink(path) < 0 || rmdir(dir) < 0)
		vl_die("unlink gone/data and its directory");
	snprintf(range, sizeof(range), "%lx-%lx\n", (unsigned long)unl, (unsigned long)unl + 2 * PG);
	if (vl_write_file(vl_dir(), "unldir-range", range) < 0)
		vl_die("write unldir-range");
	free(path);
	free(dir);
}

/* thp */
#define MB (1UL << 20)
#define THP_LEN (16 * MB)
#define SEED_THP 0x7490000ULL
static char *thp;
static long thp_before;

/* AnonHugePages (kB) of the VMA starting at start, -1 if not found. */
static long anon_huge_kb(const void *start)
{
	char *smaps = vl_read_file("/proc/self/smaps", NULL), head[32], *p = NULL, *next;
	long kb = -1;

	snprintf(head, sizeof(head), "\n%lx-", (unsigned long)start);
	if (smaps)
		p = strncmp(smaps, head + 1, strlen(head + 1)) ? strstr(smaps, head) : smaps;
	if (p) {
		next = strstr(p + 1, "\nVmFlags:"); /* the end of this VMA's block */
		p = strstr(p, "\nAnonHugePages:");
		if (p && (!next || p < next))
			kb = strtol(p + strlen("\nAnonHugePages:"), NULL, 10);
	}
	free(smaps);
	return kb;
}

static bool thp_enabled(void)
{
	char text[256];

	return vl_read_into("/sys/kernel/mm/transparent_hugepage/enabled", text, sizeof(text)) > 0 &&
	       (strstr(text, "[always]") || strstr(text, "[madvise]"));
}

static void build_thp(void)
{
	char *area = mmap(NULL, THP_LEN + 2 * MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (area == MAP_FAILED)
		vl_die("mmap");
	thp = (char *)(((uintptr_t)area + 2 * MB - 1) & ~(2 * MB - 1));
	if (madvise(thp, THP_LEN, MADV_HUGEPAGE) < 0)
		vl_die("madvise(MADV_HUGEPAGE)");
	vl_fill(thp, THP_LEN, SEED_THP);
	thp_before = anon_huge_kb(thp);
	vl_log("thp: AnonHugePages %ld kB before the dump", thp_before);
}

static void check_thp(void)
{
	long after = anon_huge_kb(thp);

	if (vl_vma_has_flag(thp, "hg") != 1)
		vl_fail("the MADV_HUGEPAGE region has no \"hg\" in its VmFlags after the restore");
	if (thp_enabled() && after < thp_before / 2)
		vl_fail("the MADV_HUGEPAGE region: AnonHugePages %ld kB after the restore, %ld kB before the dump",
			after, thp_before);
	vl_log("thp: AnonHugePages %ld kB after the restore", after);
	vl_expect_fill("the MADV_HUGEPAGE region", thp, THP_LEN, SEED_THP);
}

/* hugefd, hugemap */
static void build_huge(void)
{
	int fd = memfd_create("crl-huge", MFD_CLOEXEC | MFD_HUGETLB);
	char range[64];
	char *p;

	if (fd < 0) {
		vl_log("memfd_create(MFD_HUGETLB): %m");
		if (vl_write_file(vl_dir(), "huge-unsupported", "") < 0)
			vl_die("write huge-unsupported");
		return;
	}
	if (mode == HUGEFD) {
		vl_move_fd(fd, HELD_FD);
		held[nr_held++] = HELD_FD;
		return;
	}
	if (ftruncate(fd, 2 * MB) < 0)
		vl_die("ftruncate crl-huge");
	p = mmap(NULL, 2 * MB, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	if (p == MAP_FAILED)
		vl_die("mmap crl-huge");
	close(fd);
	snprintf(range, sizeof(range), "%lx-%lx\n", (unsigned long)p, (unsigned long)p + 2 * MB);
	if (vl_write_file(vl_dir(), "huge-range", range) < 0)
		vl_die("write huge-range");
}

/* mbind: 4 pages bound to node 0 by mbind(); the range into mbind-range. */
static void build_mbind(void)
{
	unsigned long node0 = 1;
	char *p = vl_map_guarded(4, PROT_READ | PROT_WRITE, "the mbind() pages");
	char range[64];

	if (syscall(SYS_mbind, p, 4 * 4096UL, 2 /* MPOL_BIND */, &node0, 2UL, 0U) < 0)
		vl_die("mbind");
	snprintf(range, sizeof(range), "%lx-%lx\n", (unsigned long)p, (unsigned long)p + 4 * 4096UL);
	if (vl_write_file(vl_dir(), "mbind-range", range) < 0)
		vl_die("write mbind-range");
}

/* owner: the mapped objects, and each one's stat() before the dump (the
 * held memfd last, through its fd). */
#define OWNER_ID 1234
#define NR_OWNED 3
#define SEED_OWNED 0x0e4e0000ULL
static const char *owned_name[NR_OWNED + 1] = { "crl-owned", "owned.dat", "shared anonymous memory",
						"crl-owned-fd (fd 10)" };
static char *owned[NR_OWNED];
static struct stat owned_st[NR_OWNED + 1];

static void own(int fd, mode_t mode, const char *what)
{
	if (fchown(fd, OWNER_ID, OWNER_ID) < 0 || (mode && fchmod(fd, mode) < 0))
		vl_die(what);
}

/* Map fd (2 pages) MAP_SHARED read-write and fill it with seed i. */
static char *map_owned(int fd, int i)
{
	char *p;

	if (ftruncate(fd, 2 * PG) < 0)
		vl_die(owned_name[i]);
	p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		vl_die(owned_name[i]);
	vl_fill(p, 2 * PG, SEED_OWNED + i);
	return p;
}

static void build_owner(void)
{
	char *path = vl_path(owned_name[1]);
	int fd;

	fd = memfd_create(owned_name[0], MFD_CLOEXEC);
	if (fd < 0)
		vl_die(owned_name[0]);
	own(fd, 0640, owned_name[0]);
	owned[0] = map_owned(fd, 0);
	close(fd);

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		vl_die(path);
	own(fd, 0640, owned_name[1]);
	owned[1] = map_owned(fd, 1);
	if (unlink(path) < 0)
		vl_die("unlink");
	close(fd);
	free(path);

	owned[2] = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (owned[2] == MAP_FAILED)
		vl_die("mmap shared anonymous memory");
	vl_fill(owned[2], 2 * PG, SEED_OWNED + 2);
	fd = map_fd(owned[2], 2 * PG, O_RDWR);
	if (fd < 0)
		vl_die("open map_files of the shared anonymous memory");
	own(fd, 0, owned_name[2]);
	close(fd);

	fd = memfd_create("crl-owned-fd", MFD_CLOEXEC);
	if (fd < 0)
		vl_die("crl-owned-fd");
	own(fd, 0600, owned_name[3]);
	vl_move_fd(fd, HELD_FD);
	held[nr_held++] = HELD_FD;

	for (int i = 0; i < NR_OWNED; i++)
		if (!vl_map_stat(owned[i], &owned_st[i]))
			vl_die(owned_name[i]);
	if (fstat(HELD_FD, &owned_st[NR_OWNED]) < 0)
		vl_die("fstat crl-owned-fd");
	for (int i = 0; i <= NR_OWNED; i++)
		if (owned_st[i].st_uid != OWNER_ID || owned_st[i].st_gid != OWNER_ID)
			vl_fail("%s: owner %u:%u before the dump, not %u:%u", owned_name[i],
				(unsigned)owned_st[i].st_uid, (unsigned)owned_st[i].st_gid, OWNER_ID, OWNER_ID);
}

static void check_owner(void)
{
	for (int i = 0; i <= NR_OWNED; i++) {
		struct stat st;

		if (i < NR_OWNED ? !vl_map_stat(owned[i], &st) : fstat(HELD_FD, &st) < 0) {
			vl_fail("%s: cannot stat it: %m", owned_name[i]);
			continue;
		}
		if (st.st_uid != owned_st[i].st_uid || st.st_gid != owned_st[i].st_gid ||
		    st.st_mode != owned_st[i].st_mode)
			vl_fail("%s: owner %u:%u mode %o after the restore, %u:%u mode %o before the dump",
				owned_name[i], (unsigned)st.st_uid, (unsigned)st.st_gid, (unsigned)st.st_mode,
				(unsigned)owned_st[i].st_uid, (unsigned)owned_st[i].st_gid,
				(unsigned)owned_st[i].st_mode);
		if (i < NR_OWNED)
			vl_expect_fill(owned_name[i], owned[i], 2 * PG, SEED_OWNED + i);
	}
}

static void check_seals(int idx)
{
	struct vl_entry all[2];
	int fd;

	fd = map_fd(grow, 4 * PG, O_RDWR);
	expect_seals("crl-seal-grow", fd, F_SEAL_GROW | F_SEAL_SHRINK);
	vl_expect_fill("crl-seal-grow", grow, 4 * PG, SEED_GROW);
	if (fd >= 0 && ftruncate(fd, 8 * PG) == 0)
		vl_fail("crl-seal-grow could grow after the restore");
	if (fd >= 0)
		close(fd);

	if (idx == 0) {
		char buf[WRITE_LEN], want[WRITE_LEN];

		fd = map_fd(futw, 2 * PG, O_RDWR);
		expect_seals("crl-seal-futw", fd, F_SEAL_FUTURE_WRITE | F_SEAL_SEAL);
		vl_expect_fill("crl-seal-futw", futw, 2 * PG, SEED_FUTW);
		if (fd >= 0 && pwrite(fd, "x", 1, 0) == 1)
			vl_fail("crl-seal-futw: write() works after the restore");
		if (fd >= 0)
			close(fd);
		/* Its mapping predates the seal: it stays writable. */
		futw[1] = 'y';

		expect_seals("crl-seal-write (fd 10)", HELD_FD, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK);
		vl_fill(want, sizeof(want), SEED_WRITE);
		if (pread(HELD_FD, buf, sizeof(buf), 0) != (ssize_t)sizeof(buf))
			vl_fail("crl-seal-write: pread: %m");
		else
			vl_expect_bytes("crl-seal-write", buf, want, sizeof(buf));
		if (pwrite(HELD_FD, "x", 1, 0) == 1)
			vl_fail("crl-seal-write: pwrite() works after the restore");
	}

	/* The child writes into the grow-sealed memfd; the root sees it. */
	vl_gather("seals-checked", "", 2, all);
	if (idx == 1)
		vl_fill(grow + 2 * PG, PG, SEED_AFTER);
	vl_gather("seals-written", "", 2, all);
	vl_expect_fill("crl-seal-grow page 2, written by the child after the restore", grow + 2 * PG, PG,
		       SEED_AFTER);
	vl_gather("seals-done", "", 2, all);
}

static void check(int idx)
{
	if (mode != CHROOT || idx == 0) /* no /proc in the jail */
		vl_expect_fds(held, nr_held);
	switch (mode) {
	case SEALS:
		check_seals(idx);
		break;
	case ROMAP:
		check_romap(idx);
		break;
	case DELEXE:
		check_delexe(idx);
		break;
	case UNLDIR:
		vl_expect_fill("gone/data", unl, 2 * PG, SEED_UNLDIR);
		break;
	case THP:
		check_thp();
		break;
	case HUGEFD:
	case HUGEMAP:
		break;
	case OWNER:
		check_owner();
		break;
	case CHROOT:
		/* The scratch directory holds the log: seen from the jail at
		 * its root. */
		if (idx == 1 && access("/victim.log", F_OK) < 0)
			vl_fail("the child's root is no longer the scratch directory: %m");
		break;
	case MBIND:
		break;
	}
}

static void child(void *arg)
{
	if (mode == CHROOT && (chroot(vl_dir()) < 0 || chdir("/") < 0))
		vl_die("chroot into the scratch directory");
	vl_ready();
	vl_wait();
	check(1);
}

int main(int argc, char **argv)
{
	bool with_child = true;

	vl_init(argc, argv);
	for (mode = 0; mode < ARRAY_LEN(mode_names); mode++)
		if (argc >= 2 && !strcmp(argv[1], mode_names[mode]))
			break;
	if (mode == ARRAY_LEN(mode_names)) {
		vl_fail("usage: rst-memedge seals|romap|delexe|unldir|thp|hugefd|hugemap|owner|chroot|mbind");
		vl_exit();
	}
	switch (mode) {
	case SEALS:
		build_seals();
		break;
	case ROMAP:
		build_romap();
		break;
	case DELEXE:
		build_delexe();
		break;
	case UNLDIR:
		build_unldir();
		with_child = false;
		break;
	case THP:
		build_thp();
		with_child = false;
		break;
	case HUGEFD:
	case HUGEMAP:
		build_huge();
		with_child = false;
		break;
	case OWNER:
		build_owner();
		break;
	case CHROOT:
		break;
	case MBIND:
		build_mbind();
		break;
	}
	if (with_child)
		vl_fork("child", child, NULL);
	vl_ready();
	vl_wait();
	check(0);
	vl_exit();
}
