/* ptrace mechanisms; see crl/ptrace.h. */
#include <cpuid.h>
#include <elf.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>

#include "crl/log.h"
#include "crl/ptrace.h"

#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif
#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif


int crl_ptrace_wait(pid_t tid, int *status)
{
	for (;;) {
		pid_t r = waitpid(tid, status, __WALL);

		if (r == tid)
			return 0;
		if (r < 0 && errno == EINTR)
			continue;
		return r < 0 ? negative_errno() : -ECHILD;
	}
}

/* Wait for tid for at most timeout_ms: 0, -ETIMEDOUT or -errno. */
static int wait_bounded(pid_t tid, int *status, unsigned timeout_ms)
{
	uint64_t deadline = crl_now_ns() + (uint64_t)timeout_ms * 1000000;

	for (;;) {
		pid_t r = waitpid(tid, status, __WALL | WNOHANG);
		struct timespec ts = { 0, 1000000 };

		if (r == tid)
			return 0;
		if (r < 0 && errno != EINTR)
			return negative_errno();
		if (crl_now_ns() > deadline)
			return -ETIMEDOUT;
		nanosleep(&ts, NULL);
	}
}

int crl_ptrace_seize(pid_t tid, unsigned long options, struct crl_stop_info *info, unsigned timeout_ms)
{
	int status, r;

	memset(info, 0, sizeof(*info));
	if (ptrace(PTRACE_SEIZE, tid, NULL, (void *)options) < 0)
		return negative_errno();
	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0) {
		r = negative_errno();
		ptrace(PTRACE_DETACH, tid, NULL, NULL);
		return r;
	}
	for (;;) {
		r = wait_bounded(tid, &status, timeout_ms);
		if (r == -ETIMEDOUT)
			goto give_back; /* not stopped: PTRACE_DETACH needs a stop */
		if (r < 0)
			goto fail;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (!WIFSTOPPED(status))
			continue;
		if (status >> 16 == PTRACE_EVENT_STOP) {
			int sig = WSTOPSIG(status);

			/* PTRACE_EVENT_STOP with a stop signal is a group
			 * stop: the task is stopped by job control. With
			 * SIGTRAP it is the stop our interrupt asked for. */
			if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
				info->group_stop = true;
			return 0;
		}
		if (status >> 16 == 0) {
			/* A signal-delivery-stop came before the interrupt:
			 * the signal is out of the queue now. Keep it for
			 * the caller and suppress it; the interrupt stop
			 * follows. */
			siginfo_t si;

			if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) < 0) {
				r = negative_errno();
				goto fail;
			}
			if (info->nr_stolen == CRL_MAX_STOLEN) {
				/* Too many to keep: detaching from this
				 * signal-delivery-stop with the signal
				 * delivers it; the others are sent again. */
				ptrace(PTRACE_DETACH, tid, NULL, (void *)(long)si.si_signo);
				r = -EAGAIN;
				goto give_back;
			}
			info->stolen[info->nr_stolen++] = si;
			if (ptrace(PTRACE_CONT, tid, NULL, NULL) < 0) {
				r = negative_errno();
				goto fail;
			}
			continue;
		}
		/* Some other event: keep going until the interrupt lands. */
		if (ptrace(PTRACE_CONT, tid, NULL, NULL) < 0) {
			r = negative_errno();
			goto fail;
		}
	}
fail:
	/* Leave nothing traced behind a failure, and give back what was
	 * taken (a task still traced after a timeout gets them when
	 * criu-lite exits and lets it go). */
	ptrace(PTRACE_DETACH, tid, NULL, NULL);
give_back:
	for (unsigned i = 0; i < info->nr_stolen; i++)
		syscall(SYS_tgkill, tid, tid, info->stolen[i].si_signo);
	info->nr_stolen = 0;
	return r;
}

int crl_ptrace_park(pid_t tid, struct crl_stop_info *info)
{
	int status, r;

	if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0 || ptrace(PTRACE_CONT, tid, NULL, NULL) < 0)
		return negative_errno();
	for (;;) {
		r = crl_ptrace_wait(tid, &status);
		if (r < 0)
			return r;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return -ESRCH;
		if (!WIFSTOPPED(status))
			continue;
		if (status >> 16 == PTRACE_EVENT_STOP)
			return 0; /* the interrupt stop (or a group stop) */
		if (status >> 16 == 0) {
			siginfo_t si;

			if (ptrace(PTRACE_GETSIGINFO, tid, NULL, &si) == 0 && info->nr_stolen < CRL_MAX_STOLEN)
				info->stolen[info->nr_stolen++] = si;
		}
		if (ptrace(PTRACE_CONT, tid, NULL, NULL) < 0)
			return negative_errno();
	}
}

int crl_ptrace_detach(pid_t tid)
{
	return ptrace(PTRACE_DETACH, tid, NULL, NULL) < 0 ? negative_errno() : 0;
}

static int regset(int req, pid_t tid, int type, void *buf, size_t len, size_t *ret_len)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };

	if (ptrace(req, tid, (void *)(long)type, &iov) < 0)
		return negative_errno();
	if (ret_len)
		*ret_len = iov.iov_len;
	return 0;
}

int crl_ptrace_get_regs(pid_t tid, struct user_regs_struct *regs)
{
	size_t len;
	int r = regset(PTRACE_GETREGSET, tid, NT_PRSTATUS, regs, sizeof(*regs), &len);

	if (r == 0 && len != sizeof(*regs))
		return -EINVAL; /* a 32-bit task: not supported */
	return r;
}

int crl_ptrace_set_regs(pid_t tid, const struct user_regs_struct *regs)
{
	return regset(PTRACE_SETREGSET, tid, NT_PRSTATUS, (void *)regs, sizeof(*regs), NULL);
}

size_t crl_xstate_size(void)
{
	static size_t size = 1;
	unsigned a, b, c, d;

	if (size != 1)
		return size;
	size = 0;
	if (__get_cpuid(1, &a, &b, &c, &d) && (c & bit_XSAVE) && __get_cpuid_max(0, NULL) >= 0xd) {
		__cpuid_count(0xd, 0, a, b, c, d);
		/* ecx: the size for every feature the CPU supports */
		size = c;
	}
	return size;
}

int crl_ptrace_get_xstate(pid_t tid, void *buf, size_t len, size_t *ret_len)
{
	return regset(PTRACE_GETREGSET, tid, NT_X86_XSTATE, buf, len, ret_len);
}

int crl_ptrace_set_xstate(pid_t tid, const void *buf, size_t len)
{
	return regset(PTRACE_SETREGSET, tid, NT_X86_XSTATE, (void *)buf, len, NULL);
}

int crl_ptrace_get_fpregs(pid_t tid, void *buf, size_t len)
{
	return regset(PTRACE_GETREGSET, tid, NT_PRFPREG, buf, len, NULL);
}

int crl_ptrace_set_fpregs(pid_t tid, const void *buf, size_t len)
{
	return regset(PTRACE_SETREGSET, tid, NT_PRFPREG, (void *)buf, len, NULL);
}

int crl_ptrace_get_sigmask(pid_t tid, uint64_t *mask)
{
	return ptrace(PTRACE_GETSIGMASK, tid, (void *)sizeof(*mask), mask) < 0 ? negative_errno() : 0;
}

int crl_ptrace_set_sigmask(pid_t tid, uint64_t mask)
{
	return ptrace(PTRACE_SETSIGMASK, tid, (void *)sizeof(mask), &mask) < 0 ? negative_errno() : 0;
}

int crl_ptrace_peek_siginfo(pid_t tid, bool shared, unsigned off, siginfo_t *buf, unsigned max)
{
	struct __ptrace_peeksiginfo_args args = {
		.off = off,
		.flags = shared ? PTRACE_PEEKSIGINFO_SHARED : 0,
		.nr = max,
	};
	long n = ptrace(PTRACE_PEEKSIGINFO, tid, &args, buf);

	return n < 0 ? negative_errno() : (int)n;
}

int crl_ptrace_get_rseq(pid_t tid, struct crl_rseq_conf *ret)
{
	struct {
		uint64_t rseq_abi_pointer;
		uint32_t rseq_abi_size;
		uint32_t signature;
		uint32_t flags;
		uint32_t pad;
	} conf = { 0 };
	long n = ptrace(PTRACE_GET_RSEQ_CONFIGURATION, tid, (void *)sizeof(conf), &conf);

	if (n < 0)
		return negative_errno();
	ret->ptr = conf.rseq_abi_pointer;
	ret->size = conf.rseq_abi_size;
	ret->flags = conf.flags;
	ret->signature = conf.signature;
	return 0;
}

