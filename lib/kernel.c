/* Facts about the running kernel; see crl/kernel.h. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/auxv.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <linux/kcmp.h>
#include <linux/magic.h>

#include "crl/crc32c.h"
#include "crl/kernel.h"
#include "crl/proc.h"
#include "crl/util.h"

static void map_files_path(char *buf, size_t len, pid_t pid, unsigned long start, unsigned long end)
{
	snprintf(buf, len, "/proc/%d/map_files/%lx-%lx", pid, start, end);
}

int crl_map_files_stat(pid_t pid, unsigned long start, unsigned long end, struct stat *ret)
{
	char path[96];

	map_files_path(path, sizeof(path), pid, start, end);
	return stat(path, ret) < 0 ? negative_errno() : 0;
}

int crl_map_files_readlink(pid_t pid, unsigned long start, unsigned long end, char *buf, size_t len)
{
	char path[96];
	ssize_t n;

	map_files_path(path, sizeof(path), pid, start, end);
	n = readlink(path, buf, len - 1);
	if (n < 0)
		return negative_errno();
	if ((size_t)n == len - 1)
		return -ENAMETOOLONG;
	buf[n] = '\0';
	return 0;
}

int crl_kernel_shm_dev(dev_t *ret)
{
	static dev_t cached;
	static int known;
	struct stat st;
	void *p;
	int r;

	if (known) {
		*ret = cached;
		return 0;
	}
	p = mmap(NULL, CRL_PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return negative_errno();
	r = crl_map_files_stat(getpid(), (unsigned long)p, (unsigned long)p + CRL_PAGE_SIZE, &st);
	munmap(p, CRL_PAGE_SIZE);
	if (r < 0)
		return r;
	cached = st.st_dev;
	known = 1;
	*ret = cached;
	return 0;
}

int crl_is_hugetlbfs(const char *path)
{
	struct statfs sfs;

	if (statfs(path, &sfs) < 0)
		return negative_errno();
	return sfs.f_type == HUGETLBFS_MAGIC;
}

int crl_pidfd_open(pid_t pid)
{
	int fd = syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? negative_errno() : fd;
}

int crl_pidfd_getfd(int pidfd, int fd)
{
	int r = syscall(SYS_pidfd_getfd, pidfd, fd, 0);

	return r < 0 ? negative_errno() : r;
}

int crl_kcmp_file(pid_t pid1, int fd1, pid_t pid2, int fd2)
{
	int r = syscall(SYS_kcmp, pid1, pid2, KCMP_FILE, fd1, fd2);

	return r < 0 ? negative_errno() : r;
}

int crl_kernel_vdso(uint32_t *size, uint32_t *crc)
{
	unsigned long base = getauxval(AT_SYSINFO_EHDR);
	struct crl_vma_list l = { 0 };
	const struct crl_vma *v;
	int r;

	if (!base)
		return -ENOENT;
	r = crl_vmas_read(getpid(), &l);
	if (r < 0)
		return r;
	v = crl_vma_list_find(&l, base);
	if (!v || !v->name || strcmp(v->name, "[vdso]") || v->start != base) {
		r = -ENOENT;
	} else {
		*size = (uint32_t)(v->end - v->start);
		*crc = crl_crc32c(0, (const void *)v->start, v->end - v->start);
	}
	crl_vma_list_free(&l);
	return r;
}
