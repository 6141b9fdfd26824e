/*
 * criu-lite: checkpoint and restore a Linux process tree.
 *
 * The command table; option parsing; logging set up once. Only this file
 * turns an error into an exit status.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#include "crl/log.h"
#include "tool.h"

enum { OPT_LEAVE_RUNNING = 256, OPT_PIDFILE, OPT_SHELL_JOB, OPT_MAPS, OPT_HELP, OPT_VERSION };

struct command {
	const char *name;
	const char *usage;
	const char *shortopts;
	const int *longopts;   /* the long-only options it takes, 0-terminated */
	bool needs_dir;
	int nr_operands;
};

static const int dump_long[] = { OPT_LEAVE_RUNNING, OPT_SHELL_JOB, 0 };
static const int restore_long[] = { OPT_PIDFILE, OPT_SHELL_JOB, 0 };
static const int show_long[] = { OPT_MAPS, 0 };
static const int no_long[] = { 0 };

static const struct command commands[] = {
	{ "dump", "dump -t PID -D DIR [--leave-running] [--shell-job] [-v LEVEL] [-o LOGFILE]", "t:D:v:o:",
	  dump_long, true, 0 },
	{ "restore", "restore -D DIR [-d] [--pidfile FILE] [--shell-job] [-v LEVEL] [-o LOGFILE]", "D:dv:o:",
	  restore_long, true, 0 },
	{ "show", "show [--maps] DIR|FILE", "v:o:", show_long, false, 1 },
	{ "check", "check [-v LEVEL] [-o LOGFILE]", "v:o:", no_long, false, 0 },
};

/* Whether cmd takes option c (a short option letter or a long-only code);
 * getopt_long accepts every long option for every command. */
static bool takes(const struct command *cmd, int c)
{
	if (c < 256)
		return strchr(cmd->shortopts, c) != NULL;
	for (const int *l = cmd->longopts; *l; l++)
		if (*l == c)
			return true;
	return false;
}

static const struct option long_options[] = {
	{ "tree", required_argument, NULL, 't' },
	{ "images-dir", required_argument, NULL, 'D' },
	{ "detach", no_argument, NULL, 'd' },
	{ "verbose", required_argument, NULL, 'v' },
	{ "log-file", required_argument, NULL, 'o' },
	{ "leave-running", no_argument, NULL, OPT_LEAVE_RUNNING },
	{ "pidfile", required_argument, NULL, OPT_PIDFILE },
	{ "shell-job", no_argument, NULL, OPT_SHELL_JOB },
	{ "maps", no_argument, NULL, OPT_MAPS },
	{ "help", no_argument, NULL, OPT_HELP },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ 0 }
};

static void usage(FILE *f)
{
	fprintf(f, "usage: criu-lite COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		fprintf(f, "  criu-lite %s\n", commands[i].usage);
	fprintf(f, "\n  -v LEVEL   0 errors, 1 warnings, 2 progress (default), 3 debug\n"
		   "  -o FILE    write the log to FILE instead of standard error\n"
		   "See docs/criu-lite.1.md for every option.\n");
}

static FILE *log_file;
static volatile sig_atomic_t interrupted;

static void on_termination(int sig)
{
	interrupted = sig;
}

int crl_interrupted(void)
{
	return interrupted;
}

/* While a tree is frozen or half restored, a termination signal must not
 * kill criu-lite: it is noted, and the command stops at its next safe
 * point. */
static const int termination_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

static void catch_termination(void)
{
	struct sigaction sa = { .sa_handler = on_termination, .sa_flags = SA_RESTART };

	for (size_t i = 0; i < ARRAY_SIZE(termination_signals); i++)
		sigaction(termination_signals[i], &sa, NULL);
}

void crl_default_termination(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(termination_signals); i++)
		signal(termination_signals[i], SIG_DFL);
}

/* The log sink: -o FILE gets timestamps on every line; standard error gets
 * the lines as they are. */
static void log_sink(enum crl_log_level level, const char *line, void *userdata)
{
	FILE *f = log_file ? log_file : stderr;

	if (log_file) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		fprintf(f, "(%5ld.%06ld) %s\n", (long)ts.tv_sec, ts.tv_nsec / 1000, line);
		fflush(f);
		/* Errors also reach the terminal: a failed command must say
		 * why where it was run. */
		if (level == CRL_LOG_ERROR)
			fprintf(stderr, "%s\n", line);
	} else {
		fprintf(f, "%s\n", line);
	}
}

int main(int argc, char **argv)
{
	struct crl_opts o = { .verbosity = CRL_LOG_INFO };
	const struct command *cmd = NULL;
	int c, r, status = 0;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("criu-lite %s\n", CRL_TOOL_VERSION);
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "criu-lite: unknown command '%s'\n", argv[1]);
		usage(stderr);
		return 2;
	}

	argc--;
	argv++;
	while ((c = getopt_long(argc, argv, cmd->shortopts, long_options, NULL)) != -1) {
		uint64_t v;

		if (c != '?' && c != OPT_HELP && !takes(cmd, c)) {
			fprintf(stderr, "criu-lite %s: option %s%s does not apply to this command\nusage: criu-lite %s\n",
				cmd->name, c < 256 ? "-" : "", c < 256 ? (char[]){ (char)c, 0 } : argv[optind - 1],
				cmd->usage);
			return 2;
		}
		switch (c) {
		case 't':
			if (crl_parse_u64(optarg, 10, &v) < 0 || v == 0 || v > INT32_MAX) {
				fprintf(stderr, "criu-lite: -t needs a pid, not '%s'\n", optarg);
				return 2;
			}
			o.pid = v;
			break;
		case 'D':
			o.dir = optarg;
			break;
		case 'd':
			o.detach = true;
			break;
		case 'v':
			if (crl_parse_u64(optarg, 10, &v) < 0 || v > CRL_LOG_DEBUG) {
				fprintf(stderr, "criu-lite: -v needs a level from 0 to 3\n");
				return 2;
			}
			o.verbosity = v;
			break;
		case 'o':
			o.logfile = optarg;
			break;
		case OPT_LEAVE_RUNNING:
			o.leave_running = true;
			break;
		case OPT_PIDFILE:
			o.pidfile = optarg;
			break;
		case OPT_SHELL_JOB:
			o.shell_job = true;
			break;
		case OPT_MAPS:
			o.maps = true;
			break;
		case OPT_HELP:
			printf("usage: criu-lite %s\n", cmd->usage);
			return 0;
		default:
			fprintf(stderr, "usage: criu-lite %s\n", cmd->usage);
			return 2;
		}
	}
	o.nr_args = argc - optind;
	o.args = argv + optind;
	if (o.nr_args != cmd->nr_operands) {
		fprintf(stderr, "criu-lite %s: %s\nusage: criu-lite %s\n", cmd->name,
			cmd->nr_operands ? "one DIR or FILE operand is required" : "unexpected operand",
			cmd->usage);
		return 2;
	}

	if (cmd->needs_dir && !o.dir) {
		fprintf(stderr, "criu-lite %s: -D DIR is required\nusage: criu-lite %s\n", cmd->name,
			cmd->usage);
		return 2;
	}
	if (!strcmp(cmd->name, "dump") && !o.pid) {
		fprintf(stderr, "criu-lite dump: -t PID is required\nusage: criu-lite %s\n", cmd->usage);
		return 2;
	}
	if (o.logfile) {
		log_file = fopen(o.logfile, "ae");
		if (!log_file) {
			fprintf(stderr, "criu-lite: cannot open log file %s: %m\n", o.logfile);
			return 1;
		}
	}
	crl_log_setup(log_sink, NULL, o.verbosity);

	if (!strcmp(cmd->name, "dump") || !strcmp(cmd->name, "restore")) {
		/* A few fds per task (images, /proc files): a tree of hundreds
		 * of tasks needs more than the usual soft limit. */
		struct rlimit nofile;

		if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
			nofile.rlim_cur = nofile.rlim_max;
			setrlimit(RLIMIT_NOFILE, &nofile);
		}
		catch_termination();
	}
	if (!strcmp(cmd->name, "dump"))
		r = cmd_dump(&o);
	else if (!strcmp(cmd->name, "restore"))
		r = cmd_restore(&o, &status);
	else if (!strcmp(cmd->name, "show"))
		r = cmd_show(&o);
	else
		r = cmd_check(&o);

	if (log_file)
		fclose(log_file);
	if (r < 0)
		return 1;
	if (status >= 0x100) {
		/* The restored root was killed by a signal: die the same way,
		 * without a core file of our own. */
		struct rlimit no_core = { 0, 0 };
		int sig = status - 0x100;

		setrlimit(RLIMIT_CORE, &no_core);
		signal(sig, SIG_DFL);
		raise(sig);
		return 128 + sig;
	}
	return status;
}
