/* criu-lite show: placeholder until the command is written. */
#include "crl/log.h"
#include "tool.h"

int cmd_show(const struct crl_opts *o)
{
	return log_error_errno(-ENOSYS, "show is not implemented yet");
}
