/*
 * The protocol between an integration test and a victim (a program that
 * builds state in a forked tree, is checkpointed and restored, and then
 * checks its own state from inside).
 *
 *   1. The test starts the victim with CRL_TEST_DIR set to a scratch
 *      directory. vl_init() points stdin at /dev/null and stdout/stderr at
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
 */
#ifndef VICTIM_H
#define VICTIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
/* Log a line to victim.log. */
void vl_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Wait for the children, write the verdict (root), exit. */
void vl_exit(void) __attribute__((noreturn));
/* Has any check of this task failed? */
bool vl_failed(void);
/* The scratch directory, and a path inside it. */
const char *vl_dir(void);
const char *vl_path(const char *name);  /* static buffer per call site: copy it */
/* Poll until *p == want or timeout_ms passes; returns true if it came. */
bool vl_wait_for(volatile uint64_t *p, uint64_t want, int timeout_ms);
/* Fill / check a buffer with a pattern derived from seed. */
void vl_fill(void *buf, size_t len, uint64_t seed);
bool vl_check(const void *buf, size_t len, uint64_t seed);
/* The text of /proc/self/maps, and map_files stat of the VMA holding addr. */
char *vl_read_file(const char *path, size_t *len);
int vl_map_ident(const void *addr, uint64_t *dev, uint64_t *ino);

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
/* readlink of /proc/self/map_files/ for the VMA holding addr ("" if none). */
int vl_map_link(const void *addr, char *buf, size_t len);

#endif
