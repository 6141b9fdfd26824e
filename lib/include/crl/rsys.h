/*
 * Remote system calls: make a stopped, traced thread execute a syscall for
 * us and read back the result.
 *
 * The thread's registers are pointed at a `syscall` instruction (0f 05) in
 * its own address space with the number and arguments in place, and it is
 * resumed with PTRACE_SYSCALL twice: once to the syscall-entry stop, once to
 * the syscall-exit stop, where ax holds the result. Using the syscall stops
 * rather than an int3 after the instruction means no SIGTRAP is ever
 * generated: a forced SIGTRAP would reset a blocked or ignored SIGTRAP
 * disposition to SIG_DFL in the traced task. It also means the last call of
 * a restore can unmap the very page holding the instruction.
 *
 * The thread must have been seized with PTRACE_O_TRACESYSGOOD. Signals that
 * arrive while a call runs are suppressed and kept (see stolen[]) so the
 * caller can queue them again; block them (crl_ptrace_set_sigmask) to avoid
 * that for all but SIGSTOP and SIGKILL. After the last call, park the thread
 * (crl_ptrace_park) before giving it its own registers back.
 *
 * Data for a call goes into a scratch area in the task (set with
 * crl_rsys_set_scratch) through crl_rsys_put(); it is a bump allocator reset
 * by crl_rsys_scratch_reset().
 */
#ifndef CRL_RSYS_H
#define CRL_RSYS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "crl/ptrace.h"
#include "crl/util.h"

struct crl_rsys {
	pid_t tid;
	/* The thread's registers when crl_rsys_init() ran; the template of
	 * every call and what crl_rsys_fini() puts back. */
	struct user_regs_struct orig;
	uint64_t syscall_ip;
	uint64_t scratch, scratch_size, scratch_used;
	unsigned nr_stolen;
	siginfo_t stolen[CRL_MAX_STOLEN];
};

/* Start using tid (stopped, traced) with a syscall instruction at ip. */
int crl_rsys_init(struct crl_rsys *r, pid_t tid, uint64_t syscall_ip);

/*
 * Run syscall nr with up to six arguments in the thread. Returns 0 when the
 * call ran, its result (-errno on failure) in *ret; or a negative errno when
 * the call could not be made at all (-ESRCH: the thread died).
 */
int crl_rsys_call6(struct crl_rsys *r, long *ret, long nr, unsigned long a1, unsigned long a2,
		   unsigned long a3, unsigned long a4, unsigned long a5, unsigned long a6);
#define crl_rsys_call(r, ret, nr, ...) crl_rsys_call_(r, ret, nr, ##__VA_ARGS__, 0, 0, 0, 0, 0, 0)
#define crl_rsys_call_(r, ret, nr, a1, a2, a3, a4, a5, a6, ...)                                       \
	crl_rsys_call6(r, ret, nr, (unsigned long)(a1), (unsigned long)(a2), (unsigned long)(a3),     \
		       (unsigned long)(a4), (unsigned long)(a5), (unsigned long)(a6))

/* Put the original registers back. */
int crl_rsys_fini(struct crl_rsys *r);

void crl_rsys_set_scratch(struct crl_rsys *r, uint64_t addr, uint64_t size);
static inline void crl_rsys_scratch_reset(struct crl_rsys *r) { r->scratch_used = 0; }
/* Copy len bytes into the scratch area; *ret_addr is their task address.
 * -ENOSPC when the area is full. */
int crl_rsys_put(struct crl_rsys *r, const void *data, size_t len, uint64_t *ret_addr);
/* Reserve len bytes of scratch (contents undefined: the caller writes them
 * or has a call fill them). */
int crl_rsys_reserve(struct crl_rsys *r, size_t len, uint64_t *ret_addr);

/* Find a `syscall` instruction in an executable VMA of pid (the vDSO
 * first). Reads code, changes nothing. */
struct crl_vma_list;
int crl_rsys_find_syscall(pid_t pid, const struct crl_vma_list *vmas, uint64_t *ret_ip);

/*
 * Task memory. read/write use process_vm_readv/writev and need the pages to
 * be readable / writable in the task; the _force variants go through
 * /proc/PID/mem, which (as a tracer) may read PROT_NONE memory and write
 * read-only private memory. All return 0 or -errno (-EFAULT on a short
 * transfer).
 */
int crl_mem_read(pid_t pid, uint64_t addr, void *buf, size_t len);
int crl_mem_write(pid_t pid, uint64_t addr, const void *buf, size_t len);
int crl_mem_read_force(int memfd, uint64_t addr, void *buf, size_t len);
int crl_mem_write_force(int memfd, uint64_t addr, const void *buf, size_t len);
int crl_mem_open(pid_t pid, int flags);

#endif
