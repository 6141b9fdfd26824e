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

/* A termination signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) arrived: dump and
 * restore check this where they can stop cleanly, and fail then (the tree
 * left running, or what a restore created killed) instead of dying with a
 * frozen tree. Returns the signal, or 0. */
int crl_interrupted(void);
/* Termination signals act again as they normally do (once the tree is let
 * go). */
void crl_default_termination(void);

/* Each command returns 0 on success or a negative errno after logging why;
 * restore without -d returns the exit status to pass on (>= 0) through
 * *ret_status. */
int cmd_dump(const struct crl_opts *o);
int cmd_restore(const struct crl_opts *o, int *ret_status);
int cmd_show(const struct crl_opts *o);
int cmd_check(const struct crl_opts *o);

#endif
