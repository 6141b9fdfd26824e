/* Remote system calls and task memory access; see crl/rsys.h. */
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "crl/log.h"
#include "crl/proc.h"
#include "crl/rsys.h"

int crl_rsys_init(struct crl_rsys *r, pid_t tid, uint64_t syscall_ip)
{
	memset(r, 0, sizeof(*r));
	r->tid = tid;
	r->syscall_ip = syscall_ip;
	return crl_ptrace_get_regs(tid, &r->orig);
}

void crl_rsys_set_scratch(struct crl_rsys *r, uint64_t addr, uint64_t size)
{
	r->scratch = addr;
	r->scratch_size = size;
	r->scratch_used = 0;
}

int crl_rsys_reserve(struct crl_rsys *r, size_t len, uint64_t *ret_addr)
{
	size_t aligned = (len + 15) & ~15UL;

	if (!r->scratch || aligned > r->scratch_size - r->scratch_used)
		return -ENOSPC;
	*ret_addr = r->scratch + r->scratch_used;
	r->scratch_used += aligned;
	return 0;
}

int crl_rsys_put(struct crl_rsys *r, const void *data, size_t len, uint64_t *ret_addr)
{
	uint64_t addr;
	int ret = crl_rsys_reserve(r, len, &addr);

	if (ret < 0)
		return ret;
	ret = crl_mem_write(r->tid, addr, data, len);
	if (ret < 0)
		return ret;
	*ret_addr = addr;
	return 0;
}

/*
 * Resume with PTRACE_SYSCALL until the next syscall stop. Signal-delivery
 * stops on the way are suppressed and their siginfo kept; other stops
 * (group stops, events) are resumed past.
 */
static int resume_to_syscall_stop(struct crl_rsys *r)
{
	int status, ret;

	if (ptrace(PTRACE_SYSCALL, r->tid, NULL, NULL) < 0)
		return negative_errno();
	for (;;) {
		ret = crl_ptrace_wait(r->tid, &status);
		if (ret < 0)
			return ret;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (!WIFSTOPPED(status))
			continue;
		if (WSTOPSIG(status) == (SIGTRAP | 0x80))
			return 0;
		if (status >> 16 == 0) {
			siginfo_t si;

			if (ptrace(PTRACE_GETSIGINFO, r->tid, NULL, &si) == 0 &&
			    r->nr_stolen < CRL_MAX_STOLEN)
				r->stolen[r->nr_stolen++] = si;
			else
				log_debug("tid %d: signal %d during a remote call dropped", r->tid,
					  WSTOPSIG(status));
		}
		if (ptrace(PTRACE_SYSCALL, r->tid, NULL, NULL) < 0)
			return negative_errno();
	}
}

static int run(struct crl_rsys *r, long *ret, long nr, const unsigned long a[6])
{
	struct user_regs_struct regs = r->orig;
	int err;

	regs.rax = nr;
	/* orig_ax = -1: the stop we resume from must not apply a syscall
	 * restart to these registers. */
	regs.orig_rax = (unsigned long long)-1;
	regs.rip = r->syscall_ip;
	regs.rdi = a[0];
	regs.rsi = a[1];
	regs.rdx = a[2];
	regs.r10 = a[3];
	regs.r8 = a[4];
	regs.r9 = a[5];
	err = crl_ptrace_set_regs(r->tid, &regs);
	if (err < 0)
		return err;
	err = resume_to_syscall_stop(r); /* entry */
	if (err < 0)
		return err;
	err = resume_to_syscall_stop(r); /* exit */
	if (err < 0)
		return err;
	err = crl_ptrace_get_regs(r->tid, &regs);
	if (err < 0)
		return err;
	*ret = (long)regs.rax;
	log_debug("tid %d: remote syscall %ld(%#lx, %#lx, %#lx, %#lx, %#lx, %#lx) = %ld", r->tid, nr,
		  a[0], a[1], a[2], a[3], a[4], a[5], *ret);
	return 0;
}

int crl_rsys_call6(struct crl_rsys *r, long *ret, long nr, unsigned long a1, unsigned long a2,
		   unsigned long a3, unsigned long a4, unsigned long a5, unsigned long a6)
{
	const unsigned long a[6] = { a1, a2, a3, a4, a5, a6 };

	return run(r, ret, nr, a);
}


int crl_rsys_fini(struct crl_rsys *r)
{
	return crl_ptrace_set_regs(r->tid, &r->orig);
}

/* Look for the bytes 0f 05 in [start, end) of pid. Jumping into the middle
 * of another instruction is fine: only these two bytes ever execute. */
static int scan_for_syscall(pid_t pid, int memfd, const struct crl_vma *v, uint64_t *ret_ip)
{
	unsigned char buf[4096 + 1];
	/* The vDSO is small and has one early; other code is scanned whole,
	 * up to 64 MiB. */
	uint64_t len = MIN(v->end - v->start, (uint64_t)64 << 20);

	for (uint64_t off = 0; off < len; off += 4096) {
		size_t n = MIN(sizeof(buf), len - off);
		int r = (v->prot & PROT_READ) ? crl_mem_read(pid, v->start + off, buf, n)
					      : crl_mem_read_force(memfd, v->start + off, buf, n);

		if (r < 0)
			return r;
		for (size_t i = 0; i + 1 < n; i++)
			if (buf[i] == 0x0f && buf[i + 1] == 0x05) {
				*ret_ip = v->start + off + i;
				return 0;
			}
	}
	return -ENOENT;
}

int crl_rsys_find_syscall(pid_t pid, const struct crl_vma_list *vmas, uint64_t *ret_ip)
{
	_cleanup_close_ int memfd = -1;
	int pass;

	memfd = crl_mem_open(pid, O_RDONLY);
	/* Pass 0: the vDSO (its code is the kernel's, always has syscall
	 * fallbacks); pass 1: any executable mapping. */
	for (pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < vmas->nr; i++) {
			const struct crl_vma *v = &vmas->v[i];
			bool vdso = v->name && !strcmp(v->name, "[vdso]");

			if (!(v->prot & PROT_EXEC) || (pass == 0) != vdso)
				continue;
			if (scan_for_syscall(pid, memfd, v, ret_ip) == 0)
				return 0;
		}
	return -ENOENT;
}

int crl_mem_open(pid_t pid, int flags)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/mem", pid);
	fd = open(path, flags | O_CLOEXEC);
	return fd < 0 ? negative_errno() : fd;
}

int crl_mem_read(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec l = { buf, len }, rv = { (void *)addr, len };
	ssize_t n = process_vm_readv(pid, &l, 1, &rv, 1, 0);

	if (n < 0)
		return negative_errno();
	return (size_t)n == len ? 0 : -EFAULT;
}

int crl_mem_write(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
	struct iovec l = { (void *)buf, len }, rv = { (void *)addr, len };
	ssize_t n = process_vm_writev(pid, &l, 1, &rv, 1, 0);

	if (n < 0)
		return negative_errno();
	return (size_t)n == len ? 0 : -EFAULT;
}

int crl_mem_read_force(int memfd, uint64_t addr, void *buf, size_t len)
{
	if (memfd < 0)
		return -EBADF;
	return crl_pread_all(memfd, buf, len, (off_t)addr) == 0 ? 0 : -EFAULT;
}

int crl_mem_write_force(int memfd, uint64_t addr, const void *buf, size_t len)
{
	if (memfd < 0)
		return -EBADF;
	return crl_pwrite_all(memfd, buf, len, (off_t)addr) == 0 ? 0 : -EFAULT;
}
