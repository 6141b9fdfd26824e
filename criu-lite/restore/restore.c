/* criu-lite restore: placeholder until the restorer lands. */
#include "crl/log.h"
#include "tool.h"

int cmd_restore(const struct crl_opts *o, int *ret_status)
{
	return log_error_errno(-ENOSYS, "restore is not implemented yet");
}
