/*
 * ptrace mechanisms: seizing and stopping threads, registers, the FPU/xsave
 * area, signal masks and queued signals. No policy: callers decide what a
 * failure means for the whole tree.
 */
#ifndef CRL_PTRACE_H
#define CRL_PTRACE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "crl/util.h"

/* Signals a freeze took out of the queue (a signal-delivery-stop came first):
 * they must be queued again, or dumped as pending. */
#define CRL_MAX_STOLEN 8
struct crl_stop_info {
	bool group_stop;            /* the task was (or got) stopped by job control */
	unsigned nr_stolen;
	siginfo_t stolen[CRL_MAX_STOLEN];
};

/*
 * PTRACE_SEIZE tid with the given options (PTRACE_O_*), PTRACE_INTERRUPT it
 * and wait until it is in a ptrace stop. Signal-delivery-stops met on the
 * way are suppressed and their siginfo saved in info->stolen.
 * Returns 0; -ESRCH when the thread is gone or exits meanwhile; -EPERM when
 * it cannot be traced (already traced, a zombie...); -ETIMEDOUT when it did
 * not stop within timeout_ms (it sleeps in the kernel and cannot be
 * interrupted, a vfork() parent for one: it stays traced until criu-lite
 * exits, which lets it go). On any failure the signals stolen so far are
 * sent to it again (their siginfo is lost).
 */
int crl_ptrace_seize(pid_t tid, unsigned long options, struct crl_stop_info *info, unsigned timeout_ms);

/* waitpid(tid, __WALL) retrying on EINTR. Returns 0 or -errno. */
int crl_ptrace_wait(pid_t tid, int *status);

/*
 * Park a traced thread that sits in a syscall stop (after remote calls) in
 * an interrupt stop instead: PTRACE_INTERRUPT, then resume it; the stop
 * comes on its way back to user mode, before it runs any instruction of its
 * own, inside the kernel's signal handling. That is where registers belong
 * that hold an interrupted syscall (ax = -ERESTART*, orig_ax = its number):
 * once detached, the kernel delivers pending signals and restarts or fails
 * the syscall exactly as it would have. A parked thread can be detached at
 * any time (by criu-lite's death too) without running anything of ours.
 * Signals met on the way (only SIGSTOP and SIGKILL, if all are blocked) are
 * suppressed and added to info. Returns 0, or -ESRCH if the thread died.
 */
int crl_ptrace_park(pid_t tid, struct crl_stop_info *info);

/* Resume one thread and forget it: PTRACE_DETACH. */
int crl_ptrace_detach(pid_t tid);

int crl_ptrace_get_regs(pid_t tid, struct user_regs_struct *regs);
int crl_ptrace_set_regs(pid_t tid, const struct user_regs_struct *regs);

/* The size of the user xsave area (NT_X86_XSTATE) on this CPU, 0 if none. */
size_t crl_xstate_size(void);
/* Read the xsave area into buf (crl_xstate_size() bytes); *ret_len is what
 * the kernel filled in. */
int crl_ptrace_get_xstate(pid_t tid, void *buf, size_t len, size_t *ret_len);
int crl_ptrace_set_xstate(pid_t tid, const void *buf, size_t len);
/* The legacy FXSAVE area (NT_PRFPREG, 512 bytes). */
int crl_ptrace_get_fpregs(pid_t tid, void *buf, size_t len);
int crl_ptrace_set_fpregs(pid_t tid, const void *buf, size_t len);

int crl_ptrace_get_sigmask(pid_t tid, uint64_t *mask);
int crl_ptrace_set_sigmask(pid_t tid, uint64_t mask);

/* Copy up to max queued signals, from the off-th on, without dequeuing them
 * (PTRACE_PEEKSIGINFO). shared: the process-wide queue, else the thread's
 * own. Returns the number copied, or -errno. */
int crl_ptrace_peek_siginfo(pid_t tid, bool shared, unsigned off, siginfo_t *buf, unsigned max);

struct crl_rseq_conf {
	uint64_t ptr;
	uint32_t size, flags, signature;
};
/* rseq registration of tid; ptr == 0 when it has none. */
int crl_ptrace_get_rseq(pid_t tid, struct crl_rseq_conf *ret);


#endif
