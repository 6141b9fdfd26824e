/* criu-lite check: placeholder until the command is written. */
#include "crl/log.h"
#include "tool.h"

int cmd_check(const struct crl_opts *o)
{
	return log_error_errno(-ENOSYS, "check is not implemented yet");
}
