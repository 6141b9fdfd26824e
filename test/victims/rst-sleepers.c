/*
 * rst-sleepers: tasks dumped while asleep in different system calls, and
 * their signal state, after a restore.
 *
 * Every task (all mode) sets, before vl_ready():
 *   - a SIGUSR2 handler (SA_SIGINFO|SA_RESTART, sa_mask SIGWINCH and
 *     SIGRTMIN+4), SIGHUP ignored, a SIGINT handler with SA_RESETHAND|
 *     SA_NODEFER, a SA_SIGINFO handler for SIGRTMIN+1 and one for SIGALRM;
 *   - a blocked mask: SIGUSR1 (the protocol's), SIGRTMIN+1, SIGALRM,
 *     SIGXCPU;
 *   - pending signals: SIGRTMIN+1 queued twice to itself with sigqueue()
 *     and two values, SIGALRM sent to the process, SIGXCPU raised to the
 *     thread.
 * Then each sleeps its own way (index: role):
 *   0 root           in vl_wait(): sigsuspend();
 *   1 nanosleeper    in nanosleep() of an hour, SIGUSR1 unblocked: woken by
 *                    the SIGUSR1 the root passes on. A restarted nanosleep
 *                    may return EINTR once without a signal after a restore
 *                    (its restart block lived in the old task): tolerated,
 *                    it sleeps again; returning 0, or another error, fails;
 *   2 futex-waiter   in FUTEX_WAIT (no timeout: the syscall is restarted
 *                    with -ERESTARTSYS) on a word of shared anonymous
 *                    memory, which the root sets and wakes after the
 *                    restore;
 *   3 reaper         in waitpid() for a child of its own (not a vl task),
 *                    which exits 42 once the root creates the file "go";
 *   4 sigsuspender   in sigsuspend() with another mask (SIGUSR2 allowed),
 *                    until the root sends SIGUSR2: then its mask must be
 *                    the one it had before sigsuspend(), not the temporary
 *                    one (the saved-sigmask trap of a restore).
 * After waking up, each task checks: pid, ppid; its blocked mask; its
 * sigactions; that the signals are still pending; that raise(SIGUSR2)
 * runs the handler with sa_mask blocked; that unblocking delivers both
 * queued values of SIGRTMIN+1 in order, SIGALRM and SIGXCPU. The root
 * waits at most 20 s for each child and names any that stays asleep (its
 * wchan and syscall).
 *
 * pipe mode: a reader blocked in read() of a pipe whose writer (a sibling)
 * writes after the restore. Needs restored file descriptors.
 */
#include <linux/futex.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "rst-victim.h"

#define NR_CHILDREN 4
#define RT_QUEUED (SIGRTMIN + 1)

static const char *const roles[] = { "root", "nanosleeper", "futex-waiter", "reaper", "sigsuspender" };

static int idx;
static struct vl_ids ids;
static sigset_t mask;
static struct sigaction acts[65];
static volatile sig_atomic_t usr2_count, usr1_seen, alrm_count, rt_count, xcpu_count;
static volatile int rt_values[4];
static volatile sigset_t usr2_blocked;
static volatile int rt_code, rt_value, rt_pid, usr2_code, usr2_pid;
static volatile uint32_t *futex_word;
static void (*lib_usr1)(int);
static pid_t children[NR_CHILDREN];
static int pipefd[2];

static void on_usr2(int sig, siginfo_t *si, void *uc)
{
	sigset_t now;

	sigprocmask(SIG_SETMASK, NULL, &now);
	usr2_blocked = now;
	usr2_code = si->si_code;
	usr2_pid = si->si_pid;
	usr2_count++;
}

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	rt_code = si->si_code;
	rt_value = si->si_value.sival_int;
	rt_pid = si->si_pid;
	if (rt_count < 4)
		rt_values[rt_count] = si->si_value.sival_int;
	rt_count++;
}

static void on_alrm(int sig, siginfo_t *si, void *uc) { alrm_count++; }
static void on_xcpu(int sig, siginfo_t *si, void *uc)
{
	if (si->si_code == SI_TKILL)
		xcpu_count++;
}
static void on_int(int sig) { }

/* SIGUSR1: the protocol's handler, and a note that it came. */
static void on_usr1(int sig)
{
	usr1_seen = 1;
	lib_usr1(sig);
}

static void set_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_usr2;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGWINCH);
	sigaddset(&sa.sa_mask, SIGRTMIN + 4);
	sigaction(SIGUSR2, &sa, NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_int;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	sigaction(SIGINT, &sa, NULL);

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO;
	sigaction(RT_QUEUED, &sa, NULL);
	sa.sa_sigaction = on_alrm;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_sigaction = on_xcpu;
	sigaction(SIGXCPU, &sa, NULL);

	sigprocmask(SIG_SETMASK, NULL, &mask);
	sigaddset(&mask, RT_QUEUED);
	sigaddset(&mask, SIGALRM);
	sigaddset(&mask, SIGXCPU);
	sigprocmask(SIG_SETMASK, &mask, NULL);

	/* Two instances of a real-time signal (queued to the process), a
	 * standard one to the process, and one to the thread. */
	if (sigqueue(getpid(), RT_QUEUED, (union sigval){ .sival_int = 0x1234 + idx }) < 0 ||
	    sigqueue(getpid(), RT_QUEUED, (union sigval){ .sival_int = 0x5678 + idx }) < 0)
		vl_die("sigqueue");
	kill(getpid(), SIGALRM);
	raise(SIGXCPU);

	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			sigaction(sig, NULL, &acts[sig]);
}

static void check_signals(void)
{
	sigset_t pending, expect;
	int before;

	vl_expect_sigmask("after the restore", &mask);
	for (int sig = 1; sig <= 64; sig++) {
		struct sigaction now;

		if (sig == SIGKILL || sig == SIGSTOP || (sig == SIGUSR1 && idx == 1))
			continue;
		sigaction(sig, NULL, &now);
		if (now.sa_handler != acts[sig].sa_handler || now.sa_flags != acts[sig].sa_flags ||
		    memcmp(&now.sa_mask, &acts[sig].sa_mask, 8))
			vl_fail("signal %d: action is handler %p flags %#x mask %#lx, was %p %#x %#lx", sig,
				(void *)now.sa_handler, now.sa_flags, *(unsigned long *)&now.sa_mask,
				(void *)acts[sig].sa_handler, acts[sig].sa_flags, *(unsigned long *)&acts[sig].sa_mask);
	}

	sigpending(&pending);
	if (!sigismember(&pending, RT_QUEUED))
		vl_fail("the queued SIGRTMIN+1 is no longer pending");
	if (!sigismember(&pending, SIGALRM))
		vl_fail("SIGALRM is no longer pending");
	if (!sigismember(&pending, SIGXCPU))
		vl_fail("SIGXCPU (raised to the thread) is no longer pending");

	/* The handler runs, with its sa_mask and itself blocked. */
	before = usr2_count;
	raise(SIGUSR2);
	if (usr2_count != before + 1) {
		vl_fail("raise(SIGUSR2) ran the handler %d times", usr2_count - before);
	} else {
		expect = mask;
		sigaddset(&expect, SIGUSR2);
		sigaddset(&expect, SIGWINCH);
		sigaddset(&expect, SIGRTMIN + 4);
		for (int sig = 1; sig <= 64; sig++)
			if (sigismember(&expect, sig) && !sigismember((sigset_t *)&usr2_blocked, sig))
				vl_fail("in the SIGUSR2 handler, signal %d was not blocked", sig);
		if (usr2_code != SI_TKILL || usr2_pid != getpid())
			vl_fail("SIGUSR2 siginfo: code %d pid %d, expected SI_TKILL from %d", usr2_code, usr2_pid,
				getpid());
	}
	vl_expect_sigmask("after the SIGUSR2 handler", &mask);

	/* The pending ones arrive when unblocked, the queued values intact. */
	sigemptyset(&expect);
	sigaddset(&expect, RT_QUEUED);
	sigaddset(&expect, SIGALRM);
	sigaddset(&expect, SIGXCPU);
	sigprocmask(SIG_UNBLOCK, &expect, NULL);
	if (rt_count != 2)
		vl_fail("the twice queued SIGRTMIN+1 came %d times once unblocked", rt_count);
	else if (rt_code != SI_QUEUE || rt_values[0] != 0x1234 + idx || rt_values[1] != 0x5678 + idx ||
		 rt_pid != ids.pid)
		vl_fail("the queued SIGRTMIN+1 came with code %d values %#x, %#x pid %d, expected SI_QUEUE "
			"%#x, %#x from %d",
			rt_code, rt_values[0], rt_values[1], rt_pid, 0x1234 + idx, 0x5678 + idx, ids.pid);
	if (alrm_count != 1)
		vl_fail("the pending SIGALRM came %d times once unblocked", alrm_count);
	if (xcpu_count != 1)
		vl_fail("the pending SIGXCPU (SI_TKILL) came %d times once unblocked", xcpu_count);
}

static void sleep_nanosleep(void)
{
	struct sigaction sa, old;
	sigset_t unblock;
	int spurious = 0;
	uint64_t t0 = vl_now_ms();

	sigaction(SIGUSR1, NULL, &old);
	lib_usr1 = old.sa_handler;
	sa = old;
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	acts[SIGUSR1] = sa;
	sigemptyset(&unblock);
	sigaddset(&unblock, SIGUSR1);
	sigprocmask(SIG_UNBLOCK, &unblock, NULL);
	while (!usr1_seen) {
		struct timespec ts = { 3600, 0 };
		int r = nanosleep(&ts, NULL);

		if (r == 0) {
			vl_fail("nanosleep of an hour returned 0 after %llu ms",
				(unsigned long long)(vl_now_ms() - t0));
			break;
		}
		if (errno != EINTR) {
			vl_fail("nanosleep failed: %m (errno %d)", errno);
			break;
		}
		if (!usr1_seen && ++spurious > 2) {
			vl_fail("nanosleep returned EINTR %d times with no signal", spurious);
			break;
		}
	}
	sigprocmask(SIG_BLOCK, &unblock, NULL);
	vl_log("nanosleep woken by SIGUSR1 after %d EINTR without a signal", spurious);
}

static void sleep_futex(void)
{
	while (*futex_word == 0) {
		long r = syscall(SYS_futex, futex_word, FUTEX_WAIT, 0, NULL, NULL, 0);

		if (r < 0 && errno != EINTR && errno != EAGAIN) {
			vl_fail("FUTEX_WAIT failed: %m (errno %d)", errno);
			return;
		}
		if (r < 0 && errno == EINTR)
			vl_log("FUTEX_WAIT: EINTR");
	}
	if (*futex_word != 0xf00d)
		vl_fail("the futex word is %#x, expected 0xf00d", *futex_word);
}

static void sleep_waitpid(pid_t g)
{
	int status;
	pid_t r;

	r = waitpid(g, &status, 0);
	if (r != g)
		vl_fail("waitpid(%d) returned %d: %m (errno %d)", g, r, errno);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 42)
		vl_fail("the reaper's child ended with status %#x, expected exit 42", status);
}

static void sleep_sigsuspend(void)
{
	sigset_t tmp = mask;
	int before = usr2_count;
	int r;

	sigdelset(&tmp, SIGUSR2);
	while (usr2_count == before) {
		r = sigsuspend(&tmp);
		if (r != -1 || errno != EINTR) {
			vl_fail("sigsuspend returned %d: %m (errno %d)", r, errno);
			break;
		}
	}
	if (usr2_code != SI_USER || usr2_pid != getppid())
		vl_fail("the SIGUSR2 that ended sigsuspend has code %d from %d, expected SI_USER from %d", usr2_code,
			usr2_pid, getppid());
	vl_expect_sigmask("after sigsuspend() returned", &mask);
}

/* The reaper's own child: exits 42 once "go" exists (or after 2 minutes). */
static void __attribute__((noreturn)) grandchild(pid_t parent)
{
	char line[32], *extra_pids = vl_path("extra-pids"), *go = vl_path("go");
	uint64_t deadline = vl_now_ms() + 120000;

	syscall(SYS_close_range, 3, ~0U, 0);
	snprintf(line, sizeof(line), "%d\n", getpid());
	{
		int fd = open(extra_pids, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);

		if (fd >= 0) {
			(void)!write(fd, line, strlen(line));
			close(fd);
		}
	}
	while (access(go, F_OK) < 0 && vl_now_ms() < deadline)
		vl_sleep_ms(20);
	_exit(getppid() == parent ? 42 : 43);
}

static void task(void *arg)
{
	pid_t g = 0;

	idx = (int)(intptr_t)arg;
	set_signals();
	vl_ids_save(&ids);
	if (idx == 3) {
		g = fork();
		if (g < 0)
			vl_die("fork");
		if (g == 0)
			grandchild(ids.pid);
	}
	vl_ready();
	switch (idx) {
	case 1: sleep_nanosleep(); break;
	case 2: sleep_futex(); break;
	case 3: sleep_waitpid(g); break;
	case 4: sleep_sigsuspend(); break;
	}
	vl_wait();
	vl_ids_check(&ids, true, false);
	check_signals();
}

/* The root waits at most 20 s for its children; one that stays asleep is
 * named, with where it sleeps, and killed. */
static void wait_children(void)
{
	uint64_t deadline = vl_now_ms() + 20000;

	for (int i = 0; i < NR_CHILDREN; i++) {
		siginfo_t si;

		for (;;) {
			memset(&si, 0, sizeof(si));
			if (waitid(P_PID, children[i], &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid)
				break;
			if (vl_now_ms() > deadline) {
				char path[64], wchan[64] = "", sc[128] = "";

				snprintf(path, sizeof(path), "/proc/%d/wchan", children[i]);
				vl_read_into(path, wchan, sizeof(wchan));
				snprintf(path, sizeof(path), "/proc/%d/syscall", children[i]);
				vl_read_into(path, sc, sizeof(sc));
				vl_fail("the %s (%d) did not finish within 20 s: wchan '%s', syscall '%.*s'",
					roles[i + 1], children[i], wchan, (int)strcspn(sc, "\n"), sc);
				kill(children[i], SIGKILL);
				break;
			}
			vl_sleep_ms(10);
		}
	}
}

static void run_all(void)
{
	futex_word = mmap(NULL, PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (futex_word == MAP_FAILED)
		vl_die("mmap");
	for (int i = 0; i < NR_CHILDREN; i++)
		children[i] = vl_fork(roles[i + 1], task, (void *)(intptr_t)(i + 1));
	idx = 0;
	set_signals();
	vl_ids_save(&ids);
	vl_ready();
	vl_wait();
	/* Wake the sleepers that SIGUSR1 does not wake. */
	*futex_word = 0xf00d;
	syscall(SYS_futex, futex_word, FUTEX_WAKE, 1, NULL, NULL, 0);
	kill(children[3], SIGUSR2);
	vl_write_file(vl_dir(), "go", "");
	vl_ids_check(&ids, false, false);
	check_signals();
	wait_children();
}

static void reader(void *arg)
{
	char buf[16] = "";
	ssize_t n;

	close(pipefd[1]);
	vl_ready();
	n = read(pipefd[0], buf, sizeof(buf) - 1);
	if (n != 5 || memcmp(buf, "hello", 5))
		vl_fail("read() of the pipe returned %zd '%s': %m", n, n > 0 ? buf : "");
	vl_wait();
}

static void writer(void *arg)
{
	close(pipefd[0]);
	vl_ready();
	vl_wait();
	if (write(pipefd[1], "hello", 5) != 5)
		vl_fail("write() to the pipe: %m");
}

int main(int argc, char **argv)
{
	vl_init(argc, argv);
	if (argc > 1 && !strcmp(argv[1], "pipe")) {
		if (pipe(pipefd) < 0)
			vl_die("pipe");
		children[0] = vl_fork("reader", reader, NULL);
		children[1] = vl_fork("writer", writer, NULL);
		close(pipefd[0]);
		close(pipefd[1]);
		vl_ready();
		vl_wait();
	} else {
		run_all();
	}
	vl_exit();
}
