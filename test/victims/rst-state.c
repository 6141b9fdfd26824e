/*
 * rst-state: the kernel state of a task that is neither memory nor
 * signals, after a restore: interval timers, credentials and capabilities,
 * prctl() settings, umask, working directory, name, rseq and the vDSO.
 *
 * Three tasks (index: role), each set up differently before vl_ready():
 *   0 root     umask 027, cwd $T, ITIMER_REAL (50 min, every 25 min),
 *              child subreaper, name "crl-state-0";
 *   1 child-1  umask 077, cwd $T/dir1, ITIMER_VIRTUAL (1000 s, every
 *              10 s), PR_SET_PDEATHSIG SIGWINCH, no_new_privs;
 *   2 child-2  umask 002, cwd /, ITIMER_PROF (2000 s, once), THP disabled,
 *              not dumpable, groups 5 6 7, gids 100/200/300, saved uid
 *              1000 (real and effective stay 0, so it keeps its
 *              capabilities), CAP_NET_RAW dropped from its effective and
 *              permitted sets and CAP_SYS_BOOT from its bounding set.
 * Each records what it set, as the kernel reports it, and after vl_wait()
 * reads it all again: timers with the same interval and a value that did
 * not grow (but by the tick setitimer() adds to CPU-time timers);
 * everything else equal. Then: rseq is registered at the same
 * place (its cpu_id follows the task when it is moved from CPU to CPU);
 * clock_gettime() through the vDSO agrees with the system call (the vDSO
 * finds its data pages after they were moved), and CLOCK_MONOTONIC did not
 * go back.
 *
 * rst-state limits: instead, each task sets resource limits (soft ones
 * lowered, child-2 also lowers hard ones), a nice value, a scheduling
 * policy, a CPU affinity, an oom_score_adj, a
 * timer slack and an I/O priority (child-2 in the idle class) of its own;
 * child-1 also sets PR_SET_TSC (SIGSEGV on rdtsc), an early
 * machine-check kill policy, the memory policy MPOL_PREFERRED on node 0
 * and mlockall(MCL_FUTURE) (a page mapped before
 * stays unlocked, one mapped after the restore is locked), child-2 a core dump filter of 0x1 and
 * memory-deny-write-execute (PR_SET_MDWE, where the kernel has it);
 * after vl_wait() all of them must be as they were, not those of
 * criu-lite.
 */
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>

#include "rst-victim.h"

struct state {
	mode_t umask;
	char cwd[4096];
	char comm[32];
	struct itimerval timers[3];
	int subreaper, pdeathsig, no_new_privs, thp_disable, dumpable;
	uid_t uid[3];
	gid_t gid[3];
	int ngroups;
	gid_t groups[32];
	struct __user_cap_data_struct caps[2];
	uint64_t bounding;
	uint64_t rseq_addr;
};

static int idx;
static bool limits_mode;
static struct vl_ids ids;
static struct state before;
static struct timespec mono_before;

static void read_state(struct state *s)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	int v;

	memset(s, 0, sizeof(*s));
	s->umask = umask(0);
	umask(s->umask);
	if (!getcwd(s->cwd, sizeof(s->cwd)))
		snprintf(s->cwd, sizeof(s->cwd), "(getcwd: %s)", strerror(errno));
	prctl(PR_GET_NAME, s->comm);
	for (int w = 0; w < 3; w++)
		getitimer(w, &s->timers[w]);
	prctl(PR_GET_CHILD_SUBREAPER, &v);
	s->subreaper = v;
	prctl(PR_GET_PDEATHSIG, &v);
	s->pdeathsig = v;
	s->no_new_privs = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
	s->thp_disable = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
	s->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	getresuid(&s->uid[0], &s->uid[1], &s->uid[2]);
	getresgid(&s->gid[0], &s->gid[1], &s->gid[2]);
	s->ngroups = getgroups(32, s->groups);
	syscall(SYS_capget, &hdr, s->caps);
	for (int cap = 0; cap < 64; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1)
			s->bounding |= 1ULL << cap;
	if (__rseq_size)
		s->rseq_addr = (uint64_t)(uintptr_t)__builtin_thread_pointer() + __rseq_offset;
}

static void setup(void)
{
	static const mode_t umasks[] = { 027, 077, 002 };
	struct itimerval it = { 0 };
	char name[32], *dir1;

	umask(umasks[idx]);
	snprintf(name, sizeof(name), "crl-state-%d", idx);
	prctl(PR_SET_NAME, name);
	switch (idx) {
	case 0:
		if (chdir(vl_dir()) < 0)
			vl_die("chdir");
		it = (struct itimerval){ { 1500, 0 }, { 3000, 0 } };
		if (setitimer(ITIMER_REAL, &it, NULL) < 0 || prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
			vl_die("root setup");
		break;
	case 1:
		dir1 = vl_path("dir1");
		if (chdir(dir1) < 0)
			vl_die("chdir dir1");
		free(dir1);
		it = (struct itimerval){ { 10, 0 }, { 1000, 0 } };
		if (setitimer(ITIMER_VIRTUAL, &it, NULL) < 0 || prctl(PR_SET_PDEATHSIG, SIGWINCH) < 0 ||
		    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
			vl_die("child-1 setup");
		break;
	case 2: {
		static const gid_t groups[] = { 5, 6, 7 };
		struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
		struct __user_cap_data_struct caps[2];

		if (chdir("/") < 0)
			vl_die("chdir /");
		it = (struct itimerval){ { 0, 0 }, { 2000, 0 } };
		if (setitimer(ITIMER_PROF, &it, NULL) < 0 || prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) < 0)
			vl_die("child-2 setup");
		if (setgroups(3, groups) < 0 || setresgid(100, 200, 300) < 0 || setresuid(0, 0, 1000) < 0)
			vl_die("child-2 credentials");
		if (prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT, 0, 0, 0) < 0 || syscall(SYS_capget, &hdr, caps) < 0)
			vl_die("child-2 capabilities");
		caps[0].effective &= ~(1u << CAP_NET_RAW);
		caps[0].permitted &= ~(1u << CAP_NET_RAW);
		if (syscall(SYS_capset, &hdr, caps) < 0)
			vl_die("capset");
		/* Last: the dump must cope with a task that is not dumpable. */
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
			vl_die("PR_SET_DUMPABLE");
		break;
	}
	}
}

#define SAME(field, fmt)                                                                              \
	do {                                                                                          \
		if (now.field != before.field)                                                        \
			vl_fail(#field " is " fmt ", was " fmt, now.field, before.field);             \
	} while (0)

static void check_rseq(void)
{
	volatile struct rseq *rs = (struct rseq *)(uintptr_t)before.rseq_addr;
	cpu_set_t all, one;
	int n = 0;

	if (!__rseq_size) {
		vl_log("glibc did not register rseq: not checked");
		return;
	}
	sched_getaffinity(0, sizeof(all), &all);
	for (int cpu = 0; cpu < CPU_SETSIZE && n < 4; cpu++) {
		unsigned int now_cpu = ~0u;

		if (!CPU_ISSET(cpu, &all))
			continue;
		n++;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		if (sched_setaffinity(0, sizeof(one), &one) < 0)
			continue;
		sched_yield();
		syscall(SYS_getcpu, &now_cpu, NULL, NULL);
		if (rs->cpu_id != now_cpu)
			vl_fail("rseq at %p says cpu %u, the task runs on cpu %u: rseq is not registered there",
				(void *)rs, rs->cpu_id, now_cpu);
	}
	sched_setaffinity(0, sizeof(all), &all);
}

static void check_time(void)
{
	static const clockid_t clocks[] = { CLOCK_MONOTONIC, CLOCK_REALTIME, CLOCK_BOOTTIME };
	static const char *const names[] = { "CLOCK_MONOTONIC", "CLOCK_REALTIME", "CLOCK_BOOTTIME" };

	for (int i = 0; i < 3; i++) {
		struct timespec v, s;
		long long d;

		clock_gettime(clocks[i], &v);
		syscall(SYS_clock_gettime, clocks[i], &s);
		d = (s.tv_sec - v.tv_sec) * 1000000000LL + (s.tv_nsec - v.tv_nsec);
		if (d < 0 || d > 100000000LL)
			vl_fail("%s through the vDSO is %lld.%09ld, the system call says %lld.%09ld", names[i],
				(long long)v.tv_sec, v.tv_nsec, (long long)s.tv_sec, s.tv_nsec);
		if (i == 0 && (v.tv_sec < mono_before.tv_sec ||
			       (v.tv_sec == mono_before.tv_sec && v.tv_nsec < mono_before.tv_nsec)))
			vl_fail("CLOCK_MONOTONIC went back: %lld.%09ld before the dump, %lld.%09ld now",
				(long long)mono_before.tv_sec, mono_before.tv_nsec, (long long)v.tv_sec, v.tv_nsec);
	}
	if (labs(time(NULL) - syscall(SYS_time, NULL)) > 1)
		vl_fail("time() through the vDSO disagrees with the system call");
}

static void check(void)
{
	static const char *const timer_names[] = { "ITIMER_REAL", "ITIMER_VIRTUAL", "ITIMER_PROF" };
	struct state now;

	read_state(&now);
	vl_ids_check(&ids, idx != 0, false);
	SAME(umask, "%#o");
	if (strcmp(now.cwd, before.cwd))
		vl_fail("the working directory is '%s', was '%s'", now.cwd, before.cwd);
	if (strcmp(now.comm, before.comm))
		vl_fail("the name is '%s', was '%s'", now.comm, before.comm);
	for (int w = 0; w < 3; w++) {
		const struct itimerval *b = &before.timers[w], *a = &now.timers[w];
		long long bv = b->it_value.tv_sec * 1000000LL + b->it_value.tv_usec;
		long long av = a->it_value.tv_sec * 1000000LL + a->it_value.tv_usec;

		if (a->it_interval.tv_sec != b->it_interval.tv_sec || a->it_interval.tv_usec != b->it_interval.tv_usec)
			vl_fail("%s: interval %ld.%06ld s, was %ld.%06ld s", timer_names[w], a->it_interval.tv_sec,
				a->it_interval.tv_usec, b->it_interval.tv_sec, b->it_interval.tv_usec);
		/* setitimer() of a CPU-time timer adds one tick (TICK_NSEC) to
		 * the value, so that it never fires early: a restored one may
		 * show that tick more (HZ 100 at worst: 10 ms). */
		if ((bv == 0) != (av == 0) || av > bv + (w == ITIMER_REAL ? 0 : 10000))
			vl_fail("%s: %lld us to go, was %lld us before the dump", timer_names[w], av, bv);
	}
	SAME(subreaper, "%d");
	SAME(pdeathsig, "%d");
	SAME(no_new_privs, "%d");
	SAME(thp_disable, "%d");
	SAME(dumpable, "%d");
	for (int i = 0; i < 3; i++) {
		SAME(uid[i], "%u");
		SAME(gid[i], "%u");
	}
	if (now.ngroups != before.ngroups || memcmp(now.groups, before.groups, sizeof(gid_t) * (now.ngroups > 0 ? now.ngroups : 0)))
		vl_fail("supplementary groups differ (%d now, %d before)", now.ngroups, before.ngroups);
	for (int i = 0; i < 2; i++) {
		SAME(caps[i].effective, "%#x");
		SAME(caps[i].permitted, "%#x");
		SAME(caps[i].inheritable, "%#x");
	}
	if (now.bounding != before.bounding)
		vl_fail("bounding set is %#llx, was %#llx", (unsigned long long)now.bounding,
			(unsigned long long)before.bounding);
	if (now.rseq_addr != before.rseq_addr)
		vl_fail("rseq area moved");
	check_rseq();
	check_time();
}

/* --- limits mode ---------------------------------------------------------- */

struct limits {
	struct rlimit rl[RLIM_NLIMITS];
	int nice, policy;
	cpu_set_t cpus;
	int oom_score_adj;
	long timer_slack, ioprio;
	int tsc, mce_kill, mdwe;
	unsigned coredump_filter;
	int mempolicy;
	unsigned long nodes[16];
};

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#define PR_GET_MDWE 66
#endif

/* The number in /proc/self/NAME (base: 10 or 16). */
static long read_self_value(const char *name, int base)
{
	char path[64], *text;
	long v = 12345;

	snprintf(path, sizeof(path), "/proc/self/%s", name);
	text = vl_read_file(path, NULL);
	if (!text)
		vl_fail("cannot read %s", path);
	else
		v = strtol(text, NULL, base);
	free(text);
	return v;
}

#define IOPRIO_WHO_PROCESS 1
#define IOPRIO_PRIO(class, level) (((class) << 13) | (level))

static void write_oom_score_adj(int v)
{
	FILE *f = fopen("/proc/self/oom_score_adj", "w");

	if (!f || fprintf(f, "%d", v) < 0 || fclose(f) != 0)
		vl_die("oom_score_adj");
}

static struct limits limits_before;
static void *unlocked_page; /* child-1: mapped before mlockall(MCL_FUTURE) */

static void read_limits(struct limits *l)
{
	for (int r = 0; r < RLIM_NLIMITS; r++)
		getrlimit(r, &l->rl[r]);
	errno = 0;
	l->nice = getpriority(PRIO_PROCESS, 0);
	l->policy = sched_getscheduler(0);
	sched_getaffinity(0, sizeof(l->cpus), &l->cpus);
	l->oom_score_adj = read_self_value("oom_score_adj", 10);
	l->timer_slack = prctl(PR_GET_TIMERSLACK);
	l->ioprio = syscall(SYS_ioprio_get, IOPRIO_WHO_PROCESS, 0);
	l->tsc = -1;
	prctl(PR_GET_TSC, &l->tsc);
	l->mce_kill = prctl(PR_MCE_KILL_GET, 0, 0, 0, 0);
	l->mdwe = prctl(PR_GET_MDWE, 0, 0, 0, 0);
	l->coredump_filter = read_self_value("coredump_filter", 16);
	if (syscall(SYS_get_mempolicy, &l->mempolicy, l->nodes, 8 * sizeof(l->nodes), NULL, 0UL) < 0)
		vl_fail("get_mempolicy: %s", strerror(errno));
}

static void setup_limits(void)
{
	struct rlimit rl;
	struct sched_param sp = { 0 };
	cpu_set_t one;

	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = 200 + idx;
	if (idx == 2)
		rl.rlim_max = 1000;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		vl_die("RLIMIT_NOFILE");
	getrlimit(RLIMIT_CORE, &rl);
	rl.rlim_cur = idx * 4096;
	if (setrlimit(RLIMIT_CORE, &rl) < 0)
		vl_die("RLIMIT_CORE");
	getrlimit(RLIMIT_FSIZE, &rl);
	rl.rlim_cur = (1ULL << 30) + idx;
	if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
		vl_die("RLIMIT_FSIZE");
	if (setpriority(PRIO_PROCESS, 0, 3 + idx) < 0)
		vl_die("setpriority");
	if (idx == 1 && sched_setscheduler(0, SCHED_BATCH, &sp) < 0)
		vl_die("SCHED_BATCH");
	if (idx == 2 && sched_setscheduler(0, SCHED_IDLE, &sp) < 0)
		vl_die("SCHED_IDLE");
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (idx != 0 && sched_setaffinity(0, sizeof(one), &one) < 0)
		vl_die("sched_setaffinity");
	/* Positive values: lowering it below 0 takes CAP_SYS_RESOURCE, which
	 * root may lack (in a container, for one). */
	write_oom_score_adj(100 * idx + 7);
	if (prctl(PR_SET_TIMERSLACK, 70001UL + 1000 * idx) < 0)
		vl_die("PR_SET_TIMERSLACK");
	/* Best effort (class 2) at levels 1 and 6 for the root and child-1;
	 * the idle class (3) for child-2. */
	if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0,
		    idx == 2 ? IOPRIO_PRIO(3, 0) : IOPRIO_PRIO(2, 1 + 5 * idx)) < 0)
		vl_die("ioprio_set");
	/* prctl() switches: child-1 faults on rdtsc and has machine-check
	 * errors kill it early; child-2 denies write-execute (its kernel
	 * permitting) and dumps only anonymous private memory in a core. */
	if (idx == 1 && (prctl(PR_SET_TSC, PR_TSC_SIGSEGV, 0, 0, 0) < 0 ||
			 prctl(PR_MCE_KILL, PR_MCE_KILL_SET, PR_MCE_KILL_EARLY, 0, 0) < 0))
		vl_die("PR_SET_TSC or PR_MCE_KILL");
	/* child-1 also prefers node 0 for its memory, and locks its future
	 * mappings (not those it has). */
	if (idx == 1) {
		unsigned long node0 = 1;

		if (syscall(SYS_set_mempolicy, 1 /* MPOL_PREFERRED */, &node0, 2UL) < 0)
			vl_die("set_mempolicy");
		unlocked_page = vl_map_guarded(1, PROT_READ | PROT_WRITE, "a page before mlockall");
		if (mlockall(MCL_FUTURE) < 0)
			vl_die("mlockall(MCL_FUTURE)");
	}
	if (idx == 2) {
		FILE *f = fopen("/proc/self/coredump_filter", "w");

		if (!f || fprintf(f, "0x1") < 0 || fclose(f) != 0)
			vl_die("coredump_filter");
		if (prctl(PR_SET_MDWE, 1 /* PR_MDWE_REFUSE_EXEC_GAIN */, 0, 0, 0) < 0 && errno != EINVAL)
			vl_die("PR_SET_MDWE");
	}
}

/* child-1: mlockall(MCL_FUTURE) still locks new mappings, and did not lock
 * the page mapped before it. */
static void check_mlock_future(void)
{
	void *p;

	if (vl_vma_has_flag(unlocked_page, "lo") != 0)
		vl_fail("the page mapped before mlockall(MCL_FUTURE) is locked now (or gone)");
	p = vl_map_guarded(1, PROT_READ, "a page after the restore");
	if (vl_vma_has_flag(p, "lo") != 1)
		vl_fail("a mapping made after the restore is not locked: mlockall(MCL_FUTURE) was lost");
}

static void check_limits(void)
{
	static const char *const names[] = { "CPU", "FSIZE", "DATA", "STACK", "CORE", "RSS", "NPROC", "NOFILE",
					     "MEMLOCK", "AS", "LOCKS", "SIGPENDING", "MSGQUEUE", "NICE", "RTPRIO",
					     "RTTIME" };
	struct limits now;

	read_limits(&now);
	for (int r = 0; r < RLIM_NLIMITS && r < 16; r++)
		if (now.rl[r].rlim_cur != limits_before.rl[r].rlim_cur || now.rl[r].rlim_max != limits_before.rl[r].rlim_max)
			vl_fail("RLIMIT_%s is %llu/%llu (soft/hard), was %llu/%llu", names[r],
				(unsigned long long)now.rl[r].rlim_cur, (unsigned long long)now.rl[r].rlim_max,
				(unsigned long long)limits_before.rl[r].rlim_cur,
				(unsigned long long)limits_before.rl[r].rlim_max);
	if (now.nice != limits_before.nice)
		vl_fail("the nice value is %d, was %d", now.nice, limits_before.nice);
	if (now.policy != limits_before.policy)
		vl_fail("the scheduling policy is %d, was %d", now.policy, limits_before.policy);
	if (now.oom_score_adj != limits_before.oom_score_adj)
		vl_fail("oom_score_adj is %d, was %d", now.oom_score_adj, limits_before.oom_score_adj);
	if (now.timer_slack != limits_before.timer_slack)
		vl_fail("the timer slack is %ld ns, was %ld ns", now.timer_slack, limits_before.timer_slack);
	if (now.ioprio != limits_before.ioprio)
		vl_fail("the I/O priority is %#lx, was %#lx", now.ioprio, limits_before.ioprio);
	if (now.tsc != limits_before.tsc)
		vl_fail("the TSC mode is %d, was %d", now.tsc, limits_before.tsc);
	if (now.mce_kill != limits_before.mce_kill)
		vl_fail("the machine-check kill policy is %d, was %d", now.mce_kill, limits_before.mce_kill);
	if (now.mdwe != limits_before.mdwe)
		vl_fail("the memory-deny-write-execute flags are %d, was %d", now.mdwe, limits_before.mdwe);
	if (now.mempolicy != limits_before.mempolicy || memcmp(now.nodes, limits_before.nodes, sizeof(now.nodes)))
		vl_fail("the memory policy is %d (nodes %#lx), was %d (nodes %#lx)", now.mempolicy, now.nodes[0],
			limits_before.mempolicy, limits_before.nodes[0]);
	if (now.coredump_filter != limits_before.coredump_filter)
		vl_fail("the core dump filter is %#x, was %#x", now.coredump_filter, limits_before.coredump_filter);
	if (!CPU_EQUAL(&now.cpus, &limits_before.cpus))
		vl_fail("the CPU affinity is %d CPUs, was %d CPUs (%s)", CPU_COUNT(&now.cpus),
			CPU_COUNT(&limits_before.cpus), CPU_ISSET(1, &now.cpus) ? "cpu 1 allowed now" : "");
}

static void task(void *arg)
{
	idx = (int)(intptr_t)arg;
	if (limits_mode) {
		setup_limits();
		vl_ids_save(&ids);
		read_limits(&limits_before);
		vl_ready();
		vl_wait();
		vl_ids_check(&ids, idx != 0, false);
		check_limits();
		if (idx == 1)
			check_mlock_future();
		return;
	}
	setup();
	vl_ids_save(&ids);
	read_state(&before);
	clock_gettime(CLOCK_MONOTONIC, &mono_before);
	vl_ready();
	vl_wait();
	check();
}

int main(int argc, char **argv)
{
	char *dir1;

	vl_init(argc, argv);
	limits_mode = argc > 1 && !strcmp(argv[1], "limits");
	dir1 = vl_path("dir1");
	if (mkdir(dir1, 0755) < 0 && errno != EEXIST)
		vl_die("mkdir dir1");
	free(dir1);
	vl_fork("child-1", task, (void *)(intptr_t)1);
	vl_fork("child-2", task, (void *)(intptr_t)2);
	task((void *)(intptr_t)0);
	vl_exit();
}
