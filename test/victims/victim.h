/*
 * The protocol between an integration test and a victim (a program that
 * builds state in a forked tree, is checkpointed and restored, and then
 * checks its own state from inside).
 *
 *   1. The test starts the victim with CRL_TEST_DIR set to a scratch
 *      directory. vl_init() closes every fd beyond 0, 1, 2 that the victim
 *      inherited, points stdin at /dev/null and stdout/stderr at
 *      $CRL_TEST_DIR/victim.log, so the victim holds nothing of the test's.
 *   2. The victim builds its state, forking with vl_fork(). Each task calls
 *      vl_ready() when its state is built; the root's vl_ready() waits for
 *      every task, then writes $CRL_TEST_DIR/pids ("pid ppid role" lines)
 *      and creates $CRL_TEST_DIR/ready.
 *   3. Every task sleeps in vl_wait() (sigsuspend) until SIGUSR1. The test
 *      dumps, kills, restores, then sends SIGUSR1 to the root; each task
 *      passes the signal on to its children before it returns from
 *      vl_wait().
 *   4. Each task checks its state, reporting problems with vl_fail(), and
 *      ends with vl_exit(): it waits for its children (a child that failed
 *      fails its parent) and exits 0 or 1. The root also writes
 *      $CRL_TEST_DIR/verdict: "PASS", or "FAIL" and the reasons.
 *
 * Reports are written by path, never through inherited descriptors, so the
 * protocol works whatever happens to the task's fds.
 *
 * Every victim links victim-lib.c and nothing else; bench-mem and
 * demo-counter (of scripts/bench.sh and scripts/demo.sh) use some of its
 * helpers without the protocol.
 */
#ifndef VICTIM_H
#define VICTIM_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Close every fd the victim inherited beyond 0, 1, 2 (bats keeps its own
 * files open: a dump records every file a task holds), then set up the
 * protocol. */
void vl_init(int argc, char **argv);
/* Fork a child that runs fn(arg) and then vl_exit(). role names it in the
 * pids file. Returns the child's pid in the parent. */
pid_t vl_fork(const char *role, void (*fn)(void *arg), void *arg);
/* This task's state is built. The root returns once the whole tree is. */
void vl_ready(void);
/* Sleep until SIGUSR1; pass it on to the children. */
void vl_wait(void);
/* Record a failed check (printf-style); the task will exit 1. */
void vl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* vl_fail("WHAT: strerror(errno)"), then vl_exit(): for set-up steps that
 * must not fail. */
void vl_die(const char *what) __attribute__((noreturn));
/* Log a line to victim.log. */
void vl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Wait for the children, write the verdict (root), exit 0, or 1 if a check
 * failed. */
void vl_exit(void) __attribute__((noreturn));
/* The same, but once every check passed, exit with status code instead of
 * 0 (a check that failed still exits 1). */
void vl_exit_status(int code) __attribute__((noreturn));
/* The same, but once every check passed, die of signal sig. */
void vl_exit_signal(int sig) __attribute__((noreturn));
/* Has any check of this task failed? */
bool vl_failed(void);
/* The scratch directory. */
const char *vl_dir(void);
/* The path of name inside the scratch directory, in memory of its own
 * (malloc): the caller may keep it as long as it likes, and frees it when
 * done with it. Exits 2 if there is no memory. */
char *vl_path(const char *name);
/* Poll until *p == want or timeout_ms passes; returns true if it came. */
bool vl_wait_for(volatile uint64_t *p, uint64_t want, int timeout_ms);
/* Fill / check a buffer with a pattern derived from seed. */
void vl_fill(void *buf, size_t len, uint64_t seed);
bool vl_check(const void *buf, size_t len, uint64_t seed);
/* A whole file, in memory of its own (malloc; NULL if it cannot be read);
 * its length in *len if len is not NULL. */
char *vl_read_file(const char *path, size_t *len);
/* A whole file read into buf with plain read(2), no malloc. Returns its
 * length, or -1 if it cannot be read or does not fit; buf is terminated. */
ssize_t vl_read_into(const char *path, char *buf, size_t cap);
/* Write text into dir/name whole: aside first, then renamed into place, so
 * that a reader never sees part of it. Returns 0, or -1. */
int vl_write_file(const char *dir, const char *name, const char *text);
/* CLOCK_MONOTONIC in milliseconds; sleep for ms milliseconds. */
uint64_t vl_now_ms(void);
void vl_sleep_ms(int ms);

/*
 * Helpers for the checks after vl_wait(). Each reports what differs with
 * vl_fail(), naming what ("private anon A", ...), and returns whether the
 * check passed.
 */

/* Mark a child whose death the parent tolerates: vl_exit() does not fail
 * when it was killed or exited non-zero (tests kill such a task on purpose).
 * Make it a leaf: its children would be orphaned and never signalled. */
void vl_expendable(pid_t child);
/* buf holds the vl_fill() pattern of seed (len: a multiple of the page
 * size, or not; the first differing page is named). */
bool vl_expect_fill(const char *what, const void *buf, size_t len, uint64_t seed);
/* buf holds zeroes. */
bool vl_expect_zero(const char *what, const void *buf, size_t len);
/* buf equals want; else the first byte that differs is named. */
bool vl_expect_bytes(const char *what, const void *buf, const void *want, size_t len);
/*
 * /proc/self/maps has exactly the VMA [start, start+len) with perms ("rw-p")
 * and offset; name (NULL: not checked, "": none) is the text after the
 * inode column. maps: the text of /proc/self/maps, or NULL to read it now
 * (pass a snapshot when checking many VMAs).
 */
bool vl_expect_vma(const char *maps, const char *what, const void *start, size_t len,
		   const char *perms, uint64_t offset, const char *name);
/* The VMA holding addr has perms (for guard pages whose neighbours may merge
 * with them). */
bool vl_expect_perms(const char *maps, const char *what, const void *addr, const char *perms);
/* The VmFlags mnemonic flag ("gd") is set on the VMA starting at start, from
 * /proc/self/smaps. Returns 1 set, 0 not set, -1 no such VMA. */
int vl_vma_has_flag(const void *start, const char *flag);
/* pages of private anonymous memory made prot, between two PROT_NONE guard
 * pages so that no neighbour merges with them; vl_die(what) if it fails. */
char *vl_map_guarded(size_t pages, int prot, const char *what);
/* readlink of /proc/self/map_files/ for the VMA holding addr ("" if none). */
int vl_map_link(const void *addr, char *buf, size_t len);
/* stat() of /proc/self/map_files/ for the VMA holding addr: the identity
 * (st_dev, st_ino) of the object mapped there. Allocates nothing, so it
 * can run between two snapshots of the maps. */
bool vl_map_stat(const void *addr, struct stat *st);

/* --- identity and signals of the task ----------------------------------- */

struct vl_ids {
	pid_t pid, ppid, pgid, sid;
};

/* Record pid, ppid, pgid and sid, to compare after the restore. */
void vl_ids_save(struct vl_ids *ids);
/*
 * pid, ppid, pgid and sid are the recorded ones. Not the ppid of the root
 * (check_ppid false): a restored root is the child of criu-lite, or of init
 * with -d. Not the groups (check_groups false) of a tree whose session and
 * group are led from outside it: the restored tree joins criu-lite's then.
 */
bool vl_ids_check(const struct vl_ids *ids, bool check_ppid, bool check_groups);
/* The blocked-signal mask of the task equals want. */
bool vl_expect_sigmask(const char *what, const sigset_t *want);

/* --- meeting of the tasks, through files --------------------------------- */

struct vl_entry {
	pid_t pid;
	char text[256];
};

/*
 * Publish text as this task's entry of the round `name` (a file
 * gather-NAME-PID in the scratch directory) and wait up to 20 s for n
 * entries, which are read into out[] (n of them). Files, not shared memory:
 * the meeting works even when the sharing under test is broken. Returns the
 * number of entries found (fewer than n: timed out, reported).
 */
int vl_gather(const char *name, const char *text, int n, struct vl_entry *out);

/* --- file descriptors ------------------------------------------------------ */

/* How long the fd helpers wait for bytes, a message, a connection or end of
 * file that should come. */
#define VL_TIMEOUT_MS 5000

/* Move fd to target (which must be free, or equal to fd); exits 2 if it
 * cannot. */
void vl_move_fd(int fd, int target);
/* Add the status flags (O_NONBLOCK, ...) to those of fd. */
void vl_add_flags(int fd, int flags);
/* The open fds of this task are exactly want[0..n), plus 0, 1 and 2. */
void vl_expect_fds(const int *want, int n);
/* fd's access mode is acc (O_RDONLY, ...), the status flags in on are set
 * and those in off clear, and its close-on-exec flag is cloexec. */
void vl_expect_flags(const char *what, int fd, int acc, int on, int off, bool cloexec);
/* poll() fd for events, at most VL_TIMEOUT_MS: poll's result. */
int vl_wait_fd(int fd, short events);
/* Read exactly len bytes from fd (blocking or not), waiting at most
 * VL_TIMEOUT_MS for each chunk. */
bool vl_read_exact(const char *what, int fd, void *buf, size_t len);
/* Read len bytes from fd; they hold the vl_fill() pattern of seed. */
void vl_read_fill(const char *what, int fd, size_t len, uint64_t seed);
/* The next read of fd gives end of file, within VL_TIMEOUT_MS (a writer
 * left open somewhere keeps it from coming). */
void vl_expect_eof(const char *what, int fd);
/* Write all of buf to fd (blocking or not: a full fd is waited for). */
void vl_write_all(const char *what, int fd, const void *buf, size_t len);
/* Write len bytes of the vl_fill() pattern of seed to fd. */
void vl_write_fill(const char *what, int fd, size_t len, uint64_t seed);

#endif
