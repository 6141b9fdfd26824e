/* Facts about the running kernel that criu-lite measures rather than
 * assumes. */
#ifndef CRL_KERNEL_H
#define CRL_KERNEL_H

#include <stdint.h>
#include <sys/types.h>

/* st_dev of the kernel's internal shmem mount, which holds shared anonymous
 * memory, memfds and SysV segments: learnt from a shared anonymous mapping
 * of criu-lite's own. Returns 0 or -errno. */
int crl_kernel_shm_dev(dev_t *ret);

/* The stat() identity of /proc/self/map_files/START-END for [start, end) of
 * pid. */
struct stat;
int crl_map_files_stat(pid_t pid, unsigned long start, unsigned long end, struct stat *ret);
/* The link text ("/path (deleted)", "/memfd:name (deleted)"...). */
int crl_map_files_readlink(pid_t pid, unsigned long start, unsigned long end, char *buf, size_t len);

/* Is path on hugetlbfs: an MFD_HUGETLB memfd, MAP_HUGETLB memory or a file
 * of a hugetlbfs mount? statfs() follows /proc magic links, so path may be
 * /proc/PID/fd/N or /proc/PID/map_files/START-END. Returns 1, 0, or
 * -errno. */
int crl_is_hugetlbfs(const char *path);

/* pidfd_open(2), pidfd_getfd(2): a dup of another process's fd, sharing
 * its open file description. Return the fd or -errno. */
int crl_pidfd_open(pid_t pid);
int crl_pidfd_getfd(int pidfd, int fd);
/* kcmp(KCMP_FILE): 0 when fd1 of pid1 and fd2 of pid2 are one open file
 * description, 1 or 2 to order them otherwise, -errno on failure. */
int crl_kcmp_file(pid_t pid1, int fd1, pid_t pid2, int fd2);

/* prctl() options newer than some installed headers (Linux 6.3, 6.4). */
#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_GET_MDWE 66
#endif
#ifndef PR_SET_MEMORY_MERGE
#define PR_SET_MEMORY_MERGE 67
#define PR_GET_MEMORY_MERGE 68
#endif

/* The kernel's struct sigaction on x86_64, as rt_sigaction(2) takes it
 * (the libc one differs). */
struct crl_ksigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

/* The identity of this kernel's vDSO: its size and the CRC32C of its code,
 * read from criu-lite's own [vdso] (every 64-bit task gets the same
 * image). A dump records it; restore refuses a dump whose vDSO differs,
 * because the saved registers and stacks may point into it. Returns 0 or
 * -errno. */
int crl_kernel_vdso(uint32_t *size, uint32_t *crc);

#endif
