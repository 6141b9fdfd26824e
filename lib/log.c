/* Logging; see crl/log.h. */
#include <stdio.h>
#include <string.h>

#include "crl/log.h"

static crl_log_fn log_fn;
static void *log_userdata;
static enum crl_log_level log_max = CRL_LOG_INFO;

void crl_log_setup(crl_log_fn fn, void *userdata, enum crl_log_level max_level)
{
	log_fn = fn;
	log_userdata = userdata;
	log_max = max_level;
}

enum crl_log_level crl_log_max_level(void)
{
	return log_max;
}

int crl_log_internal(enum crl_log_level level, int error, const char *fmt, ...)
{
	static const char *const prefix[] = {
		[CRL_LOG_ERROR] = "Error: ",
		[CRL_LOG_WARN] = "Warning: ",
		[CRL_LOG_INFO] = "",
		[CRL_LOG_DEBUG] = "",
	};
	char line[2048];
	int saved = errno;
	va_list ap;
	int n;

	/* %m must print the error being reported, not whatever errno is. */
	errno = abs(error);
	va_start(ap, fmt);
	n = snprintf(line, sizeof(line), "%s", prefix[level]);
	vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	va_end(ap);
	errno = saved;

	if (log_fn)
		log_fn(level, line, log_userdata);
	else
		fprintf(stderr, "%s\n", line);
	return -abs(error);
}
