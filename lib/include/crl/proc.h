/*
 * Reading /proc: VMAs (PROCMAP_QUERY, with smaps text as the fallback and as
 * the only source of VmFlags), /proc/PID/stat, /proc/PID/status, children
 * and threads. The parsers that take text are exported so unit tests can
 * feed them captured fixtures.
 */
#ifndef CRL_PROC_H
#define CRL_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "crl/util.h"

/* VmFlags of smaps, one bit each. The bit numbers are part of the image
 * format (VmaEntry.vmflags): append, never renumber. */
enum {
	CRL_VMF_RD, CRL_VMF_WR, CRL_VMF_EX, CRL_VMF_SH, CRL_VMF_MR, CRL_VMF_MW, CRL_VMF_ME, CRL_VMF_MS,
	CRL_VMF_GD, CRL_VMF_PF, CRL_VMF_LO, CRL_VMF_IO, CRL_VMF_SR, CRL_VMF_RR, CRL_VMF_DC, CRL_VMF_DE,
	CRL_VMF_AC, CRL_VMF_NR, CRL_VMF_HT, CRL_VMF_SF, CRL_VMF_AR, CRL_VMF_WF, CRL_VMF_DD, CRL_VMF_BT,
	CRL_VMF_MT, CRL_VMF_SD, CRL_VMF_MM, CRL_VMF_HG, CRL_VMF_NH, CRL_VMF_MG, CRL_VMF_UM, CRL_VMF_UW,
	CRL_VMF_UI, CRL_VMF_SS, CRL_VMF_SL, CRL_VMF_LF,
	CRL_VMF_UNKNOWN, /* a mnemonic this criu-lite does not know */
	CRL_VMF_NR_BITS
};
#define VMF(x) (1ULL << CRL_VMF_##x)

/* Parse "rd wr mr mw me ac" into CRL_VMF bits. */
uint64_t crl_vmflags_parse(const char *s);
/* Format bits back into mnemonics separated by spaces. */
void crl_vmflags_format(uint64_t flags, char *buf, size_t len);

struct crl_vma {
	uint64_t start, end;
	uint64_t offset;      /* bytes into the mapped object */
	uint32_t prot;        /* PROT_READ | PROT_WRITE | PROT_EXEC */
	bool shared;          /* 's' in maps: VM_MAYSHARE */
	bool has_vmflags;     /* VmFlags was found for it */
	uint32_t dev_major, dev_minor;
	uint64_t ino;
	uint64_t vmflags;     /* CRL_VMF_* */
	char *name;           /* path or [heap]...; NULL when none. Owned. */
};

struct crl_vma_list {
	struct crl_vma *v;
	size_t nr, cap;
};

void crl_vma_list_free(struct crl_vma_list *l);
const struct crl_vma *crl_vma_list_find(const struct crl_vma_list *l, uint64_t addr);

/*
 * All VMAs of pid, sorted. Uses the PROCMAP_QUERY ioctl when the kernel has
 * it, and smaps for VmFlags (or for everything when the ioctl is missing).
 * Includes [vsyscall] last, as /proc/PID/maps does, although it is the
 * kernel's gate area rather than a VMA of the mm. Returns 0 or -errno.
 */
int crl_vmas_read(pid_t pid, struct crl_vma_list *ret);
/* Whether the last crl_vmas_read() could use PROCMAP_QUERY. */
bool crl_procmap_query_works(void);

/* Parse one maps/smaps header line "start-end perms offset maj:min ino name".
 * Returns 1 when parsed, 0 when it is not a header line, -EINVAL when it
 * looks like one but is malformed. name is malloc'd. */
int crl_maps_parse_line(const char *line, struct crl_vma *ret);
/* Parse the whole text of /proc/PID/smaps (or maps) into ret. */
int crl_smaps_parse(const char *text, struct crl_vma_list *ret);

/* The fields of /proc/PID/stat criu-lite uses. */
struct crl_proc_stat {
	pid_t pid, ppid, pgid, sid;
	char state;
	char comm[64];
	unsigned flags;
	long nice;
	long num_threads;
	uint64_t start_stack;
	unsigned exit_signal;
	uint64_t start_code, end_code, start_data, end_data, start_brk;
	uint64_t arg_start, arg_end, env_start, env_end;
	int exit_code;
};
int crl_proc_stat_parse(const char *text, struct crl_proc_stat *ret);
int crl_proc_stat_read(pid_t pid, struct crl_proc_stat *ret);

/* The fields of /proc/PID/status criu-lite uses. */
struct crl_proc_status {
	uint32_t uid[4], gid[4];  /* real, effective, saved, fs */
	uint32_t *groups;         /* malloc'd: crl_proc_status_release() */
	unsigned nr_groups;
	uint64_t cap_inh, cap_prm, cap_eff, cap_bnd, cap_amb;
	uint64_t sig_blk, sig_ign, sig_cgt, sig_pnd, shd_pnd;
	unsigned umask;
	int seccomp;
	bool no_new_privs;
	unsigned threads;
	unsigned nspid_depth;    /* number of pids in NSpid: >1 means a nested pid namespace */
	char state;
};
int crl_proc_status_parse(const char *text, struct crl_proc_status *ret);
void crl_proc_status_release(struct crl_proc_status *st);
int crl_proc_status_read(pid_t pid, struct crl_proc_status *ret);

/* The numeric entries of a /proc directory (task/, fd/), sorted. */
int crl_proc_list_ids(const char *dir, int **ret, size_t *ret_nr);
/* The VmFlags (CRL_VMF bits) of the VMA of pid that holds addr, from
 * /proc/PID/smaps. -ENOENT when no VMA holds it. */
int crl_smaps_vmflags(pid_t pid, uint64_t addr, uint64_t *ret);

/* A file lock held through an fd, from the "lock:" lines of
 * /proc/PID/fdinfo/FD. */
enum crl_lock_kind { CRL_LOCK_FLOCK = 1, CRL_LOCK_POSIX, CRL_LOCK_OFD };
struct crl_lock {
	enum crl_lock_kind kind;
	bool write;              /* a write (exclusive) lock, else read (shared) */
	uint64_t start, len;     /* POSIX and OFD: the range; len 0: to the end */
};
/* The locks an fdinfo text shows (waiting requests left out). A lease or a
 * lock of another kind: -EOPNOTSUPP, *ret_what says what it is. */
int crl_fdinfo_parse_locks(const char *text, struct crl_lock **ret, size_t *ret_nr, const char **ret_what);

/* Call fn for every fd of every process, with where /proc/PID/fd/FD leads;
 * processes and fds that go away meanwhile are skipped. fn returns 0 to go
 * on; anything else stops the walk and is returned. */
int crl_proc_each_fd(int (*fn)(pid_t pid, int fd, const char *link, void *arg), void *arg);
/* Thread ids of pid (from /proc/PID/task), sorted, the leader among them. */
int crl_proc_threads(pid_t pid, pid_t **ret, size_t *ret_nr);
/* Children of one thread (/proc/PID/task/TID/children), in the kernel's order. */
int crl_proc_children(pid_t pid, pid_t tid, pid_t **ret, size_t *ret_nr);
/* Parse the text of a children file: space-separated pids. */
int crl_proc_children_parse(const char *text, pid_t **ret, size_t *ret_nr);

/* The auxv vector of pid as (type, value) pairs up to and including AT_NULL. */
int crl_proc_auxv(pid_t pid, uint64_t **ret, size_t *ret_nr);

#endif
