/*
 * What the commands of criu-lite share: the options (one struct, passed
 * down, never global) and the entry point of each command.
 */
#ifndef CRL_TOOL_H
#define CRL_TOOL_H

#include <stdbool.h>
#include <sys/types.h>

#define CRL_TOOL_VERSION "0.1.0"

struct crl_opts {
	const char *dir;        /* -D: image directory */
	pid_t pid;              /* -t: root of the tree to dump */
	bool leave_running;     /* dump --leave-running */
	bool detach;            /* restore -d */
	const char *pidfile;    /* restore --pidfile */
	bool shell_job;         /* --shell-job */
	bool maps;              /* show --maps */
	int verbosity;          /* -v */
	const char *logfile;    /* -o */
	int nr_args;            /* operands after the options */
	char **args;
};

/* Each command returns 0 on success or a negative errno after logging why;
 * restore without -d returns the exit status to pass on (>= 0) through
 * *ret_status. */
int cmd_dump(const struct crl_opts *o);
int cmd_restore(const struct crl_opts *o, int *ret_status);
int cmd_show(const struct crl_opts *o);
int cmd_check(const struct crl_opts *o);

#endif
