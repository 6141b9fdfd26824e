/*
 * Small helpers shared by the library and the tool: cleanup attributes that
 * make ownership visible, and a few wrappers that return -errno.
 */
#ifndef CRL_UTIL_H
#define CRL_UTIL_H

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define CRL_PAGE_SIZE 4096UL
#define CRL_PAGE_SHIFT 12
#define PAGE_ALIGNED(x) (((x) & (CRL_PAGE_SIZE - 1)) == 0)
#define PAGE_UP(x) (((x) + CRL_PAGE_SIZE - 1) & ~(CRL_PAGE_SIZE - 1))

#define __must_check __attribute__((warn_unused_result))
#define _printf_(a, b) __attribute__((format(printf, a, b)))

static inline void freep(void *p) { free(*(void **)p); }
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_close_ _cleanup_(closep)
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Hand a pointer or fd out of a cleanup scope: the variable is reset so the
 * cleanup does nothing. */
#define TAKE_PTR(p) ({ __typeof__(p) _p = (p); (p) = NULL; _p; })
#define TAKE_FD(fd) ({ int _fd = (fd); (fd) = -1; _fd; })

/* Return -errno for the errno a failed libc call left, never 0. */
static inline int negative_errno(void) { return errno > 0 ? -errno : -EIO; }

/* Read a whole file (small /proc files) into a NUL-terminated malloc'd
 * buffer. Returns 0, or -errno. *ret_size excludes the NUL. */
int crl_read_file(const char *path, char **ret_buf, size_t *ret_size);
int crl_read_fileat(int dirfd, const char *path, char **ret_buf, size_t *ret_size);

/* opendir() of name relative to dirfd ("." for dirfd itself), through an
 * open file description of its own: a dup of dirfd would share its read
 * position, and a second listing would find nothing. NULL with errno set on
 * failure. */
DIR *crl_opendirat(int dirfd, const char *name);

/* write()/read() the whole buffer, retrying on EINTR and short counts.
 * Returns 0 or -errno (-EIO on a short read at end of file). */
int crl_write_all(int fd, const void *buf, size_t len);
int crl_pread_all(int fd, void *buf, size_t len, off_t off);
int crl_pwrite_all(int fd, const void *buf, size_t len, off_t off);

/* Parse an unsigned decimal or hex (base 16) number that must span the
 * whole string. Returns 0 or -EINVAL / -ERANGE. */
int crl_parse_u64(const char *s, int base, uint64_t *ret);

/* Grow *array to hold at least need elements of size elem; capacity in *cap.
 * Returns 0 or -ENOMEM; the array is untouched on failure. */
int crl_grow(void **array, size_t *cap, size_t need, size_t elem);
#define GROW(arr, cap, need) crl_grow((void **)&(arr), &(cap), (need), sizeof(*(arr)))

/* Monotonic time in nanoseconds. */
uint64_t crl_now_ns(void);

#endif
