/*
 * Logging. The library reports only at debug level; the tool logs an error
 * once, where it handles it, naming the pid, the range, the path or the
 * image. Messages go through one sink the tool installs (stderr or -o FILE).
 */
#ifndef CRL_LOG_H
#define CRL_LOG_H

#include <stdarg.h>
#include "crl/util.h"

enum crl_log_level {
	CRL_LOG_ERROR = 0,
	CRL_LOG_WARN  = 1,
	CRL_LOG_INFO  = 2,
	CRL_LOG_DEBUG = 3,
};

/* The sink gets one formatted line without the trailing newline. */
typedef void (*crl_log_fn)(enum crl_log_level level, const char *line, void *userdata);

/* Install a sink (NULL: stderr) and the highest level that is printed. */
void crl_log_setup(crl_log_fn fn, void *userdata, enum crl_log_level max_level);
enum crl_log_level crl_log_max_level(void);

/* Log a line; returns -abs(error) when error is non-zero so a caller can
 * write `return log_error_errno(r, "...")`. %m prints strerror(error). */
int crl_log_internal(enum crl_log_level level, int error, const char *fmt, ...) _printf_(3, 4);

#define log_full_errno(lvl, err, ...) \
	({ int _e = (err); (crl_log_max_level() >= (lvl)) ? crl_log_internal((lvl), _e, __VA_ARGS__) \
	                                                 : -abs(_e); })
#define log_debug(...) ((void)log_full_errno(CRL_LOG_DEBUG, 0, __VA_ARGS__))
#define log_info(...)  ((void)log_full_errno(CRL_LOG_INFO, 0, __VA_ARGS__))
#define log_warn(...)  ((void)log_full_errno(CRL_LOG_WARN, 0, __VA_ARGS__))
#define log_error(...) ((void)log_full_errno(CRL_LOG_ERROR, 0, __VA_ARGS__))
#define log_debug_errno(e, ...) log_full_errno(CRL_LOG_DEBUG, (e), __VA_ARGS__)
#define log_warn_errno(e, ...)  log_full_errno(CRL_LOG_WARN, (e), __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(CRL_LOG_ERROR, (e), __VA_ARGS__)

#endif
